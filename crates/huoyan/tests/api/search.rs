//! Searches take the user's text literally: `%` and `_` find themselves, on both backends
//! (before, `_` matched any character and `%` everything, or was dropped from case searches).

use serde_json::json;

use crate::spawn_app;

#[tokio::test]
async fn percent_and_underscore_in_a_search_match_themselves() {
    let app = spawn_app(true).await;
    let supervisor = app.token("supervisor").await;
    let admin = app.token("admin").await;
    let compound = app
        .id_of("SELECT id FROM regions WHERE name = '景程小区'")
        .await;
    let (status, case) = app
        .send(
            "POST",
            &supervisor,
            "/api/v1/cases",
            &json!({"category": "testing", "compound_id": compound, "description": "消毒液浓度仅 50% 需复查"}),
        )
        .await;
    assert_eq!(status, 201, "{case}");
    let total = |body: &serde_json::Value| body["total"].as_i64().unwrap();
    for q in ["50%25", "%25", "50%25%20%E9%9C%80"] {
        let (status, body) = app
            .get(&admin, &format!("/api/v1/cases?q={q}&limit=5"))
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(total(&body), 1, "q={q}: {body}");
        assert_eq!(body["items"][0]["id"], case["id"]);
    }
    let (_, body) = app.get(&admin, "/api/v1/cases?q=_&limit=5").await;
    assert_eq!(total(&body), 0, "{body}");
    for path in [
        "/api/v1/sites?q=_",
        "/api/v1/sites?q=%25",
        "/api/v1/people?q=_",
        "/api/v1/people?skill=%25",
        "/api/v1/teams?q=%25",
        "/api/v1/departments?q=_",
        "/api/v1/control-orders?q=_",
        "/api/v1/regions?q=%25",
    ] {
        let (status, body) = app.get(&admin, path).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert_eq!(
            total(&body),
            0,
            "{path} finds only what holds the character: {body}"
        );
    }
    // A search has a length limit, named.
    let (status, body) = app
        .get(&admin, &format!("/api/v1/cases?q={}", "a".repeat(201)))
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("\"q\""), "{body}");
    for path in [
        "/api/v1/sites",
        "/api/v1/people",
        "/api/v1/teams",
        "/api/v1/departments",
        "/api/v1/control-orders",
        "/api/v1/regions",
    ] {
        let (status, body) = app
            .get(&admin, &format!("{path}?q={}", "字".repeat(101)))
            .await;
        assert_eq!(status, 422, "{path}: {body}");
        assert!(body.to_string().contains("\"q\""), "{path}: {body}");
    }
    // The ordinary search still works.
    let (_, body) = app.get(&admin, "/api/v1/sites?q=%E9%87%87%E6%A0%B7").await;
    assert!(total(&body) > 0, "{body}");
}

/// The list's page of `limit` cases from `offset` for the search `q`.
async fn searched(
    app: &crate::TestApp,
    token: &str,
    q: &str,
    limit: i64,
    offset: i64,
) -> serde_json::Value {
    let query = serde_urlencoded::to_string([("q", q)]).unwrap();
    let (status, body) = app
        .get(
            token,
            &format!("/api/v1/cases?limit={limit}&offset={offset}&{query}"),
        )
        .await;
    assert_eq!(status, 200, "{q}: {body}");
    body
}

/// The ids and total of the office's search for `q`, as the list answers it.
async fn found(app: &crate::TestApp, token: &str, q: &str) -> (i64, Vec<i64>) {
    let body = searched(app, token, q, 200, 0).await;
    (body["total"].as_i64().unwrap(), crate::plans::ids(&body))
}

/// Sets the search index's backfill mark: `complete` or not yet.
async fn index_complete(app: &crate::TestApp, complete: bool) {
    sqlx::query(if complete {
        "UPDATE case_search_backfill SET upto = through"
    } else {
        "UPDATE case_search_backfill SET upto = through + 1"
    })
    .execute(&app.db.pool)
    .await
    .unwrap();
}

