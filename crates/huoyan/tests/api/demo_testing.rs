//! The demo's mass testing of 景程小区, 2022-08-21 to 08-29 (SCENARIO.md: 70,000+ tests in nine
//! days, 20,000 tubes), read as the office, the commander and the lab read it: a round a day
//! whose figures add up, coverage that is tested over registered, the positive tubes' recalls
//! listing exactly their people, and rows that are what the application writes.

use std::collections::BTreeSet;

use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::cli::huoyan_on;
use crate::{TestApp, spawn_app};

fn items(v: &Value) -> &Vec<Value> {
    v.as_array().expect("an array")
}

/// The rounds the demo holds, oldest first, as `token` lists them.
async fn rounds(app: &TestApp, token: &str) -> Vec<Value> {
    let (status, rounds) = app.get(token, "/api/v1/testing/rounds").await;
    assert_eq!(status, 200, "{rounds}");
    let mut rounds = items(&rounds).clone();
    rounds.reverse();
    rounds
}

#[tokio::test]
async fn jingcheng_tested_seventy_thousand_in_nine_days_with_twenty_thousand_tubes() {
    let app = spawn_app(true).await;
    let office = app.token("office").await;
    let compound = app
        .id_of("SELECT id FROM regions WHERE name = '景程小区' AND level = 'compound'")
        .await;
    let registered = app
        .id_of("SELECT COUNT(*) FROM residents WHERE compound_id IN (SELECT id FROM regions WHERE name = '景程小区')")
        .await;
    assert!((7_500..=8_200).contains(&registered), "{registered}");

    // A round a day from 08-21 to 08-29, pooled ten to a tube at the point and one tube a person
    // at the doors; and the two evenings' single-tube retests.
    let rounds = rounds(&app, &office).await;
    let daily: Vec<&Value> = rounds
        .iter()
        .filter(|r| r["name"].as_str().unwrap().contains("全员核酸"))
        .collect();
    let days: Vec<&str> = daily.iter().map(|r| r["day"].as_str().unwrap()).collect();
    assert_eq!(
        days,
        (21..=29)
            .map(|d| format!("2022-08-{d}"))
            .collect::<Vec<_>>()
    );
    for r in &daily {
        let modes: BTreeSet<&str> = items(&r["points"])
            .iter()
            .map(|p| p["mode"].as_str().unwrap())
            .collect();
        assert_eq!(modes, BTreeSet::from(["pooled_10", "single"]), "{r}");
        assert_eq!(r["region_ids"], serde_json::json!([compound]));
    }
    let retests: Vec<&Value> = rounds
        .iter()
        .filter(|r| r["name"].as_str().unwrap().contains("复核"))
        .collect();
    assert_eq!(retests.len(), 2, "{rounds:?}");
    assert!(
        retests
            .iter()
            .all(|r| items(&r["points"]).iter().all(|p| p["mode"] == "single"))
    );

    // The figures of every round: tests and tubes over the nine days, each round's coverage
    // its tested residents over the registered ones, each figure's parts adding up.
    let (mut tests, mut tubes, mut positives) = (0, 0, 0);
    for r in &rounds {
        let id = r["id"].as_i64().unwrap();
        let (status, f) = app
            .get(&office, &format!("/api/v1/testing/rounds/{id}/figures"))
            .await;
        assert_eq!(status, 200, "{f}");
        tests += f["tests"].as_i64().unwrap();
        tubes += f["tubes"].as_i64().unwrap();
        positives += f["positive_tubes"].as_i64().unwrap();
        let sum = |list: &str| -> i64 {
            items(&f[list])
                .iter()
                .map(|x| x["tests"].as_i64().unwrap())
                .sum()
        };
        assert_eq!(sum("per_point_hour"), f["tests"].as_i64().unwrap(), "{id}");
        assert_eq!(
            sum("per_compound_day"),
            f["tests"].as_i64().unwrap(),
            "{id}"
        );
        assert_eq!(
            f["resulted_tubes"], f["tubes"],
            "round {id}: every tube resulted"
        );
        let tested = app
            .id_of(&format!(
                "SELECT COUNT(DISTINCT resident_id) FROM scans WHERE round_id = {id} AND outcome = 'added'"
            ))
            .await;
        let coverage = items(&f["coverage"]);
        assert_eq!(coverage.len(), 1, "{id}: one compound tested");
        let c = &coverage[0];
        assert_eq!(
            (
                c["compound"].as_str(),
                c["registered"].as_i64(),
                c["tested"].as_i64()
            ),
            (Some("景程小区"), Some(registered), Some(tested)),
            "round {id}"
        );
        let ratio = c["ratio"].as_f64().unwrap();
        assert!((ratio - tested as f64 / registered as f64).abs() < 1e-9);
        if r["name"].as_str().unwrap().contains("全员核酸") {
            assert!(ratio > 0.98, "round {id}: {ratio}");
            // The point opens at five: its first hour is 05:00, and sampling is done by noon.
            let hours: Vec<&str> = items(&f["per_point_hour"])
                .iter()
                .map(|h| &h["hour"].as_str().unwrap()[11..])
                .collect();
            assert!(
                hours.contains(&"05:00") && !hours.contains(&"04:00"),
                "{hours:?}"
            );
            let turnaround = f["turnaround_median_minutes"].as_f64().unwrap();
            assert!((180.0..600.0).contains(&turnaround), "{turnaround}");
        } else {
            assert_eq!(f["tests"], 10, "a retest round: the recalled ten");
        }
    }
    assert!((70_000..71_000).contains(&tests), "{tests} tests");
    assert!((19_000..=20_000).contains(&tubes), "{tubes} tubes");
    assert_eq!(positives, 2);

    // 20,000 tubes handed out to the two points, more than either used.
    let (mut handed, mut used) = (0, 0);
    for point in items(&app.get(&office, "/api/v1/testing/points").await.1) {
        let (status, stock) = app
            .get(
                &office,
                &format!("/api/v1/testing/points/{}/kits", point["id"]),
            )
            .await;
        assert_eq!(status, 200, "{stock}");
        for s in items(&stock) {
            handed += s["handed_out"].as_i64().unwrap();
            used += s["used"].as_i64().unwrap();
            assert!(s["left"].as_i64().unwrap() >= 0, "{s}");
        }
    }
    assert_eq!((handed, used), (20_000, tubes));

    // A few yellow and red codes were turned away from pooled tubes, a few codes scanned twice
    // by mistake; neither counted.
    let flagged = |outcome: &str| {
        format!(
            "SELECT COUNT(*) FROM scans s JOIN residents r ON r.id = s.resident_id WHERE s.outcome = '{outcome}'"
        )
    };
    assert!(app.id_of(&flagged("sample_alone")).await > 0);
    assert!(app.id_of(&flagged("scanned_twice")).await > 0);
    assert_eq!(
        app.id_of(&format!(
            "{} AND r.colour = 'green'",
            flagged("sample_alone")
        ))
        .await,
        0
    );

    // Personal data: ID numbers kept only as a keyed hash and a masked form, phones masked in
    // the registry's list.
    let clear = app
        .id_of("SELECT COUNT(*) FROM residents WHERE length(id_hash) <> 64 OR id_masked NOT LIKE '______********____'")
        .await;
    assert_eq!(clear, 0);
    let dispatcher = app.token("dispatcher").await;
    let (status, list) = app
        .get(
            &dispatcher,
            &format!("/api/v1/testing/residents?compound_id={compound}&limit=50"),
        )
        .await;
    assert_eq!(status, 200, "{list}");
    let phones: Vec<&str> = items(&list["items"])
        .iter()
        .filter_map(|r| r["phone"].as_str().filter(|p| !p.is_empty()))
        .collect();
    assert!(
        !phones.is_empty() && phones.iter().all(|p| p.contains("****")),
        "{phones:?}"
    );
}

