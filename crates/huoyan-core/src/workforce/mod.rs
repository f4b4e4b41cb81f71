//! Workforce: posts and shifts, availability and blockers, and the automatic roster that replaces
//! the dispatcher's evening of phone calls.

pub mod blockers;
pub mod posts;
pub mod roster;
pub mod signin;

/// The kinds of notice the workforce sends (beside the cases' `Notice::KINDS`): a person's
/// shifts changed or were cancelled by a published roster, a blocker waits for a decision, a
/// blocker was lifted or a request refused.
pub const NOTICE_KINDS: [&str; 5] = [
    "roster_changed",
    "roster_cleared",
    "blocker_opened",
    "blocker_lifted",
    "blocker_refused",
];

crate::coded_enum!(
    /// Where a roster plan stands.
    PlanState {
        Planning = "planning", "正在排班…", "Planning…";
        Draft = "draft", "草稿，待发布", "Draft, not published";
        Published = "published", "已发布", "Published";
        Cancelled = "cancelled", "已取消", "Cancelled";
        Failed = "failed", "排班失败", "Failed";
        Interrupted = "interrupted", "服务重启，排班中断，请重新排班", "Interrupted by a restart: plan again";
    }
);

crate::coded_enum!(
    /// Who is on the duty roll: a cadre sent down to a community, or a volunteer registered with
    /// the community and the compound's temporary branch.
    DutyKind {
        Cadre = "cadre", "下沉干部", "Sinking cadre";
        Volunteer = "volunteer", "双报到志愿者", "Double-registered volunteer";
    }
);
