//! Query instrumentation (D12): every statement gets a `db.query` span (statement kind and
//! table, never the SQL text or its parameters) and a `db_query_duration_seconds{operation}`
//! sample. Installed on every pooled connection.

use std::time::Instant;

use diesel::connection::{Instrumentation, InstrumentationEvent};

/// The instrumentation of one connection (one statement runs at a time on it).
#[derive(Debug)]
pub(crate) struct QueryInstrumentation {
    system: &'static str,
    running: Option<(Instant, &'static str, tracing::Span)>,
}

impl QueryInstrumentation {
    pub(crate) const fn new(system: &'static str) -> Self {
        Self {
            system,
            running: None,
        }
    }
}

/// The statement kind and the first table named, from the SQL text (before any bind list).
pub(crate) fn classify(sql: &str) -> (&'static str, Option<String>) {
    let sql = sql.split(" -- binds:").next().unwrap_or(sql);
    let mut words = sql.split_whitespace();
    let first = words.next().unwrap_or_default().to_ascii_uppercase();
    let operation = match first.as_str() {
        "SELECT" | "WITH" => "select",
        "INSERT" => "insert",
        "UPDATE" => "update",
        "DELETE" => "delete",
        "BEGIN" | "COMMIT" | "ROLLBACK" | "SAVEPOINT" | "RELEASE" => "transaction",
        "PRAGMA" | "SET" => "session",
        _ => "other",
    };
    let keyword = match operation {
        "insert" => Some("INTO"),
        "update" => None,
        "select" | "delete" => Some("FROM"),
        _ => return (operation, None),
    };
    let tokens: Vec<&str> = sql.split_whitespace().collect();
    let table = match keyword {
        None => tokens.get(1).copied(),
        Some(k) => tokens
            .iter()
            .position(|t| t.eq_ignore_ascii_case(k))
            .and_then(|i| tokens.get(i + 1).copied()),
    };
    let table = table.map(|t| {
        t.trim_matches(|c: char| c == '"' || c == '`' || c == '(' || c == ')' || c == ',')
            .to_owned()
    });
    (operation, table)
}

impl Instrumentation for QueryInstrumentation {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        match event {
            InstrumentationEvent::StartQuery { query, .. } => {
                let (operation, table) = classify(&query.to_string());
                let span = tracing::info_span!(
                    "db.query",
                    otel.kind = "client",
                    db.system = self.system,
                    db.operation = operation,
                    db.sql.table = table.as_deref().unwrap_or(""),
                    error = tracing::field::Empty,
                );
                self.running = Some((Instant::now(), operation, span));
            }
            InstrumentationEvent::FinishQuery { error, .. } => {
                if let Some((started, operation, span)) = self.running.take() {
                    metrics::histogram!("db_query_duration_seconds", "operation" => operation)
                        .record(started.elapsed().as_secs_f64());
                    if error.is_some() {
                        span.record("error", true);
                    }
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_classified_without_their_values() {
        assert_eq!(
            classify(
                "SELECT \"users\".\"id\" FROM \"users\" WHERE \"users\".\"id\" = $1 -- binds: [42]"
            ),
            ("select", Some("users".to_owned()))
        );
        assert_eq!(
            classify("INSERT INTO `notifications` (`user_id`) VALUES (?) -- binds: [\"secret\"]"),
            ("insert", Some("notifications".to_owned()))
        );
        assert_eq!(
            classify("UPDATE \"plannings\" SET \"version\" = $1"),
            ("update", Some("plannings".to_owned()))
        );
        assert_eq!(
            classify("DELETE FROM documents WHERE id = 1"),
            ("delete", Some("documents".to_owned()))
        );
        assert_eq!(classify("BEGIN IMMEDIATE"), ("transaction", None));
        assert_eq!(classify("PRAGMA foreign_keys = ON"), ("session", None));
    }
}
