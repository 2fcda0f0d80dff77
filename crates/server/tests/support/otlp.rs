//! A real OTLP/HTTP receiver on 127.0.0.1 for the tracing tests: it accepts
//! `POST /v1/traces` (protobuf), answers 200, and decodes the spans with a small protobuf
//! wire-format reader (the OTLP trace schema's field numbers; no generated code needed).

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::sync::mpsc::{Receiver, channel};

/// One decoded span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    /// Hex trace id.
    pub trace_id: String,
    /// Hex span id.
    pub span_id: String,
    /// Hex parent span id ("" for a root).
    pub parent_span_id: String,
    /// Span name.
    pub name: String,
    /// String attributes (key, value).
    pub attributes: Vec<(String, String)>,
}

/// Starts the receiver: (port, spans as they arrive).
pub fn start() -> (u16, Receiver<Span>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
    let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let tx = tx.clone();
            std::thread::spawn(move || {
                let mut out = match stream.try_clone() {
                    Ok(s) => s,
                    Err(_) => return,
                };
                let mut reader = BufReader::new(stream);
                loop {
                    let mut length = 0usize;
                    let mut line = String::new();
                    // Request line, then headers up to the blank line.
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
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
                    if reader.read_exact(&mut body).is_err() {
                        return;
                    }
                    for span in decode_request(&body) {
                        let _ = tx.send(span);
                    }
                    let _ = out.write_all(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: 0\r\n\r\n",
                    );
                }
            });
        }
    });
    (port, rx)
}

/// (field number, wire type, payload) of each field of a message.
fn fields(mut buf: &[u8]) -> Vec<(u64, u8, &[u8])> {
    fn varint(buf: &mut &[u8]) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let (&b, rest) = buf.split_first()?;
            *buf = rest;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }
    let mut out = Vec::new();
    while !buf.is_empty() {
        let Some(key) = varint(&mut buf) else { break };
        let (number, wire) = (key >> 3, u8::try_from(key & 7).unwrap_or(7));
        let payload: &[u8] = match wire {
            0 => {
                let start = buf;
                if varint(&mut buf).is_none() {
                    break;
                }
                &start[..start.len() - buf.len()]
            }
            1 | 5 => {
                let n = if wire == 1 { 8 } else { 4 };
                if buf.len() < n {
                    break;
                }
                let (p, rest) = buf.split_at(n);
                buf = rest;
                p
            }
            2 => {
                let Some(len) = varint(&mut buf).and_then(|l| usize::try_from(l).ok()) else {
                    break;
                };
                if buf.len() < len {
                    break;
                }
                let (p, rest) = buf.split_at(len);
                buf = rest;
                p
            }
            _ => break,
        };
        out.push((number, wire, payload));
    }
    out
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// ExportTraceServiceRequest{1: ResourceSpans{2: ScopeSpans{2: Span}}}.
fn decode_request(body: &[u8]) -> Vec<Span> {
    let mut spans = Vec::new();
    for (n, _, resource_spans) in fields(body) {
        if n != 1 {
            continue;
        }
        for (n, _, scope_spans) in fields(resource_spans) {
            if n != 2 {
                continue;
            }
            for (n, _, span) in fields(scope_spans) {
                if n == 2 {
                    spans.push(decode_span(span));
                }
            }
        }
    }
    spans
}

/// Span{1 trace_id, 2 span_id, 4 parent_span_id, 5 name, 9 attributes: KeyValue{1 key,
/// 2 AnyValue{1 string_value}}}.
fn decode_span(buf: &[u8]) -> Span {
    let mut span = Span {
        trace_id: String::new(),
        span_id: String::new(),
        parent_span_id: String::new(),
        name: String::new(),
        attributes: Vec::new(),
    };
    for (n, _, p) in fields(buf) {
        match n {
            1 => span.trace_id = hex(p),
            2 => span.span_id = hex(p),
            4 => span.parent_span_id = hex(p),
            5 => span.name = String::from_utf8_lossy(p).into_owned(),
            9 => {
                let mut key = String::new();
                let mut value = String::new();
                for (n, _, p) in fields(p) {
                    match n {
                        1 => key = String::from_utf8_lossy(p).into_owned(),
                        2 => {
                            for (n, wire, p) in fields(p) {
                                if n == 1 && wire == 2 {
                                    value = String::from_utf8_lossy(p).into_owned();
                                }
                            }
                        }
                        _ => {}
                    }
                }
                span.attributes.push((key, value));
            }
            _ => {}
        }
    }
    span
}
