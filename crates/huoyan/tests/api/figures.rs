//! Figures as the leaders read them: a day's history built through the API by the five parties
//! (reports, triage, a dispatch with a lead and a co-responsible unit, a send-back and
//! re-dispatch, an extension, a rework, verification), its clock then set to known times, and
//! every figure checked against the number worked out by hand. The workbooks are read back by
//! openpyxl, a reader that shares nothing with our writer, and compared with the API's rows.

use std::process::Command;

use huoyan_core::cases::{CaseState, Category, Kind, Priority, Source};
use serde_json::{Value, json};

use crate::{TestApp, spawn_app};

const H: i64 = 3_600_000;
/// The day's filter, with the quantiles read exactly: these tests check the definitions (the
/// tallies' reading is compared with this one in figure_tallies.rs).
const DAY: &str = "from=2021-05-10&to=2021-05-10&exact=true";
const LEAD: &str = "景程社区居委会";
const MARKET: &str = "大庆市市场监督管理局";
const POLICE: &str = "大庆市公安局萨尔图分局";

/// 2021-05-10 09:00 Beijing time: the day the history is set on (before the scenario, so no demo
/// data can fall on it).
fn t0() -> i64 {
    chrono::DateTime::parse_from_rfc3339("2021-05-10T09:00:00+08:00")
        .unwrap()
        .timestamp_millis()
}

/// `hours` after `t0`, in milliseconds (halves allowed).
fn at(hours: f64) -> i64 {
    t0() + (hours * H as f64) as i64
}

struct History {
    app: TestApp,
    lead: i64,
    market: i64,
    police: i64,
    /// Tokens: supervisor, office, group, lead, market, police.
    tokens: [String; 6],
    /// Cases A (supplies, closed), B (testing, verified), C (supplies, open overdue),
    /// D (testing, rejected), E (supplies, the next day).
    cases: [i64; 5],
}

async fn act(app: &TestApp, token: &str, case: i64, body: Value) {
    let (status, answer) = app
        .send(
            "POST",
            token,
            &format!("/api/v1/cases/{case}/transitions"),
            &body,
        )
        .await;
    assert_eq!(status, 200, "{body}: {answer}");
}

/// Gives a case's timeline entries (in order) and its report the times `hours` after `t0`.
async fn retime(app: &TestApp, case: i64, hours: &[f64]) {
    use sqlx::Row;
    let ids: Vec<i64> = sqlx::query("SELECT id FROM case_events WHERE case_id = $1 ORDER BY id")
        .bind(case)
        .fetch_all(&app.db.pool)
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get(0).unwrap())
        .collect();
    assert_eq!(ids.len(), hours.len(), "case {case}'s timeline");
    for (id, h) in ids.iter().zip(hours) {
        sqlx::query("UPDATE case_events SET at = $1 WHERE id = $2")
            .bind(at(*h))
            .bind(id)
            .execute(&app.db.pool)
            .await
            .unwrap();
    }
    sqlx::query("UPDATE cases SET reported_at = $1, updated_at = $2 WHERE id = $3")
        .bind(at(hours[0]))
        .bind(at(*hours.last().unwrap()))
        .bind(case)
        .execute(&app.db.pool)
        .await
        .unwrap();
    retally(app).await;
}

/// Builds the figures' tallies again from the history, which `retime` and `retask` change
/// behind the write path's back.
async fn retally(app: &TestApp) {
    sqlx::query("DELETE FROM case_figure_tallies_built")
        .execute(&app.db.pool)
        .await
        .unwrap();
    huoyan::cases::figures::tallies::build(&app.db)
        .await
        .unwrap();
}

/// Sets a unit's task clock on a case (hours after `t0`), and the case's earliest open deadline
/// as the workflow keeps it.
async fn retask(app: &TestApp, case: i64, dept: i64, dispatched: f64, due: f64, done: Option<f64>) {
    let n = sqlx::query("UPDATE case_tasks SET dispatched_at = $1, due_at = $2, done_at = $3 WHERE case_id = $4 AND department_id = $5")
        .bind(at(dispatched))
        .bind(at(due))
        .bind(done.map(at))
        .bind(case)
        .bind(dept)
        .execute(&app.db.pool)
        .await
        .unwrap()
        .rows_affected();
    assert_eq!(n, 1, "one task of unit {dept} on case {case}");
    sqlx::query("UPDATE cases SET due_at = (SELECT MIN(due_at) FROM case_tasks WHERE case_id = $1 AND state IN ('dispatched', 'rectifying')) WHERE id = $1")
        .bind(case)
        .execute(&app.db.pool)
        .await
        .unwrap();
    retally(app).await;
}

