//! The trail as people read it: each event a step (when, who, what was done) with each field it
//! recorded in words, labelled in the page's language, never the recorded JSON. A context says
//! how its own values read (a level's label, a region's name) through `Words`; labels come from
//! the catalogue (`trail.action.*`, `trail.field.*`), most specific first.

use huoyan_core::audit::AuditEvent;
use serde_json::Value;

use crate::i18n::Locale;

/// One event as a page shows it.
pub struct Step {
    /// Beijing time.
    pub at: String,
    pub actor: String,
    pub action: String,
    pub lines: Vec<Line>,
}

/// One field of a step: for a change, what it was and what it became.
pub struct Line {
    pub label: String,
    pub before: Option<String>,
    pub after: String,
}

/// How a context's recorded values read; `None` leaves `value` to the plain reading.
pub trait Words {
    fn value(&self, entity: &str, field: &str, value: &Value) -> Option<String>;
}

/// No context's words: every value read plainly.
pub struct Plain;

impl Words for Plain {
    fn value(&self, _: &str, _: &str, _: &Value) -> Option<String> {
        None
    }
}

/// The events as steps, in their order.
pub fn steps(events: &[AuditEvent], locale: Locale, words: &dyn Words) -> Vec<Step> {
    events.iter().map(|e| step(e, locale, words)).collect()
}

fn step(e: &AuditEvent, locale: Locale, words: &dyn Words) -> Step {
    let entity = e.entity.as_str();
    let read = |field: &str, v: &Value| {
        words
            .value(entity, field, v)
            .unwrap_or_else(|| plain(v, locale))
    };
    let label = |field: &str| {
        specific(locale, "trail.field", entity, field).unwrap_or_else(|| field.replace('_', " "))
    };
    let summary: Value =
        serde_json::from_str(&e.summary).unwrap_or(Value::String(e.summary.clone()));
    let lines = match (&summary["before"], &summary["after"]) {
        (Value::Object(before), Value::Object(after)) => after
            .iter()
            .map(|(field, now)| Line {
                label: label(field),
                before: Some(read(field, before.get(field).unwrap_or(&Value::Null))),
                after: read(field, now),
            })
            .collect(),
        _ => match &summary {
            Value::Object(fields) => fields
                .iter()
                .map(|(field, v)| Line {
                    label: label(field),
                    before: None,
                    after: read(field, v),
                })
                .collect(),
            Value::Null => Vec::new(),
            v => vec![Line {
                label: String::new(),
                before: None,
                after: plain(v, locale),
            }],
        },
    };
    let actor = match e.actor.strip_prefix("system:") {
        Some(job) => format!(
            "{} · {}",
            locale.t("trail.system"),
            locale.find(&format!("trail.system.{job}")).unwrap_or(job)
        ),
        None => e.actor.clone(),
    };
    Step {
        at: crate::time::beijing(e.at_ms),
        actor,
        action: specific(locale, "trail.action", entity, &e.action)
            .unwrap_or_else(|| e.action.replace('_', " ")),
        lines,
    }
}

/// The catalogue's `{prefix}.{entity}.{name}`, else its `{prefix}.{name}`.
fn specific(locale: Locale, prefix: &str, entity: &str, name: &str) -> Option<String> {
    locale
        .find(&format!("{prefix}.{entity}.{name}"))
        .or_else(|| locale.find(&format!("{prefix}.{name}")))
        .map(str::to_string)
}

/// A value as words: times in Beijing time, yes and no, lists joined, nothing as a dash.
fn plain(v: &Value, locale: Locale) -> String {
    match v {
        Value::Null => "—".into(),
        Value::Bool(b) => locale.t(if *b { "trail.yes" } else { "trail.no" }).into(),
        Value::Number(n) => n.to_string(),
        Value::String(s) if s.is_empty() => "—".into(),
        Value::String(s) => match chrono::DateTime::parse_from_rfc3339(s) {
            Ok(t) => crate::time::beijing(t.timestamp_millis()),
            // An order's text may be pages long: its start says which.
            Err(_) if s.chars().count() > 200 => {
                format!("{}…", s.chars().take(200).collect::<String>())
            }
            Err(_) => s.clone(),
        },
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(|v| plain(v, locale)).collect();
            items.join("、")
        }
        Value::Object(fields) => {
            let fields: Vec<String> = fields
                .iter()
                .map(|(k, v)| format!("{}: {}", k.replace('_', " "), plain(v, locale)))
                .collect();
            fields.join("; ")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(entity: &str, action: &str, actor: &str, summary: Value) -> AuditEvent {
        AuditEvent {
            seq: 1,
            at_ms: 1_661_000_400_000,
            actor_id: None,
            actor: actor.into(),
            entity: entity.into(),
            entity_id: "1".into(),
            action: action.into(),
            summary: summary.to_string(),
            prev_hash: String::new(),
            hash: String::new(),
        }
    }

    struct Levels;
    impl Words for Levels {
        fn value(&self, _: &str, field: &str, v: &Value) -> Option<String> {
            (field == "level").then(|| format!("L:{}", v.as_str().unwrap_or_default()))
        }
    }

    #[test]
    fn an_update_reads_as_each_field_before_and_after_in_words() {
        let e = event(
            "control_order",
            "update",
            "commander",
            serde_json::json!({"before": {"effective_until": null, "level": "a"},
                               "after": {"effective_until": "2022-08-25T00:00:00Z", "level": "b"}}),
        );
        let s = &steps(&[e], Locale::Zh, &Levels)[0];
        assert_eq!(s.at, "2022-08-20 21:00");
        assert_eq!(s.actor, "commander");
        assert_eq!(s.action, "修改");
        let until = s.lines.iter().find(|l| l.label == "截止时间").unwrap();
        assert_eq!(until.before.as_deref(), Some("—"));
        assert_eq!(until.after, "2022-08-25 08:00");
        let level = s.lines.iter().find(|l| l.label == "管控等级").unwrap();
        assert_eq!(
            (level.before.as_deref(), level.after.as_str()),
            (Some("L:a"), "L:b")
        );
    }

    #[test]
    fn a_record_reads_as_its_fields_and_the_system_by_name() {
        let e = event(
            "region",
            "create",
            "system:demo",
            serde_json::json!({"name": "景程小区", "geometry": true, "region_ids": [1, 2]}),
        );
        let s = &steps(&[e], Locale::En, &Plain)[0];
        assert_eq!(s.actor, "System · demo data");
        assert_eq!(s.action, "Created");
        let read: Vec<(&str, &str)> = s
            .lines
            .iter()
            .map(|l| (l.label.as_str(), l.after.as_str()))
            .collect();
        assert!(read.contains(&("Name", "景程小区")), "{read:?}");
        assert!(read.contains(&("Outline", "yes")), "{read:?}");
        assert!(read.contains(&("Regions", "1、2")), "{read:?}");
        assert!(s.lines.iter().all(|l| l.before.is_none()));
    }
}
