//! The harness's scenarios: what a run measures, the ceiling, and every scenario of one
//! backend (seeding, the data the scripts need, the wrk loads, the login flood, start-up).

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use super::client::{Conn, get_body, ids, login, login_body};
use super::server::{PeakRss, Server, run_seed, start_with, status_kib};
use super::wrk::{Load, WrkResult, wait_wrk};

/// The filtered, sorted page of 50 of the scenarios and of the mixed workload.
pub(crate) const PAGE_OF_50: &str = "/api/v1/interventions?statut=ouverte,affectee,en_cours&priorite=urgente,haute,normale&sort=-date_creation&limit=50";
/// The account of the reads, creations and logins (sees every intervention).
pub(crate) const READER: (&str, &str) = ("demo.responsable", "Demo#Responsable2026");
/// The account of the lifecycle actions (an admin may act on any intervention).
pub(crate) const ACTOR: (&str, &str) = ("demo.admin", "Demo#Admin2026");
/// wrk threads and connections of every scenario.
pub(crate) const THREADS: usize = 2;
pub(crate) const CONNECTIONS: usize = 32;
/// At most this many interventions per lifecycle pool (the action rotates over them).
pub(crate) const POOL_CAP: usize = 2_000;

/// What one run measures.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    /// Interventions seeded per backend.
    pub interventions: usize,
    /// Warm-up before each scenario.
    pub warmup: Duration,
    /// Measured duration of each scenario.
    pub duration: Duration,
    /// `--quick` (said in the report).
    pub quick: bool,
}

/// One backend of the harness.
#[derive(Debug)]
pub(crate) struct Backend {
    /// `SQLite` or `PostgreSQL`.
    pub name: &'static str,
    /// Extra environment for the server (database URL).
    pub env: Vec<(String, String)>,
}

/// What a row measures (the targets of issue 8 are checked per kind).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Ceiling,
    Live,
    ById,
    Page,
    Create,
    Lifecycle,
    Dashboard,
    Login,
    Mixed,
    ReadsDuringFlood,
}

/// One line of a backend's table.
#[derive(Debug)]
pub(crate) struct Row {
    pub(crate) kind: Kind,
    pub(crate) scenario: String,
    pub(crate) result: WrkResult,
    pub(crate) peak_rss_kib: u64,
}

/// Warm-up (its own environment: the lifecycle scenario warms up on another pool), then the
/// measured run with the server's peak RSS.
pub(crate) fn measure(
    lua_dir: &Path,
    pid: u32,
    kind: Kind,
    scenario: &str,
    load: &Load,
    warmup_env: Option<&[(String, String)]>,
    options: &Options,
) -> Result<Row, String> {
    crate::say(&format!("bench: {scenario}"));
    if !options.warmup.is_zero() {
        let mut warm = load.clone();
        if let Some(env) = warmup_env {
            warm.env.extend(env.iter().cloned());
        }
        warm.run(lua_dir, options.warmup)?;
    }
    let rss = PeakRss::start(pid);
    let result = load.run(lua_dir, options.duration);
    let peak_rss_kib = rss.finish();
    let result = result?;
    if let Some(e) = &result.first_error {
        crate::say(&format!(
            "bench: {scenario}: {} errors, first: {e}",
            result.errors
        ));
    }
    Ok(Row {
        kind,
        scenario: scenario.to_owned(),
        result,
        peak_rss_kib,
    })
}

/// The ceiling: `bench-ceiling` serving `bytes` of constant JSON, under the same load.
pub(crate) fn ceiling(
    target: &Path,
    lua_dir: &Path,
    bytes: usize,
    options: &Options,
) -> Result<(Row, usize), String> {
    let mut child = Command::new(target.join("release/bench-ceiling"))
        .arg(bytes.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("bench-ceiling: {e}"))?;
    let mut line = String::new();
    if let Some(out) = child.stdout.take() {
        BufReader::new(out)
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
    }
    let server = Server {
        child,
        addr: line.trim().to_owned(),
    };
    let mut conn = Conn::open(&server.addr)?;
    let (status, body) = conn.request("GET", "/", &[], "")?;
    if status != 200 || body.len() != bytes {
        return Err(format!(
            "bench-ceiling answered {status} with {} bytes",
            body.len()
        ));
    }
    drop(conn);
    let load = Load {
        script: "static.lua",
        url: format!("http://{}/", server.addr),
        threads: THREADS,
        connections: CONNECTIONS,
        env: vec![],
    };
    let row = measure(
        lua_dir,
        server.pid(),
        Kind::Ceiling,
        &format!("ceiling: constant {bytes}-byte JSON (actix-web, no I/O)"),
        &load,
        None,
        options,
    )?;
    Ok((row, bytes))
}