/// The day's history. Every step goes through the API; only the clock is set afterwards.
async fn history() -> History {
    let app = spawn_app(true).await;
    let id = |name: &str| format!("SELECT id FROM departments WHERE name = '{name}'");
    let (lead, market, police) = (
        app.id_of(&id(LEAD)).await,
        app.id_of(&id(MARKET)).await,
        app.id_of(&id(POLICE)).await,
    );
    let tokens = [
        app.token("supervisor").await,
        app.token("office").await,
        app.token("group").await,
        app.token("department").await,
        app.new_login("market", "department", json!({"department_id": market}))
            .await,
        app.new_login("police", "department", json!({"department_id": police}))
            .await,
    ];
    let [sup, office, group, l, m, p] = &tokens;
    let compound = app
        .id_of("SELECT id FROM regions WHERE name = '景程小区'")
        .await;
    let mut cases = [0; 5];
    for (i, (category, text)) in [
        ("supplies", "5号楼蔬菜包两天未送达，门口超市店员未做核酸"),
        ("testing", "核酸采样点排队过密"),
        ("supplies", "2号楼药品代购无人接单"),
        ("testing", "邻居家有人咳嗽"),
        ("supplies", "7号楼蔬菜包缺斤少两"),
    ]
    .into_iter()
    .enumerate()
    {
        let (status, case) = app
            .send(
                "POST",
                sup,
                "/api/v1/cases",
                &json!({"category": category, "compound_id": compound, "address": format!("{}号楼", i + 1), "description": text}),
            )
            .await;
        assert_eq!(status, 201, "{case}");
        cases[i] = case["id"].as_i64().unwrap();
    }
    let [a, b, c, d, e] = cases;
    let triage = json!({"action": "triage", "note": "转督导组"});
    for case in [a, b, c, e] {
        act(&app, office, case, triage.clone()).await;
    }
    // A: the lead and the market regulator; the market regulator fixes its part first; the
    // lead's fix fails verification once and stands the second time.
    act(&app, group, a, json!({"action": "dispatch", "department_id": lead, "note": "督促送达", "co": [{"department_id": market, "instruction": "查处超市"}]})).await;
    act(&app, l, a, json!({"action": "accept"})).await;
    act(&app, m, a, json!({"action": "accept"})).await;
    act(
        &app,
        m,
        a,
        json!({"action": "report_fix", "note": "超市已停业整顿"}),
    )
    .await;
    act(
        &app,
        l,
        a,
        json!({"action": "report_fix", "note": "蔬菜包已送达"}),
    )
    .await;
    act(
        &app,
        sup,
        a,
        json!({"action": "rework", "note": "仍有三户未收到", "department_ids": [lead]}),
    )
    .await;
    act(
        &app,
        l,
        a,
        json!({"action": "report_fix", "note": "三户已补送"}),
    )
    .await;
    act(&app, sup, a, json!({"action": "verify", "note": "已核实"})).await;
    act(&app, group, a, json!({"action": "close"})).await;
    retime(
        &app,
        a,
        &[0.0, 0.5, 1.0, 1.5, 1.5, 3.0, 5.0, 6.0, 8.0, 9.0, 10.0],
    )
    .await;
    retask(&app, a, lead, 1.0, 6.0, Some(8.0)).await;
    retask(&app, a, market, 1.0, 6.0, Some(3.0)).await;
    // B: misrouted to the police, who send it back; re-dispatched to the lead, who asks for and
    // is granted more time, then fixes it; the group verifies.
    act(
        &app,
        group,
        b,
        json!({"action": "dispatch", "department_id": police}),
    )
    .await;
    act(
        &app,
        p,
        b,
        json!({"action": "send_back", "note": "不属于公安职责"}),
    )
    .await;
    act(
        &app,
        group,
        b,
        json!({"action": "dispatch", "department_id": lead}),
    )
    .await;
    act(&app, l, b, json!({"action": "accept"})).await;
    act(&app, l, b, json!({"action": "request_extension", "until": "2099-01-01T00:00:00Z", "note": "需增设采样点"})).await;
    act(
        &app,
        group,
        b,
        json!({"action": "grant_extension", "note": "同意"}),
    )
    .await;
    act(
        &app,
        l,
        b,
        json!({"action": "report_fix", "note": "已增设采样点"}),
    )
    .await;
    act(
        &app,
        group,
        b,
        json!({"action": "verify", "note": "现场核实"}),
    )
    .await;
    retime(&app, b, &[0.0, 0.5, 2.0, 3.0, 4.0, 4.5, 5.0, 5.5, 7.0, 8.0]).await;
    retask(&app, b, police, 2.0, 10.0, None).await;
    retask(&app, b, lead, 4.0, 12.0, Some(7.0)).await;
    // C: accepted, never fixed, long past its deadline.
    act(
        &app,
        group,
        c,
        json!({"action": "dispatch", "department_id": lead}),
    )
    .await;
    act(&app, l, c, json!({"action": "accept"})).await;
    retime(&app, c, &[0.0, 0.5, 1.0, 1.5]).await;
    retask(&app, c, lead, 1.0, 2.0, None).await;
    // D: not a problem for the command.
    act(
        &app,
        office,
        d,
        json!({"action": "reject", "note": "非疫情防控事项"}),
    )
    .await;
    retime(&app, d, &[0.0, 0.5]).await;
    // E: the next day, outside the figures of the 10th.
    act(
        &app,
        group,
        e,
        json!({"action": "dispatch", "department_id": lead}),
    )
    .await;
    retime(&app, e, &[24.0, 24.5, 25.0]).await;
    retask(&app, e, lead, 25.0, 26.0, None).await;
    History {
        app,
        lead,
        market,
        police,
        tokens,
        cases,
    }
}

