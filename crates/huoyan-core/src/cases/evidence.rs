//! Evidence by step: each photo or file of a case belongs to a step of its timeline — the report
//! (what was found, before), a unit's fix (after), a verification — and is shown under it, so
//! that before and after can be told apart. A city's policy names the categories whose fixes
//! must come with a photo.

use std::collections::HashSet;

use super::step::StepError;
use super::{Action, Category};

crate::coded_enum!(
    /// What a step's files show, by the step they belong to.
    EvidenceKind {
        Report = "report", "现场照片（整改前）", "On report (before)";
        Fix = "fix", "整改后", "After the fix";
        Verification = "verification", "复核", "On verification";
        Other = "other", "补充材料", "Supporting files";
    }
);

impl EvidenceKind {
    /// The kind of the files of a timeline entry, by the entry's action (a workflow action's
    /// code, or `report`, `attach`, `escalate`…).
    pub fn of(action: &str) -> EvidenceKind {
        match Action::parse(action) {
            _ if action == "report" => EvidenceKind::Report,
            Some(Action::ReportFix | Action::FixOnSite) => EvidenceKind::Fix,
            Some(Action::Verify | Action::Rework) => EvidenceKind::Verification,
            _ => EvidenceKind::Other,
        }
    }
}

/// Which categories' fixes must come with a photo. The default asks it where the fix is a thing
/// to be seen at the place: a gate guarded again (静态管控), a barrier put up against spill-over
/// (防外溢), a site disinfected (消杀), a vendor's premises put in order (保供主体防疫). A
/// delivery, a test or help given to a resident is not shown by a photo of a place, and a
/// resident's home is not photographed for the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidencePolicy {
    pub fix_photo: HashSet<Category>,
}

impl Default for EvidencePolicy {
    fn default() -> Self {
        Self {
            fix_photo: HashSet::from([
                Category::StaticControl,
                Category::SpillOver,
                Category::Disinfection,
                Category::SupplyVendors,
            ]),
        }
    }
}

impl EvidencePolicy {
    /// Whether a fix of a case in `category` must come with a photo.
    pub fn needs_fix_photo(&self, category: Category) -> bool {
        self.fix_photo.contains(&category)
    }
}

/// The policy as a city writes it in its configuration (`[evidence]`): `fix_photo`, the
/// categories whose fixes need a photo; the default's when absent, none when empty.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceConfig {
    pub fix_photo: Option<Vec<String>>,
}

impl EvidenceConfig {
    /// The policy this configuration sets; names the first code that is not a category.
    pub fn policy(&self) -> Result<EvidencePolicy, String> {
        let Some(codes) = &self.fix_photo else {
            return Ok(EvidencePolicy::default());
        };
        let fix_photo = codes
            .iter()
            .map(|code| {
                Category::parse(code)
                    .ok_or_else(|| format!("evidence.fix_photo: {code}: not a case category"))
            })
            .collect::<Result<_, _>>()?;
        Ok(EvidencePolicy { fix_photo })
    }
}

/// Whether a step of `action` on a case of `category` may be taken with files of `media_types`:
/// a fix (reported by a unit, or made on the spot) in a category whose policy asks for it must
/// come with at least one photo. Refused naming `file`, the field the photos are sent in.
pub fn check_step(
    policy: &EvidencePolicy,
    category: Category,
    action: Action,
    media_types: &[&str],
) -> Result<(), StepError> {
    let fix = EvidenceKind::of(action.code()) == EvidenceKind::Fix;
    if fix
        && policy.needs_fix_photo(category)
        && !media_types.iter().any(|m| m.starts_with("image/"))
    {
        return Err(StepError::Invalid {
            field: "file".into(),
            message: "a photo of the fix is required for this category".into(),
        });
    }
    Ok(())
}

/// A timeline entry as the choice of a file's step sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryRef<'a> {
    pub id: i64,
    pub action: &'a str,
    pub actor: Option<i64>,
}

