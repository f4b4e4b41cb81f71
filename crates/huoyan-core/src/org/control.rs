//! Control orders (管控通告) and the control level they give each region over time.
//!
//! A region's level at an instant is set by the orders in force then that cover the region or any
//! of its ancestors; the one that took effect last wins, so a later order can lift one compound
//! out of a sealed district, and a still later one can change the whole district again.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ControlLevel {
    /// 静态管理: everyone stays home.
    StaticManagement,
    /// 临时性管控
    TemporaryControl,
    HighRisk,
    MediumRisk,
    LowRisk,
    /// 解除管控
    Lifted,
}

impl ControlLevel {
    pub const ALL: [ControlLevel; 6] = [
        Self::StaticManagement,
        Self::TemporaryControl,
        Self::HighRisk,
        Self::MediumRisk,
        Self::LowRisk,
        Self::Lifted,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::StaticManagement => "static_management",
            Self::TemporaryControl => "temporary_control",
            Self::HighRisk => "high_risk",
            Self::MediumRisk => "medium_risk",
            Self::LowRisk => "low_risk",
            Self::Lifted => "lifted",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.code() == code)
    }

    pub fn zh(self) -> &'static str {
        match self {
            Self::StaticManagement => "静态管理",
            Self::TemporaryControl => "临时性管控",
            Self::HighRisk => "高风险区",
            Self::MediumRisk => "中风险区",
            Self::LowRisk => "低风险区",
            Self::Lifted => "解除管控",
        }
    }

    pub fn label(self, english: bool) -> &'static str {
        if english { self.en() } else { self.zh() }
    }

    pub fn en(self) -> &'static str {
        match self {
            Self::StaticManagement => "Static management",
            Self::TemporaryControl => "Temporary control",
            Self::HighRisk => "High risk",
            Self::MediumRisk => "Medium risk",
            Self::LowRisk => "Low risk",
            Self::Lifted => "Lifted",
        }
    }
}

/// An order as far as the level rules need it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ControlOrder {
    pub id: i64,
    /// As printed on the order, e.g. `2022年第9号`.
    pub number: String,
    pub issued_at: DateTime<Utc>,
    pub effective_from: DateTime<Utc>,
    pub effective_until: Option<DateTime<Utc>>,
    pub level: ControlLevel,
    /// Regions the order names; it covers their subtrees too.
    pub region_ids: Vec<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    #[error("number: the order number must not be empty")]
    EmptyNumber,
    #[error("effective_until: an order must end after it takes effect")]
    EndsBeforeStart,
    #[error("region_ids: an order must cover at least one region")]
    NoRegions,
}

impl OrderError {
    pub fn field(&self) -> &'static str {
        match self {
            Self::EmptyNumber => "number",
            Self::EndsBeforeStart => "effective_until",
            Self::NoRegions => "region_ids",
        }
    }
}

impl ControlOrder {
    pub fn validate(&self) -> Result<(), Vec<OrderError>> {
        let mut errors = Vec::new();
        if self.number.trim().is_empty() {
            errors.push(OrderError::EmptyNumber);
        }
        if self
            .effective_until
            .is_some_and(|u| u <= self.effective_from)
        {
            errors.push(OrderError::EndsBeforeStart);
        }
        if self.region_ids.is_empty() {
            errors.push(OrderError::NoRegions);
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    fn in_force_at(&self, at: DateTime<Utc>) -> bool {
        self.effective_from <= at && self.effective_until.is_none_or(|u| at < u)
    }

    fn covers(&self, lineage: &[i64]) -> bool {
        self.region_ids.iter().any(|r| lineage.contains(r))
    }

    /// Precedence among orders in force: the later effect wins, then the later issue, then the id.
    fn precedence(&self) -> (DateTime<Utc>, DateTime<Utc>, i64) {
        (self.effective_from, self.issued_at, self.id)
    }
}

/// The level in force at `at` for a region whose ids from the root down are `lineage`, with the
/// order that set it; `None` when no order covers it (normal life).
pub fn current_level<'a>(
    lineage: &[i64],
    orders: &'a [ControlOrder],
    at: DateTime<Utc>,
) -> Option<(ControlLevel, &'a ControlOrder)> {
    orders
        .iter()
        .filter(|o| o.in_force_at(at) && o.covers(lineage))
        .max_by_key(|o| o.precedence())
        .map(|o| (o.level, o))
}

/// One step of a region's level history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LevelChange {
    pub from: DateTime<Utc>,
    /// `None`: no order in force from then on.
    pub level: Option<ControlLevel>,
    pub order_id: Option<i64>,
    pub order_number: Option<String>,
}

