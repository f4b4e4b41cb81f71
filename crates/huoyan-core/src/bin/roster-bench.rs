//! Roster engine against Google OR-Tools CP-SAT on the same instances, both scored by our one
//! evaluator. Run through `bench/roster.sh`, which builds the Python venv with `ortools`.
//!
//! Usage: roster-bench [--python PATH] [--cpsat-seconds N] [--workers N] [--out DIR] [--quick]
//!                     [--no-cpsat] [--only NAME-PART] [--ours-seconds S]
//!                     [--ours-iterations N] [--seed N]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use huoyan_core::workforce::roster::{
    Assignment, Blocker, BlockerReason, RosterProblem, SolveOptions, evaluate, flatten, generate,
    replan, solve,
};

struct Args {
    python: String,
    cpsat_seconds: f64,
    out: PathBuf,
    quick: bool,
    cpsat: bool,
    only: Option<String>,
    workers: Option<u32>,
    ours_seconds: Option<f64>,
    ours_iterations: Option<u64>,
    seed: u64,
}

fn args() -> Args {
    let mut a = Args {
        python: "python3".into(),
        cpsat_seconds: 60.0,
        out: std::env::temp_dir().join("huoyan-roster-bench"),
        quick: false,
        cpsat: true,
        only: None,
        workers: None,
        ours_seconds: None,
        ours_iterations: None,
        seed: 1,
    };
    let mut it = std::env::args().skip(1);
    while let Some(x) = it.next() {
        match x.as_str() {
            "--python" => a.python = it.next().expect("--python needs a path"),
            "--cpsat-seconds" => {
                a.cpsat_seconds = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--cpsat-seconds needs a number")
            }
            "--out" => a.out = it.next().expect("--out needs a directory").into(),
            "--quick" => a.quick = true,
            "--no-cpsat" => a.cpsat = false,
            "--only" => a.only = it.next(),
            "--ours-seconds" => a.ours_seconds = it.next().and_then(|v| v.parse().ok()),
            "--ours-iterations" => a.ours_iterations = it.next().and_then(|v| v.parse().ok()),
            "--seed" => {
                a.seed = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--seed needs a number")
            }
            "--workers" => a.workers = it.next().and_then(|v| v.parse().ok()),
            other => panic!("unknown argument {other}; see the header of roster-bench.rs"),
        }
    }
    a
}

struct CpSat {
    status: String,
    objective: i64,
    bound: i64,
    seconds: f64,
    evaluated: i64,
    unfilled: u32,
}

fn run_cpsat(a: &Args, name: &str, problem: &RosterProblem, seconds: f64) -> Option<CpSat> {
    let flat = flatten(problem).expect("generated instances are valid");
    let input = a.out.join(format!("{name}.flat.json"));
    let output = a.out.join(format!("{name}.cpsat.json"));
    std::fs::write(&input, serde_json::to_vec(&flat).expect("serialisable")).expect("write model");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/roster_cpsat.py");
    let status = Command::new(&a.python)
        .arg(&script)
        .arg(&input)
        .arg(&output)
        .arg(format!("{seconds}"))
        .args(a.workers.map(|w| w.to_string()))
        .status()
        .expect("run the CP-SAT script");
    if !status.success() {
        eprintln!("{name}: CP-SAT script failed ({status})");
        return None;
    }
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&output).expect("read CP-SAT output")).expect("json");
    let status = v["status"].as_str().unwrap_or("?").to_string();
    if status != "OPTIMAL" && status != "FEASIBLE" {
        // No roster found: nothing to score.
        return Some(CpSat {
            status,
            objective: i64::MAX,
            bound: i64::MIN,
            seconds: v["seconds"].as_f64().unwrap_or(f64::NAN),
            evaluated: i64::MAX,
            unfilled: 0,
        });
    }
    let pairs = v["assignments"].as_array().expect("assignments");
    let assignments: Vec<Assignment> = pairs
        .iter()
        .map(|x| {
            let p = x[0].as_u64().expect("person index") as usize;
            let s = x[1].as_u64().expect("shift index") as usize;
            Assignment::new(problem.people[p].id.clone(), problem.shifts[s].id.clone())
        })
        .collect();
    let (evaluated, unfilled) = match evaluate(problem, &assignments) {
        Ok(b) => {
            eprintln!("{name}: CP-SAT {b:?}");
            (b.total, b.unfilled_places)
        }
        Err(e) => {
            eprintln!("{name}: CP-SAT's roster breaks a rule: {e}");
            (i64::MAX, 0)
        }
    };
    Some(CpSat {
        status,
        objective: v["objective"]
            .as_f64()
            .map(|x| x.round() as i64)
            .unwrap_or(i64::MAX),
        bound: v["bound"]
            .as_f64()
            .map(|x| x.round() as i64)
            .unwrap_or(i64::MIN),
        seconds: v["seconds"].as_f64().unwrap_or(f64::NAN),
        evaluated,
        unfilled,
    })
}

