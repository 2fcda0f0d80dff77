//! The Markdown report of the harness: the tables, the targets of issue 8 met or not, the
//! machine and the run.

use std::time::Duration;

use super::scenarios::{BackendReport, CONNECTIONS, Kind, Options, Row, THREADS};
use super::wrk::WrkResult;

pub(crate) fn mib(kib: u64) -> String {
    format!("{:.1}", kib as f64 / 1024.0)
}

pub(crate) fn table_row(row: &Row, ceiling_rps: f64) -> String {
    let r = &row.result;
    let share = if ceiling_rps > 0.0 {
        format!("{:.1} %", r.rps() / ceiling_rps * 100.0)
    } else {
        "—".into()
    };
    format!(
        "| {} | {:.0} | {share} | {:.2} | {:.2} | {:.2} | {} | {} |\n",
        row.scenario,
        r.rps(),
        r.p50_ms,
        r.p95_ms,
        r.p99_ms,
        r.errors,
        mib(row.peak_rss_kib)
    )
}

pub(crate) fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "**not met**" }
}

/// The targets of issue 8 for one backend, each met or not with the measured figure.
pub(crate) fn targets(b: &BackendReport, ceiling_rps: f64) -> String {
    let row = |kind| b.rows.iter().find(|r| r.kind == kind).map(|r| &r.result);
    let share = |r: &WrkResult| {
        if ceiling_rps > 0.0 {
            r.rps() / ceiling_rps * 100.0
        } else {
            0.0
        }
    };
    let mut out = String::from(
        "
Targets (issue 8):

",
    );
    if let Some(r) = row(Kind::ById) {
        let floor = if b.name == "SQLite" { 8_000.0 } else { 5_000.0 };
        out.push_str(&format!(
            "- `GET /interventions/{{id}}` ≥ {floor:.0} req/s, p99 < 10 ms, ≥ 25 % of the ceiling: {} ({:.0} req/s, p99 {:.2} ms, {:.1} %)\n",
            verdict(r.rps() >= floor && r.p99_ms < 10.0 && share(r) >= 25.0),
            r.rps(),
            r.p99_ms,
            share(r)
        ));
    }
    if let Some(r) = row(Kind::Page) {
        out.push_str(&format!(
            "- Page of 50 ≥ 2 000 req/s, p99 < 25 ms: {} ({:.0} req/s, p99 {:.2} ms)\n",
            verdict(r.rps() >= 2_000.0 && r.p99_ms < 25.0),
            r.rps(),
            r.p99_ms
        ));
    }
    if let Some(r) = row(Kind::Mixed) {
        out.push_str(&format!(
            "- Mixed workload without errors, p99 < 30 ms: {} ({} errors, p99 {:.2} ms)\n",
            verdict(r.errors == 0 && r.p99_ms < 30.0),
            r.errors,
            r.p99_ms
        ));
    }
    if let Some(r) = row(Kind::ReadsDuringFlood) {
        out.push_str(&format!(
            "- Reads during a login flood p99 < 20 ms: {} (p99 {:.2} ms at {:.0} logins/s)\n",
            verdict(r.p99_ms < 20.0),
            r.p99_ms,
            b.flood_logins_per_s
        ));
    }
    if let Some(worst) = b.rows.iter().max_by_key(|r| r.peak_rss_kib) {
        out.push_str(&format!(
            "- Peak RSS < 80 MB in every scenario: {} (highest {} MB, {})\n",
            verdict(worst.peak_rss_kib < 80 * 1024),
            mib(worst.peak_rss_kib),
            worst.scenario
        ));
    }
    out.push_str(&format!(
        "- Idle RSS < 30 MB: {} ({} MB)\n",
        verdict(b.idle_rss_kib < 30 * 1024),
        mib(b.idle_rss_kib)
    ));
    if b.name == "SQLite" {
        let median = median_ms(&b.startups);
        out.push_str(&format!(
            "- Start-up to `/ready` < 300 ms on an existing SQLite database: {} (median {median:.0} ms)\n",
            verdict(median < 300.0)
        ));
    }
    out
}

