//! One day of 景程小区's testing as it went, planned in memory before anything is written: who
//! queued at the point and who was sampled at their door, which desk filled which tube when,
//! the boxes packed each hour with their couriers, and the lab's results. The loader replays a
//! plan through `testing`'s own functions and checks that every scan did what the plan says.

use std::ops::Range;

use huoyan_core::testing::residents::CodeColour;
use rand::RngExt;
use rand::rngs::StdRng;

use super::super::cases::{HOUR, MIN};
use super::registry::Resident;

/// Where a tube is filled: at the point's desks, pooled ten to a tube, or by the door teams, one
/// tube a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Desk {
    Pooled,
    Door,
}

impl Desk {
    fn capacity(self) -> usize {
        match self {
            Desk::Pooled => 10,
            Desk::Door => 1,
        }
    }
}

pub(super) struct Tube {
    pub barcode: String,
    pub desk: Desk,
    pub opened_at: i64,
    pub sealed_at: i64,
    /// Residents added, in order.
    pub people: Vec<usize>,
    pub positive: bool,
}

pub(super) struct Scan {
    pub tube: usize,
    pub person: usize,
    pub at: i64,
    /// What the ingest must answer: `added`, or the refusal's code.
    pub outcome: &'static str,
}

pub(super) struct TransferBox {
    pub code: String,
    pub tubes: Vec<usize>,
    pub packed_at: i64,
    pub sent_at: i64,
    pub courier: String,
    pub received_at: i64,
    /// Each tube's result time, in `tubes`' order.
    pub resulted_at: Vec<i64>,
    /// When the lab imported the box's results.
    pub imported_at: i64,
}

#[derive(Default)]
pub(super) struct Day {
    pub tubes: Vec<Tube>,
    /// In the order they were made.
    pub scans: Vec<Scan>,
    pub boxes: Vec<TransferBox>,
}

impl Day {
    /// Tubes filled at `desk`.
    pub fn used(&self, desk: Desk) -> i64 {
        self.tubes.iter().filter(|t| t.desk == desk).count() as i64
    }

    /// The positive tube, if the day has one.
    pub fn positive(&self) -> Option<&Tube> {
        self.tubes.iter().find(|t| t.positive)
    }

    /// When the lab imported the positive tube's result.
    pub fn positive_known(&self) -> Option<i64> {
        let i = self.tubes.iter().position(|t| t.positive)?;
        self.boxes
            .iter()
            .find(|b| b.tubes.contains(&i))
            .map(|b| b.imported_at)
    }
}

/// Seconds a desk takes per person: a swab at the point, a walk up the stairs at a door.
const POOLED_PACE: Range<i64> = 18..40;
const DOOR_PACE: Range<i64> = 60..130;
/// Desks at the point and teams at the doors (`testing_points.desks`).
pub(super) const DESKS: usize = 10;
/// Nobody absent from a day's round but about this share (in hospital, in a quarantine hotel).
const ABSENT: f64 = 0.006;
/// Codes scanned twice by mistake each day (the second flagged, not counted).
const TWICE: usize = 3;
/// The couriers who carried the boxes to the lab, as they gave their names.
const COURIERS: [&str; 4] = [
    "王师傅 139****2081",
    "李师傅 158****6630",
    "赵师傅 186****1947",
    "孙师傅 133****5208",
];

pub(super) struct Planner<'a> {
    pub rng: &'a mut StdRng,
    pub residents: &'a [Resident],
    /// `0821`: the day in barcodes.
    pub mmdd: String,
}

/// A round's day: the queue at the point from `opens` in building order, the door teams from
/// `doors_open` at the buildings kept in (`sealed`), the old and the yellow and red codes. On
/// the first days (`flag_colours`) the yellow and red codes still queued at the point and were
/// turned away there. With `positive` (a building), the first pooled tube from that building on
/// that holds people of two buildings comes back positive.
pub(super) struct RoundDay<'a> {
    pub opens: i64,
    pub doors_open: i64,
    pub sealed: &'a [usize],
    pub flag_colours: bool,
    pub positive: Option<usize>,
}

