//! What the trail vouches for in the data. A sealed chain proves the events were not rewritten,
//! but someone who can write the database can still change a row without any event (promote an
//! account, delete a case). So verification also reads the rows below and checks that each
//! equals what its entity's latest events say, that each has events at all, and that each
//! entity with events still has its row.
//!
//! This file is the ONE place that says which event fields give a row's current values. A
//! writer that changes what it records, or a new action that changes a vouched column, changes
//! the rule here as well: until it does, `huoyan audit verify` names the rows it can no longer
//! vouch for.
//!
//! | entity (table) | column | set by (action: summary field) |
//! | --- | --- | --- |
//! | `account` (`accounts`) | `role` | `create`: `role`; `update`: `after.role` |
//! | | `scope_region_id`, `scope_department_id`, `scope_team_id` | `create`: `scope.*`; `update`: `after.scope.*` |
//! | | `disabled` | `create`: false; `update`: `after.disabled` |
//! | `case` (`cases`) | `state` | `report`: `reported`; `demo_history`: `state`; every workflow action (`cases::Action`): `to` |
//! | `blocker` (`blockers`) | `state` | `open`: `open`; `lift`: `lifted`; `refuse`: `refused` |
//! | `roster_plan` (`roster_plans`) | `state` | `plan`: `planning`; `finish`: `state`; `publish`: `published` |
//!
//! `create`, `report`, `demo_history`, a blocker's `open` and a plan's `plan` bring an entity into
//! being; no action deletes one, so any event says its row exists. Other actions (`escalate`,
//! `attach`) change no vouched column.
//!
//! Scans are vouched for otherwise: a whole batch of rows by one event sealing their hash
//! (`super::scans`), not a row by its own events.

use std::fmt;

use serde_json::Value;

use crate::cases::Action;

/// How a vouched column is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    /// A nullable id.
    OptInt,
    /// 0/1.
    Bool,
}

/// A vouched column's value, as a row holds it or an event says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    Text(String),
    Int(Option<i64>),
    Bool(bool),
}

impl fmt::Display for Stored {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stored::Text(s) => write!(f, "{s:?}"),
            Stored::Int(Some(i)) => write!(f, "{i}"),
            Stored::Int(None) => f.write_str("none"),
            Stored::Bool(b) => write!(f, "{b}"),
        }
    }
}

/// An entity whose rows the trail vouches for, and the columns it vouches for.
#[derive(Debug)]
pub struct Vouched {
    pub entity: &'static str,
    pub table: &'static str,
    pub columns: &'static [(&'static str, Kind)],
}

pub const VOUCHED: &[Vouched] = &[
    Vouched {
        entity: "account",
        table: "accounts",
        columns: &[
            ("role", Kind::Text),
            ("scope_region_id", Kind::OptInt),
            ("scope_department_id", Kind::OptInt),
            ("scope_team_id", Kind::OptInt),
            ("disabled", Kind::Bool),
        ],
    },
    Vouched {
        entity: "case",
        table: "cases",
        columns: &[("state", Kind::Text)],
    },
    Vouched {
        entity: "blocker",
        table: "blockers",
        columns: &[("state", Kind::Text)],
    },
    Vouched {
        entity: "roster_plan",
        table: "roster_plans",
        columns: &[("state", Kind::Text)],
    },
];

/// What one event says about its entity's row.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Facts {
    /// The event brings the entity into being.
    pub creates: bool,
    /// The vouched columns it sets, and to what.
    pub values: Vec<(&'static str, Stored)>,
}