pub(crate) fn median_ms(durations: &[Duration]) -> f64 {
    let mut ms: Vec<f64> = durations
        .iter()
        .map(|d| d.as_secs_f64() * 1_000.0)
        .collect();
    ms.sort_by(f64::total_cmp);
    ms.get(ms.len() / 2).copied().unwrap_or(0.0)
}

pub(crate) const TABLE_HEAD: &str = "| Scenario | req/s | % of ceiling | p50 ms | p95 ms | p99 ms | errors | peak RSS MB |\n|---|---|---|---|---|---|---|---|\n";

/// The machine, as `/proc` describes it.
pub(crate) fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cores = cpuinfo
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name")?.split_once(':'))
        .map_or("unknown CPU".to_owned(), |(_, m)| m.trim().to_owned());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .map_or("unknown".to_owned(), |kib| {
            format!("{:.1} GiB", kib as f64 / 1024.0 / 1024.0)
        });
    format!("{cores} cores ({model}), {memory} memory")
}

/// `/proc/loadavg`'s three averages.
pub(crate) fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The whole report in Markdown (the generated part of docs/benchmarks.md).
pub(crate) fn report(
    options: &Options,
    revision: &str,
    date: &str,
    load_before: &str,
    ceiling: &(Row, usize),
    backends: &[BackendReport],
) -> String {
    let (ceiling_row, bytes) = ceiling;
    let ceiling_rps = ceiling_row.result.rps();
    let mode = if options.quick {
        format!(
            "`--quick`: {} interventions instead of 100 000, {} s warm-up and {} s per scenario instead of 3 s and 10 s",
            options.interventions,
            options.warmup.as_secs(),
            options.duration.as_secs()
        )
    } else {
        format!(
            "full: {} interventions, {} s warm-up and {} s per scenario",
            options.interventions,
            options.warmup.as_secs(),
            options.duration.as_secs()
        )
    };
    let mut out = format!(
        "Generated by `cargo xtask bench` — do not edit between the markers; notes go below.\n\n\
         - Date: {date}\n\
         - Machine: {} (load average before the run: {load_before}; after: {})\n\
         - Git revision: {revision}\n\
         - Run: {mode}\n\
         - Load: `wrk -t{THREADS} -c{CONNECTIONS}` over loopback on the same machine (scripts in \
         xtask/bench/); errors = non-2xx answers + socket errors; release build; the server in the test \
         environment with `info` access logs (JSON), metrics on, rate limit raised out of the way\n\
         - Ceiling: a constant {bytes}-byte JSON answer (the size of a real `GET /api/v1/interventions/{{id}}` \
         body) from actix-web with the same worker count: **{ceiling_rps:.0} req/s**, p50 {:.2} ms, p99 {:.2} ms, \
         peak RSS {} MB\n",
        machine(),
        load_average(),
        ceiling_row.result.p50_ms,
        ceiling_row.result.p99_ms,
        mib(ceiling_row.peak_rss_kib),
    );
    for b in backends {
        let runs = b
            .startups
            .iter()
            .map(|d| format!("{:.0}", d.as_secs_f64() * 1_000.0))
            .collect::<Vec<_>>()
            .join(", ");
        let median = median_ms(&b.startups);
        out.push_str(&format!(
            "\n## {} — {} interventions (seeded through the use cases in {:.0} s)\n\n{TABLE_HEAD}",
            b.name,
            options.interventions,
            b.seeding.as_secs_f64()
        ));
        for row in &b.rows {
            out.push_str(&table_row(row, ceiling_rps));
        }
        out.push_str(&format!(
            "\n- Idle RSS after start: {} MB.\n- Start-up (spawn → first 200 on `/ready`) on the existing database: median {median:.0} ms (runs: {runs} ms).\n- Login flood row: 16 connections read by id (`wrk -t1 -c16`) while 16 others log in (`wrk -t1 -c16`, {:.0} logins/s).\n",
            mib(b.idle_rss_kib),
            b.flood_logins_per_s,
        ));
        if b.name == "PostgreSQL" {
            out.push_str("- Peak RSS is the server process's only (PostgreSQL's own processes are not counted).\n");
        }
        out.push_str(&error_notes(&b.rows));
        out.push_str(&targets(b, ceiling_rps));
    }
    out
}

