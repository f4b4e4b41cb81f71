//! Tubes and what a scan does to one. A pooled tube takes up to its mode's count of people (10 or
//! 20), a single tube or an antigen kit one; a tube takes scans only while open; a person is in a
//! round once (a second scan is flagged, never silently counted twice); a red or yellow code is
//! never pooled with others (the sampler is told at once to sample them alone).

use super::residents::CodeColour;

crate::coded_enum!(
    /// How a round samples at a point.
    TubeMode {
        Pooled10 = "pooled_10", "10混1", "10-in-1 pooled";
        Pooled20 = "pooled_20", "20混1", "20-in-1 pooled";
        Single = "single", "单管单采", "Single tube";
        Antigen = "antigen", "抗原自测", "Antigen self-test";
    }
);

impl TubeMode {
    /// The most people one tube (or kit) holds.
    pub fn capacity(self) -> u32 {
        match self {
            TubeMode::Pooled10 => 10,
            TubeMode::Pooled20 => 20,
            TubeMode::Single | TubeMode::Antigen => 1,
        }
    }

    pub fn pooled(self) -> bool {
        self.capacity() > 1
    }
}

crate::coded_enum!(
    /// Where a tube stands on its way from the sampler to a result (the chain of custody).
    TubeState {
        Open = "open", "采样中", "Open";
        Sealed = "sealed", "已封管", "Sealed";
        Boxed = "boxed", "已装箱", "In a transfer box";
        Sent = "sent", "转运中", "With the courier";
        Received = "received", "实验室已接收", "Received by the lab";
        Resulted = "resulted", "已出结果", "Resulted";
    }
);

crate::coded_enum!(
    /// Where a transfer box stands: packed at the point, with the courier, received by the lab.
    BoxState {
        Packed = "packed", "已装箱", "Packed";
        Sent = "sent", "转运中", "With the courier";
        Received = "received", "实验室已接收", "Received by the lab";
    }
);

crate::coded_enum!(
    /// Whether a round still samples.
    RoundState {
        Open = "open", "采样中", "Sampling";
        Closed = "closed", "已结束", "Closed";
    }
);

/// A tube as the writer holds it when a scan comes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tube {
    pub mode: TubeMode,
    pub state: TubeState,
    /// People scanned into it so far.
    pub count: u32,
}

/// The person a scan names, as the writer holds them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scanned {
    pub colour: CodeColour,
    /// Whether this round already has a scan of them (in this tube or another).
    pub in_round: bool,
}

crate::coded_enum!(
    /// Why a scan was not added to its tube; each is shown to the sampler in its own colour.
    Refusal {
        TubeNotOpen = "tube_not_open", "试管已封管，不能再录入", "The tube is sealed: it takes no more scans";
        TubeFull = "tube_full", "试管已满，请封管换管", "The tube is full: seal it and open a new one";
        ScannedTwice = "scanned_twice", "本轮已采过此人，未重复录入", "Already sampled this round: not counted again";
        SampleAlone = "sample_alone", "红黄码人员不得混采，请单独采样并报告", "Red or yellow code: never pooled, sample alone and report";
        UnknownCode = "unknown_code", "此码未登记，请先为其登记", "The code is not registered: register the resident first";
    }
);

/// What a scan did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// In the tube, which now holds `count`; `full` when that is its capacity (seal it).
    Added {
        count: u32,
        full: bool,
    },
    Refused(Refusal),
}

/// Decides a scan of `person` (`None`: a code the registry does not know) into `tube`. The order
/// of the checks is the order a sampler must act on: a closed tube first, then an unknown code,
/// then a person who must not be pooled (red or yellow: the alarm matters more than the count),
/// then a second scan, then a full tube.
pub fn admit(tube: Tube, person: Option<Scanned>) -> Admission {
    if tube.state != TubeState::Open {
        return Admission::Refused(Refusal::TubeNotOpen);
    }
    let Some(person) = person else {
        return Admission::Refused(Refusal::UnknownCode);
    };
    if tube.mode.pooled() && person.colour != CodeColour::Green {
        return Admission::Refused(Refusal::SampleAlone);
    }
    if person.in_round {
        return Admission::Refused(Refusal::ScannedTwice);
    }
    if tube.count >= tube.mode.capacity() {
        return Admission::Refused(Refusal::TubeFull);
    }
    let count = tube.count + 1;
    Admission::Added {
        count,
        full: count == tube.mode.capacity(),
    }
}

