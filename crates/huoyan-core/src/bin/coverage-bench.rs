//! Benchmark of the patrol coverage engine (issue #4): path length against the lower bound A/d,
//! coverage ratio and planning time, on generated compound-sized zones, a generated city's worth
//! of control zones and Daqing's real district polygons.
//!
//! Run: `cargo run -p huoyan-core --release --bin coverage-bench` (or `bench/coverage.sh`).
//! Everything is deterministic except the timings.

use std::time::{Duration, Instant};

use huoyan_core::drones::coverage::{
    CameraSpec, Drone, Plan, PlanRequest, Zone, coverage_ratio, lower_bound_length, plan,
};

const DISTRICTS: &str = include_str!("../../../../data/daqing-districts.geojson");

/// Small deterministic generator (PCG-style LCG), so every run plans the same zones.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.next()
    }
    fn below(&mut self, n: usize) -> usize {
        ((self.next() * n as f64) as usize).min(n - 1)
    }
}

/// Metre offsets from (lon0, lat0) to lon/lat; the shapes are invented, so a flat-earth step is
/// fine here.
fn to_ll(lon0: f64, lat0: f64, pts: &[(f64, f64)], turn: f64) -> Vec<[f64; 2]> {
    let (s, c) = turn.sin_cos();
    pts.iter()
        .map(|&(x, y)| {
            let (x, y) = (x * c - y * s, x * s + y * c);
            [
                lon0 + x / (111_320.0 * lat0.to_radians().cos()),
                lat0 + y / 111_320.0,
            ]
        })
        .collect()
}

/// A convex compound: points on an ellipse in angle order.
fn convex(rng: &mut Rng, size: f64) -> Vec<Vec<(f64, f64)>> {
    let n = 4 + rng.below(6);
    let (a, b) = (size / 2.0, size / 2.0 * rng.range(0.45, 1.0));
    let start = rng.range(0.0, 1.0);
    let ring = (0..n)
        .map(|i| {
            let t = (i as f64 + start + rng.range(-0.3, 0.3)) * std::f64::consts::TAU / n as f64;
            (a * t.cos(), b * t.sin())
        })
        .collect();
    vec![ring]
}

/// A concave compound: L, U, T or E shaped blocks, a star, or a block with a pond.
fn concave(rng: &mut Rng, size: f64) -> Vec<Vec<(f64, f64)>> {
    let (w, h) = (size, size * rng.range(0.6, 1.0));
    let (x0, y0) = (-w / 2.0, -h / 2.0);
    let t = rng.range(0.25, 0.4);
    let p = |fx: f64, fy: f64| (x0 + fx * w, y0 + fy * h);
    match rng.below(6) {
        0 => vec![vec![
            p(0.0, 0.0),
            p(1.0, 0.0),
            p(1.0, t),
            p(t, t),
            p(t, 1.0),
            p(0.0, 1.0),
        ]],
        1 => vec![vec![
            p(0.0, 0.0),
            p(1.0, 0.0),
            p(1.0, 1.0),
            p(1.0 - t, 1.0),
            p(1.0 - t, t),
            p(t, t),
            p(t, 1.0),
            p(0.0, 1.0),
        ]],
        2 => vec![vec![
            p(0.5 - t / 2.0, 0.0),
            p(0.5 + t / 2.0, 0.0),
            p(0.5 + t / 2.0, 1.0 - t),
            p(1.0, 1.0 - t),
            p(1.0, 1.0),
            p(0.0, 1.0),
            p(0.0, 1.0 - t),
            p(0.5 - t / 2.0, 1.0 - t),
        ]],
        3 => vec![vec![
            p(0.0, 0.0),
            p(1.0, 0.0),
            p(1.0, 0.2),
            p(0.3, 0.2),
            p(0.3, 0.4),
            p(1.0, 0.4),
            p(1.0, 0.6),
            p(0.3, 0.6),
            p(0.3, 0.8),
            p(1.0, 0.8),
            p(1.0, 1.0),
            p(0.0, 1.0),
        ]],
        4 => {
            let n = 5 + rng.below(4);
            let ring = (0..2 * n)
                .map(|i| {
                    let r = if i % 2 == 0 {
                        size / 2.0
                    } else {
                        size / 2.0 * rng.range(0.35, 0.6)
                    };
                    let a = i as f64 * std::f64::consts::PI / n as f64;
                    (r * a.cos(), r * a.sin())
                })
                .collect();
            vec![ring]
        }
        _ => {
            let (cx, cy, r) = (
                rng.range(0.35, 0.65),
                rng.range(0.35, 0.65),
                rng.range(0.08, 0.18),
            );
            let outer = vec![p(0.0, 0.0), p(1.0, 0.0), p(1.0, 1.0), p(0.0, 1.0)];
            let pond = (0..10)
                .map(|i| {
                    let a = -(i as f64) * std::f64::consts::TAU / 10.0;
                    (x0 + (cx + r * a.cos()) * w, y0 + (cy + r * a.sin()) * h)
                })
                .collect();
            vec![outer, pond]
        }
    }
}

