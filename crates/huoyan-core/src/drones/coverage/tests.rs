use proptest::prelude::*;

use super::geom::{Frame, P, inside};
use super::*;

const LON0: f64 = 125.03;
const LAT0: f64 = 46.59;

/// Metre offsets around Daqing to lon/lat (good enough for test shapes).
fn ll(dx: f64, dy: f64) -> [f64; 2] {
    [
        LON0 + dx / (111_320.0 * LAT0.to_radians().cos()),
        LAT0 + dy / 111_320.0,
    ]
}

fn ring(pts: &[(f64, f64)]) -> Vec<[f64; 2]> {
    pts.iter().map(|&(x, y)| ll(x, y)).collect()
}

fn camera() -> CameraSpec {
    CameraSpec {
        altitude_m: 40.0,
        hfov_deg: 70.0,
        side_overlap: 0.2,
    }
}

fn drone(id: &str, home: (f64, f64)) -> Drone {
    Drone {
        id: id.into(),
        home: ll(home.0, home.1),
        cruise_speed_mps: 12.0,
        endurance_s: 1800.0,
        reserve_s: 300.0,
        turnaround_s: 120.0,
    }
}

fn request(zones: Vec<Zone>, drones: Vec<Drone>) -> PlanRequest {
    PlanRequest {
        zones,
        camera: camera(),
        drones,
    }
}

fn rect(id: &str, w: f64, h: f64) -> Zone {
    Zone::from_rings(id, vec![ring(&[(0.0, 0.0), (w, 0.0), (w, h), (0.0, h)])])
}