/// Whether a tube may move from `from` to `to` (each step of custody in its order; a tube that
/// took no scan is never sealed).
pub fn may_move(from: TubeState, to: TubeState, count: u32) -> bool {
    use TubeState::*;
    matches!(
        (from, to),
        (Open, Sealed) | (Sealed, Boxed) | (Boxed, Sent) | (Sent, Received) | (Received, Resulted)
    ) && (to != Sealed || count > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const GREEN: Scanned = Scanned {
        colour: CodeColour::Green,
        in_round: false,
    };

    fn open(mode: TubeMode, count: u32) -> Tube {
        Tube {
            mode,
            state: TubeState::Open,
            count,
        }
    }

    #[test]
    fn a_pooled_tube_fills_to_its_mode_and_no_further() {
        assert_eq!(
            admit(open(TubeMode::Pooled10, 8), Some(GREEN)),
            Admission::Added {
                count: 9,
                full: false
            }
        );
        assert_eq!(
            admit(open(TubeMode::Pooled10, 9), Some(GREEN)),
            Admission::Added {
                count: 10,
                full: true
            }
        );
        assert_eq!(
            admit(open(TubeMode::Pooled10, 10), Some(GREEN)),
            Admission::Refused(Refusal::TubeFull)
        );
        assert_eq!(
            admit(open(TubeMode::Pooled20, 19), Some(GREEN)),
            Admission::Added {
                count: 20,
                full: true
            }
        );
        assert_eq!(
            admit(open(TubeMode::Single, 1), Some(GREEN)),
            Admission::Refused(Refusal::TubeFull)
        );
    }

    #[test]
    fn a_sealed_tube_takes_nothing_and_a_second_scan_is_flagged() {
        let sealed = Tube {
            state: TubeState::Sealed,
            ..open(TubeMode::Pooled10, 3)
        };
        assert_eq!(
            admit(sealed, Some(GREEN)),
            Admission::Refused(Refusal::TubeNotOpen)
        );
        let again = Scanned {
            in_round: true,
            ..GREEN
        };
        assert_eq!(
            admit(open(TubeMode::Pooled10, 3), Some(again)),
            Admission::Refused(Refusal::ScannedTwice)
        );
    }

    #[test]
    fn red_and_yellow_codes_are_never_pooled_but_sampled_alone() {
        for colour in [CodeColour::Red, CodeColour::Yellow] {
            let p = Scanned {
                colour,
                in_round: false,
            };
            assert_eq!(
                admit(open(TubeMode::Pooled20, 0), Some(p)),
                Admission::Refused(Refusal::SampleAlone)
            );
            assert_eq!(
                admit(open(TubeMode::Single, 0), Some(p)),
                Admission::Added {
                    count: 1,
                    full: true
                }
            );
        }
    }

    #[test]
    fn an_unknown_code_is_refused_once_the_tube_is_known_open() {
        assert_eq!(
            admit(open(TubeMode::Pooled10, 3), None),
            Admission::Refused(Refusal::UnknownCode)
        );
        let sealed = Tube {
            state: TubeState::Sealed,
            ..open(TubeMode::Pooled10, 3)
        };
        assert_eq!(
            admit(sealed, None),
            Admission::Refused(Refusal::TubeNotOpen)
        );
    }

    #[test]
    fn custody_moves_one_step_at_a_time_and_an_empty_tube_is_not_sealed() {
        assert!(may_move(TubeState::Open, TubeState::Sealed, 4));
        assert!(!may_move(TubeState::Open, TubeState::Sealed, 0));
        assert!(may_move(TubeState::Sent, TubeState::Received, 10));
        assert!(!may_move(TubeState::Open, TubeState::Boxed, 10));
        assert!(!may_move(TubeState::Received, TubeState::Sent, 10));
    }

    fn mode() -> impl Strategy<Value = TubeMode> {
        prop::sample::select(TubeMode::ALL.to_vec())
    }

    proptest! {
        /// Whatever order scans come in, a tube never holds more than its capacity and every
        /// scan that is added counts exactly one.
        #[test]
        fn no_sequence_of_scans_overfills_a_tube(mode in mode(), scans in prop::collection::vec((0u8..3, any::<bool>()), 0..60)) {
            let mut tube = open(mode, 0);
            for (colour, in_round) in scans {
                let colour = [CodeColour::Green, CodeColour::Yellow, CodeColour::Red][colour as usize];
                if let Admission::Added { count, full } = admit(tube, Some(Scanned { colour, in_round })) {
                    prop_assert_eq!(count, tube.count + 1);
                    prop_assert_eq!(full, count == mode.capacity());
                    tube.count = count;
                }
                prop_assert!(tube.count <= mode.capacity());
            }
        }
    }
}