/// (n, median, p90) of a duration, in hours.
fn stat(v: &Value) -> (i64, Option<f64>, Option<f64>) {
    let h = |x: &Value| x.as_i64().map(|ms| ms as f64 / H as f64);
    (
        v["n"].as_i64().unwrap(),
        h(&v["median_ms"]),
        h(&v["p90_ms"]),
    )
}

/// The four durations of a row: report→dispatch, dispatch→rectified, rectified→verified,
/// report→verified.
fn spans(row: &Value) -> [(i64, Option<f64>, Option<f64>); 4] {
    let d = &row["durations"];
    [
        stat(&d["report_to_dispatch"]),
        stat(&d["dispatch_to_rectified"]),
        stat(&d["rectified_to_verified"]),
        stat(&d["report_to_verified"]),
    ]
}

/// tasks, done, on_time, decided, overdue, fixed, reworked, extended.
fn counts(row: &Value) -> [i64; 8] {
    let m = &row["measures"];
    [
        "tasks", "done", "on_time", "decided", "overdue", "fixed", "reworked", "extended",
    ]
    .map(|k| m[k].as_i64().unwrap())
}

fn rates(row: &Value) -> [Option<f64>; 3] {
    let m = &row["measures"];
    ["on_time_rate", "rework_rate", "extension_rate"].map(|k| m[k].as_f64())
}

fn s(n: i64, median: f64, p90: f64) -> (i64, Option<f64>, Option<f64>) {
    (n, Some(median), Some(p90))
}
const NONE: (i64, Option<f64>, Option<f64>) = (0, None, None);

