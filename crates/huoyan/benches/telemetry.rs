//! Drone telemetry through the MAVLink link (`huoyan::drones::link`): 200 simulated vehicles, each
//! on a UDP socket of its own as real ones are, send GLOBAL_POSITION_INT (MAVLink 2) to the one
//! port. Phase `paced`: 10 Hz each (2,000 messages a second), for the ingest rate and the delay
//! from a datagram's sending to its position on the live map's event stream (the broadcast the
//! SSE route forwards); on loopback sending and arrival differ by the kernel's few microseconds.
//! Phase `flood`: every vehicle sends as fast as it can, for the ceiling. The track is written as
//! in production (one fix a second per registered drone, SQLite with `synchronous = FULL`).
//!
//! Each message carries its sequence number in `relative_alt` (mm), so the subscriber finds when
//! it was sent without a clock in the payload.
//!
//! Usage: cargo bench -p huoyan --bench telemetry -- [--seconds 20] [--vehicles 200] [--hz 10]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use huoyan::db::Backend;
use mavlink::dialects::common::{self as mav, MavMessage};
use mavlink::{MavHeader, MavlinkVersion};
use tokio::net::UdpSocket;
use tokio::sync::broadcast::error::RecvError;

struct Args {
    seconds: f64,
    vehicles: usize,
    hz: f64,
}

fn args() -> Args {
    let mut a = Args {
        seconds: 20.0,
        vehicles: 200,
        hz: 10.0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().and_then(|s| s.parse::<f64>().ok());
        match arg.as_str() {
            "--seconds" => a.seconds = value().expect("--seconds S"),
            "--vehicles" => a.vehicles = value().expect("--vehicles N") as usize,
            "--hz" => a.hz = value().expect("--hz F"),
            "--bench" => {}
            other => panic!("unknown argument {other}"),
        }
    }
    assert!(
        (1..=250).contains(&a.vehicles),
        "--vehicles: 1 to 250 (system ids)"
    );
    a
}

fn datagram(system_id: u8, seq: u32) -> Vec<u8> {
    let msg = MavMessage::GLOBAL_POSITION_INT(mav::GLOBAL_POSITION_INT_DATA {
        time_boot_ms: seq,
        lat: 463_960_000 + i32::from(system_id) * 1_000,
        lon: 1_249_860_000 + (seq % 10_000) as i32,
        alt: 226_000,
        relative_alt: seq as i32,
        hdg: 9_000,
        ..Default::default()
    });
    let header = MavHeader {
        system_id,
        component_id: 1,
        sequence: seq as u8,
    };
    let mut buf = Vec::with_capacity(64);
    mavlink::write_versioned_msg(&mut buf, MavlinkVersion::V2, header, &msg).expect("encodes");
    buf
}

struct Phase {
    name: &'static str,
    sent: u64,
    ingested: u64,
    seconds: f64,
    delays_us: Vec<u32>,
    cpu: f64,
    rss: u64,
}

