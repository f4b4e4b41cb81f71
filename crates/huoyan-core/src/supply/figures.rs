//! The supply figures of one community on one day: what was planned and what arrived (by the
//! day a batch was due), and the requests for help filed that day, how many are closed and how
//! long closing took.

/// One community's day.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct DayFigures {
    /// Packages planned for the buildings whose batch was due that day.
    pub planned: i64,
    /// Of them, marked delivered.
    pub delivered: i64,
    pub buildings: i64,
    /// Buildings marked short of their plan.
    pub short: i64,
    /// Buildings unmarked at the deadline.
    pub missed: i64,
    /// Requests filed that day.
    pub requests: i64,
    pub urgent: i64,
    /// Of them, closed by now.
    pub closed: i64,
    /// Milliseconds from filing to closing, summed over the closed ones.
    pub closing_ms: i64,
    /// Medicine packs bought for them.
    pub medicines: i64,
}

impl DayFigures {
    /// A building's delivery: `delivered` as marked (None: unmarked), `missed` when the deadline
    /// passed unmarked. A mark after a miss counts as the mark.
    pub fn add_delivery(&mut self, planned: i64, delivered: Option<i64>, missed: bool) {
        self.planned += planned;
        self.buildings += 1;
        match delivered {
            Some(d) => {
                self.delivered += d;
                if d < planned {
                    self.short += 1;
                }
            }
            None if missed => self.missed += 1,
            None => {}
        }
    }

    /// A request: urgent or not, closed after `closed_after_ms` (None: still open), with the
    /// medicine packs bought.
    pub fn add_request(&mut self, urgent: bool, closed_after_ms: Option<i64>, medicines: i64) {
        self.requests += 1;
        self.urgent += i64::from(urgent);
        if let Some(ms) = closed_after_ms {
            self.closed += 1;
            self.closing_ms += ms.max(0);
        }
        self.medicines += medicines;
    }

    /// Requests of the day not closed yet.
    pub fn open(&self) -> i64 {
        self.requests - self.closed
    }

    /// The mean time to close, in hours, over the closed ones.
    pub fn mean_close_hours(&self) -> Option<f64> {
        (self.closed > 0).then(|| self.closing_ms as f64 / self.closed as f64 / 3_600_000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deliveries_count_shortfalls_and_misses_and_a_late_mark_counts_as_the_mark() {
        let mut d = DayFigures::default();
        d.add_delivery(40, Some(40), false);
        d.add_delivery(40, Some(37), false);
        d.add_delivery(20, None, true);
        d.add_delivery(10, Some(10), true);
        d.add_delivery(5, None, false);
        assert_eq!(
            (d.planned, d.delivered, d.buildings, d.short, d.missed),
            (115, 87, 5, 1, 1)
        );
    }

    #[test]
    fn requests_count_open_and_the_mean_time_to_close() {
        let mut d = DayFigures::default();
        assert_eq!(d.mean_close_hours(), None);
        d.add_request(true, Some(3_600_000), 0);
        d.add_request(false, Some(3 * 3_600_000), 2);
        d.add_request(false, None, 0);
        assert_eq!((d.requests, d.urgent, d.closed, d.open()), (3, 1, 2, 1));
        assert_eq!(d.mean_close_hours(), Some(2.0));
        assert_eq!(d.medicines, 2);
    }
}