#[tokio::test]
async fn every_figure_of_a_known_day_is_what_the_definitions_give() {
    let h = history().await;
    let (app, commander) = (&h.app, h.app.token("commander").await);
    let (status, f) = app
        .get(&commander, &format!("/api/v1/cases/figures?{DAY}"))
        .await;
    assert_eq!(status, 200, "{f}");
    assert_eq!(f["filter"]["from"], "2021-05-10");
    assert_eq!(f["rank_min_decided"], 3);

    // Per category, on the case's clock. Testing: B (report 0, first dispatch 2 h — the police,
    // who sent it back — fix 7 h, verified 8 h) and D (rejected).
    let cats = f["by_category"].as_array().unwrap();
    let codes: Vec<&str> = cats
        .iter()
        .map(|c| c["category"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        ["testing", "supplies"],
        "in the category list's order"
    );
    let testing = &cats[0];
    assert_eq!(testing["cases"], 2);
    assert_eq!(testing["cases_by_state"]["verified"], 1);
    assert_eq!(testing["cases_by_state"]["rejected"], 1);
    assert_eq!(
        spans(testing),
        [
            s(1, 2.0, 2.0),
            s(1, 5.0, 5.0),
            s(1, 1.0, 1.0),
            s(1, 8.0, 8.0)
        ]
    );
    // Its tasks: the police's (sent back) and the lead's (done at 7 h, due 12 h after the
    // extension).
    assert_eq!(counts(testing), [2, 1, 1, 1, 0, 1, 0, 1]);
    assert_eq!(rates(testing), [Some(1.0), Some(0.0), Some(0.5)]);
    // Supplies: A (dispatched 1 h; fixed 5 h, reworked, fixed again 8 h; verified 9 h) and C
    // (dispatched 1 h, no fix).
    let supplies = &cats[1];
    assert_eq!(supplies["cases"], 2);
    assert_eq!(supplies["cases_by_state"]["closed"], 1);
    assert_eq!(supplies["cases_by_state"]["rectifying"], 1);
    assert_eq!(
        spans(supplies),
        [
            s(2, 1.0, 1.0),
            s(1, 7.0, 7.0),
            s(1, 1.0, 1.0),
            s(1, 9.0, 9.0)
        ],
        "the failed fix at 5 h does not count: rectified is 8 h"
    );
    // Tasks: the lead on A (done 8 h, due 6 h: late; reworked once), the market regulator on A
    // (done 3 h: on time), the lead on C (open, due 2 h: overdue).
    assert_eq!(counts(supplies), [3, 2, 1, 3, 2, 2, 1, 0]);
    assert_eq!(rates(supplies), [Some(1.0 / 3.0), Some(0.5), Some(0.0)]);
    let all = &f["overall"];
    assert!(all["category"].is_null());
    assert_eq!(all["cases"], 4, "E, on the 11th, is outside the filter");
    // report→dispatch {1, 2, 1} h: nearest rank gives the 2nd of 3 as median, the 3rd as p90.
    assert_eq!(
        spans(all),
        [
            s(3, 1.0, 2.0),
            s(2, 5.0, 7.0),
            s(2, 1.0, 1.0),
            s(2, 8.0, 9.0)
        ]
    );
    assert_eq!(counts(all), [5, 3, 2, 4, 2, 3, 1, 1]);

    // Per department, on each unit's clock, in ranking order: only the lead has 3 decided tasks;
    // the other two follow unranked, by name.
    let units = f["by_department"].as_array().unwrap();
    let order: Vec<(i64, Value)> = units
        .iter()
        .map(|u| (u["department_id"].as_i64().unwrap(), u["rank"].clone()))
        .collect();
    assert_eq!(
        order,
        [
            (h.lead, json!(1)),
            (h.police, Value::Null),
            (h.market, Value::Null)
        ]
    );
    let ranking: Vec<i64> = f["ranking"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["department_id"].as_i64().unwrap())
        .collect();
    assert_eq!(ranking, [h.lead, h.police, h.market]);
    assert_eq!(f["ranking"][0]["on_time_rate"].as_f64(), Some(1.0 / 3.0));
    assert_eq!(f["ranking"][0]["median_dispatch_to_rectified_ms"], 3 * H);
    // The lead: A (dispatched 1 h, done 8 h, verified 9 h), B (dispatched 4 h, done 7 h,
    // verified 8 h), C (dispatched 1 h, open).
    let lead = &units[0];
    assert_eq!(lead["department"], LEAD);
    assert_eq!(lead["tasks_by_state"]["done"], 2);
    assert_eq!(lead["tasks_by_state"]["rectifying"], 1);
    assert_eq!(
        spans(lead),
        [
            s(3, 1.0, 4.0),
            s(2, 3.0, 7.0),
            s(2, 1.0, 1.0),
            s(2, 8.0, 9.0)
        ]
    );
    assert_eq!(counts(lead), [3, 2, 1, 3, 2, 2, 1, 1]);
    assert_eq!(
        rates(lead),
        [Some(1.0 / 3.0), Some(0.5), Some(1.0 / 3.0)],
        "on time 1 of 3 decided (late on A, open past due on C); A reworked; B extended"
    );
    // The police: one task, sent back — nothing done, nothing decided.
    let police = &units[1];
    assert_eq!(police["tasks_by_state"]["sent_back"], 1);
    assert_eq!(spans(police), [s(1, 2.0, 2.0), NONE, NONE, NONE]);
    assert_eq!(counts(police), [1, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(rates(police), [None, None, Some(0.0)]);
    // The market regulator: its own clock ends at its fix (3 h), not the lead's.
    let market = &units[2];
    assert_eq!(
        spans(market),
        [
            s(1, 1.0, 1.0),
            s(1, 2.0, 2.0),
            s(1, 6.0, 6.0),
            s(1, 9.0, 9.0)
        ]
    );
    assert_eq!(counts(market), [1, 1, 1, 1, 0, 1, 0, 0]);

    // Over both days, the 11th's case counts too (and the demo's own cases of 2022 do not).
    let (_, every) = app
        .get(
            &commander,
            "/api/v1/cases/figures?from=2021-05-10&to=2021-05-11",
        )
        .await;
    assert_eq!(every["overall"]["cases"], 5);
}

#[tokio::test]
async fn figures_follow_the_filters_and_the_callers_scope() {
    let h = history().await;
    let app = &h.app;
    let commander = app.token("commander").await;
    let get = |token: String, q: String| async move {
        let (status, body) = app.get(&token, &format!("/api/v1/cases/figures?{q}")).await;
        assert_eq!(status, 200, "{q}: {body}");
        body
    };
    let ids = |f: &Value| -> Vec<i64> {
        f["by_department"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["department_id"].as_i64().unwrap())
            .collect()
    };
    // One category: the lead now has 2 decided tasks, too few to rank; unranked units by name.
    let f = get(commander.clone(), format!("{DAY}&category=supplies")).await;
    assert_eq!(f["by_category"].as_array().unwrap().len(), 1);
    assert_eq!(ids(&f), [h.market, h.lead]);
    assert!(f["by_department"][1]["rank"].is_null());
    assert_eq!(counts(&f["by_department"][1]), [2, 1, 0, 2, 2, 1, 1, 0]);
    // One department: its cases, and only its tasks.
    let f = get(
        commander.clone(),
        format!("{DAY}&department_id={}", h.police),
    )
    .await;
    assert_eq!(ids(&f), [h.police]);
    assert_eq!(f["overall"]["cases"], 1);
    assert_eq!(f["by_category"][0]["category"], "testing");
    assert_eq!(
        spans(&f["by_category"][0])[3],
        s(1, 8.0, 8.0),
        "the case's own clock is whole"
    );
    assert_eq!(f["overall"]["measures"]["tasks"], 1);
    // A state, a source, several states.
    let f = get(commander.clone(), format!("{DAY}&state=closed,verified")).await;
    assert_eq!(f["overall"]["cases"], 2);
    let f = get(commander.clone(), format!("{DAY}&source=hotline")).await;
    assert_eq!(f["overall"]["cases"], 0);
    assert!(f["by_department"].as_array().unwrap().is_empty());
    // Regions: the district holding 景程小区, and another one.
    let path: String = {
        use sqlx::Row;
        sqlx::query("SELECT path FROM regions WHERE name = '景程小区'")
            .fetch_one(&app.db.pool)
            .await
            .unwrap()
            .try_get(0)
            .unwrap()
    };
    let home = app
        .id_of(&format!(
            "SELECT id FROM regions WHERE level = 'district' AND '{path}' LIKE path || '%'"
        ))
        .await;
    let other = app
        .id_of(&format!(
            "SELECT MIN(id) FROM regions WHERE level = 'district' AND '{path}' NOT LIKE path || '%'"
        ))
        .await;
    assert_eq!(
        get(commander.clone(), format!("{DAY}&region_id={home}")).await["overall"]["cases"],
        4
    );
    assert_eq!(
        get(commander.clone(), format!("{DAY}&region_id={other}")).await["overall"]["cases"],
        0
    );
    // A region that does not exist holds no cases (its path is read first, and there is none).
    assert_eq!(
        get(commander.clone(), format!("{DAY}&region_id=987654")).await["overall"]["cases"],
        0
    );
    // A department sees its own tasks only, on the cases it worked on.
    let [_, _, _, lead_token, _, police_token] = h.tokens.clone();
    let f = get(police_token.clone(), DAY.into()).await;
    assert_eq!(ids(&f), [h.police]);
    assert_eq!(f["overall"]["cases"], 1);
    assert_eq!(f["overall"]["measures"]["tasks"], 1);
    let f = get(lead_token, DAY.into()).await;
    assert_eq!(ids(&f), [h.lead]);
    assert_eq!(f["overall"]["cases"], 3, "A, B and C");
    assert_eq!(f["overall"]["measures"]["tasks"], 3);
    // Asking for another unit's figures shows none of its tasks.
    let f = get(police_token, format!("{DAY}&department_id={}", h.lead)).await;
    assert!(f["by_department"].as_array().unwrap().is_empty());
    // Who may not read figures, and a bad filter named.
    for role in ["supervisor", "inspector", "volunteer"] {
        let token = app.token(role).await;
        assert_eq!(
            app.get(&token, "/api/v1/cases/figures").await.0,
            403,
            "{role}"
        );
    }
    let (status, body) = app
        .get(&commander, "/api/v1/cases/figures?from=10/05/2021")
        .await;
    assert_eq!(
        (status, crate::fields(&body)),
        (422, vec!["from".to_string()])
    );
}

/// Reads a workbook with openpyxl through `tests/xlsx_rows.py`: the sheets with their rows and
/// number formats. A missing Python or openpyxl fails the test (scripts/test provides both and
/// names the interpreter in HUOYAN_TEST_PYTHON).
pub(crate) fn read_back(bytes: &[u8]) -> Vec<Value> {
    let python = std::env::var("HUOYAN_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let file = std::env::temp_dir().join(format!(
        "huoyan-xlsx-{}-{}.xlsx",
        std::process::id(),
        crate::unique_name()
    ));
    std::fs::write(&file, bytes).unwrap();
    let out = Command::new(&python)
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/xlsx_rows.py"))
        .arg(&file)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run {python} ({e}): the xlsx tests need Python with openpyxl; scripts/test makes one and sets HUOYAN_TEST_PYTHON")
        });
    let _ = std::fs::remove_file(&file);
    assert!(
        out.status.success(),
        "openpyxl could not read the workbook (is openpyxl installed for {python}? scripts/test installs it): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<Value>(&out.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

pub(crate) async fn download(app: &TestApp, token: &str, path: &str) -> Vec<u8> {
    let r = app
        .client
        .get(format!("{}{path}", app.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{path}");
    assert_eq!(
        r.headers()["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    r.bytes().await.unwrap().to_vec()
}

/// Every case of the list, walking its pages.
async fn whole_list(app: &TestApp, token: &str, q: &str) -> Vec<Value> {
    let mut items = Vec::new();
    loop {
        let (status, page) = app
            .get(
                token,
                &format!("/api/v1/cases?{q}&limit=500&offset={}", items.len()),
            )
            .await;
        assert_eq!(status, 200, "{page}");
        let got = page["items"].as_array().unwrap().clone();
        let done = got.len() < 500;
        items.extend(got);
        if done {
            assert_eq!(page["total"].as_u64().unwrap() as usize, items.len());
            return items;
        }
    }
}

/// A text cell as read back: an empty cell reads as null, and so does an empty string.
fn text(v: &Value) -> Value {
    match v {
        Value::String(s) if s.is_empty() => Value::Null,
        v => v.clone(),
    }
}

async fn name_of(app: &TestApp, table: &str, id: &Value) -> Value {
    use sqlx::Row;
    match id.as_i64() {
        None => Value::Null,
        Some(id) => {
            let name: String = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT name FROM {table} WHERE id = $1"
            )))
            .bind(id)
            .fetch_one(&app.db.pool)
            .await
            .unwrap()
            .try_get(0)
            .unwrap();
            json!(name)
        }
    }
}

/// What a list row must read as in the workbook, from the API's case.
async fn expected_row(app: &TestApp, c: &Value) -> Vec<Value> {
    let label = |code: &Value, f: fn(&str) -> Option<&'static str>| {
        json!(f(code.as_str().unwrap()).unwrap())
    };
    vec![
        c["id"].clone(),
        label(&c["kind"], |s| Kind::parse(s).map(Kind::zh)),
        label(&c["source"], |s| Source::parse(s).map(Source::zh)),
        label(&c["category"], |s| Category::parse(s).map(Category::zh)),
        label(&c["priority"], |s| Priority::parse(s).map(Priority::zh)),
        label(&c["state"], |s| CaseState::parse(s).map(CaseState::zh)),
        name_of(app, "regions", &c["compound_id"]).await,
        text(&c["address"]),
        name_of(app, "departments", &c["department_id"]).await,
        beijing_cell(&c["reported_at"]),
        beijing_cell(&c["due_at"]),
        json!(if c["overdue"].as_bool().unwrap() {
            "是"
        } else {
            "否"
        }),
        c["merged_into"].clone(),
        text(&c["description"]),
    ]
}

/// An API time (RFC 3339) as a workbook's date-time cell reads back: Beijing wall time to the
/// second, without a zone; no time, an empty cell.
pub(crate) fn beijing_cell(v: &Value) -> Value {
    match v.as_str() {
        Some(t) => json!(
            chrono::DateTime::parse_from_rfc3339(t)
                .unwrap()
                .with_timezone(&chrono_tz::Asia::Shanghai)
                .format("%Y-%m-%dT%H:%M:%S")
                .to_string()
        ),
        None => Value::Null,
    }
}

/// What a person sees on opening a sheet: the header row frozen, a filter over the header and
/// every data row, columns as wide as asked (`widths`: column letter, least width), and the
/// date-time cells of `column` (0-based) in every data row shown as yyyy-mm-dd hh:mm.
pub(crate) fn assert_usable(
    sheet: &Value,
    columns: usize,
    widths: &[(&str, f64)],
    time: Option<usize>,
) {
    let rows = sheet["rows"].as_array().unwrap().len();
    // Spreadsheet column letters: A…Z, then AA…
    let letter = |i: usize| (b'A' + i as u8) as char;
    let last = match columns - 1 {
        i if i < 26 => letter(i).to_string(),
        i => format!("{}{}", letter(i / 26 - 1), letter(i % 26)),
    };
    assert_eq!(
        sheet["freeze_panes"], "A2",
        "{}: header frozen",
        sheet["name"]
    );
    assert_eq!(
        sheet["auto_filter"],
        format!("A1:{last}{rows}"),
        "{}: a filter over every row",
        sheet["name"]
    );
    for (column, least) in widths {
        let width = sheet["widths"][column].as_f64().unwrap_or(0.0);
        assert!(
            width >= *least,
            "{}: column {column} is {width} wide, less than {least}",
            sheet["name"]
        );
    }
    if let Some(c) = time {
        for (i, (kind, format)) in sheet["types"]
            .as_array()
            .unwrap()
            .iter()
            .zip(sheet["formats"].as_array().unwrap())
            .enumerate()
            .skip(1)
        {
            if !sheet["rows"][i][c].is_null() {
                assert_eq!(kind[c], "datetime", "row {i}: a time, not text");
                assert_eq!(format[c], "yyyy-mm-dd hh:mm", "row {i}");
            }
        }
    }
}

fn rows_of(sheet: &Value) -> Vec<Vec<Value>> {
    sheet["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_array().unwrap().iter().map(text).collect())
        .collect()
}

#[tokio::test]
async fn the_list_export_reads_back_with_the_lists_rows_and_is_audited() {
    let h = history().await;
    let app = &h.app;
    let commander = app.token("commander").await;
    let audited = || async {
        app.id_of(
            "SELECT COUNT(*) FROM audit_events WHERE entity = 'export' AND entity_id = 'cases'",
        )
        .await
    };
    let before = audited().await;
    for q in [
        DAY.to_string(),
        String::new(),
        "category=supplies".into(),
        format!("{DAY}&overdue=true"),
    ] {
        let book =
            read_back(&download(app, &commander, &format!("/api/v1/cases/export.xlsx?{q}")).await);
        assert_eq!(book.len(), 1);
        assert_eq!(book[0]["name"], "案件清单");
        let rows = rows_of(&book[0]);
        assert_eq!(rows[0][0], "编号");
        assert_eq!(rows[0].len(), 14);
        let list = whole_list(app, &commander, &q).await;
        assert_eq!(
            rows.len() - 1,
            list.len(),
            "{q}: one row per case of the list"
        );
        for (row, case) in rows[1..].iter().zip(&list) {
            assert_eq!(*row, expected_row(app, case).await, "{q}");
        }
        if q == DAY {
            // Overdue first, then the newest: C, then D, B, A.
            let [a, b, c, d, _] = h.cases;
            let order: Vec<i64> = rows[1..].iter().map(|r| r[0].as_i64().unwrap()).collect();
            assert_eq!(order, [c, d, b, a]);
            assert_eq!(rows[1][11], "是");
            assert_eq!(rows[1][10], "2021-05-10T11:00:00", "due in Beijing time");
            // Opened to work in: frozen header, filter, the time columns wide enough to show a
            // whole time (not ####), the description's width bounded, times as date-times.
            assert_usable(&book[0], 14, &[("J", 16.0), ("K", 16.0)], Some(9));
            assert_usable(&book[0], 14, &[], Some(10));
            let description = book[0]["widths"]["N"].as_f64().unwrap();
            assert!(description <= 51.0, "bounded: {description}");
        }
    }
    assert_eq!(
        audited().await,
        before + 4,
        "every export is an audited event"
    );
    // No phone number and no reporter leave with the list.
    let book = read_back(&download(app, &commander, "/api/v1/cases/export.xlsx").await);
    let headers = rows_of(&book[0])[0].clone();
    assert!(!headers.iter().any(|h| {
        h.as_str()
            .is_some_and(|h| h.contains("电话") || h.contains("手机") || h.contains("上报人"))
    }));
    // A department exports only the cases it worked on (that day: the demo's police worked on
    // cases of 2022 too); English on request.
    let police = h.tokens[5].clone();
    let book = read_back(
        &download(
            app,
            &police,
            &format!("/api/v1/cases/export.xlsx?{DAY}&lang=en"),
        )
        .await,
    );
    assert_eq!(book[0]["name"], "Cases");
    let rows = rows_of(&book[0]);
    assert_eq!(rows[0][0], "ID");
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1][0], h.cases[1]);
    assert_eq!(rows[1][5], "Verified");
    let supervisor = app.token("supervisor").await;
    assert_eq!(
        app.get(&supervisor, "/api/v1/cases/export.xlsx").await.0,
        403
    );
}

/// A number read back equals the API's, to the last bit that survives the round trip.
fn same_number(got: &Value, want: Option<f64>) -> bool {
    match (got.as_f64(), want) {
        (Some(g), Some(w)) => (g - w).abs() <= 1e-12 * w.abs().max(1.0),
        (None, None) => got.is_null(),
        _ => false,
    }
}

#[tokio::test]
async fn the_figures_workbook_reads_back_with_the_apis_figures() {
    let h = history().await;
    let app = &h.app;
    let group = h.tokens[2].clone();
    let (_, f) = app
        .get(&group, &format!("/api/v1/cases/figures?{DAY}"))
        .await;
    let book =
        read_back(&download(app, &group, &format!("/api/v1/cases/figures.xlsx?{DAY}")).await);
    let names: Vec<&str> = book.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["按单位", "按类别", "说明"]);
    let hours = |v: &Value| v.as_i64().map(|ms| ms as f64 / H as f64);
    let span_cells = |row: &Value| -> Vec<Option<f64>> {
        [
            "report_to_dispatch",
            "dispatch_to_rectified",
            "rectified_to_verified",
            "report_to_verified",
        ]
        .iter()
        .flat_map(|k| {
            let s = &row["durations"][k];
            [s["n"].as_f64(), hours(&s["median_ms"]), hours(&s["p90_ms"])]
        })
        .collect()
    };
    let measure_cells = |row: &Value| -> Vec<Option<f64>> {
        [
            "tasks",
            "done",
            "on_time",
            "decided",
            "on_time_rate",
            "overdue",
            "fixed",
            "reworked",
            "rework_rate",
            "extended",
            "extension_rate",
            "urges",
        ]
        .iter()
        .map(|k| row["measures"][k].as_f64())
        .collect()
    };
    // By department: rank, id, name, the five task states, the durations, the counts and rates.
    let sheet = &book[0];
    let rows = rows_of(sheet);
    assert_eq!(
        rows[0][..3],
        [json!("名次"), json!("单位编号"), json!("单位")]
    );
    let units = f["by_department"].as_array().unwrap();
    assert_eq!(rows.len() - 1, units.len());
    for (i, (row, u)) in rows[1..].iter().zip(units).enumerate() {
        assert_eq!(row[0], u["rank"]);
        assert_eq!(row[1], u["department_id"]);
        assert_eq!(row[2], u["department"]);
        let states: Vec<Value> = ["dispatched", "rectifying", "done", "sent_back", "withdrawn"]
            .iter()
            .map(|s| u["tasks_by_state"][s].clone())
            .collect();
        assert_eq!(row[3..8], states[..]);
        let want: Vec<Option<f64>> = span_cells(u).into_iter().chain(measure_cells(u)).collect();
        assert_eq!(row.len(), 8 + want.len());
        for (j, (got, want)) in row[8..].iter().zip(&want).enumerate() {
            assert!(
                same_number(got, *want),
                "department row {i}, column {}: {got} ≠ {want:?}",
                8 + j
            );
        }
    }
    // Rates display as percentages and hours with two decimals; the cells keep exact values.
    let formats = &sheet["formats"][1];
    assert_eq!(formats[8 + 12 + 4], "0.0%", "on-time rate");
    assert_eq!(formats[8 + 1], "0.00", "median hours");
    assert_eq!(rows[1][8 + 12 + 4].as_f64(), Some(1.0 / 3.0));
    // By category, with the overall row last.
    let rows = rows_of(&book[1]);
    let cats: Vec<&Value> = f["by_category"]
        .as_array()
        .unwrap()
        .iter()
        .chain([&f["overall"]])
        .collect();
    assert_eq!(rows.len() - 1, cats.len());
    for (row, c) in rows[1..].iter().zip(&cats) {
        assert_eq!(row[1], c["category"]);
        assert_eq!(row[2], c["cases"]);
        let states: Vec<Value> = CaseState::ALL
            .iter()
            .map(|s| c["cases_by_state"][s.code()].clone())
            .collect();
        assert_eq!(row[3..13], states[..]);
        let want: Vec<Option<f64>> = span_cells(c).into_iter().chain(measure_cells(c)).collect();
        for (got, want) in row[13..].iter().zip(&want) {
            assert!(
                same_number(got, *want),
                "{}: {got} ≠ {want:?}",
                c["category"]
            );
        }
    }
    assert_eq!(rows[1][0], "核酸检测");
    assert_eq!(rows.last().unwrap()[0], "合计");
    // The notes say which cases these are and how each figure is defined.
    let notes = rows_of(&book[2]);
    assert!(
        notes
            .iter()
            .any(|r| r[0] == "上报起始日" && r[1] == "2021-05-10")
    );
    assert!(
        notes
            .iter()
            .any(|r| r[0] == "按期率" && r[1].as_str().unwrap().contains("应考核任务"))
    );
    // Every sheet opens to work in; the time it was made is a time, shown in Beijing time.
    for sheet in &book {
        assert_usable(sheet, rows_of(sheet)[0].len(), &[("A", 8.0)], None);
    }
    assert_eq!(notes[1][0], "统计时间 (北京时间)");
    assert_eq!(book[2]["types"][1][1], "datetime");
    assert_eq!(book[2]["formats"][1][1], "yyyy-mm-dd hh:mm");
    // In English on request.
    let book = read_back(
        &download(
            app,
            &group,
            &format!("/api/v1/cases/figures.xlsx?{DAY}&lang=en"),
        )
        .await,
    );
    let names: Vec<&str> = book.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["By department", "By category", "Notes"]);
    assert_eq!(rows_of(&book[1]).last().unwrap()[0], "All");
}

