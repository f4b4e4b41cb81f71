//! A workflow step as the API takes it: the action and exactly the fields it takes, one struct per
//! shape, shown in the API document as a `oneOf` told apart by `action`. Parsed in two steps — the
//! action, then that action's fields — so an error names the field at fault (serde's own
//! internally tagged enums lose the field's name).

use huoyan_core::cases::{Action, Category, Priority};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use utoipa::ToSchema;

use crate::check::{Check, Required, Text};
use crate::time::Instant;

/// A note the step may leave empty, and one that is the step's substance.
pub type OptionalNote = Text<4000>;
pub type RequiredNote = Required<4000>;

/// Either kind of note, as the workflow reads it.
pub trait Note {
    fn text(&self) -> &str;
}

impl<const REQUIRED: bool> Note for Text<4000, REQUIRED> {
    fn text(&self) -> &str {
        self.as_str()
    }
}

/// The office classifies and summarises a report.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Triage {
    /// The office's summary.
    pub note: RequiredNote,
    /// A corrected category, when the reporter's was wrong.
    pub category: Option<Category>,
    pub priority: Option<Priority>,
}

/// A step whose reason is its substance: reject (office), send back (department).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    pub note: RequiredNote,
}

/// A step with an optional remark: close (group).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Remark {
    #[serde(default)]
    pub note: OptionalNote,
}

/// The same problem as another open case: this report joins it (office).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Merge {
    #[serde(default)]
    pub note: OptionalNote,
    pub into_case_id: i64,
}

/// A co-responsible unit (协办) of a dispatch, with its own task and deadline.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CoTask {
    pub department_id: i64,
    /// What this unit is to do.
    #[serde(default)]
    pub instruction: Text<1000>,
    /// The lead's deadline when absent; must lie in the future.
    pub due_at: Option<Instant>,
}

/// To the lead unit (主办) and any co-responsible units (协办), with deadlines (group).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Dispatch {
    /// The lead's instruction.
    #[serde(default)]
    pub note: OptionalNote,
    /// The lead unit.
    pub department_id: i64,
    /// The lead's deadline, in the future; from the city's deadline policy when absent.
    pub due_at: Option<Instant>,
    /// At most 20.
    #[serde(default)]
    #[schema(max_items = 20)]
    pub co: Vec<CoTask>,
}

/// The unit takes its task on (department), perhaps on the spot.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Accept {
    #[serde(default)]
    pub note: OptionalNote,
    /// Where the step was taken (WGS-84), with `lat`.
    pub lon: Option<f64>,
    pub lat: Option<f64>,
}

/// A step taken in the field, with what was found or done: report the fix (department), verify
/// (the group, or the supervisor who reported it), fix on site (inspector).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Finding {
    pub note: RequiredNote,
    /// Where the step was taken (WGS-84), with `lat`.
    pub lon: Option<f64>,
    pub lat: Option<f64>,
}

/// The fix does not hold: the named units (every unit that reported a fix when none is named)
/// work on (the group, or the supervisor who reported it).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rework {
    pub note: RequiredNote,
    #[serde(default)]
    pub department_ids: Vec<i64>,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
}

/// A later deadline, asked by the unit (department).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtensionAsked {
    #[serde(default)]
    pub note: OptionalNote,
    /// Later than the current deadline and than now.
    pub until: Instant,
}

/// The group grants a unit's request for a later deadline.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtensionGranted {
    #[serde(default)]
    pub note: OptionalNote,
    /// Whose request; needed only when several units asked.
    pub department_id: Option<i64>,
}

/// The group refuses a unit's request, with the reason.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtensionRefused {
    pub note: RequiredNote,
    /// Whose request; needed only when several units asked.
    pub department_id: Option<i64>,
}

/// The group chases a unit on an open task (催办): the note is what is asked of it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Urge {
    pub note: RequiredNote,
    /// The unit chased; every unit with an open task when absent.
    pub department_id: Option<i64>,
}

/// The group withdraws the open tasks and dispatches the case afresh (改派): another lead, or
/// co-responsible units added or dropped. The note is the reason.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reroute {
    pub note: RequiredNote,
    /// The new lead unit (may be the same one when only the co-responsible units change).
    pub department_id: i64,
    /// The lead's deadline, in the future; from the city's deadline policy when absent.
    pub due_at: Option<Instant>,
    /// At most 20.
    #[serde(default)]
    #[schema(max_items = 20)]
    pub co: Vec<CoTask>,
}

/// The group moves a unit's deadline (调整时限), with the reason.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeadlineChange {
    pub note: RequiredNote,
    /// The unit; the lead when absent.
    pub department_id: Option<i64>,
    /// The new deadline, in the future.
    pub due_at: Instant,
}