/// Zones on a grid of `cols` × `rows` cells `pitch` metres apart from (lon0, lat0).
fn grid_zones(
    seed: u64,
    prefix: &str,
    (cols, rows, pitch): (usize, usize, f64),
    (lon0, lat0): (f64, f64),
    sizes: (f64, f64),
    concave_share: f64,
) -> Vec<Zone> {
    let mut rng = Rng(seed);
    let mut out = Vec::new();
    for j in 0..rows {
        for i in 0..cols {
            let size = rng.range(sizes.0, sizes.1);
            let rings = if rng.next() < concave_share {
                concave(&mut rng, size)
            } else {
                convex(&mut rng, size)
            };
            let turn = rng.range(0.0, std::f64::consts::PI);
            let lat = lat0 + (j as f64 * pitch + rng.range(-50.0, 50.0)) / 111_320.0;
            let lon = lon0
                + (i as f64 * pitch + rng.range(-50.0, 50.0))
                    / (111_320.0 * lat0.to_radians().cos());
            let ll = rings.iter().map(|r| to_ll(lon, lat, r, turn)).collect();
            out.push(Zone::from_rings(
                format!("{prefix}-{:03}", out.len() + 1),
                ll,
            ));
        }
    }
    out
}

/// The centre point and the four points halfway between it and the bounding-box corners.
fn launch_sites(zone: &Zone, cp: [f64; 2]) -> Vec<[f64; 2]> {
    use geojson::GeometryValue as G;
    let (mut lo, mut hi) = ([f64::MAX; 2], [f64::MIN; 2]);
    let polys: Vec<&Vec<Vec<geojson::Position>>> = match &zone.geometry.value {
        G::Polygon { coordinates } => vec![coordinates],
        G::MultiPolygon { coordinates } => coordinates.iter().collect(),
        _ => Vec::new(),
    };
    for p in polys.into_iter().flatten().flatten() {
        for k in 0..2 {
            lo[k] = lo[k].min(p[k]);
            hi[k] = hi[k].max(p[k]);
        }
    }
    let mut out = vec![cp];
    for c in [
        [lo[0], lo[1]],
        [hi[0], lo[1]],
        [hi[0], hi[1]],
        [lo[0], hi[1]],
    ] {
        out.push([(cp[0] + c[0]) / 2.0, (cp[1] + c[1]) / 2.0]);
    }
    out
}

fn fleet(
    homes: &[[f64; 2]],
    speed: f64,
    endurance: f64,
    reserve: f64,
    turnaround: f64,
) -> Vec<Drone> {
    (0..5)
        .map(|k| Drone {
            id: format!("天空眼-{}", k + 1),
            home: homes[k % homes.len()],
            cruise_speed_mps: speed,
            endurance_s: endurance,
            reserve_s: reserve,
            turnaround_s: turnaround,
        })
        .collect()
}

struct Row {
    name: String,
    zones: usize,
    area_km2: f64,
    spacing: f64,
    len_ratio: f64,
    worst_len_ratio: f64,
    cov_min: f64,
    cov_mean: f64,
    time: Duration,
    sorties: usize,
    makespan_h: f64,
    idle_h: f64,
}