/// The step that files added on their own, after the steps of the case, belong to: the latest
/// report, fix or verification that `account` took on the case (a reporter's photo found later
/// joins the report). None when they took none: the files are then a step of their own.
/// `entries` are in timeline order.
pub fn later_files_join(entries: &[EntryRef<'_>], account: i64) -> Option<i64> {
    entries
        .iter()
        .rev()
        .find(|e| e.actor == Some(account) && EvidenceKind::of(e.action) != EvidenceKind::Other)
        .map(|e| e.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_step_gives_its_files_a_kind() {
        assert_eq!(EvidenceKind::of("report"), EvidenceKind::Report);
        assert_eq!(EvidenceKind::of("report_fix"), EvidenceKind::Fix);
        assert_eq!(EvidenceKind::of("fix_on_site"), EvidenceKind::Fix);
        assert_eq!(EvidenceKind::of("verify"), EvidenceKind::Verification);
        assert_eq!(EvidenceKind::of("rework"), EvidenceKind::Verification);
        for other in [
            "triage", "dispatch", "accept", "attach", "escalate", "absorb", "x",
        ] {
            assert_eq!(EvidenceKind::of(other), EvidenceKind::Other, "{other}");
        }
    }

    #[test]
    fn a_fix_in_a_policy_category_needs_a_photo() {
        let policy = EvidencePolicy::default();
        let gate = Category::StaticControl;
        let refused = check_step(&policy, gate, Action::ReportFix, &[]).unwrap_err();
        assert!(matches!(refused, StepError::Invalid { ref field, .. } if field == "file"));
        // A PDF or a video is no photo; one photo among them is enough.
        assert!(check_step(&policy, gate, Action::ReportFix, &["application/pdf"]).is_err());
        assert!(check_step(&policy, gate, Action::FixOnSite, &["video/mp4"]).is_err());
        assert_eq!(
            check_step(
                &policy,
                gate,
                Action::ReportFix,
                &["application/pdf", "image/jpeg"]
            ),
            Ok(())
        );
        // Other steps, and fixes in other categories, need none.
        assert_eq!(check_step(&policy, gate, Action::Verify, &[]), Ok(()));
        assert_eq!(check_step(&policy, gate, Action::Accept, &[]), Ok(()));
        assert_eq!(
            check_step(&policy, Category::Supplies, Action::ReportFix, &[]),
            Ok(())
        );
    }

    #[test]
    fn a_configured_policy_replaces_the_default_and_names_bad_codes() {
        let parse = |v: serde_json::Value| {
            serde_json::from_value::<EvidenceConfig>(v)
                .unwrap()
                .policy()
        };
        assert_eq!(parse(serde_json::json!({})), Ok(EvidencePolicy::default()));
        let none = parse(serde_json::json!({"fix_photo": []})).unwrap();
        assert!(!none.needs_fix_photo(Category::StaticControl));
        let some = parse(serde_json::json!({"fix_photo": ["supplies"]})).unwrap();
        assert!(some.needs_fix_photo(Category::Supplies));
        assert!(!some.needs_fix_photo(Category::StaticControl));
        assert_eq!(
            parse(serde_json::json!({"fix_photo": ["supplies", "sanitation"]})),
            Err("evidence.fix_photo: sanitation: not a case category".into())
        );
        assert!(
            serde_json::from_value::<EvidenceConfig>(serde_json::json!({"photo": []})).is_err()
        );
    }

    #[test]
    fn files_added_later_join_the_adders_latest_evidence_step() {
        let e = |id, action, actor| EntryRef {
            id,
            action,
            actor: Some(actor),
        };
        let (reporter, office, unit) = (1, 2, 3);
        let timeline = [
            e(10, "report", reporter),
            e(11, "triage", office),
            e(12, "accept", unit),
            e(13, "report_fix", unit),
            e(14, "rework", reporter),
            e(15, "attach", reporter),
        ];
        assert_eq!(later_files_join(&timeline[..3], reporter), Some(10));
        assert_eq!(later_files_join(&timeline, reporter), Some(14));
        assert_eq!(later_files_join(&timeline, unit), Some(13));
        // A unit before its fix, the office: none of theirs.
        assert_eq!(later_files_join(&timeline[..3], unit), None);
        assert_eq!(later_files_join(&timeline, office), None);
        // The system's entries are no one's.
        let system = [EntryRef {
            id: 20,
            action: "report",
            actor: None,
        }];
        assert_eq!(later_files_join(&system, reporter), None);
    }
}