async fn page(app: &TestApp, token: &str, path: &str) -> (u16, String) {
    let r = app
        .client
        .get(format!("{}{path}", app.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test]
async fn the_figures_page_shows_the_ranking_in_the_users_language() {
    let h = history().await;
    let app = &h.app;
    let commander = app.token("commander").await;
    let (status, html) = page(
        app,
        &commander,
        &format!("/cases/figures?{DAY}&region_id=&department_id="),
    )
    .await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("案件统计考核"));
    // The form offers every unit; the table starts after it.
    let table = &html[html.find("id=\"by-department\"").unwrap()..];
    let (l, p, m) = (
        table.find(LEAD).unwrap(),
        table.find(POLICE).unwrap(),
        table.find(MARKET).unwrap(),
    );
    assert!(l < p && p < m, "departments in ranking order");
    assert!(html.contains("9小时00分"), "the supplies headline");
    assert!(html.contains("33.3% (1/3)"), "a rate with its counts");
    // Attribute values as a browser reads them (the template escapes `&`).
    let hrefs = html.replace("&#38;", "&").replace("&amp;", "&");
    for link in ["figures.xlsx", "export.xlsx"] {
        assert!(
            hrefs.contains(&format!(
                "href=\"/api/v1/cases/{link}?exact=true&from=2021-05-10&to=2021-05-10&lang=zh\""
            )),
            "the {link} link carries the filters"
        );
    }
    let (_, en) = page(app, &commander, &format!("/cases/figures?{DAY}&lang=en")).await;
    assert!(en.contains("Case figures") && en.contains("9 h 00 min") && en.contains("lang=en"));
    // A department sees its own row and no choice of unit.
    let (_, own) = page(app, &h.tokens[5], &format!("/cases/figures?{DAY}")).await;
    assert!(own.contains(POLICE) && !own.contains(LEAD) && !own.contains("name=\"department_id\""));
    let (status, _) = page(app, &h.tokens[0], "/cases/figures").await;
    assert_eq!(status, 403, "a supervisor may not read figures");
    let (status, _) = page(app, &commander, "/cases/figures?department_id=x").await;
    assert_eq!(status, 422);
}

/// The page on a 360 px phone: nothing wider than the screen; the tables scroll in their boxes.
#[tokio::test]
async fn the_figures_page_fits_a_phone() {
    let h = history().await;
    let (c, _driver, _profile) = crate::browser::browser(360, 780).await;
    crate::browser::sign_in(
        &c,
        &h.app.base,
        "commander",
        huoyan::auth::password::DEMO_PASSWORD,
    )
    .await;
    c.goto(&format!("{}/cases/figures?{DAY}", h.app.base))
        .await
        .unwrap();
    c.wait()
        .for_element(fantoccini::Locator::Css("#by-department"))
        .await
        .unwrap();
    crate::browser::fits(&c, "figures", 360).await;
    let scrolls: bool = c
        .execute(
            "return [...document.querySelectorAll('.table-wrap.figures')].every(w => w.scrollWidth > w.clientWidth)",
            vec![],
        )
        .await
        .unwrap()
        .as_bool()
        .unwrap();
    assert!(scrolls, "each wide table scrolls inside its own box");
    c.execute(
        "document.getElementById('by-department').scrollIntoView()",
        vec![],
    )
    .await
    .unwrap();
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    std::fs::write(
        dir.join("figures-tables-360.png"),
        c.screenshot().await.unwrap(),
    )
    .unwrap();
    c.close().await.unwrap();
}