/// Everything measured on one backend.
#[derive(Debug)]
pub(crate) struct BackendReport {
    pub(crate) name: &'static str,
    pub(crate) seeding: Duration,
    pub(crate) rows: Vec<Row>,
    pub(crate) idle_rss_kib: u64,
    pub(crate) startups: Vec<Duration>,
    pub(crate) flood_logins_per_s: f64,
}

/// Seeds `backend`, starts the server and runs every scenario; then restarts it on the same
/// database three times for the start-up time.
pub(crate) fn backend(
    target: &Path,
    lua_dir: &Path,
    backend: &Backend,
    options: &Options,
    ceiling_rows: &mut Option<(Row, usize)>,
) -> Result<BackendReport, String> {
    let binary = target.join("release/erp");
    let workdir =
        std::env::temp_dir().join(format!("erp-bench-{}-{}", backend.name, std::process::id()));
    let _ = std::fs::remove_dir_all(&workdir);
    std::fs::create_dir_all(&workdir).map_err(|e| e.to_string())?;
    let result = run_backend(
        target,
        &binary,
        &workdir,
        lua_dir,
        backend,
        options,
        ceiling_rows,
    );
    let _ = std::fs::remove_dir_all(&workdir);
    result
}

fn run_backend(
    target: &Path,
    binary: &Path,
    workdir: &Path,
    lua_dir: &Path,
    backend: &Backend,
    options: &Options,
    ceiling_rows: &mut Option<(Row, usize)>,
) -> Result<BackendReport, String> {
    let seeding = seed(binary, workdir, backend, options)?;
    let (server, _) = start_with(binary, workdir, backend)?;
    std::thread::sleep(Duration::from_secs(1));
    let idle_rss_kib = status_kib(server.pid(), "VmRSS").unwrap_or(0);
    let fixture = Fixture::prepare(&server.addr, workdir, options.interventions)?;

    // The ceiling is measured once, on the first backend, with a real intervention's size.
    if ceiling_rows.is_none() {
        *ceiling_rows = Some(ceiling(
            target,
            lua_dir,
            fixture.intervention_bytes,
            options,
        )?);
    }

    let pid = server.pid();
    let mut rows = Vec::new();
    for scenario in fixture.scenarios() {
        rows.push(measure(
            lua_dir,
            pid,
            scenario.kind,
            scenario.name,
            &scenario.load,
            scenario.warmup.as_deref(),
            options,
        )?);
    }
    let (flooded, flood_logins_per_s) = fixture.reads_during_flood(lua_dir, pid, options)?;
    rows.push(flooded);
    drop(server);

    Ok(BackendReport {
        name: backend.name,
        seeding,
        rows,
        idle_rss_kib,
        startups: startups(binary, workdir, backend)?,
        flood_logins_per_s,
    })
}

/// Seeds the backend's database through the use cases; on PostgreSQL, vacuums it after.
/// Returns the seeding time.
fn seed(
    binary: &Path,
    workdir: &Path,
    backend: &Backend,
    options: &Options,
) -> Result<Duration, String> {
    crate::say(&format!(
        "bench: {}: seeding {} interventions through the use cases",
        backend.name, options.interventions
    ));
    let seeding = run_seed(binary, workdir, backend, options.interventions)?;
    if let Some((_, url)) = backend.env.iter().find(|(k, _)| k == "ERP__DATABASE__URL") {
        // Steady state: autovacuum would have cleaned the rows the seeding rewrote.
        let vacuumed = Command::new("psql")
            .args([url.as_str(), "-qc", "VACUUM ANALYZE"])
            .status()
            .map_err(|e| format!("psql: {e}"))?;
        if !vacuumed.success() {
            return Err("VACUUM ANALYZE failed".into());
        }
    }
    Ok(seeding)
}

