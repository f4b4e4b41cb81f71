//! Checklists: per site kind, the items an inspector answers at each visit, versioned so that a
//! round keeps the items it was planned with when the template changes later.

use serde::{Deserialize, Serialize};

use crate::cases::Category;
use crate::org::SiteKind;

crate::coded_enum!(
    /// An item's answer at one visit.
    Answer {
        Pass = "pass", "合格", "Pass";
        Fail = "fail", "不合格", "Fail";
        NotApplicable = "not_applicable", "不适用", "Not applicable";
    }
);

/// Most items a checklist holds.
pub const MAX_ITEMS: usize = 40;
/// Longest item code, and item text in either language (characters).
pub const MAX_CODE: usize = 40;
pub const MAX_TEXT: usize = 200;

/// One thing to check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    /// Stable across versions: findings and figures group by it.
    pub code: String,
    pub zh: String,
    pub en: String,
    /// The category of the case a failure of this item becomes.
    pub category: Category,
}

/// A checklist for one kind of site, at one version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checklist {
    pub kind: SiteKind,
    pub version: u32,
    pub items: Vec<Item>,
}

/// What is wrong with a checklist's items, naming the item.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChecklistError {
    #[error("a checklist has at least one item")]
    Empty,
    #[error("a checklist has at most {MAX_ITEMS} items")]
    TooMany,
    #[error("item {0}: the code is 1 to {MAX_CODE} lowercase letters, digits and _")]
    BadCode(usize),
    #[error("item {0}: the code {1:?} is used twice")]
    Repeated(usize, String),
    #[error("item {0}: the text in each language is 1 to {MAX_TEXT} characters")]
    BadText(usize),
}

/// Checks `items` as a checklist's content.
pub fn check_items(items: &[Item]) -> Result<(), ChecklistError> {
    if items.is_empty() {
        return Err(ChecklistError::Empty);
    }
    if items.len() > MAX_ITEMS {
        return Err(ChecklistError::TooMany);
    }
    for (i, item) in items.iter().enumerate() {
        let code_ok = (1..=MAX_CODE).contains(&item.code.len())
            && item
                .code
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !code_ok {
            return Err(ChecklistError::BadCode(i));
        }
        if items[..i].iter().any(|o| o.code == item.code) {
            return Err(ChecklistError::Repeated(i, item.code.clone()));
        }
        let text_ok = |t: &str| {
            let n = t.trim().chars().count();
            (1..=MAX_TEXT).contains(&n) && !t.chars().any(char::is_control)
        };
        if !text_ok(&item.zh) || !text_ok(&item.en) {
            return Err(ChecklistError::BadText(i));
        }
    }
    Ok(())
}

/// The version that saving `items` as the checklist of a kind makes, given its latest: the same
/// version when nothing changed (saving again is no new version), else the next.
pub fn next_version(latest: Option<&Checklist>, items: &[Item]) -> u32 {
    match latest {
        None => 1,
        Some(c) if c.items == items => c.version,
        Some(c) => c.version + 1,
    }
}

/// What is wrong with a visit's answers against its checklist.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnswersError {
    #[error("item {0:?} is not on this checklist")]
    Unknown(String),
    #[error("item {0:?} is answered twice")]
    Twice(String),
    #[error("item {0:?} is not answered")]
    Missing(String),
    #[error("item {0:?} failed: say what was seen (a note)")]
    FailWithoutNote(String),
}

/// One answered item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answered {
    pub code: String,
    pub answer: Answer,
    #[serde(default)]
    pub note: String,
}

/// Checks that `answers` answer every item of `checklist` once, and that each failure says what
/// was seen; returns the failed items' codes (the visit's findings) in checklist order.
pub fn findings(checklist: &Checklist, answers: &[Answered]) -> Result<Vec<String>, AnswersError> {
    for (i, a) in answers.iter().enumerate() {
        if !checklist.items.iter().any(|item| item.code == a.code) {
            return Err(AnswersError::Unknown(a.code.clone()));
        }
        if answers[..i].iter().any(|o| o.code == a.code) {
            return Err(AnswersError::Twice(a.code.clone()));
        }
        if a.answer == Answer::Fail && a.note.trim().is_empty() {
            return Err(AnswersError::FailWithoutNote(a.code.clone()));
        }
    }
    let mut failed = Vec::new();
    for item in &checklist.items {
        match answers.iter().find(|a| a.code == item.code) {
            None => return Err(AnswersError::Missing(item.code.clone())),
            Some(a) if a.answer == Answer::Fail => failed.push(item.code.clone()),
            Some(_) => {}
        }
    }
    Ok(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(code: &str) -> Item {
        Item {
            code: code.into(),
            zh: format!("{code} 检查"),
            en: format!("{code} checked"),
            category: Category::StaticControl,
        }
    }

    fn gate() -> Checklist {
        Checklist {
            kind: SiteKind::ZoneGate,
            version: 1,
            items: vec![
                item("staffed_24h"),
                item("passes_checked"),
                item("log_kept"),
            ],
        }
    }

    fn answer(code: &str, answer: Answer, note: &str) -> Answered {
        Answered {
            code: code.into(),
            answer,
            note: note.into(),
        }
    }

    #[test]
    fn items_are_checked_and_named() {
        assert_eq!(check_items(&[]), Err(ChecklistError::Empty));
        assert_eq!(check_items(&gate().items), Ok(()));
        assert_eq!(
            check_items(&[item("a"), item("B")]),
            Err(ChecklistError::BadCode(1))
        );
        assert_eq!(
            check_items(&[item("a"), item("a")]),
            Err(ChecklistError::Repeated(1, "a".into()))
        );
        let mut blank = item("b");
        blank.en = "  ".into();
        assert_eq!(
            check_items(&[item("a"), blank]),
            Err(ChecklistError::BadText(1))
        );
        let many: Vec<Item> = (0..=MAX_ITEMS).map(|i| item(&format!("i{i}"))).collect();
        assert_eq!(check_items(&many), Err(ChecklistError::TooMany));
    }

    #[test]
    fn a_changed_checklist_is_a_new_version_and_an_unchanged_one_is_not() {
        let c = gate();
        assert_eq!(next_version(None, &c.items), 1);
        assert_eq!(next_version(Some(&c), &c.items), 1);
        let mut changed = c.items.clone();
        changed.push(item("disinfected"));
        assert_eq!(next_version(Some(&c), &changed), 2);
    }

    #[test]
    fn a_visit_answers_every_item_once_and_its_failures_are_its_findings() {
        let c = gate();
        let all = vec![
            answer("staffed_24h", Answer::Pass, ""),
            answer("passes_checked", Answer::Fail, "两辆车未查验通行证"),
            answer("log_kept", Answer::NotApplicable, ""),
        ];
        assert_eq!(findings(&c, &all), Ok(vec!["passes_checked".to_string()]));
        assert_eq!(
            findings(&c, &all[..2]),
            Err(AnswersError::Missing("log_kept".into()))
        );
        let mut twice = all.clone();
        twice.push(answer("log_kept", Answer::Pass, ""));
        assert_eq!(
            findings(&c, &twice),
            Err(AnswersError::Twice("log_kept".into()))
        );
        let mut unknown = all.clone();
        unknown.push(answer("cold_chain", Answer::Pass, ""));
        assert_eq!(
            findings(&c, &unknown),
            Err(AnswersError::Unknown("cold_chain".into()))
        );
        let mut silent = all;
        silent[1].note = " ".into();
        assert_eq!(
            findings(&c, &silent),
            Err(AnswersError::FailWithoutNote("passes_checked".into()))
        );
    }
}
