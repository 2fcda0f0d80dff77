//! The scale check of `cargo xtask bench --postgres URL`: the filtered page of 50 and the
//! dashboard at 1 000, 100 000 and 1 000 000 interventions on PostgreSQL.
//!
//! The first size is seeded through the use cases (`erp seed-demo`). Larger sizes are reached
//! by copying those interventions inside PostgreSQL — every column, with new ids, and their
//! history rows — so every copy is a row the use cases wrote, checked again by the schema's
//! constraints and foreign keys on insert; then `VACUUM ANALYZE`, as autovacuum would.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use super::client::login;
use super::scenarios::{Backend, CONNECTIONS, Kind, Options, PAGE_OF_50, READER, THREADS, measure};
use super::server::{database_url, run_seed, start_with};
use super::wrk::{Load, WrkResult};

/// `psql -Atc sql` on `url`; its output, trimmed.
fn psql(url: &str, sql: &str) -> Result<String, String> {
    let out = Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-Atqc", sql])
        .output()
        .map_err(|e| format!("psql: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "psql failed on `{}`: {}",
            sql.chars().take(120).collect::<String>(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// The columns of `table` other than `id`, quoted, in order.
fn columns_but_id(url: &str, table: &str) -> Result<String, String> {
    psql(
        url,
        &format!(
            "SELECT string_agg(quote_ident(column_name), ',' ORDER BY ordinal_position) \
             FROM information_schema.columns WHERE table_schema = 'public' \
             AND table_name = '{table}' AND column_name <> 'id'"
        ),
    )
}

/// Copies the interventions with ids `1..=base` (and their history) until ids reach `target`.
fn grow(url: &str, base: i64, from: i64, target: i64) -> Result<(), String> {
    let cols = columns_but_id(url, "interventions")?;
    let history = columns_but_id(url, "historiques_interventions")?;
    let history_select = history
        .split(',')
        .map(|c| {
            if c == "intervention_id" {
                format!("h.intervention_id + g * {base}")
            } else {
                format!("h.{c}")
            }
        })
        .collect::<Vec<_>>()
        .join(",");
    let first = from / base;
    let last = (target + base - 1) / base;
    psql(
        url,
        &format!(
            "BEGIN; \
             INSERT INTO interventions (id,{cols}) \
               SELECT i.id + g * {base}, {select} FROM interventions i \
               CROSS JOIN generate_series({first}, {last}) g \
               WHERE i.id <= {base} AND i.id + g * {base} > {from} AND i.id + g * {base} <= {target}; \
             INSERT INTO historiques_interventions ({history}) \
               SELECT {history_select} FROM historiques_interventions h \
               CROSS JOIN generate_series({first}, {last}) g \
               WHERE h.intervention_id <= {base} AND h.intervention_id + g * {base} > {from} \
               AND h.intervention_id + g * {base} <= {target}; \
             SELECT setval(pg_get_serial_sequence('interventions', 'id'), (SELECT max(id) FROM interventions)); \
             COMMIT;",
            select = cols
                .split(',')
                .map(|c| format!("i.{c}"))
                .collect::<Vec<_>>()
                .join(","),
        ),
    )?;
    psql(url, "VACUUM ANALYZE").map(drop)
}

/// Runs the check on a database created and dropped here; returns the Markdown section.
pub fn run(
    binary: &Path,
    workdir: &Path,
    lua_dir: &Path,
    admin_url: &str,
    sizes: &[usize],
    options: &Options,
) -> Result<String, String> {
    let name = format!("erp_scale_{}", std::process::id());
    psql(admin_url, &format!("CREATE DATABASE {name}"))?;
    let url = database_url(admin_url, &name);
    let result = measure_sizes(binary, workdir, lua_dir, &url, sizes, options);
    let _ = psql(
        admin_url,
        &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
    );
    result
}

fn measure_sizes(
    binary: &Path,
    workdir: &Path,
    lua_dir: &Path,
    url: &str,
    sizes: &[usize],
    options: &Options,
) -> Result<String, String> {
    let backend = Backend {
        name: "PostgreSQL",
        env: vec![("ERP__DATABASE__URL".into(), url.to_owned())],
    };
    let seeded = sizes.first().copied().unwrap_or(1_000);
    crate::say(&format!(
        "bench: scale: seeding {seeded} interventions through the use cases"
    ));
    run_seed(binary, workdir, &backend, seeded)?;
    psql(url, "VACUUM ANALYZE")?;
    let base: i64 = psql(url, "SELECT max(id) FROM interventions")?
        .parse()
        .map_err(|e| format!("max(id): {e}"))?;
    let mut rows = String::new();
    let mut current = base;
    for &size in sizes {
        let size = i64::try_from(size).map_err(|e| e.to_string())?;
        if size > current {
            crate::say(&format!("bench: scale: copying up to {size} interventions"));
            let started = Instant::now();
            grow(url, base, current, size)?;
            crate::say(&format!(
                "bench: scale: {size} reached in {:.0} s",
                started.elapsed().as_secs_f64()
            ));
            current = size;
        }
        let count = psql(url, "SELECT count(*) FROM interventions")?;
        let (server, _) = start_with(binary, workdir, &backend)?;
        let token = login(&server.addr, READER)?;
        let load = |path: &str| Load {
            script: "static.lua",
            url: format!("http://{}{path}", server.addr),
            threads: THREADS,
            connections: CONNECTIONS,
            env: vec![("BENCH_TOKEN".into(), token.clone())],
        };
        let page = measure(
            lua_dir,
            server.pid(),
            Kind::Page,
            &format!("scale {count}: page of 50"),
            &load(PAGE_OF_50),
            None,
            options,
        )?;
        let dashboard = measure(
            lua_dir,
            server.pid(),
            Kind::Dashboard,
            &format!("scale {count}: dashboard"),
            &load("/api/v1/dashboard/stats"),
            None,
            options,
        )?;
        let cell = |r: &WrkResult| {
            format!(
                "{:.0} | {:.2} | {:.2} | {}",
                r.rps(),
                r.p50_ms,
                r.p99_ms,
                r.errors
            )
        };
        rows.push_str(&format!(
            "| {count} | {} | {} |\n",
            cell(&page.result),
            cell(&dashboard.result)
        ));
    }
    Ok(format!(
        "| Interventions | page of 50 req/s | p50 ms | p99 ms | errors | dashboard req/s | p50 ms | p99 ms | errors |\n\
         |---|---|---|---|---|---|---|---|---|\n{rows}"
    ))
}