/// Start-up on the existing database (already migrated and seeded), three times.
fn startups(binary: &Path, workdir: &Path, backend: &Backend) -> Result<Vec<Duration>, String> {
    let mut startups = Vec::new();
    for _ in 0..3 {
        let (server, took) = start_with(binary, workdir, backend)?;
        startups.push(took);
        drop(server);
    }
    Ok(startups)
}

/// The data the scripts need, read from the seeded server and checked before any load.
struct Fixture {
    addr: String,
    /// Bearer tokens of [`READER`] and [`ACTOR`].
    reader: String,
    actor: String,
    /// The number of interventions (the highest id), as text.
    max_id: String,
    /// The size of a real `GET /api/v1/interventions/{id}` body (the ceiling serves as much).
    intervention_bytes: usize,
    /// Comma-separated ids of équipements to create interventions on.
    equipements: String,
    /// Files of intervention ids: `en_cours` for the measured lifecycle run, `en_attente` for
    /// its warm-up.
    measured_pool: String,
    warmup_pool: String,
    login_json: String,
}

/// One wrk scenario of the harness.
struct Scenario {
    kind: Kind,
    name: &'static str,
    load: Load,
    /// Extra environment of the warm-up run, when it differs.
    warmup: Option<Vec<(String, String)>>,
}

impl Fixture {
    fn prepare(addr: &str, workdir: &Path, n: usize) -> Result<Self, String> {
        let reader = login(addr, READER)?;
        let actor = login(addr, ACTOR)?;
        let intervention_bytes = get_body(addr, &reader, "/api/v1/interventions/1")?.len();
        get_body(addr, &reader, &format!("/api/v1/interventions/{n}"))?;
        let equipements = ids(addr, &reader, "/api/v1/equipements", 200)?;
        let en_cours = ids(
            addr,
            &reader,
            "/api/v1/interventions?statut=en_cours",
            POOL_CAP,
        )?;
        let en_attente = ids(
            addr,
            &reader,
            "/api/v1/interventions?statut=en_attente",
            POOL_CAP,
        )?;
        // Each wrk thread keeps its share of a pool queued, 16 connections drawing from it.
        if en_cours.len() < 100 || en_attente.len() < 100 || equipements.is_empty() {
            return Err(format!(
                "too little data for the lifecycle scenario ({} en_cours, {} en_attente, {} équipements): seed at least 1 000 interventions",
                en_cours.len(),
                en_attente.len(),
                equipements.len()
            ));
        }
        let write_ids = |name: &str, ids: &[i64]| -> Result<String, String> {
            let path = workdir.join(name);
            let text: String = ids.iter().map(|id| format!("{id}\n")).collect();
            std::fs::write(&path, text).map_err(|e| e.to_string())?;
            Ok(path.display().to_string())
        };
        Ok(Self {
            addr: addr.to_owned(),
            reader,
            actor,
            max_id: n.to_string(),
            intervention_bytes,
            equipements: equipements
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(","),
            measured_pool: write_ids("en_cours.txt", &en_cours)?,
            warmup_pool: write_ids("en_attente.txt", &en_attente)?,
            login_json: login_body(READER.0, READER.1),
        })
    }

    /// A load of the usual shape on `path` of the server.
    fn load(&self, script: &'static str, path: &str, env: Vec<(String, String)>) -> Load {
        Load {
            script,
            url: format!("http://{}{path}", self.addr),
            threads: THREADS,
            connections: CONNECTIONS,
            env,
        }
    }