#[tokio::test]
async fn each_positive_tube_recalled_exactly_its_people_and_the_commander_answered() {
    let app = spawn_app(true).await;
    let commander = app.token("commander").await;
    let recalls: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT rc.id, t.id, t.count FROM recalls rc JOIN tubes t ON t.id = rc.tube_id ORDER BY rc.id",
    )
    .fetch_all(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(recalls.len(), 2);
    let mut states = Vec::new();
    for (recall, tube, count) in recalls {
        let (status, r) = app
            .get(&commander, &format!("/api/v1/testing/recalls/{recall}"))
            .await;
        assert_eq!(status, 200, "{r}");
        let people: BTreeSet<i64> = items(&r["people"])
            .iter()
            .map(|p| p["resident_id"].as_i64().unwrap())
            .collect();
        let scanned: BTreeSet<i64> = sqlx::query_scalar(
            "SELECT resident_id FROM scans WHERE tube_id = $1 AND outcome = 'added'",
        )
        .bind(tube)
        .fetch_all(&app.db.pool)
        .await
        .unwrap()
        .into_iter()
        .collect();
        assert_eq!(people, scanned, "recall {recall}");
        assert_eq!(people.len() as i64, count);
        // Children show no phone; everyone else's is masked.
        assert!(
            items(&r["people"])
                .iter()
                .filter_map(|p| p["phone"].as_str().filter(|p| !p.is_empty()))
                .all(|p| p.contains("****"))
        );
        // Its people live in two neighbouring buildings: each has its two follow-up cases, walked
        // to their close that day, and a proposal, which the commander decided the next morning.
        let buildings: BTreeSet<&str> = items(&r["people"])
            .iter()
            .map(|p| p["building"].as_str().unwrap())
            .collect();
        assert_eq!(buildings.len(), 2, "{r}");
        assert_eq!(items(&r["follow_ups"]).len(), 4, "{r}");
        let proposed: BTreeSet<&str> = items(&r["proposals"])
            .iter()
            .map(|p| p["building"].as_str().unwrap())
            .collect();
        assert_eq!(proposed, buildings);
        for p in items(&r["proposals"]) {
            assert!(!p["note"].as_str().unwrap().is_empty(), "{p}");
            states.push(p["state"].as_str().unwrap().to_string());
        }
        for f in items(&r["follow_ups"]) {
            let (status, case) = app
                .get(&commander, &format!("/api/v1/cases/{}", f["case_id"]))
                .await;
            assert_eq!(status, 200, "{case}");
            assert_eq!(
                (case["source"].as_str(), case["state"].as_str()),
                (Some("testing"), Some("closed")),
                "{case}"
            );
        }
        // The people were retested one tube each at their doors that evening.
        let retested = app
            .id_of(&format!(
                "SELECT COUNT(DISTINCT s.resident_id) FROM scans s JOIN testing_rounds r ON r.id = s.round_id \
                 WHERE s.outcome = 'added' AND r.name LIKE '%复核%' AND s.resident_id IN \
                 (SELECT resident_id FROM scans WHERE tube_id = {tube} AND outcome = 'added')"
            ))
            .await;
        assert_eq!(retested, count);
    }
    assert_eq!(states, ["accepted", "accepted", "declined", "declined"]);
}

