//! `erp healthcheck`: GET `/live` on the configured port with nothing but the standard library,
//! so a container needs no curl. Exit 0 when it answers 200.

use std::io::{Read as _, Write as _};
use std::net::{TcpStream, ToSocketAddrs as _};
use std::time::Duration;

/// Checks `http://<host>:<port>/live`; `0.0.0.0` is probed on the loopback.
///
/// # Errors
/// A one-line reason: unreachable, timeout, or a status other than 200.
pub fn check(host: &str, port: u16, timeout: Duration) -> Result<(), String> {
    let host = if host == "0.0.0.0" || host == "::" {
        "127.0.0.1"
    } else {
        host
    };
    let addr = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}:{port}: {e}"))?
        .next()
        .ok_or_else(|| format!("no address for {host}:{port}"))?;
    let mut stream =
        TcpStream::connect_timeout(&addr, timeout).map_err(|e| format!("{addr}: {e}"))?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    stream
        .set_write_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    write!(
        stream,
        "GET /live HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut head = [0_u8; 64];
    let n = stream.read(&mut head).map_err(|e| format!("{addr}: {e}"))?;
    let status_line = String::from_utf8_lossy(&head[..n]);
    let status = status_line.split_whitespace().nth(1).unwrap_or_default();
    if status == "200" {
        Ok(())
    } else {
        Err(format!("/live answered {status:?}"))
    }
}