/// One line per scenario with errors: how many, and the first one wrk's script saw (a non-2xx
/// answer's status and body, else the socket errors by kind).
pub(crate) fn error_notes(rows: &[Row]) -> String {
    rows.iter()
        .filter(|r| r.result.errors > 0)
        .map(|r| {
            format!(
                "- Errors in {}: {}, the first: {}.\n",
                r.scenario,
                r.result.errors,
                r.result.first_error.as_deref().unwrap_or("(none recorded)")
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_show_the_share_of_the_ceiling() {
        let row = Row {
            kind: Kind::Live,
            scenario: "`GET /live`".into(),
            result: WrkResult {
                requests: 20_000,
                seconds: 10.0,
                p50_ms: 1.0,
                p95_ms: 2.0,
                p99_ms: 3.0,
                errors: 0,
                first_error: None,
            },
            peak_rss_kib: 20_480,
        };
        assert_eq!(
            table_row(&row, 8_000.0),
            "| `GET /live` | 2000 | 25.0 % | 1.00 | 2.00 | 3.00 | 0 | 20.0 |\n"
        );
    }

    fn row(kind: Kind, rps: u64, p99_ms: f64, errors: u64, peak_mib: u64) -> Row {
        Row {
            kind,
            scenario: format!("{kind:?}"),
            result: WrkResult {
                requests: rps * 10,
                seconds: 10.0,
                p50_ms: 1.0,
                p95_ms: 2.0,
                p99_ms,
                errors,
                first_error: None,
            },
            peak_rss_kib: peak_mib * 1024,
        }
    }

    #[test]
    fn each_target_is_met_or_not_with_its_figure() {
        let report = BackendReport {
            name: "SQLite",
            seeding: Duration::from_secs(1),
            rows: vec![
                row(Kind::ById, 9_000, 8.0, 0, 40),
                row(Kind::Page, 2_500, 30.0, 0, 50),
                row(Kind::Mixed, 1_000, 20.0, 1, 90),
                row(Kind::ReadsDuringFlood, 3_000, 12.0, 0, 60),
            ],
            idle_rss_kib: 20 * 1024,
            startups: vec![
                Duration::from_millis(400),
                Duration::from_millis(90),
                Duration::from_millis(100),
            ],
            flood_logins_per_s: 50.0,
        };
        let text = targets(&report, 30_000.0);
        assert!(text.contains("≥ 8000 req/s, p99 < 10 ms, ≥ 25 % of the ceiling: met (9000 req/s, p99 8.00 ms, 30.0 %)"), "{text}");
        assert!(
            text.contains(
                "Page of 50 ≥ 2 000 req/s, p99 < 25 ms: **not met** (2500 req/s, p99 30.00 ms)"
            ),
            "{text}"
        );
        assert!(
            text.contains("without errors, p99 < 30 ms: **not met** (1 errors"),
            "{text}"
        );
        assert!(
            text.contains("login flood p99 < 20 ms: met (p99 12.00 ms at 50 logins/s)"),
            "{text}"
        );
        assert!(
            text.contains("every scenario: **not met** (highest 90.0 MB, Mixed)"),
            "{text}"
        );
        assert!(text.contains("Idle RSS < 30 MB: met (20.0 MB)"), "{text}");
        assert!(
            text.contains("SQLite database: met (median 100 ms)"),
            "{text}"
        );
        // PostgreSQL has its own floor and no start-up target.
        let pg = BackendReport {
            name: "PostgreSQL",
            ..report
        };
        let text = targets(&pg, 30_000.0);
        assert!(text.contains("≥ 5000 req/s"), "{text}");
        assert!(!text.contains("Start-up"), "{text}");
    }

    #[test]
    fn scenarios_with_errors_say_which_came_first() {
        let mut timed_out = row(Kind::Mixed, 60, 4_000.0, 8, 70);
        timed_out.result.first_error =
            Some("socket errors: 0 connect, 0 read, 0 write, 8 timeout".into());
        let rows = [row(Kind::ById, 9_000, 8.0, 0, 40), timed_out];
        assert_eq!(
            error_notes(&rows),
            "- Errors in Mixed: 8, the first: socket errors: 0 connect, 0 read, 0 write, 8 timeout.\n"
        );
    }
}