fn measure(name: &str, req: &PlanRequest, repeats: usize) -> Result<Row, String> {
    let mut times = Vec::new();
    let mut result: Option<Plan> = None;
    for _ in 0..repeats {
        let t = Instant::now();
        let p = plan(req).map_err(|e| format!("{name}: {e}"))?;
        times.push(t.elapsed());
        result = Some(p);
    }
    times.sort();
    let plan = result.ok_or("no run")?;
    if std::env::var_os("COVERAGE_BENCH_VERBOSE").is_some() {
        for d in &plan.drones {
            eprintln!(
                "  {name} {}: {} sorties, {:.0} km, busy {:.2} h",
                d.drone,
                d.sorties.len(),
                d.length_m / 1e3,
                d.busy_s / 3600.0
            );
        }
    }
    let mut covs = Vec::new();
    let mut worst: f64 = 0.0;
    let (mut path, mut bound, mut area) = (0.0, 0.0, 0.0);
    for (z, s) in req.zones.iter().zip(&plan.zones) {
        let b = lower_bound_length(z, &req.camera).map_err(|e| e.to_string())?;
        covs.push((
            coverage_ratio(z, &plan).map_err(|e| e.to_string())?,
            s.area_m2,
        ));
        worst = worst.max(s.path_length_m / b);
        path += s.path_length_m;
        bound += b;
        area += s.area_m2;
    }
    if std::env::var_os("COVERAGE_BENCH_VERBOSE").is_some()
        && let Some(w) = plan.zones.iter().max_by(|a, b| {
            (a.path_length_m / a.lower_bound_m).total_cmp(&(b.path_length_m / b.lower_bound_m))
        })
    {
        eprintln!(
            "  {name}: worst zone {} ({:.0} m², {} cells, {:.3})",
            w.zone,
            w.area_m2,
            w.cells,
            w.path_length_m / w.lower_bound_m
        );
    }
    Ok(Row {
        name: name.to_string(),
        zones: req.zones.len(),
        area_km2: area / 1e6,
        spacing: plan.spacing_m,
        len_ratio: path / bound,
        worst_len_ratio: worst,
        cov_min: covs.iter().map(|c| c.0).fold(f64::INFINITY, f64::min),
        cov_mean: covs.iter().map(|c| c.0 * c.1).sum::<f64>() / area,
        time: times[times.len() / 2],
        sorties: plan.drones.iter().map(|d| d.sorties.len()).sum(),
        makespan_h: plan.makespan_s / 3600.0,
        idle_h: plan
            .drones
            .iter()
            .map(|d| d.busy_s)
            .fold(f64::INFINITY, f64::min)
            / 3600.0,
    })
}

