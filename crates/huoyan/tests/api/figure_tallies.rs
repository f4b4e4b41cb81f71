//! The figures read from the running tallies equal the full computation over the history: the
//! same rows, counts and rates, ranks, and medians and 90th percentiles within the sketch's 1 %,
//! for each filter the tallies serve and each role that reads figures, on the demo (whose
//! history was written step by step through the write path) and on generated cases; and
//! tallies built afresh from the history are the ones the write path kept.

use huoyan::cases::CaseFilter;
use huoyan::cases::figures::{Reading, figures_by};
use huoyan::db::Db;
use serde_json::Value;
use sqlx::Row;

use crate::spawn_app;

/// Whether `a` (from the tallies) matches `b` (from the history) at `path`.
fn matches(a: &Value, b: &Value, path: &str, out: &mut Vec<String>) {
    let quantile = ["median_ms", "p90_ms", "median_dispatch_to_rectified_ms"]
        .iter()
        .any(|k| path.ends_with(k));
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, v) in y {
                if k == "exact_quantiles" {
                    continue;
                }
                matches(&x[k], v, &format!("{path}.{k}"), out);
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            if x.len() != y.len() {
                out.push(format!(
                    "{path}: {} rows, {} in the history",
                    x.len(),
                    y.len()
                ));
                return;
            }
            for (i, (v, w)) in x.iter().zip(y).enumerate() {
                matches(v, w, &format!("{path}[{i}]"), out);
            }
        }
        (Value::Number(x), Value::Number(y)) if quantile => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            if (x - y).abs() > 0.01 * y.abs() + 1.0 {
                out.push(format!("{path}: {x} read, {y} exact"));
            }
        }
        (Value::Number(x), Value::Number(y)) if x.is_f64() || y.is_f64() => {
            if (x.as_f64().unwrap() - y.as_f64().unwrap()).abs() > 1e-12 {
                out.push(format!("{path}: {x} read, {y} in the history"));
            }
        }
        (x, y) => {
            if x != y {
                out.push(format!("{path}: {x} read, {y} in the history"));
            }
        }
    }
}

/// Compares both readings for each role and filter the tallies serve; returns the differences.
async fn compare(db: &Db) -> Vec<String> {
    let department: i64 = sqlx::query(
        "SELECT department_id FROM case_tasks GROUP BY department_id ORDER BY COUNT(*) DESC, department_id LIMIT 1",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap()
    .try_get(0)
    .unwrap();
    let filters = [
        CaseFilter::default(),
        CaseFilter {
            from: Some("2022-08-29".into()),
            to: Some("2022-09-02".into()),
            ..Default::default()
        },
        CaseFilter {
            category: Some("supplies".into()),
            ..Default::default()
        },
        CaseFilter {
            department_id: Some(department),
            from: Some("2022-08-25".into()),
            ..Default::default()
        },
    ];
    let now = huoyan::time::now_ms();
    let mut out = Vec::new();
    for username in ["commander", "group", "office", "dept-gelin"] {
        let p = crate::principal(db, username).await;
        for f in &filters {
            let tallied = figures_by(db, &p, f, now, Reading::Tallies).await.unwrap();
            let full = figures_by(db, &p, f, now, Reading::History).await.unwrap();
            assert!(full.exact_quantiles);
            // A unit's account filtering on another unit sees nothing of it: the history says so.
            let crossed = p
                .scope
                .department_id
                .zip(f.department_id)
                .is_some_and(|(a, b)| a != b);
            if tallied.exact_quantiles != crossed {
                out.push(format!(
                    "{username} {f:?}: read from the tallies: {}",
                    !tallied.exact_quantiles
                ));
            }
            if crossed {
                continue;
            }
            let mut diffs = Vec::new();
            matches(
                &serde_json::to_value(&tallied).unwrap(),
                &serde_json::to_value(&full).unwrap(),
                "",
                &mut diffs,
            );
            out.extend(diffs.into_iter().map(|d| format!("{username} {f:?}{d}")));
        }
    }
    out
}

/// The stored tallies, as (day, category, unit, tally) in key order.
async fn stored(db: &Db) -> Vec<(i64, String, i64, String)> {
    sqlx::query_as(
        "SELECT day, category, department_id, tally FROM case_figure_tallies ORDER BY day, category, department_id",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap()
}

/// The tallies the write path kept are the ones a build from the history makes.
async fn rebuilt_equal(db: &Db) {
    let kept = stored(db).await;
    assert!(!kept.is_empty());
    sqlx::query("DELETE FROM case_figure_tallies_built")
        .execute(&db.pool)
        .await
        .unwrap();
    let counted = huoyan::cases::figures::tallies::build(db)
        .await
        .unwrap()
        .expect("built again");
    let cases: i64 = sqlx::query("SELECT COUNT(*) FROM cases")
        .fetch_one(&db.pool)
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    assert_eq!(counted, cases);
    let parse = |rows: Vec<(i64, String, i64, String)>| -> Vec<(i64, String, i64, Value)> {
        rows.into_iter()
            .map(|(d, c, u, t)| (d, c, u, serde_json::from_str(&t).unwrap()))
            .collect()
    };
    assert_eq!(parse(stored(db).await), parse(kept));
    assert!(
        huoyan::cases::figures::tallies::build(db)
            .await
            .unwrap()
            .is_none(),
        "built once"
    );
}

#[tokio::test]
async fn the_tallies_read_what_the_history_reads_on_the_demo() {
    let app = spawn_app(true).await;
    let diffs = compare(&app.db).await;
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
    rebuilt_equal(&app.db).await;
}

#[tokio::test]
async fn the_tallies_read_what_the_history_reads_on_generated_cases() {
    let fresh = crate::fresh_db().await;
    huoyan::demo::load(&fresh.db, Some(3000), &mut |_| {})
        .await
        .unwrap();
    let diffs = compare(&fresh.db).await;
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
    rebuilt_equal(&fresh.db).await;
}

#[tokio::test]
async fn a_filter_the_tallies_do_not_keep_is_read_from_the_history() {
    let app = spawn_app(true).await;
    let commander = app.token("commander").await;
    for (query, exact) in [
        ("", false),
        ("?category=supplies&from=2022-08-25", false),
        ("?state=closed", true),
        ("?q=%E8%94%AC%E8%8F%9C", true),
        ("?source=hotline", true),
    ] {
        let (status, body) = app
            .get(&commander, &format!("/api/v1/cases/figures{query}"))
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["exact_quantiles"], exact, "{query}");
    }
}
