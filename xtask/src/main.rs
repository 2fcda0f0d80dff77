//! Project automation: `cargo xtask <command>`. Never a dependency of the product.
//!
//! This file is the command line and its dispatch; each task lives in its own module.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod actions;
mod bench;
mod checks;
mod deploy;
mod keygen;
mod layering;
mod load_test;
mod monitoring;
mod openapi;
mod python;
mod quality;
mod structure;
mod testing;
mod util;

use testing::postgres_for_tests;
use util::{TaskResult, cargo, git_revision, run, say, say_plain, target_dir, workspace_root};

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
    /// The structure of the workspace crates under crates/: import cycles between the files
    /// of one crate (`use crate::…`, `super::…` and paths alike, test modules left out) and
    /// production source files over 700 lines (lines of `#[cfg(test)]` items not counted).
    /// Fails on any finding; part of `lint`.
    Structure,
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Task::Ci { postgres } => lint().and_then(|()| testing::test(postgres)),
        Task::Lint => lint(),
        Task::Test { postgres } => testing::test(postgres),
        Task::Layering => layering::check(),
        Task::Monitoring => monitoring::check(),
        Task::Manifests => deploy::check(),
        Task::Actions => actions::check(),
        Task::Structure => structure::check(),
        Task::Keygen { out } => keygen::keygen(&out),
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
        } => bench::harness::documents(binary.as_deref(), clients),
        Task::Bench {
            extra: Some(BenchExtra::Observability { seconds }),
            ..
        } => bench::harness::observability(seconds),
        Task::Bench {
            extra:
                Some(BenchExtra::Scale {
                    postgres,
                    sizes,
                    seconds,
                }),
            ..
        } => bench::harness::scale(&postgres, &sizes, seconds),
        Task::Bench {
            extra: None,
            postgres,
            quick,
            interventions,
            seconds,
        } => bench::harness::all(postgres, quick, interventions, seconds),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            say(&format!("FAILED: {e}"));
            ExitCode::FAILURE
        }
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
    layering::check()?;
    structure::check()?;
    monitoring::check()?;
    deploy::check()?;
    actions::check()?;
    openapi::document(true)
}
