//! `bench-ceiling <bytes>`: the ceiling of `cargo xtask bench`, an actix-web server that answers
//! every `GET /` with one constant JSON body of the given size (that of a real intervention), on
//! 127.0.0.1 and a free port printed on the first line of stdout. Same framework, same worker
//! count as the product server, none of its work: what loopback HTTP costs on this machine.

use std::io::Write as _;

use actix_web::web::Bytes;
use actix_web::{App, HttpResponse, HttpServer, web};

/// `{"padding":"xxx…"}` of exactly `size` bytes (at least the 14 bytes of the empty object).
fn constant_json(size: usize) -> Bytes {
    let frame = r#"{"padding":""}"#.len();
    let padding = "x".repeat(size.saturating_sub(frame));
    Bytes::from(format!(r#"{{"padding":"{padding}"}}"#))
}

fn main() -> std::io::Result<()> {
    let size = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_200);
    let body = constant_json(size);
    // The product server's default: one worker per core.
    let workers = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    actix_web::rt::System::new().block_on(async move {
        let server = HttpServer::new(move || {
            let body = body.clone();
            App::new().route(
                "/",
                web::get().to(move || {
                    let body = body.clone();
                    async move {
                        HttpResponse::Ok()
                            .content_type("application/json")
                            .body(body)
                    }
                }),
            )
        })
        .workers(workers)
        .bind(("127.0.0.1", 0))?;
        let addr = server
            .addrs()
            .first()
            .copied()
            .ok_or_else(|| std::io::Error::other("no address bound"))?;
        let mut out = std::io::stdout();
        writeln!(out, "{addr}")?;
        out.flush()?;
        server.run().await
    })
}

#[cfg(test)]
mod tests {
    use super::constant_json;

    #[test]
    fn the_body_is_json_of_exactly_the_requested_size() {
        for size in [14, 15, 1_234] {
            let body = constant_json(size);
            assert_eq!(body.len(), size);
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert!(v["padding"].is_string());
        }
    }
}