impl Planner<'_> {
    pub fn round(&mut self, r: &RoundDay) -> Day {
        let mut queue: Vec<(usize, &'static str)> = Vec::new();
        let mut doors: Vec<(usize, &'static str)> = Vec::new();
        for (i, p) in self.residents.iter().enumerate() {
            if self.rng.random_bool(ABSENT) {
                continue;
            }
            let green = p.colour == CodeColour::Green;
            if !green && r.flag_colours {
                queue.push((i, "sample_alone"));
            }
            if p.at_the_door || !green || r.sealed.contains(&p.building) {
                doors.push((i, "added"));
            } else {
                queue.push((i, "added"));
            }
        }
        // People queue by building but not in door order: neighbours shuffle a little.
        for k in 1..queue.len() {
            if self.rng.random_bool(0.3) {
                queue.swap(k - 1, k);
            }
        }
        for _ in 0..TWICE {
            let k = self.rng.random_range(0..queue.len());
            if queue[k].1 == "added" {
                queue.insert(k + 1, (queue[k].0, "scanned_twice"));
            }
        }
        let mut day = Day::default();
        self.fill(&mut day, Desk::Pooled, 'P', &queue, r.opens, DESKS);
        self.fill(&mut day, Desk::Door, 'S', &doors, r.doors_open, DESKS);
        if let Some(from) = r.positive {
            // Where the queue passed from one building to the next.
            let straddles = |t: &Tube| {
                let first = self.residents[t.people[0]].building;
                t.desk == Desk::Pooled
                    && first >= from
                    && t.people
                        .iter()
                        .any(|&i| self.residents[i].building != first)
            };
            let i = day
                .tubes
                .iter()
                .position(straddles)
                .expect("the queue passes from one building to the next inside a tube");
            day.tubes[i].positive = true;
        }
        self.pack(&mut day, Desk::Pooled, 'P', r.opens);
        self.pack(&mut day, Desk::Door, 'S', r.doors_open);
        day
    }

    /// The single-tube retests of `people` at their doors from `from`, by two teams.
    pub fn retests(&mut self, people: &[usize], from: i64) -> Day {
        let mut day = Day::default();
        let doors: Vec<(usize, &'static str)> = people.iter().map(|&i| (i, "added")).collect();
        self.fill(&mut day, Desk::Door, 'R', &doors, from, 2);
        self.pack(&mut day, Desk::Door, 'R', from);
        day
    }

    /// Fills tubes (barcodes marked `tag`) at `desks` desks of kind `desk` from `start`, taking
    /// `queue` in order: each tube goes to the desk free first, takes people until it is full,
    /// and any refused scan that comes right after before it is sealed.
    fn fill(
        &mut self,
        day: &mut Day,
        desk: Desk,
        tag: char,
        queue: &[(usize, &'static str)],
        start: i64,
        desks: usize,
    ) {
        let pace = match desk {
            Desk::Pooled => POOLED_PACE,
            Desk::Door => DOOR_PACE,
        };
        let mut clocks: Vec<i64> = (0..desks as i64).map(|k| start + k * 20_000).collect();
        let mut next = 0;
        while next < queue.len() {
            let d = (0..desks).min_by_key(|&k| clocks[k]).expect("a desk");
            let tube = day.tubes.len();
            let opened_at = clocks[d];
            let mut at = opened_at;
            let mut people = Vec::new();
            while next < queue.len() && (people.len() < desk.capacity() || queue[next].1 != "added")
            {
                let (person, outcome) = queue[next];
                at += 1000 * self.rng.random_range(pace.clone());
                day.scans.push(Scan {
                    tube,
                    person,
                    at,
                    outcome,
                });
                if outcome == "added" {
                    people.push(person);
                }
                next += 1;
            }
            let sealed_at = at + 30_000;
            clocks[d] = sealed_at + 10_000;
            day.tubes.push(Tube {
                barcode: format!("JC{}{tag}{:04}", self.mmdd, tube + 1),
                desk,
                opened_at,
                sealed_at,
                people,
                positive: false,
            });
        }
    }

    /// Packs the sealed tubes of `desk` every hour from an hour after `opens` into boxes labelled
    /// `tag`, hands each to a courier and has the lab receive and result it.
    fn pack(&mut self, day: &mut Day, desk: Desk, tag: char, opens: i64) {
        let mut left: Vec<usize> = (0..day.tubes.len())
            .filter(|&i| day.tubes[i].desk == desk)
            .collect();
        left.sort_by_key(|&i| day.tubes[i].sealed_at);
        let mut hour = opens + HOUR;
        let mut n = 0;
        while !left.is_empty() {
            let ready = left
                .iter()
                .take_while(|&&i| day.tubes[i].sealed_at <= hour - 2 * MIN)
                .count()
                .min(500);
            if ready > 0 {
                let tubes: Vec<usize> = left.drain(..ready).collect();
                let sent_at = hour + self.rng.random_range(5..15) * MIN;
                let received_at = sent_at + self.rng.random_range(35..60) * MIN;
                let resulted_at: Vec<i64> = tubes
                    .iter()
                    .map(|_| received_at + self.rng.random_range(150..240) * MIN)
                    .collect();
                let imported_at = resulted_at.iter().max().expect("a box holds tubes")
                    + self.rng.random_range(3..10) * MIN;
                n += 1;
                day.boxes.push(TransferBox {
                    code: format!("BOX-JC{}-{tag}{n:02}", self.mmdd),
                    tubes,
                    packed_at: hour,
                    sent_at,
                    courier: COURIERS[self.rng.random_range(0..COURIERS.len())].to_string(),
                    received_at,
                    resulted_at,
                    imported_at,
                });
            }
            hour += HOUR;
        }
    }
}