/// One workflow step: the action and exactly the fields it takes. Which role may take which
/// action from which state is the workflow of the README (`huoyan_core::cases::workflow`).
#[derive(Debug, Clone, ToSchema)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum TransitionRequest {
    Triage(Triage),
    Reject(Reason),
    Merge(Merge),
    Dispatch(Dispatch),
    Accept(Accept),
    SendBack(Reason),
    ReportFix(Finding),
    Verify(Finding),
    Rework(Rework),
    Close(Remark),
    FixOnSite(Finding),
    RequestExtension(ExtensionAsked),
    GrantExtension(ExtensionGranted),
    RefuseExtension(ExtensionRefused),
    Urge(Urge),
    Reroute(Reroute),
    ChangeDeadline(DeadlineChange),
}

impl<'de> Deserialize<'de> for TransitionRequest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let mut fields = serde_json::Map::<String, serde_json::Value>::deserialize(d)?;
        let action = fields
            .remove("action")
            .ok_or_else(|| D::Error::missing_field("action"))?;
        let action: Action = serde_json::from_value(action)
            .map_err(|_| D::Error::custom(format!("action: one of {}", codes())))?;
        fn part<T: DeserializeOwned>(
            fields: serde_json::Map<String, serde_json::Value>,
        ) -> Result<T, String> {
            serde_path_to_error::deserialize(serde_json::Value::Object(fields))
                .map_err(|e| format!("{}: {}", e.path(), e.inner()))
        }
        use TransitionRequest as R;
        match action {
            Action::Triage => part(fields).map(R::Triage),
            Action::Reject => part(fields).map(R::Reject),
            Action::Merge => part(fields).map(R::Merge),
            Action::Dispatch => part(fields).map(R::Dispatch),
            Action::Accept => part(fields).map(R::Accept),
            Action::SendBack => part(fields).map(R::SendBack),
            Action::ReportFix => part(fields).map(R::ReportFix),
            Action::Verify => part(fields).map(R::Verify),
            Action::Rework => part(fields).map(R::Rework),
            Action::Close => part(fields).map(R::Close),
            Action::FixOnSite => part(fields).map(R::FixOnSite),
            Action::RequestExtension => part(fields).map(R::RequestExtension),
            Action::GrantExtension => part(fields).map(R::GrantExtension),
            Action::RefuseExtension => part(fields).map(R::RefuseExtension),
            Action::Urge => part(fields).map(R::Urge),
            Action::Reroute => part(fields).map(R::Reroute),
            Action::ChangeDeadline => part(fields).map(R::ChangeDeadline),
        }
        .map_err(D::Error::custom)
    }
}

fn codes() -> String {
    Action::ALL
        .iter()
        .map(|a| a.code())
        .collect::<Vec<_>>()
        .join(", ")
}

impl TransitionRequest {
    /// Where the step was taken, checked: only the steps taken in the field say.
    pub fn place(&self, check: &mut Check) -> Option<(f64, f64)> {
        let (lon, lat) = match self {
            Self::Accept(s) => (s.lon, s.lat),
            Self::ReportFix(s) | Self::Verify(s) | Self::FixOnSite(s) => (s.lon, s.lat),
            Self::Rework(s) => (s.lon, s.lat),
            _ => (None, None),
        };
        crate::geo::check_point(check, lon, lat);
        lon.zip(lat)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: serde_json::Value) -> Result<TransitionRequest, String> {
        serde_json::from_value(v).map_err(|e| e.to_string())
    }

    #[test]
    fn each_action_takes_exactly_its_fields_and_errors_name_them() {
        assert!(matches!(
            parse(
                serde_json::json!({"action": "triage", "note": "门岗无人", "category": "testing"})
            ),
            Ok(TransitionRequest::Triage(Triage {
                category: Some(Category::Testing),
                ..
            }))
        ));
        let e = parse(serde_json::json!({"action": "triage", "note": "x", "category": "gates"}));
        assert!(e.unwrap_err().starts_with("category: unknown variant"));
        let e = parse(serde_json::json!({"action": "close", "department_id": 3}));
        assert!(e.unwrap_err().contains("unknown field `department_id`"));
        let e = parse(serde_json::json!({"action": "reject", "note": " "}));
        assert_eq!(e.unwrap_err(), "note: must not be empty");
        let e =
            parse(serde_json::json!({"action": "dispatch", "department_id": 1, "due_at": "soon"}));
        assert!(
            e.unwrap_err()
                .starts_with("due_at: expected an RFC 3339 time")
        );
        let e = parse(serde_json::json!({"action": "fly", "note": "x"}));
        assert!(e.unwrap_err().starts_with("action: one of triage"));
        assert!(
            parse(serde_json::json!({"note": "x"}))
                .unwrap_err()
                .contains("missing field `action`")
        );
        let e = parse(
            serde_json::json!({"action": "dispatch", "department_id": 1, "co": [{"department_id": "x"}]}),
        );
        assert!(
            e.unwrap_err()
                .starts_with("co[0].department_id: invalid type")
        );
    }
}