/// The index of character pairs only narrows what the list's substring match then checks: every
/// search finds the same cases through it as by reading every text, for rare and common words,
/// one character, several words, letters in either width and case, new reports, their addresses
/// and later notes; and a database whose entries were written before the index finds them once
/// the backfill has run.
#[tokio::test]
async fn a_search_finds_the_same_cases_through_the_index_as_by_reading_every_text() {
    let app = spawn_app(true).await;
    let (supervisor, office) = (app.token("supervisor").await, app.token("office").await);
    let compound = app
        .id_of("SELECT id FROM regions WHERE name = '景程小区'")
        .await;
    let (status, case) = app
        .send(
            "POST",
            &supervisor,
            "/api/v1/cases",
            &json!({"category": "supplies", "compound_id": compound,
                    "description": "Ｂ栋蝈蝈笼子堵住消防通道", "address": "西侧鹊桥巷口"}),
        )
        .await;
    assert_eq!(status, 201, "{case}");
    let id = case["id"].as_i64().unwrap();
    let (status, body) = app
        .send(
            "POST",
            &app.token("office").await,
            &format!("/api/v1/cases/{id}/transitions"),
            &json!({"action": "triage", "note": "请物业核实饕餮夜市"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let words = [
        "蝈蝈笼子",
        "鹊桥",
        "饕餮",
        "ｂ栋",
        "Ｂ栋",
        "蔬菜",
        "消杀",
        "核酸",
        "小区",
        "核酸 小区",
        "景程",
        "3号",
        "A",
        "楼",
        "kn95",
        "不存在的词语",
    ];
    let mut with_index = Vec::new();
    for q in words {
        with_index.push(found(&app, &office, q).await);
    }
    for q in ["蝈蝈笼子", "鹊桥", "饕餮"] {
        assert_eq!(
            found(&app, &office, q).await,
            (1, vec![id]),
            "{q}: the new report's text, address and note"
        );
    }
    let narrowed =
        huoyan::cases::search::narrowing(&app.db, &["蝈蝈".to_string(), "楼".to_string()])
            .await
            .unwrap();
    assert!(narrowed[0].is_some(), "a rare word goes through the index");
    assert!(narrowed[1].is_none(), "one character has no pair");
    index_complete(&app, false).await;
    assert!(
        huoyan::cases::search::narrowing(&app.db, &["蝈蝈".to_string()])
            .await
            .unwrap()[0]
            .is_none(),
        "an index not yet complete is not used"
    );
    for (q, expected) in words.iter().zip(&with_index) {
        assert_eq!(&found(&app, &office, q).await, expected, "{q}");
    }

    // Entries written before the index: the backfill indexes them, and then they are found.
    match app.db.backend {
        huoyan::db::Backend::Sqlite => {
            sqlx::query("INSERT INTO case_search (case_search) VALUES ('delete-all')")
        }
        huoyan::db::Backend::Postgres => sqlx::query("DELETE FROM case_search"),
    }
    .execute(&app.db.pool)
    .await
    .unwrap();
    index_complete(&app, true).await;
    huoyan::cases::search::check(&app.db).await.unwrap();
    assert!(
        huoyan::cases::search::narrowing(&app.db, &["蝈蝈".to_string()])
            .await
            .unwrap()[0]
            .is_none(),
        "an emptied index is marked to be built again"
    );
    let entries = app.id_of("SELECT COUNT(*) FROM case_events").await;
    let mut told = 0;
    let indexed = huoyan::cases::search::backfill(&app.db, &mut |_, _| told += 1)
        .await
        .unwrap();
    assert_eq!(indexed, entries);
    assert!(told >= 1);
    for (q, expected) in words.iter().zip(&with_index) {
        assert_eq!(
            &found(&app, &office, q).await,
            expected,
            "{q} after the backfill"
        );
    }
    assert_eq!(
        huoyan::cases::search::backfill(&app.db, &mut |_, _| {})
            .await
            .unwrap(),
        0,
        "nothing is indexed twice"
    );
}

/// A search that reads every text in turn (a word of one character, or the index not complete)
/// is counted only as far as the page reaches, and says more follow; the pages still reach every
/// match, and a search narrowed by the index is counted whole.
#[tokio::test]
async fn a_scanning_search_is_counted_as_far_as_its_page_reaches() {
    let app = spawn_app(true).await;
    let office = app.token("office").await;
    let page = |q: &'static str, offset: i64| searched(&app, &office, q, 5, offset);
    // 楼 (one character) is in many of the demo's reports.
    let (all, _) = found(&app, &office, "楼").await;
    assert!(all > 10, "the demo has many: {all}");
    let first = page("楼", 0).await;
    assert_eq!(first["total"], 5, "{first}");
    assert_eq!(first["total_capped"], true, "{first}");
    let second = page("楼", 5).await;
    assert_eq!(second["total"], 10, "{second}");
    let mut seen = 0;
    let mut offset = 0;
    loop {
        let body = page("楼", offset).await;
        let n = body["items"].as_array().unwrap().len() as i64;
        seen += n;
        if body["total_capped"] == false {
            assert_eq!(body["total"], seen, "{body}");
            break;
        }
        offset += 5;
    }
    assert_eq!(seen, all, "the pages reach every match");
    // A rare word of two characters goes through the index and is counted whole.
    let rare = page("核酸", 0).await;
    let (n, _) = found(&app, &office, "核酸").await;
    let narrowed = huoyan::cases::search::narrowing(&app.db, &["核酸".to_string()])
        .await
        .unwrap();
    assert!(narrowed[0].is_some(), "common only at a city's scale");
    assert_eq!(rare["total"], n.min(1000), "{rare}");
    assert_eq!(rare["total_capped"], n > 1000, "{rare}");
}

/// On PostgreSQL a word its statistics call plainly common is scanned without the probe that
/// counts its entries (which reads the pair's whole posting list): here the statistics were
/// taken while 50,000 entries held the pair, which were then removed, so only the statistics can
/// call it common. A word they do not know is still probed, and on SQLite every word is.
#[tokio::test]
async fn postgresql_statistics_spare_a_common_word_its_probe() {
    let app = spawn_app(true).await;
    let word = "蝈蝈".to_string();
    let tokens = huoyan::cases::search::tokens(&word);
    if app.db.backend == huoyan::db::Backend::Postgres {
        for statement in [
            "ALTER TABLE case_search SET (autovacuum_enabled = false)".to_string(),
            format!(
                "INSERT INTO case_search (entry_id, case_id, grams) SELECT 1000000000 + g, 1, \
                 to_tsvector('simple', '{tokens}') FROM generate_series(1, 50000) AS g"
            ),
            "ANALYZE case_search".to_string(),
            "DELETE FROM case_search WHERE entry_id > 1000000000".to_string(),
        ] {
            sqlx::query(sqlx::AssertSqlSafe(statement))
                .execute(&app.owner.pool)
                .await
                .unwrap();
        }
    }
    let narrowed = huoyan::cases::search::narrowing(&app.db, &[word.clone(), "鹊桥".to_string()])
        .await
        .unwrap();
    match app.db.backend {
        huoyan::db::Backend::Postgres => {
            assert!(narrowed[0].is_none(), "common by the statistics: scanned")
        }
        huoyan::db::Backend::Sqlite => assert!(narrowed[0].is_some(), "probed: rare"),
    }
    assert!(
        narrowed[1].is_some(),
        "a word the statistics do not know is probed"
    );
}