fn main() {
    let a = args();
    std::fs::create_dir_all(&a.out).expect("create the output directory");
    let limit = a.cpsat_seconds;
    let mut instances: Vec<(String, RosterProblem, f64)> = vec![
        ("small-20x3d".into(), generate::city(20, 4, 3, 11), 1.0),
        ("small-30x2d".into(), generate::city(30, 4, 2, 13), 1.0),
        ("small-16x7d".into(), generate::city(16, 4, 7, 14), 1.0),
        ("small-50".into(), generate::city(50, 4, 7, 12), 1.0),
        ("daqing-79".into(), generate::daqing(2022), limit / 10.0),
    ];
    let series: &[(usize, usize)] = if a.quick {
        &[(250, 20)]
    } else {
        &[(250, 20), (1000, 80), (2500, 200), (5000, 400)]
    };
    for &(n, posts) in series {
        instances.push((
            format!("city-{n}"),
            generate::city(n, posts, 7, 7),
            limit / 10.0,
        ));
    }
    println!(
        "| instance | people | shifts | vars | ours objective | ours s | CP-SAT objective | CP-SAT bound | CP-SAT s | status | ours / CP-SAT | ours / bound | unfilled (ours / CP-SAT) |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    let mut city_solution = None;
    for (name, problem, ours_seconds) in &instances {
        if a.only.as_ref().is_some_and(|o| !name.contains(o.as_str())) {
            continue;
        }
        let json = serde_json::to_vec(problem).expect("serialisable");
        std::fs::write(a.out.join(format!("{name}.json")), json).expect("write instance");
        let vars = flatten(problem).expect("valid").vars.len();
        let t = Instant::now();
        let opts = match a.ours_iterations {
            // A fixed iteration count makes runs comparable on a loaded machine.
            Some(n) => SolveOptions {
                seed: a.seed,
                time_limit: None,
                max_iterations: n,
                control: None,
            },
            None => SolveOptions {
                seed: a.seed,
                time_limit: Some(Duration::from_secs_f64(
                    a.ours_seconds.unwrap_or(*ours_seconds),
                )),
                max_iterations: u64::MAX,
                control: None,
            },
        };
        let ours = solve(problem, &opts).expect("generated instances are valid");
        let ours_s = t.elapsed().as_secs_f64();
        let json = serde_json::to_vec(&ours).expect("serialisable");
        std::fs::write(a.out.join(format!("{name}.ours.json")), json).expect("write our roster");
        let check = evaluate(problem, &ours.assignments).expect("our roster keeps every hard rule");
        assert_eq!(
            check, ours.breakdown,
            "the solver's breakdown is the evaluator's"
        );
        let cp = if a.cpsat {
            run_cpsat(&a, name, problem, limit)
        } else {
            None
        };
        let (cp_obj, cp_bound, cp_s, cp_status, ratio, cp_unf) = match &cp {
            Some(c) if c.evaluated == i64::MAX => (
                "no roster".into(),
                "-".into(),
                format!("{:.2}", c.seconds),
                c.status.clone(),
                "- | -".into(),
                -1,
            ),
            Some(c) => {
                if c.evaluated != c.objective {
                    eprintln!(
                        "{name}: evaluator {} differs from CP-SAT's objective {}",
                        c.evaluated, c.objective
                    );
                }
                (
                    c.evaluated.to_string(),
                    c.bound.to_string(),
                    format!("{:.2}", c.seconds),
                    c.status.clone(),
                    format!(
                        "{:.4} | {}",
                        ours.breakdown.total as f64 / c.evaluated as f64,
                        // A bound at or below zero says nothing about the gap.
                        if c.bound > 0 {
                            format!("{:.3}", ours.breakdown.total as f64 / c.bound as f64)
                        } else {
                            "-".into()
                        }
                    ),
                    i64::from(c.unfilled),
                )
            }
            None => (
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                -1,
            ),
        };
        println!(
            "| {name} | {} | {} | {vars} | {} | {ours_s:.2} | {cp_obj} | {cp_bound} | {cp_s} | {cp_status} | {ratio} | {} / {} |",
            problem.people.len(),
            problem.shifts.len(),
            ours.breakdown.total,
            ours.breakdown.unfilled_places,
            if cp_unf < 0 {
                "-".to_string()
            } else {
                cp_unf.to_string()
            },
        );
        eprintln!("{name}: ours {:?}", ours.breakdown);
        if name.starts_with("city-5000") || (a.quick && name.starts_with("city")) {
            city_solution = Some((problem.clone(), ours));
        }
    }

    // Re-plan: a blocker comes in at 21:00 for someone working tomorrow (day 1).
    let Some((problem, previous)) = city_solution else {
        return;
    };
    let victim = previous
        .assignments
        .iter()
        .find(|x| x.shift.contains("-d1-"))
        .expect("someone works on day 1")
        .clone();
    let mut changed = problem.clone();
    let person = changed
        .people
        .iter_mut()
        .find(|p| p.id == victim.person)
        .expect("known person");
    person.blockers.push(Blocker {
        day: 1,
        reason: BlockerReason::BuildingSealed,
    });
    for (label, pins) in [
        (
            "everyone else pinned",
            previous
                .assignments
                .iter()
                .filter(|x| x.person != victim.person)
                .cloned()
                .collect::<Vec<_>>(),
        ),
        (
            "only day 0 pinned",
            previous
                .assignments
                .iter()
                .filter(|x| x.shift.contains("-d0-"))
                .cloned()
                .collect(),
        ),
    ] {
        let t = Instant::now();
        let opts = SolveOptions {
            seed: 1,
            time_limit: Some(Duration::from_millis(300)),
            max_iterations: u64::MAX,
            control: None,
        };
        let sol = replan(&changed, &previous.assignments, &pins, &opts).expect("valid re-plan");
        let s = t.elapsed().as_secs_f64();
        let moved = sol.breakdown.changes / changed.weights.change.max(1);
        println!(
            "replan {} ({label}): {s:.3} s, {moved} assignments changed, unfilled {} -> {}, objective {}",
            problem.people.len(),
            previous.breakdown.unfilled_places,
            sol.breakdown.unfilled_places,
            sol.breakdown.total
        );
    }
}
