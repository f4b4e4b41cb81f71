//! Deadlines: how long a department has to fix a case, by priority and category, and the figures
//! the headline rests on (median and 90th percentile of durations).

use std::collections::HashMap;

crate::coded_enum!(
    Priority {
        Urgent = "urgent", "紧急", "Urgent";
        High = "high", "高", "High";
        Normal = "normal", "一般", "Normal";
        Low = "low", "低", "Low";
    }
);

/// Hours allowed per priority, with overrides per (priority, category). Configurable per city;
/// the defaults follow the scenario's pace (an open gate is fixed within hours, not days).
#[derive(Debug, Clone, PartialEq)]
pub struct DeadlinePolicy {
    pub hours: HashMap<Priority, i64>,
    pub overrides: HashMap<(Priority, String), i64>,
}

impl Default for DeadlinePolicy {
    fn default() -> Self {
        let hours = HashMap::from([
            (Priority::Urgent, 2),
            (Priority::High, 12),
            (Priority::Normal, 24),
            (Priority::Low, 72),
        ]);
        Self {
            hours,
            overrides: HashMap::new(),
        }
    }
}

impl DeadlinePolicy {
    /// When a case dispatched at `from_ms` is due.
    pub fn due(&self, from_ms: i64, priority: Priority, category: &str) -> i64 {
        let hours = self
            .overrides
            .get(&(priority, category.to_string()))
            .or_else(|| self.hours.get(&priority))
            .copied()
            .unwrap_or(24);
        from_ms + hours * 3_600_000
    }
}

/// A deadline policy as a city writes it in its configuration: hours per priority, and hours per
/// category and priority where a category needs its own pace.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadlineConfig {
    #[serde(default)]
    pub hours: HashMap<String, i64>,
    /// category code → priority code → hours.
    #[serde(default)]
    pub overrides: HashMap<String, HashMap<String, i64>>,
}

impl DeadlineConfig {
    /// The policy this configuration sets over the defaults; names the first key that is not a
    /// priority or category, or hours that are not positive.
    pub fn policy(&self) -> Result<DeadlinePolicy, String> {
        let mut policy = DeadlinePolicy::default();
        let priority = |code: &str, at: &str| {
            Priority::parse(code)
                .ok_or_else(|| format!("{at}{code}: not a priority (urgent, high, normal, low)"))
        };
        let positive = |h: i64, at: String| {
            if (1..=24 * 90).contains(&h) {
                Ok(h)
            } else {
                Err(format!("{at}: hours must be 1 to 2160"))
            }
        };
        for (code, h) in &self.hours {
            let p = priority(code, "deadlines.hours.")?;
            policy
                .hours
                .insert(p, positive(*h, format!("deadlines.hours.{code}"))?);
        }
        for (category, by_priority) in &self.overrides {
            if super::Category::parse(category).is_none() {
                return Err(format!(
                    "deadlines.overrides.{category}: not a case category"
                ));
            }
            for (code, h) in by_priority {
                let at = format!("deadlines.overrides.{category}.");
                let p = priority(code, &at)?;
                policy
                    .overrides
                    .insert((p, category.clone()), positive(*h, format!("{at}{code}"))?);
            }
        }
        Ok(policy)
    }
}

/// Overdue: the deadline passed before the work was done (or is still open at `now_ms`).
pub fn is_overdue(due_ms: i64, done_ms: Option<i64>, now_ms: i64) -> bool {
    done_ms.unwrap_or(now_ms) > due_ms
}

/// The `q`-quantile (0–1) of `values` by the nearest-rank method, which always returns one of the
/// measured durations (no interpolated time that no case took); `None` for no values.
pub fn quantile(values: &[i64], q: f64) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_unstable();
    let rank = (q.clamp(0.0, 1.0) * v.len() as f64).ceil().max(1.0) as usize;
    Some(v[rank - 1])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn overrides_win_over_the_priority_default() {
        let mut p = DeadlinePolicy::default();
        p.overrides.insert((Priority::Normal, "supplies".into()), 6);
        assert_eq!(p.due(0, Priority::Normal, "static_control"), 24 * 3_600_000);
        assert_eq!(p.due(0, Priority::Normal, "supplies"), 6 * 3_600_000);
        assert!(is_overdue(10, None, 11));
        assert!(!is_overdue(10, Some(10), 99));
    }

    #[test]
    fn a_configured_policy_overrides_the_defaults_and_names_bad_keys() {
        let config: DeadlineConfig = serde_json::from_value(serde_json::json!({
            "hours": {"normal": 12},
            "overrides": {"supplies": {"urgent": 1}}
        }))
        .unwrap();
        let p = config.policy().unwrap();
        assert_eq!(p.due(0, Priority::Normal, "testing"), 12 * 3_600_000);
        assert_eq!(p.due(0, Priority::Urgent, "supplies"), 3_600_000);
        assert_eq!(p.due(0, Priority::Low, "testing"), 72 * 3_600_000);
        let bad = |v: serde_json::Value| {
            serde_json::from_value::<DeadlineConfig>(v)
                .unwrap()
                .policy()
                .unwrap_err()
        };
        assert!(bad(serde_json::json!({"hours": {"soon": 1}})).starts_with("deadlines.hours.soon"));
        assert!(bad(serde_json::json!({"hours": {"low": 0}})).contains("1 to 2160"));
        assert!(
            bad(serde_json::json!({"overrides": {"gates": {"low": 5}}}))
                .starts_with("deadlines.overrides.gates")
        );
    }

    #[test]
    fn quantiles_by_nearest_rank() {
        assert_eq!(quantile(&[], 0.5), None);
        assert_eq!(quantile(&[5, 1, 3], 0.5), Some(3));
        assert_eq!(quantile(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9), Some(9));
        assert_eq!(quantile(&[7], 0.9), Some(7));
    }

    proptest! {
        #[test]
        fn a_quantile_is_a_measured_value_and_grows_with_q(v in proptest::collection::vec(0i64..1_000_000, 1..50), a in 0.0f64..1.0, b in 0.0f64..1.0) {
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            let (x, y) = (quantile(&v, lo).unwrap(), quantile(&v, hi).unwrap());
            prop_assert!(v.contains(&x) && v.contains(&y));
            prop_assert!(x <= y);
        }
    }
}