/// Every change of the region's level, oldest first, derived from the orders' start and end times.
pub fn level_history(lineage: &[i64], orders: &[ControlOrder]) -> Vec<LevelChange> {
    let mut instants: Vec<DateTime<Utc>> = orders
        .iter()
        .filter(|o| o.covers(lineage))
        .flat_map(|o| std::iter::once(o.effective_from).chain(o.effective_until))
        .collect();
    instants.sort();
    instants.dedup();
    let mut history: Vec<LevelChange> = Vec::new();
    for at in instants {
        let now = current_level(lineage, orders, at);
        let change = LevelChange {
            from: at,
            level: now.map(|(l, _)| l),
            order_id: now.map(|(_, o)| o.id),
            order_number: now.map(|(_, o)| o.number.clone()),
        };
        let unchanged = history
            .last()
            .is_some_and(|h| h.level == change.level && h.order_id == change.order_id);
        if !unchanged && (!history.is_empty() || change.level.is_some()) {
            history.push(change);
        }
    }
    history
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn t(h: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2022, 8, 20, 12, 0, 0).unwrap() + chrono::Duration::hours(h)
    }

    fn order(
        id: i64,
        from: i64,
        until: Option<i64>,
        level: ControlLevel,
        regions: &[i64],
    ) -> ControlOrder {
        ControlOrder {
            id,
            number: format!("2022年第{id}号"),
            issued_at: t(from - 1),
            effective_from: t(from),
            effective_until: until.map(t),
            level,
            region_ids: regions.to_vec(),
        }
    }

    #[test]
    fn a_district_order_covers_its_compounds() {
        let orders = [order(9, 0, None, ControlLevel::StaticManagement, &[2])];
        let compound = [1, 2, 20, 200, 2000];
        assert_eq!(current_level(&compound, &orders, t(-1)), None);
        assert_eq!(
            current_level(&compound, &orders, t(0)).unwrap().0,
            ControlLevel::StaticManagement
        );
        assert_eq!(
            current_level(&[1, 3], &orders, t(5)),
            None,
            "another district is untouched"
        );
    }

    #[test]
    fn a_later_order_lifts_one_compound_and_the_district_stays_sealed() {
        let orders = [
            order(9, 0, None, ControlLevel::StaticManagement, &[2]),
            order(12, 100, None, ControlLevel::Lifted, &[2000]),
        ];
        assert_eq!(
            current_level(&[1, 2, 20, 200, 2000], &orders, t(101))
                .unwrap()
                .0,
            ControlLevel::Lifted
        );
        assert_eq!(
            current_level(&[1, 2, 20, 200, 2001], &orders, t(101))
                .unwrap()
                .0,
            ControlLevel::StaticManagement
        );
        let history = level_history(&[1, 2, 20, 200, 2000], &orders);
        assert_eq!(history.len(), 2);
        assert_eq!(history[0].from, t(0));
        assert_eq!(history[1].level, Some(ControlLevel::Lifted));
        assert_eq!(history[1].order_number.as_deref(), Some("2022年第12号"));
    }

    #[test]
    fn an_expired_order_leaves_normal_life() {
        let orders = [order(9, 0, Some(48), ControlLevel::HighRisk, &[2])];
        assert_eq!(current_level(&[1, 2], &orders, t(48)), None);
        let history = level_history(&[1, 2], &orders);
        assert_eq!(
            history.iter().map(|h| h.level).collect::<Vec<_>>(),
            vec![Some(ControlLevel::HighRisk), None]
        );
    }

    #[test]
    fn validation_names_every_bad_field() {
        let mut o = order(1, 10, Some(5), ControlLevel::LowRisk, &[]);
        o.number = " ".into();
        let fields: Vec<_> = o
            .validate()
            .unwrap_err()
            .iter()
            .map(|e| e.field())
            .collect();
        assert_eq!(fields, vec!["number", "effective_until", "region_ids"]);
    }

    proptest! {
        /// The level reported at any instant is the level of the latest-effective order in force
        /// among those covering the region, and the history agrees with point queries.
        #[test]
        fn history_agrees_with_point_queries(
            specs in proptest::collection::vec((0i64..50, proptest::option::of(1i64..50), 0usize..6, 0usize..3), 0..8),
            probe in -5i64..120,
        ) {
            let lineage = [1i64, 2, 3];
            let orders: Vec<_> = specs.iter().enumerate().map(|(i, (from, len, level, region))| {
                order(i as i64 + 1, *from, len.map(|l| from + l), ControlLevel::ALL[*level], &[[1, 2, 3][*region]])
            }).collect();
            let at = t(probe);
            let point = current_level(&lineage, &orders, at).map(|(l, o)| (l, o.id));
            let from_history = level_history(&lineage, &orders)
                .into_iter()
                .rev()
                .find(|h| h.from <= at)
                .and_then(|h| h.level.map(|l| (l, h.order_id.unwrap())));
            prop_assert_eq!(point, from_history);
        }
    }
}
