//! The `huoyan` command line: serve, demo, migrate, user, audit, backup, import, export.

use std::io::{BufRead, IsTerminal, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use serde::Deserialize;

use huoyan_core::audit::seal::{AuditKey, Checkpoint};

use crate::audit::key::Purpose;
use crate::audit::{Actor, Verdict};
use crate::db::{Db, redact};

#[derive(Parser)]
#[command(
    name = "huoyan",
    version,
    about = "火眼 Huoyan: command, supervision and volunteer coordination for a sealed city."
)]
struct Cli {
    /// Database: a SQLite file path (default huoyan.db) or a postgres:// URL.
    #[arg(long, global = true, env = "HUOYAN_DB")]
    db: Option<String>,
    /// Optional TOML file with `db`, `listen`, `audit_key`, `secure_cookies`, `map_tiles`,
    /// `map_tiles_attribution`, `map_tiles_gcj02`, `mavlink`, `[deadlines]` and `[evidence]`;
    /// flags and HUOYAN_* variables win over it.
    #[arg(long, global = true, env = "HUOYAN_CONFIG")]
    config: Option<PathBuf>,
    /// File holding the audit key that seals the audit trail (64 hex digits), kept apart from
    /// the database; commands that write create it (mode 0600) when missing. Instead of a
    /// file, HUOYAN_AUDIT_KEY may hold the key. Default: ~/.config/huoyan/audit.key.
    #[arg(
        long,
        global = true,
        env = "HUOYAN_AUDIT_KEY_FILE",
        value_name = "FILE"
    )]
    audit_key: Option<PathBuf>,
    /// Mark session cookies `Secure`, so browsers send them only over HTTPS: set it when the
    /// server is reached through TLS (a reverse proxy). Also `secure_cookies = true` in the TOML.
    #[arg(long, global = true, env = "HUOYAN_SECURE_COOKIES")]
    secure_cookies: bool,
    /// A tile server drawn under the maps, as a URL template with {z}, {x}, {y} and optionally a
    /// leading {s} subdomain (e.g. https://{s}.tile.example.org/{z}/{x}/{y}.png). Without one the
    /// maps draw outlines and pins on a plain background. Also `map_tiles` in the TOML.
    #[arg(long, global = true, env = "HUOYAN_MAP_TILES", value_name = "URL")]
    map_tiles: Option<String>,
    /// The attribution the tile server's terms ask for, shown in the map's corner. Also
    /// `map_tiles_attribution` in the TOML.
    #[arg(
        long,
        global = true,
        env = "HUOYAN_MAP_TILES_ATTRIBUTION",
        value_name = "TEXT"
    )]
    map_tiles_attribution: Option<String>,
    /// The tiles are a Chinese web map's, in GCJ-02 (AMap, Tencent): positions, stored in WGS-84,
    /// are drawn shifted to match them. Also `map_tiles_gcj02 = true` in the TOML.
    #[arg(long, global = true, env = "HUOYAN_MAP_TILES_GCJ02")]
    map_tiles_gcj02: bool,
    /// Listen for the drones' MAVLink telemetry (v1 and v2, many vehicles on one port) on this UDP
    /// address, e.g. 0.0.0.0:14550, for `serve` and `demo`; off unless given. Also `mavlink` in
    /// the TOML.
    #[arg(long, global = true, env = "HUOYAN_MAVLINK", value_name = "ADDR")]
    mavlink: Option<SocketAddr>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the web pages and API.
    Serve {
        /// Address to listen on.
        #[arg(long, env = "HUOYAN_LISTEN")]
        listen: Option<SocketAddr>,
    },
    /// Create a fresh database with the Daqing August 2022 scenario and serve it.
    Demo {
        #[arg(long, env = "HUOYAN_LISTEN")]
        listen: Option<SocketAddr>,
        /// Load the scenario and exit without serving.
        #[arg(long)]
        no_serve: bool,
        /// Generate about this many cases over the scenario's days and compounds, walked
        /// through the same rules and written as the application writes them (many rows to a
        /// statement), instead of the scenario's own (for measuring at a city's scale).
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
        cases: Option<u64>,
    },
    /// Apply the embedded migrations (serve and demo also do this at start).
    Migrate,
    /// Manage accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Check the audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Copy a live SQLite database to a new file and verify the copy's audit chain (PostgreSQL:
    /// use pg_dump, as this explains).
    Backup {
        /// The new file; an existing one is never overwritten.
        #[arg(long)]
        to: PathBuf,
    },
    /// Copy a SQLite database (--db) into a new, empty PostgreSQL database, in one transaction,
    /// and verify the copy's audit chain: a city outgrowing the embedded default moves so. Run it
    /// as the PostgreSQL database's owner.
    Copy {
        /// The PostgreSQL database, postgres://USER@HOST/DB (migrated here if it is not).
        #[arg(long)]
        to: String,
    },
    /// Import people, teams or regions (xlsx or csv) or zones (GeoJSON); all rows or none.
    Import {
        /// people, teams, regions or zones.
        kind: String,
        file: PathBuf,
    },
    /// Export people, teams or regions to an xlsx file.
    Export {
        /// people, teams or regions.
        kind: String,
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create an account. The password is read from standard input.
    Add {
        username: String,
        /// admin, commander, office, group, department, supervisor, inspector, dispatcher, branch,
        /// volunteer, sampler, lab, pilot, discipline.
        #[arg(long)]
        role: String,
        #[arg(long)]
        person_id: Option<i64>,
        /// Region the account is confined to (with its subtree).
        #[arg(long)]
        region_id: Option<i64>,
        #[arg(long)]
        department_id: Option<i64>,
        #[arg(long)]
        team_id: Option<i64>,
    },
    /// Set a new password, read from standard input.
    Passwd { username: String },
    /// Disable an account and end its sessions.
    Disable { username: String },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the trail with the audit key: the chain head's seal, every event's hash and link,
    /// that the trail still holds each checkpoint's event, that every account's role, scope
    /// and disabled flag and every case's state are what their latest events say, and that every
    /// scan is in a batch whose rows still hash as its event sealed them. Exits 0 only when all
    /// hold, 2 naming the first thing that does not.
    Verify {
        /// A statement printed by `huoyan audit checkpoint` (may be given more than once).
        #[arg(long, value_name = "FILE")]
        checkpoint: Vec<PathBuf>,
    },
    /// Verify the trail, then print a statement of its head signed with the audit key, to keep
    /// outside the system (on paper, on another machine) for `verify --checkpoint`.
    Checkpoint,
    /// Seal the chain head of a database written before heads were sealed, once the trail and
    /// the rows verify. Needs the key the server will write with.
    Seal,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    db: Option<String>,
    listen: Option<SocketAddr>,
    /// The audit key file.
    audit_key: Option<PathBuf>,
    #[serde(default)]
    secure_cookies: bool,
    map_tiles: Option<String>,
    map_tiles_attribution: Option<String>,
    #[serde(default)]
    map_tiles_gcj02: bool,
    mavlink: Option<SocketAddr>,
    /// `[deadlines]`: hours per priority (`[deadlines.hours]`) and per category and priority
    /// (`[deadlines.overrides.supplies]`).
    #[serde(default)]
    deadlines: huoyan_core::cases::DeadlineConfig,
    /// `[evidence]`: `fix_photo`, the categories whose fixes need a photo.
    #[serde(default)]
    evidence: huoyan_core::cases::EvidenceConfig,
}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("HUOYAN_LOG")
                .unwrap_or_else(|_| "huoyan=info,tower_http=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let file: FileConfig = match &cli.config {
        Some(path) => toml::from_str(&std::fs::read_to_string(path)?)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?,
        None => FileConfig::default(),
    };
    let in_config = |e: String| {
        anyhow::anyhow!(
            "{}: {e}",
            cli.config
                .as_deref()
                .unwrap_or(std::path::Path::new("config"))
                .display()
        )
    };
    let map_tiles = match cli.map_tiles.or(file.map_tiles) {
        Some(url) => Some(
            crate::web::map::Tiles::parse(
                &url,
                cli.map_tiles_attribution
                    .or(file.map_tiles_attribution)
                    .as_deref(),
            )
            .map_err(|e| anyhow::anyhow!("map_tiles: {e}"))?
            .in_gcj02(cli.map_tiles_gcj02 || file.map_tiles_gcj02),
        ),
        None => None,
    };
    let settings = crate::app::Settings {
        deadlines: file.deadlines.policy().map_err(in_config)?,
        evidence: file.evidence.policy().map_err(in_config)?,
        secure_cookies: cli.secure_cookies || file.secure_cookies,
        map_tiles,
        mavlink: cli.mavlink.or(file.mavlink),
    };
    // The audit key: writers create it when missing, verification never does.
    let key = |purpose| {
        crate::audit::key::load(cli.audit_key.as_deref(), file.audit_key.as_deref(), purpose)
    };
    let listen_or = |l: Option<SocketAddr>| {
        l.or(file.listen)
            .unwrap_or_else(|| DEFAULT_LISTEN.parse().expect("valid default address"))
    };
    match cli.command {
        Command::Serve { listen } => {
            let db = writer(cli.db.or(file.db), key(Purpose::Write)?).await?;
            let app = crate::app::App::new(db, settings);
            crate::app::serve(app, listen_or(listen), |addr| {
                println!("Huoyan serving on http://{addr}")
            })
            .await?;
        }
        Command::Demo {
            listen,
            no_serve,
            cases,
        } => {
            let target = cli
                .db
                .or(file.db)
                .unwrap_or_else(|| "huoyan-demo.db".into());
            let db = crate::demo::fresh_database(&target)
                .await?
                .with_audit_key(key(Purpose::Write)?.0);
            let summary = crate::demo::load(&db, cases.map(|n| n as usize), &mut |msg| {
                eprintln!("  {msg}")
            })
            .await?;
            eprintln!("{summary}");
            if !no_serve {
                let app = crate::app::App::new(db, settings);
                crate::app::serve(app, listen_or(listen), |addr| {
                    println!(
                        "Huoyan demo on http://{addr}  (database {})",
                        redact(&target)
                    );
                    println!("Sign in as any of: {}", crate::demo::LOGINS.join(", "));
                    println!(
                        "Password for all demo logins: {}",
                        crate::auth::password::DEMO_PASSWORD
                    );
                })
                .await?;
            }
        }
        Command::Migrate => {
            let url = cli.db.or(file.db).unwrap_or_else(|| "huoyan.db".into());
            Db::connect_and_migrate(&url).await?;
            println!("migrations applied to {}", redact(&url));
        }
        Command::User(cmd) => {
            let db = writer(cli.db.or(file.db), key(Purpose::Write)?).await?;
            user(&db, cmd).await?;
        }
        Command::Audit(cmd) => {
            let (key, source) = key(Purpose::Verify)?;
            let url = cli.db.or(file.db).unwrap_or_else(|| "huoyan.db".into());
            return audit(&url, key, &source, cmd).await;
        }
        Command::Backup { to } => {
            let db = cli.db.or(file.db).unwrap_or_else(|| "huoyan.db".into());
            return crate::backup::run(&db, &to, key(Purpose::Verify)?.0).await;
        }
        Command::Copy { to } => {
            let db = cli.db.or(file.db).unwrap_or_else(|| "huoyan.db".into());
            let verdict =
                crate::backup::to_postgres::run(&db, &to, key(Purpose::Verify)?.0, &mut |line| {
                    eprintln!("{line}")
                })
                .await?;
            return Ok(match verdict {
                Verdict::Intact { events, .. } => {
                    // The search index is derived, so not copied: built here at once rather
                    // than by the first server's job.
                    let dest = Db::connect(&to).await?;
                    let indexed = crate::cases::search::rebuild(&dest, &mut |last, upto| {
                        if last % 500_000 < 5_000 {
                            eprintln!("search index: entries to {last} of {upto}")
                        }
                    })
                    .await?;
                    eprintln!("search index: {indexed} entries");
                    println!(
                        "copied {} to {}: {events} audit events, chain intact",
                        redact(&db),
                        redact(&to)
                    );
                    ExitCode::SUCCESS
                }
                Verdict::Broken(finding) => {
                    println!(
                        "copied {} to {}, but its audit trail is BROKEN: {finding}",
                        redact(&db),
                        redact(&to)
                    );
                    ExitCode::from(2)
                }
            });
        }
        Command::Import { kind, file: path } => {
            let db = writer(cli.db.or(file.db), key(Purpose::Write)?).await?;
            let bytes =
                std::fs::read(&path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            let format = crate::tabular::Format::from_path(&path)?;
            let progress = indicatif::ProgressBar::new(0);
            progress.set_style(
                indicatif::ProgressStyle::with_template(
                    "{msg} [{bar:40}] {pos}/{len} rows ({per_sec}, {eta})",
                )
                .expect("valid template"),
            );
            let report = |done: u64, total: u64, msg: &'static str| {
                progress.set_length(total);
                progress.set_position(done);
                progress.set_message(msg);
            };
            let result = crate::org::import::run(
                &db,
                &Actor::system("import"),
                &kind,
                format,
                &bytes,
                &report,
            )
            .await;
            progress.finish_and_clear();
            match result {
                Ok(n) => println!("imported {n} {kind} from {}", path.display()),
                Err(crate::error::AppError::Invalid(errors)) => {
                    eprintln!("nothing imported: {} bad row(s)", errors.len());
                    for e in errors {
                        eprintln!("  {}: {}", e.field, e.message);
                    }
                    return Ok(ExitCode::FAILURE);
                }
                Err(e) => anyhow::bail!("{e}: {:?}", e.fields()),
            }
        }
        Command::Export { kind, file: path } => {
            let db = writer(cli.db.or(file.db), key(Purpose::Write)?).await?;
            let bytes = crate::org::export::system_export(&db, &kind)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            std::fs::write(&path, bytes)?;
            println!("wrote {}", path.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The database for a command that writes: migrated, with the audit key, whose seal on the
/// stored head must hold (a wrong key stops the command before anything is written).
async fn writer(
    db: Option<String>,
    (key, source): (AuditKey, crate::audit::key::Source),
) -> anyhow::Result<Db> {
    let db = Db::connect_and_migrate(&db.unwrap_or_else(|| "huoyan.db".into()))
        .await?
        .with_audit_key(key);
    crate::audit::check_head(&db).await.map_err(|e| {
        anyhow::anyhow!("{e} (the key given came from {source}); nothing was written")
    })?;
    Ok(db)
}

async fn audit(
    url: &str,
    key: AuditKey,
    source: &crate::audit::key::Source,
    cmd: AuditCommand,
) -> anyhow::Result<ExitCode> {
    let key_id = key.id();
    let broken = |f: huoyan_core::audit::Finding| {
        println!("BROKEN: {f}");
        eprintln!("(verified with the audit key from {source}, id {key_id})");
        ExitCode::from(2)
    };
    match cmd {
        AuditCommand::Verify { checkpoint } => {
            let mut checkpoints = Vec::new();
            for path in &checkpoint {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
                let cp = Checkpoint::parse(&text, &key)
                    .map_err(|e| anyhow::anyhow!("{}: {e}; refused", path.display()))?;
                checkpoints.push(cp);
            }
            let db = Db::connect(url).await?.with_audit_key(key);
            Ok(match crate::audit::verify_with(&db, &checkpoints).await? {
                Verdict::Intact { events, .. } => {
                    println!(
                        "OK: {events} audit events, chain intact and sealed with key {key_id}; accounts, cases and scans match their trails{}",
                        match checkpoints.len() {
                            0 => String::new(),
                            n => format!("; the trail holds the events of {n} checkpoint(s)"),
                        }
                    );
                    ExitCode::SUCCESS
                }
                Verdict::Broken(f) => broken(f),
            })
        }
        AuditCommand::Checkpoint => {
            let db = Db::connect(url).await?.with_audit_key(key);
            Ok(match crate::audit::checkpoint(&db).await? {
                Ok(statement) => {
                    print!("{statement}");
                    ExitCode::SUCCESS
                }
                Err(f) => broken(f),
            })
        }
        AuditCommand::Seal => {
            let db = Db::connect_and_migrate(url).await?.with_audit_key(key);
            Ok(match crate::audit::seal_old_head(&db).await? {
                Ok(events) => {
                    println!("sealed the chain head after {events} verified audit events");
                    ExitCode::SUCCESS
                }
                Err(f) => broken(f),
            })
        }
    }
}

fn read_password(prompt: &str) -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("{prompt}: ");
        std::io::stderr().flush()?;
    }
    let mut line = String::new();
    stdin.lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

async fn user(db: &Db, cmd: UserCommand) -> anyhow::Result<()> {
    let actor = Actor::system("cli");
    let show = |e: crate::error::AppError| {
        let fields: Vec<String> = e
            .fields()
            .iter()
            .map(|f| format!("{}: {}", f.field, f.message))
            .collect();
        anyhow::anyhow!(
            "{e}{}{}",
            if fields.is_empty() { "" } else { ": " },
            fields.join("; ")
        )
    };
    match cmd {
        UserCommand::Add {
            username,
            role,
            person_id,
            region_id,
            department_id,
            team_id,
        } => {
            let password = read_password("password")?;
            let new = crate::auth::accounts::NewAccount {
                username: username.clone(),
                password,
                role,
                person_id,
                scope: huoyan_core::auth::Scope {
                    region_id,
                    department_id,
                    team_id,
                },
            };
            let id = crate::auth::accounts::create(db, &actor, &new, false)
                .await
                .map_err(show)?;
            println!("account {username} created (id {id})");
        }
        UserCommand::Passwd { username } => {
            let id = crate::auth::accounts::id_by_username(db, &username)
                .await
                .map_err(show)?;
            let password = read_password("new password")?;
            let u = crate::auth::accounts::AccountUpdate {
                password: Some(crate::check::Text::field("password", password).map_err(show)?),
                ..Default::default()
            };
            crate::auth::accounts::update(db, &actor, id, &u)
                .await
                .map_err(show)?;
            println!("password of {username} changed");
        }
        UserCommand::Disable { username } => {
            let id = crate::auth::accounts::id_by_username(db, &username)
                .await
                .map_err(show)?;
            let u = crate::auth::accounts::AccountUpdate {
                disabled: Some(true),
                ..Default::default()
            };
            crate::auth::accounts::update(db, &actor, id, &u)
                .await
                .map_err(show)?;
            println!("account {username} disabled");
        }
    }
    Ok(())
}
