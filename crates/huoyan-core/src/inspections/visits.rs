//! Where a visit was made against where its site is, and which key sites nobody has visited
//! lately (blind spots, 盲点).

use crate::drones::coverage::geom::Frame;

/// A visit recorded farther than this from its site is flagged for the group to look at. A phone's
/// fix in a compound is off by tens of metres, a gate may stand at the edge of a large site: a few
/// hundred metres is no sign of anything, a kilometre is.
pub const FAR_M: f64 = 500.0;

/// Metres between a site and where a visit was recorded (longitude, latitude in degrees).
pub fn distance_m(site: [f64; 2], at: [f64; 2]) -> f64 {
    Frame::new(site[0], site[1]).to_xy(at[0], at[1]).norm()
}

/// Whether a visit recorded at `at` is too far from its site to pass unremarked. A visit is never
/// refused for it: the position may be wrong, the visit real.
pub fn far_from_site(site: [f64; 2], at: [f64; 2]) -> bool {
    distance_m(site, at) > FAR_M
}

/// A key site's standing in the coverage view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coverage {
    /// Nobody has visited it.
    Never,
    /// Its last visit is older than the window.
    Stale { last_ms: i64 },
    /// Visited within the window.
    Covered { last_ms: i64 },
}

impl Coverage {
    /// A site's standing at `now_ms` given its last visit and the window (milliseconds).
    pub fn of(last_ms: Option<i64>, now_ms: i64, window_ms: i64) -> Coverage {
        match last_ms {
            None => Coverage::Never,
            Some(last) if now_ms.saturating_sub(last) > window_ms => {
                Coverage::Stale { last_ms: last }
            }
            Some(last) => Coverage::Covered { last_ms: last },
        }
    }

    /// A blind spot: never visited, or not within the window.
    pub fn is_blind(self) -> bool {
        !matches!(self, Coverage::Covered { .. })
    }

    /// The order of the coverage list: never visited first, then the longest unvisited.
    pub fn sort_key(self) -> (u8, i64) {
        match self {
            Coverage::Never => (0, 0),
            Coverage::Stale { last_ms } => (1, last_ms),
            Coverage::Covered { last_ms } => (2, last_ms),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_visit_a_kilometre_away_is_flagged_and_one_at_the_gate_is_not() {
        let site = [125.0, 46.5];
        // 0.001° of latitude is about 111 m.
        assert!(!far_from_site(site, [125.0, 46.502]));
        assert!(far_from_site(site, [125.0, 46.509]));
        let d = distance_m(site, [125.0, 46.509]);
        assert!((d - 1_000.0).abs() < 10.0, "{d}");
    }

    #[test]
    fn blind_spots_are_the_never_visited_and_the_stale_listed_first() {
        let hour = 3_600_000;
        let now = 100 * hour;
        let window = 24 * hour;
        let never = Coverage::of(None, now, window);
        let stale = Coverage::of(Some(now - 30 * hour), now, window);
        let fresh = Coverage::of(Some(now - 2 * hour), now, window);
        let edge = Coverage::of(Some(now - window), now, window);
        assert_eq!(never, Coverage::Never);
        assert!(never.is_blind() && stale.is_blind());
        assert!(!fresh.is_blind() && !edge.is_blind());
        let mut all = [fresh, stale, never];
        all.sort_by_key(|c| c.sort_key());
        assert_eq!(all, [never, stale, fresh]);
    }
}
