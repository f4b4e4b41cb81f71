//! What the case flow made of a recall's follow-ups that day: the office triages each within
//! minutes, the group sends the door retests to the community office and the building's control
//! to the property manager, each takes its task on and reports it done (the building's door
//! photographed shut), and the group verifies and closes it once the retests are back. Walked
//! through `cases::take`, as the cases' own history is.

use huoyan_core::cases::{DeadlinePolicy, EvidencePolicy};

use super::super::cases::MIN;
use super::super::cases::photos::Photos;
use super::fail;
use crate::audit::Change;
use crate::cases::TransitionRequest;
use crate::db::Db;

/// When the recall was opened, when the door teams sealed its last retest, and when the lab
/// imported the retests' results.
pub(super) struct Times {
    pub recalled: i64,
    pub retested: i64,
    pub resulted: i64,
}

pub(super) async fn walk(
    change: &mut Change,
    db: &Db,
    recall: i64,
    t: &Times,
) -> anyhow::Result<()> {
    let who = |name| super::principal(db, name);
    let (office, group) = (who("office").await?, who("group").await?);
    // 景程社区居委会 and 景程小区物业服务中心.
    let (community, property) = (who("department").await?, who("dept-property").await?);
    let (deadlines, evidence, photos) = (
        DeadlinePolicy::default(),
        EvidencePolicy::default(),
        Photos::new(),
    );
    let cases: Vec<(i64, String)> = sqlx::query_as(
        "SELECT case_id, kind FROM recall_follow_ups WHERE recall_id = $1 ORDER BY case_id",
    )
    .bind(recall)
    .fetch_all(&mut *change.tx)
    .await?;
    for (k, (case, kind)) in cases.iter().enumerate() {
        let retest = kind == "door_retest";
        let (unit, done, checked, fix, verify) = if retest {
            (
                &community,
                t.retested + 5 * MIN,
                t.resulted + 20 * MIN,
                "已完成单管上门采样，样本已送检",
                "单管复核结果均为阴性",
            )
        } else {
            (
                &property,
                t.recalled + 60 * MIN,
                t.recalled + 180 * MIN,
                "单元门已加封，专人值守，居民足不出户",
                "已到现场核实楼栋封控到位",
            )
        };
        let department = unit.scope.department_id.expect("a unit's login");
        let after = k as i64 * MIN;
        let steps = [
            (
                &office,
                t.recalled + 6 * MIN + after,
                serde_json::json!({"action": "triage", "note": "混管阳性召回后续，紧急转督导组派单"}),
            ),
            (
                &group,
                t.recalled + 12 * MIN + after,
                serde_json::json!({"action": "dispatch", "department_id": department,
                    "note": "按召回单立即处置"}),
            ),
            (
                unit,
                t.recalled + 20 * MIN + after,
                serde_json::json!({"action": "accept"}),
            ),
            (
                unit,
                done,
                serde_json::json!({"action": "report_fix", "note": fix}),
            ),
            (
                &group,
                checked,
                serde_json::json!({"action": "verify", "note": verify}),
            ),
            (
                &group,
                checked + 5 * MIN,
                serde_json::json!({"action": "close"}),
            ),
        ];
        for (p, at, step) in steps {
            change.act_as(&p.actor(), at);
            let req: TransitionRequest = serde_json::from_value(step)?;
            // The property manager's fix shows the building's door shut.
            let photo = match &req {
                TransitionRequest::ReportFix(_) if !retest => vec![photos.after(*case as usize)],
                _ => Vec::new(),
            };
            crate::cases::take(change, &deadlines, &evidence, p, *case, &req, &photo)
                .await
                .map_err(fail)?;
        }
    }
    Ok(())
}
