//! Keeps key lookups cacheable. The bundled SQLite is built with `SQLITE_ENABLE_STAT4`, and
//! since 3.47 a `LIMIT ?` parameter is one the planner reads: rebinding it marks the prepared
//! statement expired, so every execution re-parses and re-plans it (measured: 38 % of the
//! server's CPU on `GET /interventions/{id}`, see docs/benchmarks.md). diesel's `.first()`
//! adds exactly such a `LIMIT ?`; lookups by a key use `.get_result()` and existence checks
//! `EXISTS`, which need no limit.

use std::path::Path;

#[test]
fn repositories_do_not_use_first_for_lookups() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/repos");
    let mut offenders = Vec::new();
    let mut scanned = 0;
    let entries = std::fs::read_dir(&dir).expect("src/repos is readable");
    for entry in entries {
        let path = entry.expect("directory entry").path();
        let text = std::fs::read_to_string(&path).expect("source is readable");
        scanned += 1;
        for (n, line) in text.lines().enumerate() {
            if line.contains(".first(") && !line.contains(".first()") {
                offenders.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(
        scanned >= 10,
        "only {scanned} repository sources found in {}",
        dir.display()
    );
    assert!(
        offenders.is_empty(),
        "`.first(conn)` binds `LIMIT ?`, which expires the cached statement on every run; use \
         `.get_result(conn)` for a key lookup or `diesel::dsl::exists` for an existence check:\n{}",
        offenders.join("\n")
    );
}
