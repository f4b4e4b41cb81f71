//! Assistance requests (近一米温暖服务): medicine bought, a medical visit, the swab taken to the
//! door, help for the elderly. Each is assigned to a volunteer with a deadline and closed with a
//! note; an urgent medical need is flagged red and told to the community and the group at once.

use super::Condition;

crate::coded_enum!(
    /// What is asked.
    RequestKind {
        MedicinePurchase = "medicine_purchase", "代购药品", "Buy medicine";
        MedicalVisit = "medical_visit", "就医协助", "Medical visit";
        DoorSampling = "door_sampling", "上门采样", "Door-to-door sampling";
        ElderlyHelp = "elderly_help", "助老服务", "Help for the elderly";
    }
);

crate::coded_enum!(
    /// Who passed the request on.
    RequestSource {
        Supervisor = "supervisor", "监督员", "Supervisor";
        Community = "community", "社区", "Community";
        Hotline = "hotline", "热线", "Hotline";
        Volunteer = "volunteer", "志愿者", "Volunteer";
    }
);

crate::coded_enum!(
    /// Where a request stands.
    RequestState {
        Open = "open", "待分派", "Open";
        Assigned = "assigned", "办理中", "Assigned";
        Closed = "closed", "已办结", "Closed";
    }
);

crate::coded_enum!(
    /// Why a request is flagged red.
    UrgentReason {
        Dialysis = "dialysis", "透析", "Dialysis";
        Pregnancy = "pregnancy", "孕产", "Pregnancy";
        ChestPain = "chest_pain", "胸痛", "Chest pain";
        Breathing = "breathing", "呼吸困难", "Breathing difficulty";
        Unconscious = "unconscious", "意识不清", "Unconscious";
    }
);

/// Words in a request's text that make it urgent whatever its kind. Negations (无胸痛) are not
/// read: a request flagged red by mistake costs a phone call, one missed may cost a life.
const URGENT_WORDS: &[(&str, UrgentReason)] = &[
    ("透析", UrgentReason::Dialysis),
    ("孕", UrgentReason::Pregnancy),
    ("临产", UrgentReason::Pregnancy),
    ("待产", UrgentReason::Pregnancy),
    ("分娩", UrgentReason::Pregnancy),
    ("宫缩", UrgentReason::Pregnancy),
    ("羊水", UrgentReason::Pregnancy),
    ("胸痛", UrgentReason::ChestPain),
    ("胸闷", UrgentReason::ChestPain),
    ("心口疼", UrgentReason::ChestPain),
    ("心绞痛", UrgentReason::ChestPain),
    ("呼吸困难", UrgentReason::Breathing),
    ("喘不上气", UrgentReason::Breathing),
    ("憋气", UrgentReason::Breathing),
    ("昏迷", UrgentReason::Unconscious),
    ("晕倒", UrgentReason::Unconscious),
    ("意识不清", UrgentReason::Unconscious),
];

/// Why a request is urgent, if it is: its text names an urgent need, or it asks for a medical
/// visit for a resident on dialysis or pregnant (a missed session or check cannot wait for the
/// seal to lift).
pub fn urgency(kind: RequestKind, conditions: &[Condition], text: &str) -> Option<UrgentReason> {
    if let Some((_, reason)) = URGENT_WORDS.iter().find(|(w, _)| text.contains(w)) {
        return Some(*reason);
    }
    if kind != RequestKind::MedicalVisit {
        return None;
    }
    if conditions.contains(&Condition::Dialysis) {
        Some(UrgentReason::Dialysis)
    } else if conditions.contains(&Condition::Pregnant) {
        Some(UrgentReason::Pregnancy)
    } else {
        None
    }
}

const HOUR_MS: i64 = 3_600_000;

/// The time a request is due when its filer names none: an urgent one within the hour; a medical
/// visit within 4 hours; a swab at the door within the day's round (12 hours); medicine and help
/// for the elderly within a day.
pub fn default_deadline(kind: RequestKind, urgent: bool, filed_ms: i64) -> i64 {
    let hours = if urgent {
        1
    } else {
        match kind {
            RequestKind::MedicalVisit => 4,
            RequestKind::DoorSampling => 12,
            RequestKind::MedicinePurchase | RequestKind::ElderlyHelp => 24,
        }
    };
    filed_ms + hours * HOUR_MS
}

/// Whether a request in `state` due at `deadline_ms` is overdue at `now_ms`.
pub fn overdue(state: RequestState, deadline_ms: i64, now_ms: i64) -> bool {
    state != RequestState::Closed && now_ms > deadline_ms
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urgent_words_flag_any_request_red() {
        assert_eq!(
            urgency(
                RequestKind::MedicinePurchase,
                &[],
                "老人胸闷，需要速效救心丸"
            ),
            Some(UrgentReason::ChestPain)
        );
        assert_eq!(
            urgency(RequestKind::ElderlyHelp, &[], "孕妇38周，出现宫缩"),
            Some(UrgentReason::Pregnancy)
        );
        assert_eq!(
            urgency(RequestKind::DoorSampling, &[], "卧床老人需上门采样"),
            None
        );
    }

    #[test]
    fn a_medical_visit_for_dialysis_or_pregnancy_is_urgent_other_kinds_are_not() {
        assert_eq!(
            urgency(
                RequestKind::MedicalVisit,
                &[Condition::ElderlyAlone, Condition::Dialysis],
                "去医院"
            ),
            Some(UrgentReason::Dialysis)
        );
        assert_eq!(
            urgency(RequestKind::MedicalVisit, &[Condition::Pregnant], "产检"),
            Some(UrgentReason::Pregnancy)
        );
        assert_eq!(
            urgency(
                RequestKind::MedicinePurchase,
                &[Condition::Dialysis],
                "降压药"
            ),
            None
        );
        assert_eq!(
            urgency(RequestKind::MedicalVisit, &[Condition::Disabled], "复查"),
            None
        );
    }

    #[test]
    fn deadlines_follow_urgency_and_kind_and_only_open_requests_are_overdue() {
        assert_eq!(
            default_deadline(RequestKind::MedicinePurchase, true, 0),
            HOUR_MS
        );
        assert_eq!(
            default_deadline(RequestKind::MedicalVisit, false, 0),
            4 * HOUR_MS
        );
        assert_eq!(
            default_deadline(RequestKind::DoorSampling, false, 0),
            12 * HOUR_MS
        );
        assert_eq!(
            default_deadline(RequestKind::ElderlyHelp, false, 5),
            24 * HOUR_MS + 5
        );
        assert!(overdue(RequestState::Assigned, 10, 11));
        assert!(overdue(RequestState::Open, 10, 11));
        assert!(!overdue(RequestState::Closed, 10, 11));
        assert!(!overdue(RequestState::Assigned, 10, 10));
    }
}
