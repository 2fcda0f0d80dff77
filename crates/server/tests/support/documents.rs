//! Documents over real HTTP: an intervention to attach them to, multipart uploads, downloads.

#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers: failing loudly is the point"
)]

use std::io::Read as _;
use std::time::Duration;

use serde_json::Value;

pub const BOUNDARY: &str = "smoke-boundary-5e1f0c";

pub fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(30))
        .build()
}

pub fn post_json(base: &str, path: &str, token: &str, body: Value) -> Value {
    agent()
        .post(&format!("{base}{path}"))
        .set("Authorization", &format!("Bearer {token}"))
        .send_json(body)
        .unwrap()
        .into_json()
        .unwrap()
}

/// An intervention to attach documents to.
pub fn intervention(base: &str, token: &str) -> i64 {
    let e = post_json(
        base,
        "/api/v1/equipements",
        token,
        serde_json::json!({"nom": "Compresseur", "type": "compresseur", "localisation": "Atelier"}),
    );
    let i = post_json(
        base,
        "/api/v1/interventions",
        token,
        serde_json::json!({"titre": "Révision", "type": "preventive", "equipement_id": e["id"]}),
    );
    i["id"].as_i64().unwrap()
}

pub fn multipart_file(name: &str, data: &[u8]) -> Vec<u8> {
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(data);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

pub fn upload(base: &str, token: &str, intervention: i64, name: &str, data: &[u8]) -> Value {
    let res = agent()
        .post(&format!(
            "{base}/api/v1/documents?intervention_id={intervention}"
        ))
        .set("Authorization", &format!("Bearer {token}"))
        .set(
            "Content-Type",
            &format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .send_bytes(&multipart_file(name, data))
        .unwrap();
    assert_eq!(res.status(), 201);
    res.into_json().unwrap()
}

pub fn download(base: &str, token: &str, id: i64) -> (u16, Option<String>, Vec<u8>) {
    match agent()
        .get(&format!("{base}/api/v1/documents/{id}/download"))
        .set("Authorization", &format!("Bearer {token}"))
        .call()
    {
        Ok(res) => {
            let len = res.header("content-length").map(ToOwned::to_owned);
            let mut bytes = Vec::new();
            res.into_reader().read_to_end(&mut bytes).unwrap();
            (200, len, bytes)
        }
        Err(ureq::Error::Status(code, _)) => (code, None, Vec::new()),
        Err(e) => panic!("download {id}: {e}"),
    }
}
