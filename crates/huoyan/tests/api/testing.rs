//! Mass testing through the API, on the demo: a point and a round set up by the dispatcher,
//! residents registered from a sheet, a sampler filling a 10-in-1 tube (the eleventh refused, a
//! second scan flagged, a red code never pooled), sealing and boxing it, the lab receiving the box
//! and importing a positive result, and the recall listing exactly the tube's ten people.

use serde_json::{Value, json};

use crate::{TestApp, fields, spawn_app};

/// An ID-card number with its check digit (GB 11643) from 17 digits.
fn id_number(first17: &str) -> String {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = first17
        .chars()
        .zip(W)
        .map(|(c, w)| c.to_digit(10).unwrap() * w)
        .sum();
    format!(
        "{first17}{}",
        ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'][(sum % 11) as usize]
    )
}

/// Posts `body` (csv) to `path` as the raw body.
async fn upload(app: &TestApp, token: &str, path: &str, body: String) -> (u16, Value) {
    let r = app
        .client
        .post(format!("{}{path}", app.base))
        .bearer_auth(token)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// What the tests share: the demo's dispatcher, sampler and lab, a new point at a site of
/// 景程小区 (beside the demo's own, whose history these tests leave as it is) and a round over
/// the compound sampling it 10-in-1, and `n` more residents of building 3 with codes
/// `HYTEST0001`… (`HYTEST0001` red when `red`).
pub(crate) struct Round {
    pub(crate) sampler: String,
    lab: String,
    dispatcher: String,
    round: i64,
    point: i64,
}

pub(crate) async fn set_up(app: &TestApp, n: usize, red: bool) -> Round {
    let dispatcher = app.token("dispatcher").await;
    let compound = app
        .id_of("SELECT id FROM regions WHERE name = '景程小区'")
        .await;
    let (status, site) = app
        .send(
            "POST",
            &dispatcher,
            "/api/v1/sites",
            &json!({"region_id": compound, "kind": "sampling_point", "name": "景程小区3号楼临时采样点"}),
        )
        .await;
    assert_eq!(status, 201, "{site}");
    let site = site["id"].as_i64().unwrap();
    let (status, point) = app
        .send(
            "POST",
            &dispatcher,
            "/api/v1/testing/points",
            &json!({"site_id": site, "opens": "06:00", "closes": "20:00", "desks": 4}),
        )
        .await;
    assert_eq!(status, 201, "{point}");
    let (status, round) = app
        .send(
            "POST",
            &dispatcher,
            "/api/v1/testing/rounds",
            &json!({"name": "第1轮全员核酸", "day": "2022-08-12", "region_ids": [compound],
                "points": [{"point_id": point["id"], "mode": "pooled_10"}]}),
        )
        .await;
    assert_eq!(status, 201, "{round}");
    let mut sheet = String::from("小区,楼栋,单元,房号,姓名,电话,身份证号,健康码,码色\n");
    for i in 1..=n {
        let colour = if red && i == 1 { "红码" } else { "绿码" };
        sheet.push_str(&format!(
            "景程小区,3号楼,{}单元,{}0{},居民{i},1390000{i:04},{},HYTEST{i:04},{colour}\n",
            1 + i % 2,
            1 + i % 6,
            i % 4 + 1,
            id_number(&format!(
                "2306021990{:02}{:02}{:03}",
                1 + i % 12,
                1 + i % 28,
                i
            ))
        ));
    }
    let (status, body) = upload(
        app,
        &dispatcher,
        "/api/v1/testing/residents/import?format=csv",
        sheet,
    )
    .await;
    assert_eq!(
        (status, body["imported"].as_u64()),
        (200, Some(n as u64)),
        "{body}"
    );
    Round {
        sampler: app.token("sampler").await,
        lab: app.token("lab").await,
        dispatcher,
        round: round["id"].as_i64().unwrap(),
        point: point["id"].as_i64().unwrap(),
    }
}

pub(crate) async fn open(app: &TestApp, r: &Round, barcode: &str) -> Value {
    let (status, tube) = app
        .send(
            "POST",
            &r.sampler,
            "/api/v1/testing/tubes",
            &json!({"barcode": barcode, "round_id": r.round, "point_id": r.point}),
        )
        .await;
    assert_eq!(status, 201, "{tube}");
    tube
}

pub(crate) async fn scan(app: &TestApp, r: &Round, tube: &str, code: &str, key: &str) -> Value {
    let (status, answer) = app
        .send(
            "POST",
            &r.sampler,
            "/api/v1/testing/scans",
            &json!({"tube": tube, "code": code, "key": key}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    answer
}

#[tokio::test]
async fn a_positive_pooled_tube_recalls_exactly_its_ten_people() {
    let _ = tracing_subscriber::fmt().with_test_writer().try_init();
    let app = spawn_app(true).await;
    let r = set_up(&app, 12, true).await;
    let tube = open(&app, &r, "t-0812-0001").await;
    assert_eq!(
        (
            tube["barcode"].as_str(),
            tube["mode"].as_str(),
            tube["capacity"].as_i64()
        ),
        (Some("T-0812-0001"), Some("pooled_10"), Some(10))
    );
    // The red code first: never pooled, the sampler told at once.
    let red = scan(&app, &r, "T-0812-0001", "HYTEST0001", "k-red").await;
    assert_eq!(
        (
            red["outcome"].as_str(),
            red["colour"].as_str(),
            red["count"].as_i64()
        ),
        (Some("sample_alone"), Some("red"), Some(0))
    );
    for i in 2..=11 {
        // The health code as a card's link scans the same.
        let code = format!("https://huoyan.example/c/HYTEST{i:04}");
        let a = scan(&app, &r, "T-0812-0001", &code, &format!("k-{i}")).await;
        assert_eq!(
            (a["outcome"].as_str(), a["count"].as_i64()),
            (Some("added"), Some(i - 1)),
            "{a}"
        );
        assert_eq!(a["full"], i == 11);
        assert_eq!(a["name"].as_str().unwrap().chars().next(), Some('居'));
    }
    // Full: the twelfth person is refused; a person scanned again is flagged; a scan sent again
    // under its key is answered as the first time and not written twice.
    let full = scan(&app, &r, "T-0812-0001", "HYTEST0012", "k-12").await;
    assert_eq!(full["outcome"], "tube_full");
    let again = scan(&app, &r, "T-0812-0001", "HYTEST0005", "k-5").await;
    assert_eq!(
        (
            again["outcome"].as_str(),
            again["repeated"].as_bool(),
            again["count"].as_i64()
        ),
        (Some("added"), Some(true), Some(10))
    );
    let unknown = scan(&app, &r, "T-0812-0001", "HYNOBODY00", "k-x").await;
    assert_eq!(unknown["outcome"], "unknown_code");
    let second = open(&app, &r, "T-0812-0002").await;
    assert_eq!(second["count"], 0);
    let twice = scan(&app, &r, "T-0812-0002", "HYTEST0005", "k-5b").await;
    assert_eq!(twice["outcome"], "scanned_twice");
    assert_eq!(
        app.id_of(&format!(
            "SELECT COUNT(*) FROM scans WHERE outcome = 'added' AND round_id = {}",
            r.round
        ))
        .await,
        10
    );
    // Seal, box, send, receive.
    let (status, sealed) = app
        .send(
            "POST",
            &r.sampler,
            "/api/v1/testing/tubes/T-0812-0001/seal",
            &json!({}),
        )
        .await;
    assert_eq!(
        (status, sealed["state"].as_str()),
        (200, Some("sealed")),
        "{sealed}"
    );
    let late = scan(&app, &r, "T-0812-0001", "HYTEST0012", "k-late").await;
    assert_eq!(late["outcome"], "tube_not_open");
    let (status, empty) = app
        .send(
            "POST",
            &r.sampler,
            "/api/v1/testing/tubes/T-0812-0002/seal",
            &json!({}),
        )
        .await;
    assert_eq!(
        (status, fields(&empty)),
        (409, vec!["state".to_string()]),
        "{empty}"
    );
    let (status, packed) = app
        .send(
            "POST",
            &r.sampler,
            "/api/v1/testing/boxes",
            &json!({"code": "BOX-0812-01", "tubes": ["T-0812-0001", "T-0812-0002"]}),
        )
        .await;
    assert_eq!(
        (status, fields(&packed)),
        (422, vec!["tubes[1]".to_string()]),
        "an open tube is not boxed: {packed}"
    );
    let (status, packed) = app
        .send(
            "POST",
            &r.sampler,
            "/api/v1/testing/boxes",
            &json!({"code": "BOX-0812-01", "tubes": ["T-0812-0001"]}),
        )
        .await;
    assert_eq!(
        (status, packed["state"].as_str()),
        (201, Some("packed")),
        "{packed}"
    );
    let (status, early) = app
        .send(
            "POST",
            &r.lab,
            "/api/v1/testing/boxes/BOX-0812-01/receive",
            &json!({}),
        )
        .await;
    assert_eq!(status, 409, "received before it was sent: {early}");
    let (status, sent) = app
        .send(
            "POST",
            &r.sampler,
            "/api/v1/testing/boxes/BOX-0812-01/send",
            &json!({"courier": "王师傅"}),
        )
        .await;
    assert_eq!(
        (status, sent["state"].as_str()),
        (200, Some("sent")),
        "{sent}"
    );
    let (status, got) = app
        .send(
            "POST",
            &r.lab,
            "/api/v1/testing/boxes/BOX-0812-01/receive",
            &json!({}),
        )
        .await;
    assert_eq!(
        (
            status,
            got["state"].as_str(),
            got["tubes"][0]["state"].as_str()
        ),
        (200, Some("received"), Some("received")),
        "{got}"
    );
    // A results file with a bad row is refused whole, naming every bad row.
    let (status, bad) = upload(
        &app,
        &r.lab,
        "/api/v1/testing/results/import?format=csv",
        "试管,结果,时间\nT-0812-0001,阳性,2022-08-12 14:30\nT-0812-0002,阴性,\nT-NOPE-01,不知道,\n"
            .into(),
    )
    .await;
    assert_eq!(status, 422, "{bad}");
    assert_eq!(fields(&bad), ["row 3: tube", "row 4: result"]);
    // The demo's own positive tubes' recalls are there already.
    let (recalls, recall_follow_ups) = (
        app.count("recalls").await,
        app.count("recall_follow_ups").await,
    );
    assert_eq!(recalls, 2);
    let (status, done) = upload(
        &app,
        &r.lab,
        "/api/v1/testing/results/import?format=csv",
        "试管,结果,时间\nT-0812-0001,阳性,2022-08-12 14:30\n".into(),
    )
    .await;
    assert_eq!(status, 200, "{done}");
    let recall = done["recall_ids"][0].as_i64().unwrap();
    let (status, list) = app
        .get(&r.dispatcher, &format!("/api/v1/testing/recalls/{recall}"))
        .await;
    assert_eq!(status, 200, "{list}");
    let mut names: Vec<&str> = list["people"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    names.sort_unstable_by_key(|n| n[6..].parse::<u32>().unwrap());
    let expected: Vec<String> = (2..=11).map(|i| format!("居民{i}")).collect();
    assert_eq!(names, expected);
    assert!(
        list["people"].as_array().unwrap().iter().all(|p| p["phone"]
            .as_str()
            .unwrap()
            .contains("****")
            && p["building"] == "3号楼")
    );
    // Its building gets two urgent cases in the ordinary flow, filed with the recall: the
    // single-tube retests at its doors, and its control; the office is told of each.
    let follow_ups = list["follow_ups"].as_array().unwrap();
    assert_eq!(
        follow_ups
            .iter()
            .map(|f| (f["kind"].as_str().unwrap(), f["building"].as_str().unwrap()))
            .collect::<Vec<_>>(),
        [("door_retest", "3号楼"), ("building_control", "3号楼")],
        "{list}"
    );
    let office = app.token("office").await;
    for (f, category) in follow_ups.iter().zip(["testing", "static_control"]) {
        let (status, case) = app
            .get(&office, &format!("/api/v1/cases/{}", f["case_id"]))
            .await;
        assert_eq!(status, 200, "{case}");
        assert_eq!(
            (
                case["category"].as_str(),
                case["priority"].as_str(),
                case["source"].as_str(),
                case["state"].as_str(),
                case["address"].as_str()
            ),
            (
                Some(category),
                Some("urgent"),
                Some("testing"),
                Some("reported"),
                Some("景程小区3号楼")
            ),
            "{case}"
        );
        let text = case["description"].as_str().unwrap();
        assert!(
            text.contains("T-0812-0001") && text.contains(&format!("召回单{recall}")),
            "{text}"
        );
    }
    let retest = app
        .get(
            &office,
            &format!("/api/v1/cases/{}", follow_ups[0]["case_id"]),
        )
        .await
        .1;
    assert!(
        retest["description"]
            .as_str()
            .unwrap()
            .contains("景程小区3号楼的10人"),
        "{retest}"
    );
    let (_, notices) = app
        .get(&office, "/api/v1/notifications?limit=50&lang=zh")
        .await;
    let told: Vec<i64> = notices["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "reported")
        .filter_map(|n| n["case_id"].as_i64())
        .collect();
    for f in follow_ups {
        assert!(told.contains(&f["case_id"].as_i64().unwrap()), "{notices}");
    }
    // The commander is asked to raise the building's control; deciding is theirs, once.
    let proposals = list["proposals"].as_array().unwrap();
    assert_eq!(proposals.len(), 1, "{list}");
    let proposal = &proposals[0];
    assert_eq!(
        (
            proposal["building"].as_str(),
            proposal["level"].as_str(),
            proposal["state"].as_str()
        ),
        (Some("3号楼"), Some("high_risk"), Some("proposed")),
        "{proposal}"
    );
    let decide = format!("/api/v1/testing/proposals/{}/decision", proposal["id"]);
    let commander = app.token("commander").await;
    let (_, notices) = app
        .get(&commander, "/api/v1/notifications?limit=50&lang=zh")
        .await;
    let asked = notices["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["kind"] == "control_proposed")
        .expect("the commander is asked");
    assert!(
        asked["message"].as_str().unwrap().contains("景程小区3号楼"),
        "{asked}"
    );
    let (status, _) = app
        .send("POST", &office, &decide, &json!({"accept": true}))
        .await;
    assert_eq!(status, 403);
    let (status, bad) = app
        .send(
            "POST",
            &commander,
            &decide,
            &json!({"accept": true, "note": "长".repeat(501)}),
        )
        .await;
    assert_eq!(
        (status, fields(&bad)),
        (422, vec!["note".to_string()]),
        "{bad}"
    );
    let (status, decided) = app
        .send(
            "POST",
            &commander,
            &decide,
            &json!({"accept": true, "note": "今晚发布封控通告"}),
        )
        .await;
    assert_eq!(status, 200, "{decided}");
    assert_eq!(
        (decided["state"].as_str(), decided["note"].as_str()),
        (Some("accepted"), Some("今晚发布封控通告"))
    );
    let (status, again) = app
        .send("POST", &commander, &decide, &json!({"accept": false}))
        .await;
    assert_eq!(status, 409, "{again}");
    let (_, notices) = app
        .get(&r.dispatcher, "/api/v1/notifications?limit=50&lang=zh")
        .await;
    assert!(
        notices["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["kind"] == "control_decided"
                && n["message"].as_str().unwrap().contains("已同意")),
        "{notices}"
    );
    // The recall's page shows the decision, the follow-ups and the people, phones masked.
    let page = app
        .client
        .get(format!("{}/testing/recalls/{recall}", app.base))
        .bearer_auth(&commander)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("data-state=\"accepted\"")
            && !page.contains("class=\"stack decide\"")
            && page.contains(&format!("/cases/{}", follow_ups[0]["case_id"]))
            && page.contains("居民2")
            && page.contains("****"),
        "{page}"
    );
    // The command side is told; the sampler may not read the recall.
    let commander = app.token("commander").await;
    let (_, notices) = app
        .get(&commander, "/api/v1/notifications?limit=50&lang=zh")
        .await;
    let told = notices["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["kind"] == "tube_positive")
        .expect("the commander is told");
    assert!(
        told["message"].as_str().unwrap().contains("T-0812-0001"),
        "{told}"
    );
    let (status, _) = app
        .get(&r.sampler, &format!("/api/v1/testing/recalls/{recall}"))
        .await;
    assert_eq!(status, 403);
    // The round's figures: ten tests at the point, 10 of the compound's registered residents (the
    // demo's and these 12) tested, one positive tube recalling ten people; the workbook opens.
    let (status, f) = app
        .get(
            &r.dispatcher,
            &format!("/api/v1/testing/rounds/{}/figures", r.round),
        )
        .await;
    assert_eq!(status, 200, "{f}");
    assert_eq!(
        (
            f["tests"].as_i64(),
            f["tubes"].as_i64(),
            f["positive_tubes"].as_i64(),
            f["recalled"].as_i64()
        ),
        (Some(10), Some(2), Some(1), Some(10)),
        "{f}"
    );
    let jingcheng = f["coverage"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["compound"] == "景程小区")
        .expect("景程小区's coverage");
    let registered = app
        .id_of("SELECT COUNT(*) FROM residents r JOIN regions g ON g.id = r.compound_id WHERE g.name = '景程小区'")
        .await;
    assert_eq!(
        (
            jingcheng["registered"].as_i64(),
            jingcheng["tested"].as_i64()
        ),
        (Some(registered), Some(10))
    );
    let hours: i64 = f["per_point_hour"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["tests"].as_i64().unwrap())
        .sum();
    assert_eq!(hours, 10);
    assert_eq!(
        f["per_compound_day"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["tests"].as_i64().unwrap())
            .sum::<i64>(),
        10
    );
    assert_eq!(f["resulted_tubes"], 1);
    let book = app
        .client
        .get(format!(
            "{}/api/v1/testing/rounds/{}/figures.xlsx",
            app.base, r.round
        ))
        .bearer_auth(&r.dispatcher)
        .send()
        .await
        .unwrap();
    assert_eq!(book.status(), 200);
    assert!(book.bytes().await.unwrap().starts_with(b"PK"));
    // The same file again changes nothing.
    let (status, again) = upload(
        &app,
        &r.lab,
        "/api/v1/testing/results/import?format=csv",
        "试管,结果\nT-0812-0001,阳性\n".into(),
    )
    .await;
    assert_eq!(
        (status, again["imported"].as_u64()),
        (200, Some(0)),
        "{again}"
    );
    assert_eq!(app.count("recalls").await, recalls + 1);
    assert_eq!(app.count("recall_follow_ups").await, recall_follow_ups + 2);
}

/// The writer remembers the tubes it wrote to; a tube changed behind it (sealed meanwhile, or
/// filled by another server on the same database) is decided on again from what is stored.
#[tokio::test]
async fn a_tube_changed_behind_the_writer_is_read_again() {
    let app = spawn_app(true).await;
    let r = set_up(&app, 16, false).await;
    open(&app, &r, "T-0812-0101").await;
    for i in 1..=2 {
        let a = scan(
            &app,
            &r,
            "T-0812-0101",
            &format!("HYTEST{i:04}"),
            &format!("m-{i}"),
        )
        .await;
        assert_eq!(a["count"], i, "{a}");
    }
    // Another server added a person: the next scan is the fourth, not the third.
    let tube = "(SELECT id FROM tubes WHERE barcode = 'T-0812-0101')";
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE tubes SET count = count + 1 WHERE id = {tube}"
    )))
    .execute(&app.owner.pool)
    .await
    .unwrap();
    let a = scan(&app, &r, "T-0812-0101", "HYTEST0003", "m-3").await;
    assert_eq!(
        (a["outcome"].as_str(), a["count"].as_i64()),
        (Some("added"), Some(4)),
        "{a}"
    );
    // Sealed by the sampler: the next scan is refused as such, and nothing is counted.
    let (status, sealed) = app
        .send(
            "POST",
            &r.sampler,
            "/api/v1/testing/tubes/T-0812-0101/seal",
            &json!({}),
        )
        .await;
    assert_eq!(status, 200, "{sealed}");
    let late = scan(&app, &r, "T-0812-0101", "HYTEST0004", "m-4").await;
    assert_eq!(late["outcome"], "tube_not_open", "{late}");
    assert_eq!(
        app.id_of(&format!("SELECT count FROM tubes WHERE id = {tube}"))
            .await,
        4
    );
    // A full tube remembered full, then sealed: the scan is told the tube is sealed.
    open(&app, &r, "T-0812-0102").await;
    for i in 5..=14 {
        scan(
            &app,
            &r,
            "T-0812-0102",
            &format!("HYTEST{i:04}"),
            &format!("m-{i}"),
        )
        .await;
    }
    let full = scan(&app, &r, "T-0812-0102", "HYTEST0015", "m-15").await;
    assert_eq!(full["outcome"], "tube_full", "{full}");
    sqlx::query("UPDATE tubes SET state = 'sealed' WHERE barcode = 'T-0812-0102'")
        .execute(&app.owner.pool)
        .await
        .unwrap();
    let sealed = scan(&app, &r, "T-0812-0102", "HYTEST0016", "m-16").await;
    assert_eq!(sealed["outcome"], "tube_not_open", "{sealed}");
}

#[tokio::test]
async fn concurrent_scans_never_overfill_a_tube_and_a_batch_answers_each_scan_in_its_place() {
    let app = spawn_app(true).await;
    let r = set_up(&app, 40, false).await;
    open(&app, &r, "T-RACE-0001").await;
    let calls: Vec<_> = (1..=30)
        .map(|i| {
            let (client, base, token) = (app.client.clone(), app.base.clone(), r.sampler.clone());
            tokio::spawn(async move {
                let r = client
                    .post(format!("{base}/api/v1/testing/scans"))
                    .bearer_auth(token)
                    .json(&json!({"tube": "T-RACE-0001", "code": format!("HYTEST{i:04}"), "key": format!("race-{i}")}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200);
                r.json::<Value>().await.unwrap()
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for c in calls {
        outcomes.push(c.await.unwrap()["outcome"].as_str().unwrap().to_string());
    }
    assert_eq!(outcomes.iter().filter(|o| *o == "added").count(), 10);
    assert_eq!(outcomes.iter().filter(|o| *o == "tube_full").count(), 20);
    let (_, tube) = app
        .get(&r.sampler, "/api/v1/testing/tubes/T-RACE-0001")
        .await;
    assert_eq!(tube["count"], 10);
    // A scanner's queue: a bad code, a tube nobody opened and a key sent twice sink nothing.
    open(&app, &r, "T-RACE-0002").await;
    // Scanned an hour ago, offline: inside the 48 hours a scan may be sent late.
    let an_hour_ago = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    let (status, batch) = app
        .send(
            "POST",
            &r.sampler,
            "/api/v1/testing/scans",
            &json!({"scans": [
                {"tube": "T-RACE-0002", "code": "HYTEST0031", "key": "q-1", "scanned_at": an_hour_ago},
                {"tube": "T-RACE-0002", "code": "not a code!", "key": "q-2"},
                {"tube": "T-NOT-OPENED", "code": "HYTEST0032", "key": "q-3"},
                {"tube": "T-RACE-0002", "code": "HYTEST0033", "key": "q-4"},
                {"tube": "T-RACE-0002", "code": "HYTEST0033", "key": "q-4"},
            ]}),
        )
        .await;
    assert_eq!(status, 200, "{batch}");
    let results = batch["results"].as_array().unwrap();
    assert_eq!(results[0]["scan"]["outcome"], "added", "{batch}");
    assert_eq!(fields(&results[1]["error"]), ["scans[1].code"]);
    assert_eq!(fields(&results[2]["error"]), ["tube"]);
    assert_eq!(
        (
            results[3]["scan"]["count"].as_i64(),
            results[4]["scan"]["repeated"].as_bool()
        ),
        (Some(2), Some(true))
    );
    assert_eq!(
        app.id_of("SELECT COUNT(*) FROM scans WHERE idempotency_key LIKE 'q-%'")
            .await,
        2
    );
    // Only one of the sampler's fields at a time: one scan or a batch.
    let (status, both) = app
        .send(
            "POST",
            &r.sampler,
            "/api/v1/testing/scans",
            &json!({"tube": "T-RACE-0002", "scans": []}),
        )
        .await;
    assert_eq!((status, fields(&both)), (422, vec!["body".to_string()]));
}

#[tokio::test]
async fn scopes_hold_and_bad_fields_are_named() {
    let app = spawn_app(true).await;
    let r = set_up(&app, 2, false).await;
    // A sampler of another community opens no tube here, and sees none.
    let other = app.id_of("SELECT id FROM regions WHERE name LIKE '%社区' AND id NOT IN (SELECT scope_region_id FROM accounts WHERE username = 'sampler') ORDER BY id LIMIT 1").await;
    let stranger = app
        .new_login("sampler2", "sampler", json!({"region_id": other}))
        .await;
    let (status, body) = app
        .send(
            "POST",
            &stranger,
            "/api/v1/testing/tubes",
            &json!({"barcode": "T-SCOPE-01", "round_id": r.round, "point_id": r.point}),
        )
        .await;
    assert_eq!(
        (status, fields(&body)),
        (403, vec!["point_id".to_string()]),
        "{body}"
    );
    open(&app, &r, "T-SCOPE-01").await;
    let (status, body) = app
        .send(
            "POST",
            &stranger,
            "/api/v1/testing/scans",
            &json!({"tube": "T-SCOPE-01", "code": "HYTEST0001", "key": "s-1"}),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    let (status, _) = app.get(&stranger, "/api/v1/testing/tubes/T-SCOPE-01").await;
    assert_eq!(status, 404);
    // Registering: a wrong check digit and a bad code, each named; an ID number registered twice
    // is a conflict; a resident without a code gets a card's.
    let compound = app
        .id_of("SELECT id FROM regions WHERE name = '景程小区'")
        .await;
    let (status, body) = app
        .send(
            "POST",
            &r.sampler,
            "/api/v1/testing/residents",
            &json!({"compound_id": compound, "building": "5号楼", "name": "王奶奶",
            "id_number": "230602199001011230", "code": "<b>"}),
        )
        .await;
    assert_eq!(
        (status, fields(&body)),
        (422, vec!["id_number".to_string(), "code".to_string()]),
        "{body}"
    );
    let id = id_number("23060219400101123");
    let (status, card) = app
        .send("POST", &r.sampler, "/api/v1/testing/residents", &json!({"compound_id": compound, "building": "5号楼", "name": "王奶奶", "id_number": id}))
        .await;
    assert_eq!(status, 201, "{card}");
    assert!(card["carded"].as_bool().unwrap() && card["code"].as_str().unwrap().starts_with("HY"));
    assert_eq!(
        card["id_number"].as_str().unwrap(),
        format!("{}********{}", &id[..6], &id[14..])
    );
    let stored: String = {
        use sqlx::Row;
        sqlx::query(
            "SELECT COALESCE(id_hash, '') || id_masked || name FROM residents WHERE id = $1",
        )
        .bind(card["id"].as_i64().unwrap())
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
        .try_get(0)
        .unwrap()
    };
    assert!(!stored.contains(&id), "the number is never stored in clear");
    let (status, body) = app
        .send("POST", &r.sampler, "/api/v1/testing/residents", &json!({"compound_id": compound, "building": "6号楼", "name": "王奶奶", "id_number": id}))
        .await;
    assert_eq!(
        (status, fields(&body)),
        (409, vec!["id_number".to_string()]),
        "{body}"
    );
    // The building's sheet of cards shows its QR code and its code written out.
    let client = crate::page_client();
    assert_eq!(
        crate::page_login(
            &client,
            &app,
            "sampler",
            huoyan::auth::password::DEMO_PASSWORD
        )
        .await,
        303
    );
    let sheet = client
        .get(format!(
            "{}/testing/cards?compound_id={compound}&building=5%E5%8F%B7%E6%A5%BC",
            app.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(sheet.status(), 200);
    let html = sheet.text().await.unwrap();
    let code = card["code"].as_str().unwrap();
    assert!(
        html.contains(&format!("data-code=\"{code}\"")) && html.contains("<svg"),
        "{html}"
    );
    assert!(html.contains("健康码卡片"));
    // A card's code scans like a health code.
    let a = scan(
        &app,
        &r,
        "T-SCOPE-01",
        card["code"].as_str().unwrap(),
        "s-card",
    )
    .await;
    assert_eq!(a["outcome"], "added");
    // A round over a region outside the dispatcher's reach is refused naming it.
    let (status, body) = app
        .send("POST", &r.dispatcher, "/api/v1/testing/rounds", &json!({"name": "x", "day": "2022-08-13", "region_ids": [compound], "points": [{"point_id": r.point, "mode": "triple"}]}))
        .await;
    assert_eq!(status, 422, "{body}");
}

#[tokio::test]
async fn kits_handed_out_are_counted_apart_from_tubes_used() {
    let app = spawn_app(true).await;
    let r = set_up(&app, 2, false).await;
    let before = app.count("kit_handouts").await;
    let kits = format!("/api/v1/testing/points/{}/kits", r.point);
    let (status, stock) = app
        .send(
            "POST",
            &r.dispatcher,
            &kits,
            &json!({"mode": "pooled_10", "quantity": 100, "note": "第一箱"}),
        )
        .await;
    assert_eq!(status, 201, "{stock}");
    open(&app, &r, "T-KIT-0001").await;
    open(&app, &r, "T-KIT-0002").await;
    let (status, _) = app
        .send(
            "POST",
            &r.dispatcher,
            &kits,
            &json!({"mode": "antigen", "quantity": 50}),
        )
        .await;
    assert_eq!(status, 201);
    let (status, stock) = app.get(&r.lab, &kits).await;
    assert_eq!(status, 200, "{stock}");
    let rows: Vec<(String, i64, i64, i64)> = stock
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["mode"].as_str().unwrap().to_string(),
                s["handed_out"].as_i64().unwrap(),
                s["used"].as_i64().unwrap(),
                s["left"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("antigen".to_string(), 50, 0, 50),
            ("pooled_10".to_string(), 100, 2, 98)
        ]
    );
    // Bad quantities and notes are named; an unknown point is not found; nothing is written.
    let (status, bad) = app
        .send(
            "POST",
            &r.dispatcher,
            &kits,
            &json!({"mode": "pooled_10", "quantity": 0, "note": "长".repeat(201)}),
        )
        .await;
    assert_eq!(status, 422, "{bad}");
    assert_eq!(fields(&bad), ["quantity", "note"]);
    let (status, _) = app
        .send(
            "POST",
            &r.dispatcher,
            "/api/v1/testing/points/999999/kits",
            &json!({"mode": "pooled_10", "quantity": 5}),
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(app.count("kit_handouts").await, before + 2);
    // The point's page: the dispatcher records a box of tubes; the lab reads the stock.
    let page = format!("{}/testing/points/{}/kits", app.base, r.point);
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let sent = client
        .post(&page)
        .bearer_auth(&r.dispatcher)
        .form(&[
            ("_csrf", ""),
            ("mode", "pooled_10"),
            ("quantity", "5"),
            ("note", ""),
        ])
        .send()
        .await
        .unwrap();
    assert!(sent.status().is_redirection(), "{}", sent.status());
    let html = client
        .get(&page)
        .bearer_auth(&r.lab)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("data-mode=\"pooled_10\"")
            && html.contains(">105<")
            && html.contains(">103<"),
        "{html}"
    );
    assert!(
        !html.contains("id=\"hand-out\""),
        "the lab hands nothing out"
    );
}
