//! `cargo xtask load-test`: drives a workload against a server that is already running (a local
//! `cargo run`, a compose stack, staging) and reports throughput and latency per request kind.
//! Unlike `cargo xtask bench`, it starts nothing and seeds nothing: it measures what is there.

use std::sync::Arc;
use std::time::Duration;

use crate::bench::{Conn, load_tagged, report_row};

/// What the workload does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Profile {
    /// Reads only: interventions by id, a filtered page of 50, the dashboard (no data written).
    Read,
    /// 80 % reads, 15 % writes (creates interventions titled `load-test …`), 5 % logins.
    Mixed,
}

/// Options of one run.
#[derive(Debug)]
pub struct Options {
    pub url: String,
    pub username: String,
    pub password: String,
    pub profile: Profile,
    pub seconds: u64,
    pub connections: usize,
    pub max_p99_ms: Option<f64>,
}

/// Request kinds, in report order.
const KINDS: [&str; 5] = [
    "GET /api/v1/interventions/{id}",
    "GET /api/v1/interventions (filtered page of 50)",
    "GET /api/v1/dashboard/stats",
    "POST /api/v1/interventions",
    "POST /api/v1/auth/token",
];

/// `host:port` of an `http://` URL (TLS is terminated in front of the server, never by it).
fn authority(url: &str) -> Result<String, String> {
    let rest = url.strip_prefix("http://").ok_or_else(|| {
        format!("{url}: only http:// URLs are supported (run it behind TLS termination)")
    })?;
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty() {
        return Err(format!("{url}: no host"));
    }
    Ok(if host.contains(':') {
        host.to_owned()
    } else {
        format!("{host}:80")
    })
}

fn json(body: &str) -> Result<serde_json::Value, String> {
    serde_json::from_str(body).map_err(|e| format!("not JSON ({e}): {body}"))
}

fn login_body(username: &str, password: &str) -> String {
    serde_json::json!({"username": username, "password": password}).to_string()
}

/// Picks which kind request `i` of a client is: the profile's mix, spread evenly (i % 20).
fn kind_of(profile: Profile, i: usize) -> usize {
    let slot = i % 20;
    match profile {
        Profile::Read => slot % 3,
        // 16 reads (80 %), 3 writes (15 %), 1 login (5 %) in every 20 requests.
        Profile::Mixed => match slot {
            0..=7 => 0,
            8..=12 => 1,
            13..=15 => 2,
            16..=18 => 3,
            _ => 4,
        },
    }
}