fn print_header() {
    println!(
        "| zone set | zones | area km² | d m | length / (A/d) | worst zone | coverage min | coverage (area-weighted) | plan time | sorties | drone busy h (least–most) |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
}

fn print_row(r: &Row) {
    println!(
        "| {} | {} | {:.2} | {:.1} | {:.3} | {:.3} | {:.5} | {:.5} | {:.1} ms | {} | {:.2}–{:.2} |",
        r.name,
        r.zones,
        r.area_km2,
        r.spacing,
        r.len_ratio,
        r.worst_len_ratio,
        r.cov_min,
        r.cov_mean,
        r.time.as_secs_f64() * 1e3,
        r.sorties,
        r.idle_h,
        r.makespan_h
    );
}

fn main() {
    // Compound patrol: 50 m up, a 72° horizontal field of view, 20 % side overlap (d ≈ 58 m);
    // multirotors at 15 m/s with 40 min batteries, 5 min reserve, 3 min battery swap.
    let compound_cam = CameraSpec {
        altitude_m: 50.0,
        hfov_deg: 72.0,
        side_overlap: 0.2,
    };
    let sartu = [125.10, 46.60];
    let stations = [
        [124.90, 46.60],
        [125.00, 46.56],
        [125.10, 46.62],
        [125.18, 46.55],
        [125.05, 46.66],
    ];
    let multirotors = |homes: &[[f64; 2]]| fleet(homes, 15.0, 2400.0, 300.0, 180.0);

    let convex_set = grid_zones(
        1,
        "convex",
        (10, 6, 1200.0),
        (125.05, 46.57),
        (250.0, 800.0),
        0.0,
    );
    let concave_set = grid_zones(
        2,
        "concave",
        (10, 6, 1200.0),
        (125.05, 46.57),
        (300.0, 900.0),
        1.0,
    );
    let community_set = grid_zones(
        4,
        "community",
        (6, 4, 3500.0),
        (124.90, 46.53),
        (1000.0, 3000.0),
        0.0,
    );
    let city = grid_zones(
        3,
        "管控区",
        (20, 15, 1400.0),
        (124.86, 46.50),
        (200.0, 1100.0),
        0.5,
    );

    println!("# Coverage engine benchmark\n");
    println!(
        "Compound and city sets: camera {compound_cam:?}; 5 multirotors 15 m/s, 40 min, 5 min reserve.\n"
    );
    print_header();
    let sets: [(&str, &Vec<Zone>, Vec<Drone>, usize); 4] = [
        (
            "compound-sized (250–800 m), convex",
            &convex_set,
            multirotors(&[sartu]),
            5,
        ),
        (
            "community-sized (1–3 km), convex",
            &community_set,
            multirotors(&stations),
            5,
        ),
        (
            "compound-sized (300–900 m), concave: L/U/T/E, star, pond",
            &concave_set,
            multirotors(&[sartu]),
            5,
        ),
        (
            "city control zones (all planned at once)",
            &city,
            multirotors(&stations),
            5,
        ),
    ];
    for (name, zones, drones, repeats) in sets {
        let req = PlanRequest {
            zones: zones.clone(),
            camera: compound_cam,
            drones,
        };
        match measure(name, &req, repeats) {
            Ok(r) => print_row(&r),
            Err(e) => println!("| {name} | refused: {e} |"),
        }
    }

    // Districts: the whole area seen from 120 m (the legal ceiling), d ≈ 140 m; five fixed-wing
    // VTOL drones at 20 m/s with 150 min endurance, 15 min reserve, 10 min turnaround, launched from
    // five sites spread over the district.
    let district_cam = CameraSpec {
        altitude_m: 120.0,
        hfov_deg: 72.0,
        side_overlap: 0.2,
    };
    let fc: geojson::FeatureCollection = match serde_json::from_str(DISTRICTS) {
        Ok(fc) => fc,
        Err(e) => {
            eprintln!("district data does not parse: {e}");
            std::process::exit(1);
        }
    };
    println!(
        "\nDaqing districts (data/daqing-districts.geojson, GCJ-02): camera {district_cam:?};"
    );
    println!(
        "5 VTOL drones 20 m/s, 150 min, 15 min reserve, 10 min turnaround, launched from the centre point `cp`"
    );
    println!(
        "and from the four points halfway between it and the corners of the district's bounding box.\n"
    );
    print_header();
    let mut total = Duration::ZERO;
    for f in &fc.features {
        let props = f.properties.as_ref();
        let name = props
            .and_then(|p| p.get("name"))
            .and_then(|v| v.as_str())
            .unwrap_or("?")
            .to_string();
        let cp = props
            .and_then(|p| p.get("cp"))
            .and_then(|v| v.as_array())
            .and_then(|a| Some([a.first()?.as_f64()?, a.get(1)?.as_f64()?]))
            .unwrap_or(sartu);
        let Some(geometry) = f.geometry.clone() else {
            continue;
        };
        // The web-map outlines carry spikes and self-touching loops that `plan` refuses; tidy
        // removes them (the tidy zone covers at least the original, see `Zone::tidy`).
        let zone = Zone::from_geojson(name.clone(), geometry).tidy();
        let homes = launch_sites(&zone, cp);
        let req = PlanRequest {
            zones: vec![zone],
            camera: district_cam,
            drones: fleet(&homes, 20.0, 9000.0, 900.0, 600.0),
        };
        match measure(&name, &req, 1) {
            Ok(r) => {
                total += r.time;
                print_row(&r);
            }
            Err(e) => println!("| {name} | refused: {e} |"),
        }
    }
    println!(
        "\nAll districts: {:.0} ms planning in total.",
        total.as_secs_f64() * 1e3
    );
}
