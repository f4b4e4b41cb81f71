//! A batch's deliveries: the buildings split among the volunteer teams, and what a volunteer's
//! mark on a building means: all delivered, short by some, or (past the deadline, unmarked)
//! missed. A shortfall and a miss each become a case.

use std::collections::BTreeMap;

/// One building's share of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Share {
    pub building_id: i64,
    /// Packages (or units of the goods) planned for the building.
    pub planned: u32,
    /// Doors to knock on: the building's households.
    pub doors: u32,
}

/// Splits `shares` among `teams` so that each team knocks on about as many doors: the buildings
/// with most doors first, each to the team with fewest doors so far (longest-processing-time
/// first, within 4/3 of the best split). Ties go to the earlier team and the earlier building, so
/// the split is the same every time. Returns (team, buildings) for each team given any.
pub fn split(shares: &[Share], teams: &[i64]) -> Vec<(i64, Vec<Share>)> {
    if teams.is_empty() {
        return Vec::new();
    }
    let mut order: Vec<&Share> = shares.iter().collect();
    order.sort_by(|a, b| {
        b.doors
            .cmp(&a.doors)
            .then(a.building_id.cmp(&b.building_id))
    });
    let mut load: Vec<(u64, usize)> = (0..teams.len()).map(|i| (0, i)).collect();
    let mut given: BTreeMap<usize, Vec<Share>> = BTreeMap::new();
    for share in order {
        let lightest = load
            .iter_mut()
            .min_by_key(|(doors, i)| (*doors, *i))
            .expect("teams is not empty");
        lightest.0 += u64::from(share.doors.max(1));
        given.entry(lightest.1).or_default().push(*share);
    }
    given
        .into_iter()
        .map(|(i, mut buildings)| {
            buildings.sort_by_key(|s| s.building_id);
            (teams[i], buildings)
        })
        .collect()
}

/// What a building's delivery came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything planned arrived.
    Complete,
    /// Delivered, but this many short.
    Short(u32),
    /// Not marked delivered by the deadline.
    Missed,
}

/// Why a delivery mark is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MarkError {
    #[error("at most the {0} planned")]
    MoreThanPlanned(u32),
}

/// The outcome of a volunteer's mark: `delivered` of `planned`.
pub fn mark(planned: u32, delivered: u32) -> Result<Outcome, MarkError> {
    match delivered.cmp(&planned) {
        std::cmp::Ordering::Greater => Err(MarkError::MoreThanPlanned(planned)),
        std::cmp::Ordering::Equal => Ok(Outcome::Complete),
        std::cmp::Ordering::Less => Ok(Outcome::Short(planned - delivered)),
    }
}

crate::coded_enum!(
    /// Where a building's delivery stands.
    DeliveryState {
        Pending = "pending", "待配送", "Pending";
        Complete = "complete", "已送达", "Delivered";
        Short = "short", "短缺", "Short";
        Missed = "missed", "超时未送", "Missed";
    }
);

/// Where a delivery of `planned` stands: marked with `delivered`, or missed (past its deadline
/// unmarked); a mark after a miss counts as the mark.
pub fn state(planned: i64, delivered: Option<i64>, missed: bool) -> DeliveryState {
    match delivered {
        Some(d) if d >= planned => DeliveryState::Complete,
        Some(_) => DeliveryState::Short,
        None if missed => DeliveryState::Missed,
        None => DeliveryState::Pending,
    }
}

/// Whether an unmarked delivery due at `deadline_ms` is missed at `now_ms`.
pub fn missed(deadline_ms: i64, now_ms: i64) -> bool {
    now_ms > deadline_ms
}

/// The case a shortfall or a miss becomes: its title and description, naming the building, the
/// goods and the count. None for a complete delivery.
pub fn case_text(
    outcome: Outcome,
    building: &str,
    goods: super::Goods,
    planned: u32,
) -> Option<(String, String)> {
    let goods = goods.zh();
    match outcome {
        Outcome::Complete => None,
        Outcome::Short(n) => Some((
            format!("{building}{goods}短缺{n}份"),
            format!(
                "{building}：{goods}计划{planned}份，实送{}份，短缺{n}份，请补送。",
                planned - n
            ),
        )),
        Outcome::Missed => Some((
            format!("{building}{goods}未按时送达"),
            format!("{building}：{goods}计划{planned}份，截止时间已过仍未送达。"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::supply::Goods;

    fn share(building_id: i64, doors: u32) -> Share {
        Share {
            building_id,
            planned: doors,
            doors,
        }
    }

    #[test]
    fn the_split_balances_doors_and_gives_every_building_once() {
        let shares = [
            share(1, 48),
            share(2, 36),
            share(3, 36),
            share(4, 24),
            share(5, 12),
            share(6, 12),
        ];
        let split = split(&shares, &[10, 20]);
        let doors: Vec<u32> = split
            .iter()
            .map(|(_, b)| b.iter().map(|s| s.doors).sum())
            .collect();
        assert_eq!(doors, vec![84, 84]);
        let mut all: Vec<i64> = split
            .iter()
            .flat_map(|(_, b)| b.iter().map(|s| s.building_id))
            .collect();
        all.sort();
        assert_eq!(all, vec![1, 2, 3, 4, 5, 6]);
        assert_eq!(split[0].0, 10);
        assert_eq!(
            split[0].1.iter().map(|s| s.building_id).collect::<Vec<_>>(),
            vec![1, 4, 5]
        );
    }

    #[test]
    fn more_teams_than_buildings_leaves_some_without_a_task_and_none_leaves_nothing() {
        let split_three = split(&[share(7, 10)], &[1, 2, 3]);
        assert_eq!(split_three, vec![(1, vec![share(7, 10)])]);
        assert!(split(&[share(7, 10)], &[]).is_empty());
    }

    #[test]
    fn a_mark_is_complete_short_or_refused_above_the_plan() {
        assert_eq!(mark(40, 40), Ok(Outcome::Complete));
        assert_eq!(mark(40, 37), Ok(Outcome::Short(3)));
        assert_eq!(mark(40, 0), Ok(Outcome::Short(40)));
        assert_eq!(mark(40, 41), Err(MarkError::MoreThanPlanned(40)));
        assert!(missed(1_000, 1_001));
        assert_eq!(state(40, None, false), DeliveryState::Pending);
        assert_eq!(state(40, None, true), DeliveryState::Missed);
        assert_eq!(state(40, Some(37), true), DeliveryState::Short);
        assert_eq!(state(40, Some(40), false), DeliveryState::Complete);
        assert!(!missed(1_000, 1_000));
    }

    #[test]
    fn a_shortfall_case_names_the_building_and_the_count() {
        let (title, text) = case_text(
            Outcome::Short(3),
            "格林小镇3号楼",
            Goods::VegetablePackage,
            40,
        )
        .unwrap();
        assert_eq!(title, "格林小镇3号楼蔬菜包短缺3份");
        assert_eq!(
            text,
            "格林小镇3号楼：蔬菜包计划40份，实送37份，短缺3份，请补送。"
        );
        let (title, _) = case_text(Outcome::Missed, "格林小镇5号楼", Goods::RiceOil, 20).unwrap();
        assert_eq!(title, "格林小镇5号楼米面油未按时送达");
        assert_eq!(case_text(Outcome::Complete, "x", Goods::Medicine, 1), None);
    }
}