/// Runs the vehicles for `seconds`, paced at `hz` each (None: as fast as they can).
async fn phase(
    name: &'static str,
    app: &huoyan::app::App,
    target: std::net::SocketAddr,
    args: &Args,
    hz: Option<f64>,
) -> anyhow::Result<Phase> {
    let capacity = match hz {
        Some(hz) => (args.vehicles as f64 * hz * args.seconds * 1.2) as usize + 1_000,
        None => 20_000_000,
    };
    let sent_at: Arc<Vec<AtomicU64>> = Arc::new((0..capacity).map(|_| AtomicU64::new(0)).collect());
    let next = Arc::new(AtomicU64::new(1));
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let mut rx = app.drones.live.subscribe();
    let done = Arc::new(AtomicBool::new(false));
    let listen = {
        let (sent_at, done) = (sent_at.clone(), done.clone());
        tokio::spawn(async move {
            let (mut ingested, mut delays) = (0u64, Vec::new());
            loop {
                let Ok(got) = tokio::time::timeout(Duration::from_millis(200), rx.recv()).await
                else {
                    if done.load(Ordering::Relaxed) {
                        break;
                    }
                    continue;
                };
                match got {
                    Ok(t) => {
                        let now = start.elapsed().as_nanos() as u64;
                        ingested += 1;
                        if let Some(p) = t.position {
                            let seq = (p.alt_m * 1000.0).round() as usize;
                            if let Some(at) = sent_at.get(seq).map(|a| a.load(Ordering::Relaxed))
                                && at > 0
                            {
                                delays
                                    .push(((now.saturating_sub(at)) / 1_000).min(u32::MAX as u64)
                                        as u32);
                            }
                        }
                    }
                    // Skipped by this subscriber, but applied by the link.
                    Err(RecvError::Lagged(n)) => ingested += n,
                    Err(RecvError::Closed) => break,
                }
            }
            (ingested, delays)
        })
    };
    let cpu0 = support::cpu_seconds();
    let mut senders = Vec::new();
    for k in 0..args.vehicles {
        let (sent_at, next, stop) = (sent_at.clone(), next.clone(), stop.clone());
        let system_id = (k + 1) as u8;
        senders.push(tokio::spawn(async move {
            let socket = UdpSocket::bind("127.0.0.1:0").await?;
            let mut sent = 0u64;
            let mut tick = hz.map(|hz| {
                let mut t = tokio::time::interval(Duration::from_secs_f64(1.0 / hz));
                t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                t
            });
            while !stop.load(Ordering::Relaxed) {
                if let Some(t) = tick.as_mut() {
                    t.tick().await;
                } else {
                    tokio::task::yield_now().await;
                }
                let seq = next.fetch_add(1, Ordering::Relaxed);
                let Some(slot) = sent_at.get(seq as usize) else {
                    break;
                };
                let buf = datagram(system_id, seq as u32);
                slot.store(start.elapsed().as_nanos() as u64, Ordering::Relaxed);
                socket.send_to(&buf, target).await?;
                sent += 1;
            }
            Ok::<u64, std::io::Error>(sent)
        }));
    }
    tokio::time::sleep(Duration::from_secs_f64(args.seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut sent = 0;
    for s in senders {
        sent += s.await??;
    }
    let seconds = start.elapsed().as_secs_f64();
    // What is still in the socket's buffer arrives within a moment; the listener stops once
    // the stream has been quiet for 200 ms after that.
    tokio::time::sleep(Duration::from_millis(500)).await;
    done.store(true, Ordering::Relaxed);
    let (ingested, mut delays) = listen.await?;
    delays.sort_unstable();
    Ok(Phase {
        name,
        sent,
        ingested,
        seconds,
        delays_us: delays,
        cpu: support::cpu_seconds() - cpu0,
        rss: support::resident_bytes(),
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = args();
    let dir = tempfile::tempdir()?;
    let (db, name) = support::fresh(
        Backend::Sqlite,
        dir.path(),
        "",
        "telemetry",
        support::random_key(),
    )
    .await?;
    // The fleet, so the track is written as in production.
    sqlx::query("INSERT INTO teams (kind, name, created_at) VALUES ('drone_squad', 'bench', 0)")
        .execute(&db.pool)
        .await?;
    for k in 1..=args.vehicles {
        sqlx::query(
            "INSERT INTO drones (callsign, model, team_id, system_id, endurance_min, cruise_mps, hfov_deg, home_lon, home_lat, streams, charging, created_at) \
             VALUES ($1, 'bench', (SELECT id FROM teams WHERE name = 'bench'), $2, 40, 10, 80, 124.986, 46.396, '[]', 0, 0)",
        )
        .bind(format!("B{k}"))
        .bind(k as i64)
        .execute(&db.pool)
        .await?;
    }
    let app = huoyan::app::App::new(db.clone(), Default::default());
    let (target, link) = huoyan::drones::start_link(&app.drones, "127.0.0.1:0".parse()?).await?;
    println!(
        "{} vehicles, MAVLink 2 GLOBAL_POSITION_INT, one UDP socket each, {} s a phase, {} cores",
        args.vehicles,
        args.seconds,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "| phase | sent | ingested | ingested /s | lost | delay p50 ms | p99 ms | max ms | cores busy | RSS MB |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (name, hz) in [("paced", Some(args.hz)), ("flood", None)] {
        let p = phase(name, &app, target, &args, hz).await?;
        println!(
            "| {} ({}) | {} | {} | {:.0} | {} | {:.3} | {:.3} | {:.3} | {:.2} | {:.0} |",
            p.name,
            hz.map_or("as fast as possible".to_string(), |h| format!(
                "{h} Hz each"
            )),
            p.sent,
            p.ingested,
            p.ingested as f64 / p.seconds,
            p.sent.saturating_sub(p.ingested),
            support::quantile_ms(&p.delays_us, 0.5),
            support::quantile_ms(&p.delays_us, 0.99),
            p.delays_us.last().map_or(f64::NAN, |&d| d as f64 / 1000.0),
            p.cpu / p.seconds,
            p.rss as f64 / 1e6,
        );
    }
    let fixes: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM drone_fixes")
        .fetch_one(&db.pool)
        .await?;
    println!("track: {fixes} fixes stored (at most one a second per drone)");
    link.abort();
    support::drop_db(Backend::Sqlite, "", db, &name).await?;
    Ok(())
}
