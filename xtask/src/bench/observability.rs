//! `cargo xtask bench observability`: the cost of metrics and of tracing on intervention reads.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::path::Path;
use std::time::Duration;

use super::client::{Conn, load, login_body, ms, percentile};
use super::scenarios::Backend;
use super::server::{run_seed, start_with};

/// Accepts OTLP/HTTP exports on 127.0.0.1 and discards them (200), so tracing can be measured
/// with a real exporter talking to a real endpoint. Returns the port.
pub(crate) fn discarding_collector() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            std::thread::spawn(move || {
                let Ok(mut out) = stream.try_clone() else {
                    return;
                };
                let mut reader = BufReader::new(stream);
                loop {
                    let mut length = 0usize;
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        let l = line.trim_end();
                        if l.is_empty() {
                            break;
                        }
                        if let Some((k, v)) = l.split_once(':')
                            && k.eq_ignore_ascii_case("content-length")
                        {
                            length = v.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0; length];
                    if reader.read_exact(&mut body).is_err()
                        || out
                            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                            .is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    Ok(port)
}

/// The cost of observability on `GET /api/v1/interventions/{id}` (SQLite): metrics off and
/// tracing off, metrics on, then metrics on with every request traced (ratio 1.0) and
/// exported to a local OTLP endpoint.
pub(crate) fn observability(
    target: &Path,
    interventions: usize,
    seconds: u64,
) -> Result<String, String> {
    let binary = target.join("release/erp");
    let workdir = std::env::temp_dir().join(format!("erp-bench-obs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&workdir);
    std::fs::create_dir_all(&workdir).map_err(|e| e.to_string())?;
    let quiet = Backend {
        name: "SQLite",
        env: vec![],
    };
    run_seed(&binary, &workdir, &quiet, interventions)?;
    let collector = discarding_collector()?;
    let endpoint = format!("http://127.0.0.1:{collector}/v1/traces");
    let variants: [(&str, Vec<(String, String)>); 3] = [
        (
            "metrics off, tracing off",
            vec![
                ("ERP__METRICS__ENABLED".into(), "false".into()),
                ("ERP__SCHEDULER__ENABLED".into(), "false".into()),
            ],
        ),
        (
            "metrics on, tracing off",
            vec![("ERP__SCHEDULER__ENABLED".into(), "false".into())],
        ),
        (
            "metrics on, tracing on (ratio 1.0, exported over OTLP/HTTP)",
            vec![
                ("ERP__SCHEDULER__ENABLED".into(), "false".into()),
                ("ERP__TRACING__ENABLED".into(), "true".into()),
                ("ERP__TRACING__ENDPOINT".into(), endpoint),
                ("ERP__TRACING__SAMPLING_RATIO".into(), "1.0".into()),
            ],
        ),
    ];
    let n = interventions.max(1);
    let mut rows = String::new();
    let mut baseline = None;
    for (name, env) in variants {
        let backend = Backend {
            name: "SQLite",
            env,
        };
        let (server, _) = start_with(&binary, &workdir, &backend)?;
        let addr = server.addr.clone();
        let mut conn = Conn::open(&addr)?;
        let (status, body) = conn.request(
            "POST",
            "/api/v1/auth/token",
            &[("Content-Type", "application/json")],
            &login_body("demo.responsable", "Demo#Responsable2026"),
        )?;
        if status != 200 {
            return Err(format!("login failed: {status} {body}"));
        }
        let v: serde_json::Value = serde_json::from_str(&body).map_err(|e| e.to_string())?;
        let header = format!("Bearer {}", v["access_token"].as_str().unwrap_or_default());
        let duration = Duration::from_secs(seconds);
        // Warm-up, then the measured phase.
        let h = header.clone();
        load(&addr, 32, Duration::from_secs(2), move |c, i| {
            let id = (i.wrapping_mul(2_654_435_761) % n) + 1;
            c.request(
                "GET",
                &format!("/api/v1/interventions/{id}"),
                &[("Authorization", h.as_str())],
                "",
            )
            .map(|(s, _)| s == 200)
        })?;
        let h = header.clone();
        let (latencies, errors) = load(&addr, 32, duration, move |c, i| {
            let id = (i.wrapping_mul(2_654_435_761) % n) + 1;
            c.request(
                "GET",
                &format!("/api/v1/interventions/{id}"),
                &[("Authorization", h.as_str())],
                "",
            )
            .map(|(s, _)| s == 200)
        })?;
        drop(server);
        let rps = latencies.len() as f64 / duration.as_secs_f64();
        let overhead = match baseline {
            None => {
                baseline = Some(rps);
                "—".to_owned()
            }
            Some(base) => format!("{:+.1} %", (base - rps) / base * 100.0),
        };
        rows.push_str(&format!(
            "| {name} | {rps:.0} | {} | {} | {errors} | {overhead} |\n",
            ms(percentile(&latencies, 50.0)),
            ms(percentile(&latencies, 99.0)),
        ));
    }
    let _ = std::fs::remove_dir_all(&workdir);
    Ok(format!(
        "`GET /api/v1/interventions/{{id}}` (random ids, {interventions} interventions, SQLite), 32 keep-alive clients, {seconds} s after a 2 s warm-up; overhead = throughput lost against the first row.\n\n\
         | Variant | requests/s | p50 ms | p99 ms | errors | overhead |\n|---|---|---|---|---|---|\n{rows}\n"
    ))
}