/// Runs the load test and returns the Markdown report.
///
/// # Errors
/// When the server cannot be reached or logged into, has no data to read, or a gate fails
/// (any error, or p99 above `max_p99_ms`).
pub fn run(options: &Options) -> Result<String, String> {
    let addr = authority(&options.url)?;
    let mut conn = Conn::open(&addr).map_err(|e| format!("{addr}: {e}"))?;
    let (status, body) = conn.request(
        "POST",
        "/api/v1/auth/token",
        &[("Content-Type", "application/json")],
        &login_body(&options.username, &options.password),
    )?;
    if status != 200 {
        return Err(format!(
            "login as {} failed: {status} {body}",
            options.username
        ));
    }
    let bearer = format!(
        "Bearer {}",
        json(&body)?["access_token"].as_str().unwrap_or_default()
    );
    let auth = [("Authorization", bearer.as_str())];
    let (status, body) = conn.request("GET", "/api/v1/interventions?limit=200", &auth, "")?;
    if status != 200 {
        return Err(format!("cannot list interventions: {status} {body}"));
    }
    let ids: Vec<i64> = json(&body)?
        .as_array()
        .map(|items| items.iter().filter_map(|i| i["id"].as_i64()).collect())
        .unwrap_or_default();
    if ids.is_empty() {
        return Err(
            "no intervention visible to this account: seed data first (`erp seed-demo`)".into(),
        );
    }
    let equipement_id = if options.profile == Profile::Mixed {
        let (status, body) = conn.request("GET", "/api/v1/equipements?limit=1", &auth, "")?;
        let id = json(&body)?[0]["id"].as_i64();
        match (status, id) {
            (200, Some(id)) => id,
            _ => {
                return Err(format!(
                    "no équipement to create interventions on: {status} {body}"
                ));
            }
        }
    } else {
        0
    };
    drop(conn);

    let shared = Arc::new((
        bearer.clone(),
        ids,
        login_body(&options.username, &options.password),
    ));
    let profile = options.profile;
    let (latencies, errors) = load_tagged(
        &addr,
        options.connections,
        Duration::from_secs(options.seconds),
        KINDS.len(),
        move |c, i| {
            let (bearer, ids, login) = &*shared;
            let auth = [("Authorization", bearer.as_str())];
            let kind = kind_of(profile, i);
            let outcome = (|| -> Result<bool, String> {
                Ok(match kind {
                0 => {
                    let id = ids[i.wrapping_mul(2_654_435_761) % ids.len()];
                    c.request("GET", &format!("/api/v1/interventions/{id}"), &auth, "")?.0 == 200
                }
                1 => {
                    c.request(
                        "GET",
                        "/api/v1/interventions?statut=ouverte,affectee,en_cours&sort=-date_creation&limit=50",
                        &auth,
                        "",
                    )?
                    .0 == 200
                }
                2 => c.request("GET", "/api/v1/dashboard/stats", &auth, "")?.0 == 200,
                3 => {
                    let body = serde_json::json!({
                        "titre": format!("load-test {i}"),
                        "type": "corrective",
                        "equipement_id": equipement_id,
                    })
                    .to_string();
                    let headers = [auth[0], ("Content-Type", "application/json")];
                    c.request("POST", "/api/v1/interventions", &headers, &body)?.0 == 201
                }
                _ => {
                    let headers = [("Content-Type", "application/json")];
                    c.request("POST", "/api/v1/auth/token", &headers, login)?.0 == 200
                }
                })
            })();
            (kind, outcome)
        },
    )?;

    let secs = Duration::from_secs(options.seconds).as_secs_f64();
    let mut report = format!(
        "### load test against {} — profile {}, {} connections, {} s\n\n\
         | Request | requests/s | p50 ms | p95 ms | p99 ms | errors |\n|---|---|---|---|---|---|\n",
        options.url,
        match options.profile {
            Profile::Read => "read",
            Profile::Mixed => "mixed",
        },
        options.connections,
        options.seconds
    );
    let mut all = Vec::new();
    let mut total_errors = 0;
    for (kind, name) in KINDS.iter().enumerate() {
        if latencies[kind].is_empty() && errors[kind] == 0 {
            continue;
        }
        report.push_str(&report_row(
            &format!("`{name}`"),
            &latencies[kind],
            errors[kind],
            secs,
        ));
        all.extend_from_slice(&latencies[kind]);
        total_errors += errors[kind];
    }
    all.sort();
    report.push_str(&report_row("**all**", &all, total_errors, secs));
    let p99 = crate::bench::percentile(&all, 99.0).as_secs_f64() * 1_000.0;
    if total_errors > 0 {
        return Err(format!("{report}\n{total_errors} request(s) failed"));
    }
    if let Some(max) = options.max_p99_ms
        && p99 > max
    {
        return Err(format!(
            "{report}\np99 {p99:.2} ms is above the gate of {max} ms"
        ));
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authority_takes_host_and_port_and_defaults_to_80() {
        assert_eq!(
            authority("http://127.0.0.1:8000").as_deref(),
            Ok("127.0.0.1:8000")
        );
        assert_eq!(
            authority("http://erp.local/").as_deref(),
            Ok("erp.local:80")
        );
        assert!(authority("https://erp.example").is_err());
        assert!(authority("http://").is_err());
    }

    #[test]
    fn mixed_profile_is_80_15_5() {
        let mut counts = [0_usize; 5];
        for i in 0..2_000 {
            counts[kind_of(Profile::Mixed, i)] += 1;
        }
        assert_eq!(counts[0] + counts[1] + counts[2], 1_600);
        assert_eq!(counts[3], 300);
        assert_eq!(counts[4], 100);
        let reads: Vec<usize> = (0..2_000).map(|i| kind_of(Profile::Read, i)).collect();
        assert!(reads.iter().all(|&k| k < 3));
    }
}