/// Largest distance from a sample of zone points to the nearest coverage leg, in metres.
fn worst_gap(zone: &Zone, plan: &Plan, samples: usize) -> f64 {
    let rings = zone_rings(zone).expect("test zones are valid");
    let frame = Frame::around(rings.iter().flatten().flatten().copied());
    let polys: Vec<Vec<Vec<P>>> = rings
        .iter()
        .map(|poly| {
            poly.iter()
                .map(|r| r.iter().map(|&[x, y]| frame.to_xy(x, y)).collect())
                .collect()
        })
        .collect();
    let segs: Vec<(P, P)> = plan
        .covering_segments()
        .into_iter()
        .map(|(a, b)| (frame.to_xy(a[0], a[1]), frame.to_xy(b[0], b[1])))
        .collect();
    let (mut lo, mut hi) = (P::new(f64::MAX, f64::MAX), P::new(f64::MIN, f64::MIN));
    for p in polys.iter().flatten().flatten() {
        lo = P::new(lo.x.min(p.x), lo.y.min(p.y));
        hi = P::new(hi.x.max(p.x), hi.y.max(p.y));
    }
    let mut worst: f64 = 0.0;
    let mut seed: u64 = 12345;
    let mut rnd = || {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        (seed >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut found = 0;
    // Points on the boundary matter most: take the vertices too.
    let mut pts: Vec<P> = polys.iter().flatten().flatten().copied().collect();
    while found < samples {
        let q = P::new(lo.x + rnd() * (hi.x - lo.x), lo.y + rnd() * (hi.y - lo.y));
        if polys.iter().any(|rings| inside(rings, q)) {
            pts.push(q);
            found += 1;
        }
    }
    for q in pts {
        let d = segs
            .iter()
            .map(|&(a, b)| dist_to_segment(q, a, b))
            .fold(f64::INFINITY, f64::min);
        worst = worst.max(d);
    }
    worst
}

fn dist_to_segment(q: P, a: P, b: P) -> f64 {
    let ab = b - a;
    let l2 = ab.dot(ab);
    let t = if l2 > 0.0 {
        ((q - a).dot(ab) / l2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    q.dist(a + ab * t)
}

fn assert_sorties_fit(req: &PlanRequest, plan: &Plan) {
    for (dp, dr) in plan.drones.iter().zip(&req.drones) {
        assert_eq!(dp.drone, dr.id);
        for s in &dp.sorties {
            assert!(
                s.time_s <= dr.endurance_s - dr.reserve_s + 1e-6,
                "{} s > endurance",
                s.time_s
            );
            assert!((s.time_s - s.length_m / dr.cruise_speed_mps).abs() < 1e-6);
            let (first, last) = (s.waypoints[0], s.waypoints[s.waypoints.len() - 1]);
            for w in [first, last] {
                assert!((w.lon - dr.home[0]).abs() < 1e-9 && (w.lat - dr.home[1]).abs() < 1e-9);
                assert_eq!(w.alt, 0.0);
            }
        }
    }
}

#[test]
fn footprint_and_spacing_follow_the_camera() {
    let c = CameraSpec {
        altitude_m: 100.0,
        hfov_deg: 90.0,
        side_overlap: 0.25,
    };
    assert!((c.footprint_m() - 200.0).abs() < 1e-9);
    assert!((c.spacing_m() - 150.0).abs() < 1e-9);
}

#[test]
fn projection_round_trips() {
    let f = Frame::new(125.0, 46.5);
    for (lon, lat) in [(125.0, 46.5), (124.2, 45.9), (125.9, 47.3)] {
        let [x, y] = f.to_lonlat(f.to_xy(lon, lat));
        assert!((x - lon).abs() < 1e-10 && (y - lat).abs() < 1e-10);
    }
    // One degree of latitude near Daqing is about 111.2 km.
    let d = f.to_xy(125.0, 46.0).dist(f.to_xy(125.0, 47.0));
    assert!((d - 111_200.0).abs() < 300.0, "{d}");
}

#[test]
fn rectangle_is_covered_near_the_bound() {
    let zone = rect("景程小区", 600.0, 400.0);
    let req = request(vec![zone.clone()], vec![drone("sky-1", (-200.0, -100.0))]);
    let plan = plan(&req).expect("a rectangle plans");
    let bound = lower_bound_length(&zone, &req.camera).expect("valid");
    let s = &plan.zones[0];
    assert!((s.lower_bound_m - bound).abs() < 1.0);
    assert!(
        s.path_length_m / bound <= 1.15,
        "length {} vs bound {bound}",
        s.path_length_m
    );
    assert!(coverage_ratio(&zone, &plan).expect("valid") >= 0.99);
    assert!(worst_gap(&zone, &plan, 500) <= plan.spacing_m / 2.0 + 0.01);
    assert_sorties_fit(&req, &plan);
    // Sweeps run along the long side (minimum width is the short one): ~ 400 / 44.8 → 9 lines.
    let sweeps = plan.drones[0]
        .sorties
        .iter()
        .flat_map(|s| &s.waypoints)
        .filter(|w| w.covering)
        .count();
    assert!(sweeps <= 2 * 9 + 2, "{sweeps} covering legs");
}

#[test]
fn concave_zone_with_hole_is_decomposed_and_covered() {
    // A U-shaped compound with a pond in its base.
    let outer = ring(&[
        (0.0, 0.0),
        (900.0, 0.0),
        (900.0, 700.0),
        (650.0, 700.0),
        (650.0, 250.0),
        (250.0, 250.0),
        (250.0, 700.0),
        (0.0, 700.0),
    ]);
    let pond = ring(&[(400.0, 60.0), (520.0, 60.0), (520.0, 170.0), (400.0, 170.0)]);
    let zone = Zone::from_rings("U", vec![outer, pond]);
    let req = request(vec![zone.clone()], vec![drone("sky-1", (450.0, -300.0))]);
    let plan = plan(&req).expect("plans");
    assert!(plan.zones[0].cells >= 2, "{} cells", plan.zones[0].cells);
    assert!(coverage_ratio(&zone, &plan).expect("valid") >= 0.99);
    assert!(worst_gap(&zone, &plan, 2000) <= plan.spacing_m / 2.0 + 0.01);
    assert_sorties_fit(&req, &plan);
}

#[test]
fn work_is_shared_by_capability() {
    let zone = rect("萨尔图-片区", 3000.0, 2000.0);
    let mut fast = drone("fast", (0.0, -500.0));
    fast.cruise_speed_mps = 20.0;
    let slow = drone("slow", (0.0, -500.0));
    let req = request(vec![zone.clone()], vec![fast, slow]);
    let plan = plan(&req).expect("plans");
    assert_sorties_fit(&req, &plan);
    let (f, s) = (&plan.drones[0], &plan.drones[1]);
    assert!(
        f.length_m > 1.3 * s.length_m,
        "fast {} slow {}",
        f.length_m,
        s.length_m
    );
    // Bisection on the makespan leaves both busy for about the same time.
    assert!(
        (f.busy_s - s.busy_s).abs() < 0.2 * plan.makespan_s,
        "{} vs {}",
        f.busy_s,
        s.busy_s
    );
    assert!(coverage_ratio(&zone, &plan).expect("valid") >= 0.99);
}

#[test]
fn many_zones_are_chained() {
    let zones: Vec<Zone> = (0..12)
        .map(|i| {
            let (x, y) = ((i % 4) as f64 * 700.0, (i / 4) as f64 * 600.0);
            Zone::from_rings(
                format!("z{i}"),
                vec![ring(&[
                    (x, y),
                    (x + 300.0, y + 20.0),
                    (x + 280.0, y + 260.0),
                    (x - 10.0, y + 240.0),
                ])],
            )
        })
        .collect();
    let drones = (0..5)
        .map(|k| drone(&format!("sky-{k}"), (1000.0, -400.0)))
        .collect();
    let req = request(zones.clone(), drones);
    let plan = plan(&req).expect("plans");
    assert_sorties_fit(&req, &plan);
    for z in &zones {
        assert!(coverage_ratio(z, &plan).expect("valid") >= 0.99, "{}", z.id);
    }
}

#[test]
fn geojson_request_round_trips_through_serde() {
    let json = r#"{
        "zones": [{"id": "z1", "geometry": {"type": "Polygon", "coordinates":
            [[[125.030, 46.590], [125.034, 46.590], [125.034, 46.593], [125.030, 46.593], [125.030, 46.590]]]}}],
        "camera": {"altitude_m": 50, "hfov_deg": 72, "side_overlap": 0.2},
        "drones": [{"id": "d1", "home": [125.028, 46.589], "cruise_speed_mps": 12,
                    "endurance_s": 1800, "reserve_s": 300}]
    }"#;
    let req: PlanRequest = serde_json::from_str(json).expect("parses");
    assert_eq!(req.drones[0].turnaround_s, 0.0);
    let plan = plan(&req).expect("plans");
    let back: Plan =
        serde_json::from_str(&serde_json::to_string(&plan).expect("serialises")).expect("parses");
    assert_eq!(back.zones[0].zone, plan.zones[0].zone);
    assert!((back.zones[0].lower_bound_m - plan.zones[0].lower_bound_m).abs() < 1e-9);
    let (a, b) = (
        &back.drones[0].sorties[0].waypoints,
        &plan.drones[0].sorties[0].waypoints,
    );
    assert_eq!(a.len(), b.len());
    assert!(
        a.iter()
            .zip(b)
            .all(|(p, q)| (p.lon - q.lon).abs() < 1e-12 && p.covering == q.covering)
    );
    assert_eq!(plan.zones[0].cells, 1, "a rectangle is one cell");
}

fn err(req: &PlanRequest) -> CoverageError {
    plan(req).expect_err("must be refused")
}

#[test]
fn bad_input_is_refused_by_name() {
    let ok = || request(vec![rect("z", 200.0, 200.0)], vec![drone("d", (0.0, 0.0))]);

    let bowtie = Zone::from_rings(
        "bowtie",
        vec![ring(&[
            (0.0, 0.0),
            (200.0, 200.0),
            (200.0, 0.0),
            (0.0, 200.0),
        ])],
    );
    let e = err(&request(vec![bowtie], vec![drone("d", (0.0, 0.0))]));
    assert!(
        matches!(e, CoverageError::SelfIntersection { ref zone, .. } if zone == "bowtie"),
        "{e}"
    );
    assert!(e.to_string().contains("`bowtie`"));

    let mut r = ok();
    r.camera.hfov_deg = 0.0;
    let e = err(&r);
    assert!(matches!(
        e,
        CoverageError::BadCamera {
            field: "hfov_deg",
            ..
        }
    ));
    assert!(e.to_string().starts_with("camera.hfov_deg"));
    r.camera.hfov_deg = 180.0;
    assert!(matches!(
        err(&r),
        CoverageError::BadCamera {
            field: "hfov_deg",
            ..
        }
    ));

    let mut r = ok();
    r.camera.side_overlap = 1.0;
    assert!(matches!(
        err(&r),
        CoverageError::BadCamera {
            field: "side_overlap",
            ..
        }
    ));
    let mut r = ok();
    r.camera.altitude_m = f64::NAN;
    assert!(matches!(
        err(&r),
        CoverageError::BadCamera {
            field: "altitude_m",
            ..
        }
    ));

    let line = Zone::from_rings(
        "flat",
        vec![ring(&[(0.0, 0.0), (100.0, 0.0), (200.0, 0.0)])],
    );
    let e = err(&request(vec![line], vec![drone("d", (0.0, 0.0))]));
    assert!(
        matches!(
            e,
            CoverageError::SelfIntersection { .. } | CoverageError::ZeroArea { .. }
        ),
        "{e}"
    );

    let two = Zone::from_rings("two", vec![ring(&[(0.0, 0.0), (100.0, 0.0), (0.0, 0.0)])]);
    assert!(matches!(
        err(&request(vec![two], vec![drone("d", (0.0, 0.0))])),
        CoverageError::TooFewPoints { .. }
    ));

    let point = Zone::from_geojson(
        "pt",
        geojson::Geometry::new(geojson::GeometryValue::Point {
            coordinates: ll(0.0, 0.0).into(),
        }),
    );
    let e = err(&request(vec![point], vec![drone("d", (0.0, 0.0))]));
    assert_eq!(
        e,
        CoverageError::UnsupportedGeometry {
            zone: "pt".into(),
            kind: "Point".into()
        }
    );

    let nan = Zone::from_rings(
        "nan",
        vec![vec![[f64::NAN, 46.0], [125.0, 46.0], [125.0, 46.1]]],
    );
    assert!(matches!(
        err(&request(vec![nan], vec![drone("d", (0.0, 0.0))])),
        CoverageError::BadCoordinate { point: 0, .. }
    ));

    let outside = Zone::from_rings(
        "holey",
        vec![
            ring(&[(0.0, 0.0), (100.0, 0.0), (100.0, 100.0), (0.0, 100.0)]),
            ring(&[(200.0, 0.0), (250.0, 0.0), (250.0, 50.0)]),
        ],
    );
    let e = err(&request(vec![outside], vec![drone("d", (0.0, 0.0))]));
    assert!(
        matches!(e, CoverageError::HoleOutside { hole: 1, .. }),
        "{e}"
    );

    let r = request(
        vec![rect("z", 100.0, 100.0), rect("z", 50.0, 50.0)],
        vec![drone("d", (0.0, 0.0))],
    );
    assert!(matches!(
        err(&r),
        CoverageError::DuplicateZoneId { index: 1, .. }
    ));
    assert_eq!(
        err(&request(vec![], vec![drone("d", (0.0, 0.0))])),
        CoverageError::NoZones
    );
    assert_eq!(
        err(&request(vec![rect("z", 100.0, 100.0)], vec![])),
        CoverageError::NoDrones
    );

    let mut r = ok();
    r.drones[0].reserve_s = r.drones[0].endurance_s;
    let e = err(&r);
    assert!(matches!(
        e,
        CoverageError::BadDrone {
            field: "reserve_s",
            ..
        }
    ));
    assert!(e.to_string().starts_with("drone `d`: reserve_s"));
    let mut r = ok();
    r.drones[0].cruise_speed_mps = 0.0;
    assert!(matches!(
        err(&r),
        CoverageError::BadDrone {
            field: "cruise_speed_mps",
            ..
        }
    ));
}

#[test]
fn zone_beyond_reach_names_zone_and_drone() {
    // 1500 s × 12 m/s = 18 km out and back: 9 km radius; the zone is 20 km away.
    let far = Zone::from_rings(
        "杜尔伯特",
        vec![ring(&[
            (20_000.0, 0.0),
            (20_300.0, 0.0),
            (20_300.0, 300.0),
            (20_000.0, 300.0),
        ])],
    );
    let req = request(
        vec![rect("near", 200.0, 200.0), far],
        vec![drone("sky-1", (0.0, 0.0)), drone("sky-2", (-500.0, 0.0))],
    );
    let e = err(&req);
    match &e {
        CoverageError::OutOfReach {
            zone,
            drone,
            distance_m,
            radius_m,
        } => {
            assert_eq!(zone, "杜尔伯特");
            assert_eq!(drone, "sky-1");
            assert!(*distance_m > 19_000.0 && (*radius_m - 9000.0).abs() < 1e-6);
        }
        other => panic!("unexpected {other}"),
    }
    assert!(e.to_string().contains("`杜尔伯特`") && e.to_string().contains("`sky-1`"));
}

/// A star-shaped polygon (simple by construction), sometimes concave, with an optional hole.
fn star_zone() -> impl Strategy<Value = Zone> {
    (
        5usize..12,
        prop::collection::vec((0.0f64..1.0, 120.0f64..600.0), 12),
        any::<bool>(),
        0.0f64..3.1,
    )
        .prop_map(|(n, params, hole, turn)| {
            let outer: Vec<(f64, f64)> = (0..n)
                .map(|i| {
                    let (jit, r) = params[i];
                    let a = turn + (i as f64 + 0.8 * jit) * std::f64::consts::TAU / n as f64;
                    (r * a.cos(), r * a.sin())
                })
                .collect();
            let mut rings = vec![ring(&outer)];
            if hole {
                rings.push(ring(&[
                    (-15.0, -15.0),
                    (15.0, -15.0),
                    (15.0, 15.0),
                    (-15.0, 15.0),
                ]));
            }
            Zone::from_rings("star", rings)
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn every_zone_point_is_within_half_a_spacing_of_a_sweep(zone in star_zone(), alt in 25.0f64..80.0) {
        let mut req = request(vec![zone.clone()], vec![drone("d", (0.0, -900.0))]);
        req.camera.altitude_m = alt;
        let plan = plan(&req).expect("star zones are valid");
        let gap = worst_gap(&zone, &plan, 300);
        prop_assert!(gap <= plan.spacing_m / 2.0 + 0.01, "gap {} > {}", gap, plan.spacing_m / 2.0);
    }

    #[test]
    fn every_sortie_fits_its_endurance(
        zone in star_zone(),
        endurance in 500.0f64..1500.0,
        speeds in prop::collection::vec(8.0f64..20.0, 1..5),
    ) {
        let drones = speeds
            .iter()
            .enumerate()
            .map(|(k, &v)| Drone { cruise_speed_mps: v, endurance_s: endurance, reserve_s: 60.0, ..drone(&format!("d{k}"), (k as f64 * 100.0, -700.0)) })
            .collect();
        let req = request(vec![zone.clone()], drones);
        let plan = plan(&req).expect("within reach");
        assert_sorties_fit(&req, &plan);
        let covered: f64 = plan.drones.iter().flat_map(|d| &d.sorties).map(|s| s.covering_length_m).sum();
        prop_assert!((covered - plan.zones[0].path_length_m).abs() < 1e-3 * covered.max(1.0));
    }
}

#[test]
fn tidy_removes_spikes_and_pinches_that_plan_refuses() {
    // A square walked out and back along a border (spike), with a repeated point and a small lobe
    // touching it at a corner.
    let raw = Zone::from_rings(
        "web-map",
        vec![ring(&[
            (0.0, 0.0),
            (400.0, 0.0),
            (400.0, 0.0),
            (400.0, 200.0),
            (600.0, 200.0),
            (400.0, 200.0),
            (400.0, 400.0),
            (500.0, 500.0),
            (400.0, 500.0),
            (400.0, 400.0),
            (0.0, 400.0),
        ])],
    );
    let req = |z: Zone| request(vec![z], vec![drone("d", (0.0, -200.0))]);
    assert!(matches!(
        err(&req(raw.clone())),
        CoverageError::SelfIntersection { .. }
    ));
    let tidy = raw.tidy();
    assert!(
        matches!(tidy.geometry.value, geojson::GeometryValue::MultiPolygon { ref coordinates } if coordinates.len() == 2)
    );
    let plan = plan(&req(tidy.clone())).expect("tidy zone plans");
    assert!(coverage_ratio(&tidy, &plan).expect("valid") >= 0.99);
}

#[test]
fn coverage_ratio_sees_gaps() {
    // One line along the middle of a 100 m square, seen 25 m either side: half the square.
    let sq = vec![vec![
        P::new(0.0, 0.0),
        P::new(100.0, 0.0),
        P::new(100.0, 100.0),
        P::new(0.0, 100.0),
    ]];
    let line = [(P::new(-50.0, 50.0), P::new(150.0, 50.0))];
    let r = score::ratio_xy(&[sq], &line, 25.0);
    assert!((r - 0.5).abs() < 0.01, "{r}");
}

#[test]
fn drones_from_spread_homes_each_take_the_zones_near_them() {
    // Two clusters of compounds 12 km apart, one drone beside each: a single route cut in two
    // would send both drones across; the clustered split keeps each at home.
    let mut zones = Vec::new();
    for (c, cx) in [(0, 0.0), (1, 12_000.0)] {
        for i in 0..4 {
            let x = cx + (i % 2) as f64 * 500.0;
            let y = (i / 2) as f64 * 500.0;
            zones.push(Zone::from_rings(
                format!("c{c}-{i}"),
                vec![ring(&[
                    (x, y),
                    (x + 300.0, y),
                    (x + 300.0, y + 300.0),
                    (x, y + 300.0),
                ])],
            ));
        }
    }
    let mut west = drone("west", (-300.0, 0.0));
    let mut east = drone("east", (12_300.0, 0.0));
    west.turnaround_s = 0.0;
    east.turnaround_s = 0.0;
    let req = request(zones.clone(), vec![west, east]);
    let plan = plan(&req).expect("plans");
    assert_sorties_fit(&req, &plan);
    for (dp, home_x) in plan.drones.iter().zip([0.0, 12_000.0]) {
        let home = ll(home_x, 0.0);
        for w in dp.sorties.iter().flat_map(|s| &s.waypoints) {
            let dx = (w.lon - home[0]) * 111_320.0 * LAT0.to_radians().cos();
            assert!(
                dx.abs() < 3000.0,
                "{} strays {dx:.0} m from its cluster",
                dp.drone
            );
        }
    }
    for z in &zones {
        assert!(coverage_ratio(z, &plan).expect("valid") >= 0.99);
    }
}

#[test]
fn coverage_ratio_falls_when_the_camera_sees_less_than_planned() {
    // Score a real plan as if the footprint were 30 % narrower: strips between lines go unseen.
    let zone = rect("z", 600.0, 400.0);
    let mut plan = plan(&request(
        vec![zone.clone()],
        vec![drone("d", (0.0, -100.0))],
    ))
    .expect("plans");
    assert!(coverage_ratio(&zone, &plan).expect("valid") > 0.999);
    plan.spacing_m *= 0.7;
    let r = coverage_ratio(&zone, &plan).expect("valid");
    assert!((0.6..0.85).contains(&r), "{r}");
}

#[test]
fn a_zone_smaller_than_the_footprint_is_still_seen() {
    let zone = rect("kiosk", 20.0, 15.0);
    let plan = plan(&request(vec![zone.clone()], vec![drone("d", (100.0, 0.0))])).expect("plans");
    assert!(coverage_ratio(&zone, &plan).expect("valid") >= 0.99);
    assert!(worst_gap(&zone, &plan, 200) <= plan.spacing_m / 2.0 + 0.01);
}