#[tokio::test]
async fn every_tube_holds_its_added_scans_along_a_whole_chain_and_the_trail_verifies() {
    let app = spawn_app(true).await;
    let db = &app.db.pool;
    let wrong = app
        .id_of(
            "SELECT COUNT(*) FROM tubes t WHERE t.count <> \
             (SELECT COUNT(*) FROM scans s WHERE s.tube_id = t.id AND s.outcome = 'added')",
        )
        .await;
    assert_eq!(wrong, 0, "tubes whose count is not their added scans");
    // Each tube sealed by the sampler, in a box the sampler packed and sent by a courier, the
    // lab received and resulted it, in that order.
    let sampler = app
        .id_of("SELECT id FROM accounts WHERE username = 'sampler'")
        .await;
    let lab = app
        .id_of("SELECT id FROM accounts WHERE username = 'lab'")
        .await;
    let broken = app
        .id_of(&format!(
            "SELECT COUNT(*) FROM tubes t JOIN transfer_boxes b ON b.id = t.box_id WHERE NOT ( \
             t.state = 'resulted' AND t.opened_by = {sampler} AND t.sealed_by = {sampler} \
             AND b.packed_by = {sampler} AND b.sent_by = {sampler} AND b.received_by = {lab} \
             AND t.result_by = {lab} AND b.courier <> '' AND b.state = 'received' \
             AND t.opened_at <= t.sealed_at AND t.sealed_at <= b.packed_at AND b.packed_at <= b.sent_at \
             AND b.sent_at <= b.received_at AND b.received_at <= t.resulted_at)"
        ))
        .await;
    assert_eq!(broken, 0);
    assert_eq!(
        app.id_of("SELECT COUNT(*) FROM tubes WHERE box_id IS NULL")
            .await,
        0
    );
    let outside = app
        .id_of(&format!(
            "SELECT COUNT(*) FROM scans WHERE at < {} OR at >= {}",
            bj("2022-08-21T00:00:00+08:00"),
            bj("2022-08-30T00:00:00+08:00")
        ))
        .await;
    assert_eq!(outside, 0);

    // The scans were written in the ingest's batches: one `scans`/`write` event each, sealing
    // the SHA-256 of its rows as the writer computes it, covering every scan once.
    let events = sqlx::query(
        "SELECT summary FROM audit_events WHERE entity = 'scans' AND action = 'write' ORDER BY seq",
    )
    .fetch_all(db)
    .await
    .unwrap();
    let mut covered = 0;
    for e in &events {
        let s: Value = serde_json::from_str(&e.get::<String, _>(0)).unwrap();
        let (first, last) = (s["first"].as_i64().unwrap(), s["last"].as_i64().unwrap());
        let rows = sqlx::query(
            "SELECT id, tube_id, round_id, resident_id, code, outcome, account_id, idempotency_key, at \
             FROM scans WHERE id BETWEEN $1 AND $2 ORDER BY id",
        )
        .bind(first)
        .bind(last)
        .fetch_all(db)
        .await
        .unwrap();
        assert_eq!(rows.len() as i64, s["count"].as_i64().unwrap());
        assert!(rows.len() <= 1_000);
        let mut digest = Sha256::new();
        for r in &rows {
            let resident: Option<i64> = r.get(3);
            digest.update(
                format!(
                    "{}|{}|{}|{}|{}|{}|{}|{}|{}\n",
                    r.get::<i64, _>(0),
                    r.get::<i64, _>(1),
                    r.get::<i64, _>(2),
                    resident.map(|r| r.to_string()).unwrap_or_default(),
                    r.get::<String, _>(4),
                    r.get::<String, _>(5),
                    r.get::<i64, _>(6),
                    r.get::<String, _>(7),
                    r.get::<i64, _>(8),
                )
                .as_bytes(),
            );
        }
        assert_eq!(
            s["sha256"].as_str().unwrap(),
            hex::encode(digest.finalize()),
            "batch {first}..={last}"
        );
        covered += rows.len() as i64;
    }
    assert_eq!(covered, app.count("scans").await);

    let (code, out) = huoyan_on(&app, &["audit", "verify"], "");
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("OK"), "{out}");
}

fn bj(s: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(s)
        .unwrap()
        .timestamp_millis()
}
