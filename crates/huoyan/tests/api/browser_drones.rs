//! The pilot's live map on a phone at 360 px: the demo's five drones come up as five pymavlink
//! vehicles start sending to the MAVLink port, move on the map with their tracks, one is shown as
//! link lost within 5 s of falling silent, the patrol of 31 August is previewed with its files, and
//! what drone 1's camera sees is filed as a case from the form. A drone's video plays from a
//! real stream server, HLS and WHEP.

use std::time::{Duration, Instant};

use fantoccini::Locator;

use crate::browser::{browser, click, fits, sign_in, type_into};
use crate::drones::fly;
use crate::{spawn_app, spawn_app_with};

/// Waits up to `limit` for the script `test` (returning a boolean) to hold.
async fn until(c: &fantoccini::Client, limit: Duration, what: &str, test: &str) -> Duration {
    let start = Instant::now();
    loop {
        let held = c
            .execute(test, vec![])
            .await
            .unwrap()
            .as_bool()
            .unwrap_or(false);
        if held {
            return start.elapsed();
        }
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Signs the demo's pilot in and opens the live map once its outlines are drawn.
async fn open_live_map(c: &fantoccini::Client, app: &crate::TestApp) {
    sign_in(c, &app.base, "pilot", huoyan::auth::password::DEMO_PASSWORD).await;
    c.goto(&format!("{}/drones", app.base)).await.unwrap();
    until(
        c,
        Duration::from_secs(30),
        "the map",
        "return document.getElementById('map').getAttribute('data-ready') === 'true'",
    )
    .await;
}

#[tokio::test]
async fn five_drones_move_on_the_live_map_and_one_is_shown_lost_within_five_seconds() {
    let settings = huoyan::app::Settings {
        mavlink: Some("127.0.0.1:0".parse().unwrap()),
        ..Default::default()
    };
    let app = spawn_app_with(true, settings).await;
    let (c, _driver, _dir) = browser(360, 740).await;
    open_live_map(&c, &app).await;
    until(
        &c,
        Duration::from_secs(10),
        "the live events",
        "return document.getElementById('drones').getAttribute('data-live') === 'true'",
    )
    .await;

    // The page's GCJ-02 shift is the core's: the published vectors, both ways.
    let shifted = c
        .execute(
            "var d = window.huoyanDatum; return [d.wgsToGcj(31.1774276, 121.5272106), d.gcjToWgs(39.91334545536069, 116.38404722455657)];",
            vec![],
        )
        .await
        .unwrap();
    let (lon, lat) = huoyan_core::drones::gcj02::wgs_to_gcj(121.5272106, 31.1774276);
    assert!(
        (shifted[0][0].as_f64().unwrap() - lat).abs() < 1e-12,
        "{shifted}"
    );
    assert!(
        (shifted[0][1].as_f64().unwrap() - lon).abs() < 1e-12,
        "{shifted}"
    );
    assert!((shifted[0][0].as_f64().unwrap() - 31.17530398364597).abs() < 1e-9);
    assert!(
        (shifted[1][0].as_f64().unwrap() - 39.911954).abs() < 1e-8,
        "{shifted}"
    );
    assert!(
        (shifted[1][1].as_f64().unwrap() - 116.377817).abs() < 1e-8,
        "{shifted}"
    );

    // The demo's drones are system ids 1 to 5; drone 3 falls silent after 6 s.
    let home = app.centre_of("景程小区").await;
    let _vehicles = fly(
        &app,
        home,
        "1,2,3,4,5",
        &["--silent", "3", "6", "--radius", "20"],
    );
    let silent_from = Instant::now() + Duration::from_secs(6);
    until(&c, Duration::from_secs(15), "five drones moving", "return document.querySelectorAll('.drone[data-link=\"up\"]').length === 5 && Array.prototype.every.call(document.querySelectorAll('.drone[data-link]'), function (m) { return Number(m.getAttribute('data-moves')) >= 3; })").await;
    let statuses: Vec<String> = c
        .execute("return Array.prototype.map.call(document.querySelectorAll('#fleet tr[data-system]'), function (r) { return r.getAttribute('data-status'); })", vec![])
        .await
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect();
    assert_eq!(statuses, vec!["in_air"; 5]);
    fits(&c, "drones-live", 360).await;

    until(&c, Duration::from_secs(15), "drone 3 lost", "return document.querySelector('#fleet tr[data-system=\"3\"]').getAttribute('data-link') === 'lost' && document.querySelector('.drone[data-system=\"3\"]').getAttribute('data-link') === 'lost'").await;
    let after = Instant::now().saturating_duration_since(silent_from);
    assert!(
        after < Duration::from_secs(5),
        "shown lost {after:?} after falling silent"
    );
    let label = c
        .find(Locator::Css("#fleet tr[data-system=\"3\"] .status"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(label, "失联");

    // The view has moved from the whole city to the drones over 景程小区.
    let zoom = c
        .execute("return window.huoyanMap.map.getZoom();", vec![])
        .await
        .unwrap();
    assert!(zoom.as_f64().unwrap() >= 14.0, "zoom {zoom}");
    fits(&c, "drones-zoomed", 360).await;

    // Drone 5 put on the charger from its row: charging, whatever its telemetry says.
    click(&c, "#fleet tr[data-system=\"5\"] button.charging").await;
    until(&c, Duration::from_secs(10), "drone 5 charging", "var r = document.querySelector('#fleet tr[data-system=\"5\"]'); return r.getAttribute('data-status') === 'charging' && r.querySelector('.status').textContent === '充电中';").await;
    let charging = app
        .id_of("SELECT charging FROM drones WHERE system_id = 5")
        .await;
    assert_eq!(charging, 1);

    // The patrol of 31 August, previewed with its sorties' files.
    c.execute("var s = document.getElementById('mission'); s.value = s.options[1].value; s.dispatchEvent(new Event('change'));", vec![])
        .await
        .unwrap();
    until(&c, Duration::from_secs(10), "the mission's sorties", "return document.querySelectorAll('#mission-detail li a[href*=\"/plan?sortie=\"]').length >= 5 && document.querySelectorAll('.mission-path').length >= 5").await;

    // A zone drawn on the map around 景程小区 (four clicks, as the map gives them), planned.
    c.execute("document.getElementById('planning').open = true;", vec![])
        .await
        .unwrap();
    click(&c, "#draw").await;
    let corners = serde_json::json!([
        [home.1 - 0.001, home.0 - 0.0015],
        [home.1 - 0.001, home.0 + 0.0015],
        [home.1 + 0.001, home.0 + 0.0015],
        [home.1 + 0.001, home.0 - 0.0015]
    ]);
    c.execute(
        "var k = window.huoyanMap; arguments[0].forEach(function (p) { k.map.fire('click', { latlng: k.toMap(p[0], p[1]) }); });",
        vec![corners],
    )
    .await
    .unwrap();
    click(&c, "#draw-done").await;
    type_into(&c, "#plan input[name=name]", "画区巡查").await;
    click(&c, "#plan button[type=submit]").await;
    until(&c, Duration::from_secs(20), "the drawn zone planned", "var s = document.getElementById('mission'); return s.selectedOptions.length === 1 && s.selectedOptions[0].textContent === '画区巡查' && document.querySelectorAll('#mission-detail li').length >= 1").await;
    let zones = app
        .id_of("SELECT COUNT(*) FROM drone_missions WHERE name = '画区巡查' AND zones LIKE '%drawn-1%'")
        .await;
    assert_eq!(zones, 1);

    // What drone 1's camera sees, at its position over 景程小区.
    type_into(
        &c,
        "#finding textarea[name=description]",
        "南门卡口无人值守，有居民外出",
    )
    .await;
    click(&c, "#finding button[type=submit]").await;
    until(
        &c,
        Duration::from_secs(10),
        "the case filed",
        "return document.getElementById('finding-note').hasAttribute('data-case')",
    )
    .await;
    let case: i64 = c
        .find(Locator::Css("#finding-note"))
        .await
        .unwrap()
        .attr("data-case")
        .await
        .unwrap()
        .unwrap()
        .parse()
        .unwrap();
    let compound = app
        .id_of(&format!(
            "SELECT compound_id FROM cases WHERE id = {case} AND source = 'drone'"
        ))
        .await;
    assert_eq!(
        compound,
        app.id_of("SELECT id FROM regions WHERE name = '景程小区'")
            .await
    );
    fits(&c, "drones-finding", 360).await;
}

/// A stream server run by `video_peer.py`: HLS cut by Debian's ffmpeg, WebRTC by aiortc's WHEP.
struct VideoPeer {
    child: std::process::Child,
    port: u16,
    /// Where the HLS segments are cut; removed when the peer ends.
    _segments: crate::browser::tempdir::Dir,
}

impl Drop for VideoPeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn video_peer() -> VideoPeer {
    use std::io::{BufRead, BufReader};
    let dir = crate::browser::tempdir::Dir::new();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/api/video_peer.py");
    let mut child = std::process::Command::new(crate::drones::python())
        .arg(script)
        .arg(&dir.0)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect(
            "HUOYAN_TEST_PYTHON with aiortc and aiohttp, and ffmpeg (scripts/test installs them)",
        );
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line
        .trim()
        .strip_prefix("ready ")
        .unwrap_or_else(|| panic!("the video peer did not start: {line:?}"))
        .parse()
        .unwrap();
    VideoPeer {
        child,
        port,
        _segments: dir,
    }
}

/// A pilot registers drone 警航6 from the page, its take-off point picked on the map and its
/// video at a real stream server; the page names the field it refuses. Its video then plays by
/// each kind: an HLS playlist through hls.js, then WebRTC from a WHEP endpoint. The page's policy
/// lets in the stream's origin because the drone names it; the server never touches the stream.
#[tokio::test]
async fn a_drone_registered_from_the_page_plays_its_video_from_hls_and_whep() {
    let peer = video_peer();
    let origin = format!("http://127.0.0.1:{}", peer.port);
    let app = spawn_app(true).await;
    let home = app.centre_of("景程小区").await;

    // Chromium hides its host candidates behind mDNS names unless told not to; aiortc answers
    // with its own and learns the browser's from its checks either way, but plain addresses keep
    // the test off multicast.
    let (c, _driver, _dir) = crate::browser::browser_with(
        360,
        740,
        &["--disable-features=WebRtcHideLocalIpsWithMdns".into()],
    )
    .await;
    open_live_map(&c, &app).await;

    c.execute(
        "document.getElementById('registering').open = true;",
        vec![],
    )
    .await
    .unwrap();
    type_into(&c, "#register input[name=callsign]", "警航6").await;
    type_into(&c, "#register input[name=model]", "DJI M30T").await;
    // Drone 警航1's system id: refused, and the note names the field by its label.
    type_into(&c, "#register input[name=system_id]", "1").await;
    click(&c, "#register input[name=pick_home]").await;
    c.execute(
        "var k = window.huoyanMap; k.map.fire('click', { latlng: k.toMap(arguments[0], arguments[1]) });",
        vec![home.1.into(), home.0.into()],
    )
    .await
    .unwrap();
    let picked = c
        .execute("var f = document.getElementById('register').elements; return [Number(f.home_lon.value), Number(f.home_lat.value)];", vec![])
        .await
        .unwrap();
    assert!(
        (picked[0].as_f64().unwrap() - home.0).abs() < 1e-6,
        "{picked}"
    );
    assert!(
        (picked[1].as_f64().unwrap() - home.1).abs() < 1e-6,
        "{picked}"
    );
    type_into(
        &c,
        "#register input[name=hls]",
        &format!("{origin}/hls/index.m3u8"),
    )
    .await;
    type_into(&c, "#register input[name=whep]", &format!("{origin}/whep")).await;
    click(&c, "#register button[type=submit]").await;
    until(&c, Duration::from_secs(10), "the refusal", "return document.getElementById('register-note').textContent.indexOf('MAVLink 系统号（1–255）: ') === 0").await;
    c.execute(
        "document.getElementById('register-note').scrollIntoView();",
        vec![],
    )
    .await
    .unwrap();
    fits(&c, "drones-register", 360).await;
    c.execute(
        "document.querySelector('#register input[name=system_id]').value = '';",
        vec![],
    )
    .await
    .unwrap();
    type_into(&c, "#register input[name=system_id]", "6").await;
    click(&c, "#register button[type=submit]").await;
    // Registered, the page comes again with the drone's row.
    until(&c, Duration::from_secs(20), "the new row", "return document.getElementById('map').getAttribute('data-ready') === 'true' && document.querySelector('#fleet tr[data-system=\"6\"]') !== null").await;
    let id = app
        .id_of("SELECT id FROM drones WHERE callsign = '警航6' AND system_id = 6 AND model = 'DJI M30T'")
        .await;

    let row = format!("#fleet tr[data-id=\"{id}\"]");
    click(&c, &format!("{row} button.play[data-kind=\"hls\"]")).await;
    // The test pattern is 320x240; two seconds of it have played, through hls.js (Chromium
    // would also play HLS natively).
    until(&c, Duration::from_secs(30), "HLS playing", "var v = document.getElementById('video'); return v.getAttribute('data-player') === 'hls.js' && v.videoWidth === 320 && v.currentTime > 2 && !v.paused;").await;
    c.execute("document.getElementById('video').scrollIntoView();", vec![])
        .await
        .unwrap();
    fits(&c, "drones-video-hls", 360).await;

    click(&c, &format!("{row} button.play[data-kind=\"whep\"]")).await;
    // aiortc's track is 640x480; its frames arrive over the peer connection.
    until(&c, Duration::from_secs(30), "WHEP playing", "var v = document.getElementById('video'); return v.srcObject !== null && v.videoWidth === 640 && v.currentTime > 1 && !v.paused;").await;
    let note = c
        .find(Locator::Id("video-note"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(note, "", "the page reported a failure");
    fits(&c, "drones-video-whep", 360).await;
}
