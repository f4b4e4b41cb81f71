//! Aerial supervision through the API, with real peers: a pilot registers the squad's drones and
//! plans a patrol over a sealed compound; the `.waypoints` export is read back by pymavlink's own
//! waypoint loader and the `.plan` by QGC's loader rules; five pymavlink vehicles fly against the
//! MAVLink port, one speaking MAVLink 1, one falling silent (link lost within 5 s); a sortie is
//! uploaded to a vehicle and acknowledged, item for item; and an aerial finding lands as a case in
//! the compound below the drone.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::{TestApp, fields, spawn_app, spawn_app_with};

pub(crate) fn python() -> String {
    std::env::var("HUOYAN_TEST_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Registers drone `callsign` (system id `system_id`) for the pilot's squad at `home`.
async fn register(
    app: &TestApp,
    pilot: &str,
    callsign: &str,
    system_id: i64,
    home: (f64, f64),
) -> Value {
    let (status, body) = app
        .send(
            "POST",
            pilot,
            "/api/v1/drones",
            &json!({"callsign": callsign, "model": "DJI M300 RTK", "system_id": system_id,
                "endurance_min": 40, "cruise_mps": 10.0, "hfov_deg": 70.0,
                "home_lon": home.0, "home_lat": home.1,
                "streams": [{"kind": "hls", "url": format!("https://video.police.example/{callsign}/index.m3u8")}]}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body
}

async fn jingcheng(app: &TestApp) -> i64 {
    app.id_of("SELECT id FROM regions WHERE name = '景程小区'")
        .await
}

/// A GET's status, headers and body as text.
async fn download(
    app: &TestApp,
    token: &str,
    path: &str,
) -> (u16, reqwest::header::HeaderMap, String) {
    let r = app
        .client
        .get(format!("{}{path}", app.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, headers, r.text().await.unwrap())
}

#[tokio::test]
async fn a_pilot_plans_a_patrol_over_a_sealed_compound_and_ground_control_reads_it() {
    let app = spawn_app(true).await;
    let pilot = app.token("pilot").await;
    let compound = jingcheng(&app).await;
    let home = app.centre_of("景程小区").await;

    // Bad input is refused naming each field.
    let (status, body) = app
        .send(
            "POST",
            &pilot,
            "/api/v1/drones",
            &json!({"callsign": "试飞9", "model": "x", "system_id": 0, "endurance_min": 0,
                "cruise_mps": 99.0, "hfov_deg": 70.0, "home_lon": home.1, "home_lat": home.0,
                "streams": [{"kind": "hls", "url": "javascript:alert(1)"}]}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    for f in [
        "system_id",
        "endurance_min",
        "cruise_mps",
        "lon",
        "streams[0].url",
    ] {
        assert!(fields(&body).contains(&f.to_string()), "{f}: {body}");
    }

    let drone = register(&app, &pilot, "试飞1", 11, home).await;
    assert_eq!(
        (drone["status"].as_str(), drone["link"].as_str()),
        (Some("idle"), Some("none"))
    );
    let (status, body) = app
        .send(
            "POST",
            &pilot,
            "/api/v1/drones",
            &json!({"callsign": "试飞1", "model": "x",
            "system_id": 12, "endurance_min": 30, "cruise_mps": 8.0, "hfov_deg": 60.0,
            "home_lon": home.0, "home_lat": home.1}),
        )
        .await;
    assert_eq!(
        (status, fields(&body)),
        (409, vec!["callsign".to_string()]),
        "{body}"
    );
    let second = register(&app, &pilot, "试飞2", 12, (home.0 + 0.01, home.1)).await;

    // The city is under no order of its own: only sealed zones are patrolled.
    let city = app
        .id_of("SELECT id FROM regions WHERE level = 'city'")
        .await;
    let (status, body) = app
        .send(
            "POST",
            &pilot,
            "/api/v1/drones/missions",
            &json!({"name": "x",
            "objectives": ["zone_control"], "altitude_m": 80.0, "region_ids": [city],
            "drone_ids": [drone["id"]]}),
        )
        .await;
    assert_eq!(
        (status, fields(&body)),
        (422, vec!["region_ids[0]".to_string()]),
        "{body}"
    );

    let (status, mission) = app
        .send(
            "POST",
            &pilot,
            "/api/v1/drones/missions",
            &json!({
            "name": "8月31日08:00 景程小区巡查",
            "objectives": ["zone_control", "spill_over", "zone_control"],
            "altitude_m": 80.0, "side_overlap": 0.2, "region_ids": [compound],
            "drone_ids": [drone["id"], second["id"]]}),
        )
        .await;
    assert_eq!(status, 201, "{mission}");
    assert_eq!(mission["objectives"], json!(["spill_over", "zone_control"]));
    assert_eq!(mission["zones"][0]["region_id"], compound);
    let sorties = mission["sorties"].as_array().unwrap();
    assert!(!sorties.is_empty());
    assert!(mission["length_m"].as_f64().unwrap() > 0.0);
    let id = mission["id"].as_i64().unwrap();

    // The `.waypoints` file, read back by pymavlink's own loader.
    let (status, headers, text) = download(
        &app,
        &pilot,
        &format!("/api/v1/drones/missions/{id}/waypoints?sortie=1"),
    )
    .await;
    assert_eq!(status, 200, "{text}");
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains(".waypoints")
    );
    let file = std::env::temp_dir().join(format!("huoyan-{}-{id}.waypoints", std::process::id()));
    std::fs::write(&file, &text).unwrap();
    let script = "import sys, json\nfrom pymavlink import mavwp\nw = mavwp.MAVWPLoader()\nn = w.load(sys.argv[1])\nprint(json.dumps([[p.seq, p.frame, p.command, p.x, p.y, p.z] for p in (w.wp(i) for i in range(n))]))";
    let out = Command::new(python())
        .args(["-c", script, file.to_str().unwrap()])
        .output()
        .expect("HUOYAN_TEST_PYTHON with pymavlink (scripts/test installs it)");
    std::fs::remove_file(&file).ok();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let loaded: Vec<Vec<f64>> = serde_json::from_slice(&out.stdout).unwrap();
    let (_, detail) = app
        .get(&pilot, &format!("/api/v1/drones/missions/{id}"))
        .await;
    let first = detail["sorties"][0]["drone_id"].as_i64().unwrap();
    let plan_drone = detail["plan"]["drones"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["drone"].as_str() == Some(first.to_string().as_str()))
        .unwrap();
    let waypoints = plan_drone["sorties"][0]["waypoints"].as_array().unwrap();
    // Home, take-off, speed, every flown waypoint, return to launch.
    assert_eq!(loaded.len(), waypoints.len() - 2 + 4);
    assert_eq!(loaded[1][2], 22.0);
    assert_eq!(loaded.last().unwrap()[2], 20.0);
    for (row, w) in loaded[3..loaded.len() - 1]
        .iter()
        .zip(&waypoints[1..waypoints.len() - 1])
    {
        assert_eq!((row[1], row[2]), (3.0, 16.0));
        assert!(
            (row[3] - w["lat"].as_f64().unwrap()).abs() < 1e-7,
            "lat first: {row:?} {w}"
        );
        assert!((row[4] - w["lon"].as_f64().unwrap()).abs() < 1e-7);
        assert!((row[5] - 80.0).abs() < 1e-6);
    }

    // The `.plan` file as QGC's loader checks it.
    let (status, headers, text) =
        download(&app, &pilot, &format!("/api/v1/drones/missions/{id}/plan")).await;
    assert_eq!(status, 200);
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains(".plan")
    );
    let plan: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        (plan["fileType"].as_str(), plan["version"].as_i64()),
        (Some("Plan"), Some(1))
    );
    assert_eq!(
        plan["mission"]["items"].as_array().unwrap().len(),
        loaded.len() - 1
    );
    assert_eq!(plan["geoFence"]["version"], 2);
    assert_eq!(plan["rallyPoints"]["version"], 2);
    let (status, body) = app
        .get(
            &pilot,
            &format!("/api/v1/drones/missions/{id}/plan?sortie=99"),
        )
        .await;
    assert_eq!(status, 404, "no such sortie: {body}");

    // Another squad's pilot cannot plan with these drones; a commander reads but does not fly.
    let commander = app.token("commander").await;
    let (status, _) = app.get(&commander, "/api/v1/drones").await;
    assert_eq!(status, 200);
    let (status, body) = app
        .send(
            "POST",
            &commander,
            "/api/v1/drones/findings",
            &json!({"drone_id": drone["id"],
            "category": "static_control", "description": "x"}),
        )
        .await;
    assert_eq!(status, 403, "{body}");
}

/// The fake vehicles, killed when the test ends.
pub(crate) struct Vehicles(Child, BufReader<std::process::ChildStdout>);

impl Drop for Vehicles {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn fly(app: &TestApp, at: (f64, f64), ids: &str, extra: &[&str]) -> Vehicles {
    let port = app.mavlink.expect("the link").port().to_string();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/api/fake_vehicles.py");
    let mut child = Command::new(python())
        .arg(script)
        .args([port.as_str(), &at.0.to_string(), &at.1.to_string(), ids])
        .args(extra)
        .stdout(Stdio::piped())
        .spawn()
        .expect("HUOYAN_TEST_PYTHON with pymavlink (scripts/test installs it)");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "ready");
    Vehicles(child, out)
}

/// Polls the fleet until `done` holds, or fails after `limit`.
async fn until(
    app: &TestApp,
    token: &str,
    limit: Duration,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let start = Instant::now();
    loop {
        let (status, body) = app.get(token, "/api/v1/drones").await;
        assert_eq!(status, 200);
        let fleet = body.as_array().unwrap().clone();
        if done(&fleet) {
            return fleet;
        }
        assert!(start.elapsed() < limit, "not within {limit:?}: {fleet:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn five_vehicles_fly_one_falls_silent_and_a_sortie_is_uploaded_and_acknowledged() {
    let settings = huoyan::app::Settings {
        mavlink: Some("127.0.0.1:0".parse().unwrap()),
        ..Default::default()
    };
    let app = spawn_app_with(true, settings).await;
    let pilot = app.token("pilot").await;
    let home = app.centre_of("景程小区").await;
    for k in 1..=5 {
        register(&app, &pilot, &format!("试飞{k}"), 20 + k, home).await;
    }
    // Vehicle 22 speaks MAVLink 1; vehicle 24 falls silent after 4 s; 21 hovers over the compound.
    let mut vehicles = fly(
        &app,
        home,
        "21,22,23,24,25",
        &["--v1", "22", "--silent", "24", "4", "--radius", "20"],
    );
    let started = Instant::now();
    // The demo's own five drones (system ids 1 to 5) are not flying.
    let ours = |f: &[Value]| -> Vec<Value> {
        f.iter()
            .filter(|d| d["system_id"].as_i64() > Some(20))
            .cloned()
            .collect()
    };
    let fleet = ours(
        &until(&app, &pilot, Duration::from_secs(10), |f| {
            ours(f)
                .iter()
                .all(|d| d["link"] == "up" && d["position"].is_object())
        })
        .await,
    );
    assert!(
        fleet
            .iter()
            .all(|d| d["status"] == "in_air" && d["battery_pct"].is_number()),
        "{fleet:#?}"
    );
    let first: Vec<f64> = fleet
        .iter()
        .map(|d| d["position"]["lon"].as_f64().unwrap())
        .collect();
    let moved = ours(
        &until(&app, &pilot, Duration::from_secs(5), |f| {
            ours(f)
                .iter()
                .zip(&first)
                .all(|(d, lon)| d["position"]["lon"].as_f64() != Some(*lon))
        })
        .await,
    );
    assert_eq!(moved.len(), 5);

    // Silent from 4 s: lost within 5 s of falling silent, the others still up.
    let lost = ours(
        &until(&app, &pilot, Duration::from_secs(12), |f| {
            f.iter()
                .any(|d| d["system_id"] == 24 && d["link"] == "lost")
        })
        .await,
    );
    assert!(
        started.elapsed() < Duration::from_secs(4 + 5),
        "{:?}",
        started.elapsed()
    );
    for d in &lost {
        let expected = if d["system_id"] == 24 {
            "link_lost"
        } else {
            "in_air"
        };
        assert_eq!(d["status"], expected, "{d}");
    }

    // An aerial finding at drone 21's position lands in 景程小区.
    let compound = jingcheng(&app).await;
    let drone21 = lost.iter().find(|d| d["system_id"] == 21).unwrap();
    let (status, filed) = app
        .send(
            "POST",
            &pilot,
            "/api/v1/drones/findings",
            &json!({"drone_id": drone21["id"],
            "category": "static_control", "description": "南门外有人员聚集，卡口无人值守"}),
        )
        .await;
    assert_eq!(status, 201, "{filed}");
    assert_eq!(filed["compound_id"], compound);
    let (_, case) = app
        .get(&pilot, &format!("/api/v1/cases/{}", filed["case_id"]))
        .await;
    assert_eq!(case["source"], "drone", "{case}");
    assert_eq!(case["compound_id"], compound);
    // A point outside every compound is refused, naming the field.
    let (status, body) = app
        .send(
            "POST",
            &pilot,
            "/api/v1/drones/findings",
            &json!({"drone_id": drone21["id"],
            "category": "static_control", "description": "x", "lon": 124.2, "lat": 46.0}),
        )
        .await;
    assert_eq!(
        (status, fields(&body)),
        (422, vec!["lon".to_string()]),
        "{body}"
    );

    // A sortie planned here is uploaded to vehicle 21 and acknowledged, item for item.
    let (status, mission) = app
        .send(
            "POST",
            &pilot,
            "/api/v1/drones/missions",
            &json!({"name": "上传", "objectives": ["zone_control"],
            "altitude_m": 80.0, "region_ids": [compound], "drone_ids": [drone21["id"]]}),
        )
        .await;
    assert_eq!(status, 201, "{mission}");
    let id = mission["id"].as_i64().unwrap();
    let (status, uploaded) = app
        .send(
            "POST",
            &pilot,
            &format!("/api/v1/drones/missions/{id}/upload"),
            &json!({"sortie": 1}),
        )
        .await;
    assert_eq!(status, 200, "{uploaded}");
    let mut line = String::new();
    vehicles.1.read_line(&mut line).unwrap();
    let got: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(got["sysid"], 21);
    let items = got["items"].as_array().unwrap();
    assert_eq!(items.len() as i64, uploaded["items"].as_i64().unwrap());
    let (_, _, text) = download(
        &app,
        &pilot,
        &format!("/api/v1/drones/missions/{id}/waypoints"),
    )
    .await;
    for (item, line) in items.iter().zip(text.lines().skip(1)) {
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(item[0].as_i64().unwrap().to_string(), cols[0]);
        assert_eq!(item[2].as_i64().unwrap().to_string(), cols[3]);
        let lat: f64 = cols[8].parse().unwrap();
        if item[1] != 2 {
            // The file keeps 8 decimals (1 mm): its degE7 may differ from the upload's by one.
            let e7 = item[3].as_i64().unwrap();
            assert!((e7 - (lat * 1e7).round() as i64).abs() <= 1, "{e7}: {line}");
        }
    }
    let (_, detail) = app
        .get(&pilot, &format!("/api/v1/drones/missions/{id}"))
        .await;
    assert!(detail["sorties"][0]["uploaded_at"].is_string(), "{detail}");
    assert_eq!(app.count("drone_uploads").await, 1);
}