/// The rule: what event `action` on `entity` with `summary` (JSON text) says. An event the rule
/// needs a field of but which lacks it is an error naming the field.
pub fn facts(entity: &str, action: &str, summary: &str) -> Result<Facts, String> {
    let known = match entity {
        "account" => matches!(action, "create" | "update"),
        "case" => matches!(action, "report" | "demo_history") || Action::parse(action).is_some(),
        "blocker" => matches!(action, "open" | "lift" | "refuse"),
        "roster_plan" => matches!(action, "plan" | "finish" | "publish"),
        _ => false,
    };
    if !known {
        return Ok(Facts::default());
    }
    let s: Value =
        serde_json::from_str(summary).map_err(|_| "its summary is not JSON".to_string())?;
    let scope = |at: &Value| -> Result<Vec<(&'static str, Stored)>, String> {
        Ok(vec![
            ("scope_region_id", opt_int(at, "scope.region_id")?),
            ("scope_department_id", opt_int(at, "scope.department_id")?),
            ("scope_team_id", opt_int(at, "scope.team_id")?),
        ])
    };
    let state = |creates: bool, state: &str| Facts {
        creates,
        values: vec![("state", Stored::Text(state.into()))],
    };
    Ok(match (entity, action) {
        ("blocker", "open") => state(true, "open"),
        ("blocker", "lift") => state(false, "lifted"),
        ("blocker", _) => state(false, "refused"),
        ("roster_plan", "plan") => state(true, "planning"),
        ("roster_plan", "publish") => state(false, "published"),
        ("roster_plan", _) => Facts {
            creates: false,
            values: vec![("state", text(&s, "state")?)],
        },
        ("account", "create") => {
            let mut values = vec![("role", text(&s, "role")?)];
            values.extend(scope(&s)?);
            values.push(("disabled", Stored::Bool(false)));
            Facts {
                creates: true,
                values,
            }
        }
        ("account", _) => {
            let mut values = vec![("role", text(&s, "after.role")?)];
            values.extend(scope(&s["after"])?);
            values.push(("disabled", boolean(&s, "after.disabled")?));
            Facts {
                creates: false,
                values,
            }
        }
        (_, "report") => state(true, "reported"),
        (_, "demo_history") => Facts {
            creates: true,
            values: vec![("state", text(&s, "state")?)],
        },
        _ => Facts {
            creates: false,
            values: vec![("state", text(&s, "to")?)],
        },
    })
}

fn at<'v>(v: &'v Value, path: &str) -> Result<&'v Value, String> {
    path.split('.')
        .try_fold(v, |v, k| v.get(k))
        .ok_or_else(|| format!("its summary has no `{path}`"))
}

fn text(v: &Value, path: &str) -> Result<Stored, String> {
    at(v, path)?
        .as_str()
        .map(|s| Stored::Text(s.to_string()))
        .ok_or_else(|| format!("its summary's `{path}` is not text"))
}

fn opt_int(v: &Value, path: &str) -> Result<Stored, String> {
    match at(v, path)? {
        Value::Null => Ok(Stored::Int(None)),
        n => n
            .as_i64()
            .map(|i| Stored::Int(Some(i)))
            .ok_or_else(|| format!("its summary's `{path}` is not an id")),
    }
}

fn boolean(v: &Value, path: &str) -> Result<Stored, String> {
    at(v, path)?
        .as_bool()
        .map(Stored::Bool)
        .ok_or_else(|| format!("its summary's `{path}` is not true or false"))
}

/// What a row differs in from its trail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DataBreak {
    #[error("{entity} {id}: the row has no audit event (it was written outside Huoyan)")]
    NoEvent { entity: &'static str, id: i64 },
    #[error(
        "{entity} {id}: its events (the latest is event {seq}) say it exists but the row is gone"
    )]
    Gone {
        entity: &'static str,
        id: i64,
        seq: i64,
    },
    #[error(
        "{entity} {id}: the row's {column} is {row} but its latest event that sets it (event {seq}) says {trail}"
    )]
    Differs {
        entity: &'static str,
        id: i64,
        column: &'static str,
        row: Stored,
        trail: Stored,
        seq: i64,
    },
    #[error("{entity} {id}: none of its events says its {column}")]
    Unsaid {
        entity: &'static str,
        id: i64,
        column: &'static str,
    },
    #[error(
        "{entity} {id}: event {seq} creates it again after earlier events (its row was deleted and the id reused)"
    )]
    Recreated {
        entity: &'static str,
        id: i64,
        seq: i64,
    },
    #[error("{table} {first}..{last} (event {seq}): row {id}, which the event sealed, is gone")]
    BatchRowGone {
        table: &'static str,
        seq: i64,
        first: i64,
        last: i64,
        id: i64,
    },
    #[error(
        "{table} {first}..{last} (event {seq}): {rows} rows where the event sealed {count} (rows were deleted or added outside Huoyan)"
    )]
    BatchCount {
        table: &'static str,
        seq: i64,
        first: i64,
        last: i64,
        rows: i64,
        count: i64,
    },
    #[error(
        "{table} {first}..{last} (event {seq}): the rows do not hash to what the event sealed (a row was changed outside Huoyan)"
    )]
    BatchHash {
        table: &'static str,
        seq: i64,
        first: i64,
        last: i64,
    },
    #[error("event {seq} ({entity} {id}): {reason}")]
    BadEvent {
        seq: i64,
        entity: &'static str,
        id: String,
        reason: String,
    },
}