    /// Every wrk scenario, in the order they run. The read scenarios run first, on the seeded
    /// (and, on PostgreSQL, vacuumed) data: right after the write scenarios' tens of thousands
    /// of rows, before autovacuum has passed, PostgreSQL's index-only scans go back to the heap
    /// (see docs/benchmarks.md).
    fn scenarios(&self) -> Vec<Scenario> {
        let reading = || env(&[("BENCH_TOKEN", self.reader.as_str())]);
        let by_id = || {
            env(&[
                ("BENCH_TOKEN", self.reader.as_str()),
                ("BENCH_MAX_ID", self.max_id.as_str()),
            ])
        };
        let scenario = |kind, name, load| Scenario {
            kind,
            name,
            load,
            warmup: None,
        };
        vec![
            scenario(
                Kind::Live,
                "`GET /live`",
                self.load("static.lua", "/live", vec![]),
            ),
            scenario(
                Kind::ById,
                "`GET /api/v1/interventions/{id}` (random ids)",
                self.load("by_id.lua", "/", by_id()),
            ),
            scenario(
                Kind::Page,
                "filtered, sorted page of 50",
                self.load("static.lua", PAGE_OF_50, reading()),
            ),
            scenario(
                Kind::Dashboard,
                "`GET /api/v1/dashboard/stats`",
                self.load("static.lua", "/api/v1/dashboard/stats", reading()),
            ),
            scenario(
                Kind::Create,
                "`POST /api/v1/interventions`",
                self.load(
                    "create.lua",
                    "/",
                    env(&[
                        ("BENCH_TOKEN", self.reader.as_str()),
                        ("BENCH_EQUIPEMENTS", self.equipements.as_str()),
                    ]),
                ),
            ),
            Scenario {
                kind: Kind::Lifecycle,
                name: "`POST /api/v1/interventions/{id}/suspendre` ↔ `reprendre`",
                load: self.load(
                    "lifecycle.lua",
                    "/",
                    env(&[
                        ("BENCH_TOKEN", self.actor.as_str()),
                        ("BENCH_IDS_FILE", self.measured_pool.as_str()),
                        ("BENCH_FIRST_ACTION", "suspendre"),
                    ]),
                ),
                warmup: Some(env(&[
                    ("BENCH_IDS_FILE", self.warmup_pool.as_str()),
                    ("BENCH_FIRST_ACTION", "reprendre"),
                ])),
            },
            scenario(
                Kind::Login,
                "`POST /api/v1/auth/token` (Argon2id)",
                self.load(
                    "static.lua",
                    "/api/v1/auth/token",
                    env(&[("BENCH_BODY", self.login_json.as_str())]),
                ),
            ),
            scenario(
                Kind::Mixed,
                "mixed: 80 % reads, 15 % creations, 5 % logins",
                self.load(
                    "mixed.lua",
                    "/",
                    env(&[
                        ("BENCH_TOKEN", self.reader.as_str()),
                        ("BENCH_MAX_ID", self.max_id.as_str()),
                        ("BENCH_PAGE", PAGE_OF_50),
                        ("BENCH_LOGIN_BODY", self.login_json.as_str()),
                        ("BENCH_EQUIPEMENTS", self.equipements.as_str()),
                    ]),
                ),
            ),
        ]
    }

    /// Reads during a login flood: 16 connections read by id while 16 others log in. Returns
    /// the row and the logins per second of the flood.
    fn reads_during_flood(
        &self,
        lua_dir: &Path,
        pid: u32,
        options: &Options,
    ) -> Result<(Row, f64), String> {
        crate::say("bench: reads during a login flood");
        let half = |mut load: Load| {
            load.threads = 1;
            load.connections = CONNECTIONS / 2;
            load
        };
        let flood = half(self.load(
            "static.lua",
            "/api/v1/auth/token",
            env(&[("BENCH_BODY", self.login_json.as_str())]),
        ));
        let reads = half(self.load(
            "by_id.lua",
            "/",
            env(&[
                ("BENCH_TOKEN", self.reader.as_str()),
                ("BENCH_MAX_ID", self.max_id.as_str()),
            ]),
        ));
        let flood_child = flood
            .command(lua_dir, options.duration + Duration::from_secs(2))
            .spawn();
        std::thread::sleep(Duration::from_secs(1));
        let rss = PeakRss::start(pid);
        let during = reads.run(lua_dir, options.duration);
        let peak_rss_kib = rss.finish();
        let flooded = wait_wrk(flood_child)?;
        let row = Row {
            kind: Kind::ReadsDuringFlood,
            scenario: format!(
                "`GET /api/v1/interventions/{{id}}` during a login flood ({:.0} logins/s, {} errors)",
                flooded.rps(),
                flooded.errors
            ),
            result: during?,
            peak_rss_kib,
        };
        Ok((row, flooded.rps()))
    }
}

pub(crate) fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}
