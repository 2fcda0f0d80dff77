//! The entry points of `cargo xtask bench`: the harness (every scenario, both backends,
//! written to docs/benchmarks.md) and the separate measurements (`observability`,
//! `documents`, `scale`), each building the release binary first.

use std::path::Path;
use std::process::Command;

use super::plans::query_plans;
use super::report::{load_average, report};
use super::scenarios::{Backend, Options, backend};
use super::server::database_url;
use super::wrk::ensure_wrk;
use super::{documents, observability, scale};
use crate::{
    TaskResult, cargo, git_revision, python, run, say, say_plain, target_dir, workspace_root,
};

fn build_server() -> TaskResult {
    run(
        "build",
        cargo().args(["build", "--release", "--locked", "-p", "erp-server"]),
    )
}

pub(crate) fn observability(seconds: u64) -> TaskResult {
    build_server()?;
    let table = observability::observability(&target_dir(), 2_000, seconds)?;
    say_plain(&table);
    write_bench_section(
        "Observability overhead (`cargo xtask bench observability`)",
        &table,
    )
}

pub(crate) fn documents(binary: Option<&Path>, clients: usize) -> TaskResult {
    let workdir = std::env::temp_dir().join(format!("erp-bench-docs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&workdir);
    std::fs::create_dir_all(&workdir).map_err(|e| e.to_string())?;
    let table = match binary {
        Some(other) => documents::run(other, &workdir, None, clients),
        None => build_server().and_then(|()| {
            let moto = python::moto_server()?;
            documents::run(
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

pub(crate) fn scale(postgres: &str, sizes: &[usize], seconds: u64) -> TaskResult {
    if sizes.is_empty() || sizes.windows(2).any(|w| w[0] >= w[1]) {
        return Err("--sizes must be increasing, e.g. 1000,100000,1000000".into());
    }
    build_server()?;
    ensure_wrk()?;
    let workdir = std::env::temp_dir().join(format!("erp-bench-scale-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&workdir);
    std::fs::create_dir_all(&workdir).map_err(|e| e.to_string())?;
    let options = Options {
        interventions: sizes[0],
        warmup: std::time::Duration::from_secs(3),
        duration: std::time::Duration::from_secs(seconds),
        quick: false,
    };
    let table = scale::run(
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

pub(crate) fn all(
    postgres: Option<String>,
    quick: bool,
    interventions: Option<usize>,
    seconds: Option<u64>,
) -> TaskResult {
    let load_before = load_average();
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
    ensure_wrk()?;
    let options = Options {
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
    let sqlite = Backend {
        name: "SQLite",
        env: vec![],
    };
    let mut reports = vec![backend(&target, &lua, &sqlite, &options, &mut ceiling)?];
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
        let url = database_url(&admin_url, &name);
        let pg = Backend {
            name: "PostgreSQL",
            env: vec![("ERP__DATABASE__URL".into(), url.clone())],
        };
        let mut result = backend(&target, &lua, &pg, &options, &mut ceiling);
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
            let table = scale::run(
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
    let mut report = report(&options, &revision, &date, &load_before, &ceiling, &reports);
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