/// One entity's events folded in seq order: what its row must hold.
#[derive(Debug, Default)]
pub struct Expected {
    latest: Option<i64>,
    recreated: Option<i64>,
    values: Vec<(&'static str, Stored, i64)>,
}

impl Expected {
    /// Folds in the next event (`seq` ascending).
    pub fn apply(&mut self, seq: i64, facts: Facts) {
        if facts.creates && self.latest.is_some() && self.recreated.is_none() {
            self.recreated = Some(seq);
        }
        self.latest = Some(seq);
        for (column, value) in facts.values {
            self.values.retain(|(c, _, _)| *c != column);
            self.values.push((column, value, seq));
        }
    }

    /// Compares with the row (`None`: there is none), its values in `vouched.columns` order.
    pub fn compare(
        &self,
        vouched: &Vouched,
        id: i64,
        row: Option<&[Stored]>,
    ) -> Result<(), DataBreak> {
        let entity = vouched.entity;
        let Some(row) = row else {
            return match self.latest {
                Some(seq) => Err(DataBreak::Gone { entity, id, seq }),
                None => Ok(()),
            };
        };
        if self.latest.is_none() {
            return Err(DataBreak::NoEvent { entity, id });
        }
        if let Some(seq) = self.recreated {
            return Err(DataBreak::Recreated { entity, id, seq });
        }
        for ((column, _), held) in vouched.columns.iter().zip(row) {
            match self.values.iter().find(|(c, _, _)| c == column) {
                None => {
                    return Err(DataBreak::Unsaid { entity, id, column });
                }
                Some((_, said, seq)) if said != held => {
                    return Err(DataBreak::Differs {
                        entity,
                        id,
                        column,
                        row: held.clone(),
                        trail: said.clone(),
                        seq: *seq,
                    });
                }
                Some(_) => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account() -> &'static Vouched {
        &VOUCHED[0]
    }
    fn case() -> &'static Vouched {
        &VOUCHED[1]
    }

    fn fold(events: &[(&str, &str, &str)]) -> Expected {
        let mut e = Expected::default();
        for (i, (entity, action, summary)) in events.iter().enumerate() {
            e.apply(i as i64 + 1, facts(entity, action, summary).unwrap());
        }
        e
    }

    fn account_row(role: &str, region: Option<i64>, disabled: bool) -> Vec<Stored> {
        vec![
            Stored::Text(role.into()),
            Stored::Int(region),
            Stored::Int(None),
            Stored::Int(None),
            Stored::Bool(disabled),
        ]
    }

    // The summaries as `auth::accounts` writes them.
    const CREATE: &str = r#"{"username":"clerk","role":"office","person_id":null,"scope":{"region_id":7,"department_id":null,"team_id":null}}"#;
    const DISABLE: &str = r#"{"before":{"role":"office","scope":{"region_id":7,"department_id":null,"team_id":null},"disabled":false},"after":{"role":"office","scope":{"region_id":7,"department_id":null,"team_id":null},"disabled":true},"password_changed":false}"#;

    #[test]
    fn an_account_is_what_its_create_and_latest_update_say() {
        let created = fold(&[("account", "create", CREATE)]);
        let row = account_row("office", Some(7), false);
        assert_eq!(created.compare(account(), 3, Some(&row)), Ok(()));
        let promoted = account_row("admin", Some(7), false);
        assert_eq!(
            created.compare(account(), 3, Some(&promoted)),
            Err(DataBreak::Differs {
                entity: "account",
                id: 3,
                column: "role",
                row: Stored::Text("admin".into()),
                trail: Stored::Text("office".into()),
                seq: 1,
            })
        );
        let disabled = fold(&[
            ("account", "create", CREATE),
            ("account", "update", DISABLE),
        ]);
        assert!(matches!(
            disabled.compare(account(), 3, Some(&row)),
            Err(DataBreak::Differs {
                column: "disabled",
                seq: 2,
                ..
            })
        ));
        assert_eq!(
            disabled.compare(account(), 3, Some(&account_row("office", Some(7), true))),
            Ok(())
        );
    }

    #[test]
    fn a_case_is_in_the_state_its_latest_transition_led_to() {
        let e = fold(&[
            (
                "case",
                "report",
                r#"{"category":"supplies","compound_id":1,"priority":"high"}"#,
            ),
            (
                "case",
                "triage",
                r#"{"from":"reported","to":"triaged","category":"supplies","priority":"high"}"#,
            ),
            // Escalations and files change no state.
            (
                "case",
                "escalate",
                r#"{"task":1,"department_id":2,"due_at":0}"#,
            ),
            ("case", "attach", r#"{"file":1}"#),
        ]);
        let triaged = [Stored::Text("triaged".into())];
        assert_eq!(e.compare(case(), 9, Some(&triaged)), Ok(()));
        assert!(matches!(
            e.compare(case(), 9, Some(&[Stored::Text("closed".into())])),
            Err(DataBreak::Differs {
                column: "state",
                seq: 2,
                ..
            })
        ));
        let demo = fold(&[(
            "case",
            "demo_history",
            r#"{"state":"verified","category":"supplies"}"#,
        )]);
        assert_eq!(
            demo.compare(case(), 9, Some(&[Stored::Text("verified".into())])),
            Ok(())
        );
    }

    #[test]
    fn rows_without_events_events_without_rows_and_reused_ids_are_named() {
        let none = Expected::default();
        assert_eq!(
            none.compare(case(), 4, Some(&[Stored::Text("reported".into())])),
            Err(DataBreak::NoEvent {
                entity: "case",
                id: 4
            })
        );
        assert_eq!(none.compare(case(), 4, None), Ok(()));
        let reported = fold(&[("case", "report", "{}")]);
        assert_eq!(
            reported.compare(case(), 4, None),
            Err(DataBreak::Gone {
                entity: "case",
                id: 4,
                seq: 1
            })
        );
        let twice = fold(&[("case", "report", "{}"), ("case", "report", "{}")]);
        assert_eq!(
            twice.compare(case(), 4, Some(&[Stored::Text("reported".into())])),
            Err(DataBreak::Recreated {
                entity: "case",
                id: 4,
                seq: 2
            })
        );
        // Events that set nothing vouch for existence but not for the columns.
        let only_files = fold(&[("case", "attach", "{}")]);
        assert_eq!(
            only_files.compare(case(), 4, Some(&[Stored::Text("reported".into())])),
            Err(DataBreak::Unsaid {
                entity: "case",
                id: 4,
                column: "state"
            })
        );
    }

    #[test]
    fn an_event_lacking_a_field_the_rule_reads_is_named() {
        assert_eq!(
            facts("case", "verify", r#"{"from":"rectified"}"#),
            Err("its summary has no `to`".to_string())
        );
        assert_eq!(
            facts("case", "demo_history", r#"{"category":"x"}"#),
            Err("its summary has no `state`".to_string())
        );
        assert!(facts("account", "update", "{").is_err());
        assert!(
            facts("account", "create", r#"{"role":"office","scope":{"region_id":"seven","department_id":null,"team_id":null}}"#)
                .unwrap_err()
                .contains("scope.region_id")
        );
        // Entities and actions the rule does not read are not parsed at all.
        assert_eq!(facts("site", "update", "not json"), Ok(Facts::default()));
        assert_eq!(facts("case", "escalate", "not json"), Ok(Facts::default()));
    }

    #[test]
    fn every_workflow_action_is_read_as_a_transition() {
        for a in Action::ALL {
            let f = facts("case", a.code(), r#"{"to":"triaged"}"#).unwrap();
            assert_eq!(f.values, vec![("state", Stored::Text("triaged".into()))]);
        }
    }

    #[test]
    fn a_blocker_and_a_roster_plan_are_what_their_latest_events_say() {
        let blocker = &VOUCHED[2];
        let lifted = fold(&[
            ("blocker", "open", "{}"),
            ("blocker", "lift", r#"{"note":""}"#),
        ]);
        assert_eq!(
            lifted.compare(blocker, 5, Some(&[Stored::Text("lifted".into())])),
            Ok(())
        );
        assert!(matches!(
            lifted.compare(blocker, 5, Some(&[Stored::Text("open".into())])),
            Err(DataBreak::Differs { seq: 2, .. })
        ));
        let refused = fold(&[("blocker", "open", "{}"), ("blocker", "refuse", "{}")]);
        assert_eq!(
            refused.compare(blocker, 5, Some(&[Stored::Text("refused".into())])),
            Ok(())
        );
        let plan = &VOUCHED[3];
        let published = fold(&[
            ("roster_plan", "plan", "{}"),
            ("roster_plan", "finish", r#"{"state":"draft"}"#),
            ("roster_plan", "publish", "{}"),
        ]);
        assert_eq!(
            published.compare(plan, 9, Some(&[Stored::Text("published".into())])),
            Ok(())
        );
        let drafted = fold(&[
            ("roster_plan", "plan", "{}"),
            ("roster_plan", "finish", r#"{"state":"draft"}"#),
        ]);
        assert!(
            drafted
                .compare(plan, 9, Some(&[Stored::Text("published".into())]))
                .is_err()
        );
        assert_eq!(
            facts("roster_plan", "finish", "{}"),
            Err("its summary has no `state`".to_string())
        );
    }
}
