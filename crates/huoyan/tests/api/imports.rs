//! Imports are all-or-nothing with every bad row named; exports read back in independent readers
//! (calamine, openpyxl) with the same rows as the list, opening ready to work in.

use calamine::Reader;
use serde_json::json;

use crate::spawn_app;

pub(crate) fn xlsx(rows: &[&[&str]]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let ws = book.add_worksheet();
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            ws.write_string(r as u32, c as u16, *v).unwrap();
        }
    }
    book.save_to_buffer().unwrap()
}

async fn post(
    app: &crate::TestApp,
    token: &str,
    path: &str,
    body: Vec<u8>,
) -> (u16, serde_json::Value) {
    let r = app
        .client
        .post(format!("{}{path}", app.base))
        .bearer_auth(token)
        .body(body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn a_file_with_bad_rows_writes_nothing_and_names_every_bad_row() {
    let app = spawn_app(true).await;
    let admin = app.token("admin").await;
    let (people, events) = (app.count("people").await, app.count("audit_events").await);
    let file = xlsx(&[
        &["姓名", "手机", "性别", "出生年份", "小区编码", "技能"],
        &["赵一", "13911110001", "男", "1980", "DQ-C001", "扫码、消杀"],
        &["", "13911110002", "女", "1985", "DQ-C001", ""],
        &["钱三", "12345", "男", "1990", "DQ-C001", ""],
        &["孙四", "13911110001", "女", "1990", "", ""],
        &["李五", "13911110005", "女", "一九九零", "NOPE", ""],
    ]);
    let (status, body) = post(&app, &admin, "/api/v1/import/people?format=xlsx", file).await;
    assert_eq!(status, 422);
    let f = crate::fields(&body);
    assert_eq!(
        f,
        [
            "row 3: name",
            "row 4: phone",
            "row 5: phone",
            "row 6: birth_year",
            "row 6: home_region_code"
        ],
        "{body}"
    );
    assert_eq!(
        (app.count("people").await, app.count("audit_events").await),
        (people, events)
    );

    let good = "name,phone,gender,birth_year,home_region_code,skills\n赵一,13911110001,male,1980,DQ-C001,扫码\n钱二,13911110002,female,1985,DQ-C002,\n";
    let (status, body) = post(
        &app,
        &admin,
        "/api/v1/import/people?format=csv",
        good.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(
        (status, body["imported"].as_i64()),
        (200, Some(2)),
        "{body}"
    );
    assert_eq!(app.count("people").await, people + 2);

    let (status, body) = post(
        &app,
        &admin,
        "/api/v1/import/people?format=xlsx",
        b"PK\x03\x04broken".to_vec(),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(crate::fields(&body), ["file"]);
    let (status, body) = post(
        &app,
        &admin,
        "/api/v1/import/people?format=xlsx",
        xlsx(&[&["name"], &["x"]]),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(
        crate::fields(&body),
        ["row 1: phone", "row 1: gender", "row 1: birth_year"]
    );
    let office = app.token("office").await;
    assert_eq!(
        post(
            &app,
            &office,
            "/api/v1/import/people?format=csv",
            good.as_bytes().to_vec()
        )
        .await
        .0,
        403
    );
}

#[tokio::test]
async fn regions_and_teams_import_with_references_to_earlier_rows() {
    let app = spawn_app(true).await;
    let admin = app.token("admin").await;
    let regions = "code,name,level,parent_code\nX-1,新兴小区,compound,230602022006\nX-1-1,1号楼,building,X-1\nX-2,错层小区,compound,230602\n";
    let (status, body) = post(
        &app,
        &admin,
        "/api/v1/import/regions?format=csv",
        regions.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(crate::fields(&body), ["row 4: parent_id"]);
    assert_eq!(
        app.id_of("SELECT COUNT(*) FROM regions WHERE code LIKE 'X-%'")
            .await,
        0
    );
    let regions = "code,name,level,parent_code\nX-1,新兴小区,compound,230602022006\nX-1-1,1号楼,building,X-1\n";
    assert_eq!(
        post(
            &app,
            &admin,
            "/api/v1/import/regions?format=csv",
            regions.as_bytes().to_vec()
        )
        .await
        .0,
        200
    );
    let teams = "kind,name,parent,region_code\nparty_branch,新兴小区临时党支部,,X-1\nvolunteer_group,新兴小区第1小组,新兴小区临时党支部,X-1\n";
    let (status, body) = post(
        &app,
        &admin,
        "/api/v1/import/teams?format=csv",
        teams.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn district_zones_import_from_the_real_geojson() {
    let app = spawn_app(true).await;
    let admin = app.token("admin").await;
    sqlx::query("UPDATE regions SET geometry = NULL")
        .execute(&app.db.pool)
        .await
        .unwrap();
    let geojson = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/daqing-districts.geojson"
    ))
    .unwrap();
    let (status, body) = post(&app, &admin, "/api/v1/import/zones?format=geojson", geojson).await;
    // Five of the file's districts are not in the demo (it holds the four of order No. 9).
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        app.id_of("SELECT COUNT(*) FROM regions WHERE geometry IS NOT NULL")
            .await,
        0,
        "all or nothing"
    );
    let one = r#"{"type":"FeatureCollection","features":[{"type":"Feature","id":"230602","properties":{},"geometry":{"type":"Polygon","coordinates":[[[125.1,46.6],[125.2,46.6],[125.2,46.7],[125.1,46.6]]]}}]}"#;
    let (status, body) = post(
        &app,
        &admin,
        "/api/v1/import/zones?format=geojson",
        one.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let bad = r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"code":"230602"},"geometry":{"type":"Point","coordinates":[125.1,46.6]}}]}"#;
    let (status, body) = post(
        &app,
        &admin,
        "/api/v1/import/zones?format=geojson",
        bad.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(crate::fields(&body), ["features[0].geometry"]);
}

#[tokio::test]
async fn the_people_export_opens_in_calamine_with_the_lists_rows() {
    let app = spawn_app(true).await;
    let token = app.token("dispatcher").await;
    let r = app
        .client
        .get(format!("{}/api/v1/export/people", app.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let bytes = r.bytes().await.unwrap().to_vec();
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
    let sheet = book.worksheet_range_at(0).unwrap().unwrap();
    let rows: Vec<Vec<String>> = sheet
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    let (_, list) = app.get(&token, "/api/v1/people?limit=500").await;
    let total = list["total"].as_i64().unwrap() as usize;
    assert_eq!(rows.len(), total + 1);
    assert_eq!(rows[0][..3], ["id", "name", "phone"]);
    for (row, item) in rows[1..].iter().zip(list["items"].as_array().unwrap()) {
        assert_eq!(row[0], item["id"].to_string());
        assert_eq!(row[1], item["name"].as_str().unwrap());
        assert_eq!(
            row[2],
            item["phone"].as_str().unwrap(),
            "masked in the export as in the list"
        );
    }
    assert_eq!(
        app.id_of("SELECT COUNT(*) FROM audit_events WHERE entity = 'export'")
            .await,
        1,
        "the export is audited"
    );
}

#[tokio::test]
async fn org_exports_open_to_work_in_with_times_as_beijing_date_times() {
    use crate::figures::{assert_usable, beijing_cell, download, read_back};
    let app = spawn_app(true).await;
    let token = app.token("commander").await;
    let book = read_back(&download(&app, &token, "/api/v1/export/regions").await);
    let sheet = &book[0];
    let rows = sheet["rows"].as_array().unwrap();
    assert_eq!(rows[0].as_array().unwrap().last().unwrap(), "control_since");
    // Frozen header, a filter over every row, the names column as wide as its widest name (a
    // Chinese character two columns), the time column wide enough to show a whole time, and
    // every time a date-time cell.
    let widest = rows[1..]
        .iter()
        .map(|r| unicode_width::UnicodeWidthStr::width(r[2].as_str().unwrap()))
        .max()
        .unwrap();
    assert!(widest > 8, "{widest}");
    assert_usable(sheet, 7, &[("C", widest as f64), ("G", 16.0)], Some(6));
    // The four districts of order No. 9 are under control since 2022-08-20 20:00 Beijing time,
    // as the list says.
    let (status, districts) = app.get(&token, "/api/v1/regions?level=district").await;
    assert_eq!(status, 200);
    let mut checked = 0;
    for d in districts["items"].as_array().unwrap() {
        let Some(since) = d["control"]["since"].as_str() else {
            continue;
        };
        let row = rows
            .iter()
            .find(|r| r[0] == d["id"])
            .expect("every district is exported");
        assert_eq!(row[6], beijing_cell(&json!(since)), "{}", d["name"]);
        checked += 1;
    }
    assert!(checked >= 4, "{checked}");
    assert!(
        rows.iter().any(|r| r[6] == "2022-08-20T20:00:00"),
        "order No. 9 took effect at 20:00 Beijing time"
    );
    // The people export opens the same way (it holds no time).
    let book = read_back(&download(&app, &token, "/api/v1/export/people").await);
    assert_usable(&book[0], 9, &[("B", 8.0)], None);
}
