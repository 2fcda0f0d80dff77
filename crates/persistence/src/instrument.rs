//! Query instrumentation (D12): every statement gets a `db_query_duration_seconds{operation}`
//! sample and, while traces are exported, a `db.query` span (statement kind and table, never
//! the SQL text or its parameters). Installed on every pooled connection.
//!
//! Per statement it costs little: the kind is read from the first word of the SQL, formatting
//! stops there (the bound values are never formatted), histogram handles are registered once
//! per connection, and the span — with the table, which needs the statement's text up to its
//! `FROM` — is built only when [`trace_queries`] turned it on.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use diesel::connection::{Instrumentation, InstrumentationEvent};

static QUERY_SPANS: AtomicBool = AtomicBool::new(false);

/// Turns the `db.query` spans on or off (on while traces are exported: nothing else shows them).
pub fn trace_queries(on: bool) {
    QUERY_SPANS.store(on, Ordering::Relaxed);
}

/// The statement kinds, as the `operation` label.
const OPERATIONS: [&str; 7] = [
    "select",
    "insert",
    "update",
    "delete",
    "transaction",
    "session",
    "other",
];

/// The instrumentation of one connection (one statement runs at a time on it).
pub(crate) struct QueryInstrumentation {
    system: &'static str,
    histograms: [Option<metrics::Histogram>; OPERATIONS.len()],
    running: Option<(Instant, usize, Option<tracing::Span>)>,
}

impl std::fmt::Debug for QueryInstrumentation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueryInstrumentation")
            .field("system", &self.system)
            .finish_non_exhaustive()
    }
}

impl QueryInstrumentation {
    pub(crate) const fn new(system: &'static str) -> Self {
        Self {
            system,
            histograms: [None, None, None, None, None, None, None],
            running: None,
        }
    }
}

/// The index in [`OPERATIONS`] of a statement's first word.
fn operation_of(first_word: &str) -> usize {
    match first_word.to_ascii_uppercase().as_str() {
        "SELECT" | "WITH" => 0,
        "INSERT" => 1,
        "UPDATE" => 2,
        "DELETE" => 3,
        "BEGIN" | "COMMIT" | "ROLLBACK" | "SAVEPOINT" | "RELEASE" => 4,
        "PRAGMA" | "SET" => 5,
        _ => 6,
    }
}

/// Keeps the first word written and then refuses more, which stops the formatting of the
/// statement (and of its bound values) early.
#[derive(Default)]
struct FirstWord {
    word: String,
}

impl std::fmt::Write for FirstWord {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        for c in s.chars() {
            if c.is_whitespace() {
                if !self.word.is_empty() {
                    return Err(std::fmt::Error);
                }
            } else if self.word.len() >= 16 {
                return Err(std::fmt::Error);
            } else {
                self.word.push(c);
            }
        }
        Ok(())
    }
}

/// The statement kind and the first table named, from the SQL text (before any bind list).
pub(crate) fn classify(sql: &str) -> (&'static str, Option<String>) {
    let sql = sql.split(" -- binds:").next().unwrap_or(sql);
    let tokens: Vec<&str> = sql.split_whitespace().collect();
    let operation = OPERATIONS[operation_of(tokens.first().copied().unwrap_or_default())];
    let keyword = match operation {
        "insert" => Some("INTO"),
        "update" => None,
        "select" | "delete" => Some("FROM"),
        _ => return (operation, None),
    };
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
                let (index, span) = if QUERY_SPANS.load(Ordering::Relaxed) {
                    let (operation, table) = classify(&query.to_string());
                    let span = tracing::info_span!(
                        "db.query",
                        otel.kind = "client",
                        db.system = self.system,
                        db.operation = operation,
                        db.sql.table = table.as_deref().unwrap_or(""),
                        error = tracing::field::Empty,
                    );
                    let index = OPERATIONS
                        .iter()
                        .position(|o| *o == operation)
                        .unwrap_or(OPERATIONS.len() - 1);
                    (index, Some(span))
                } else {
                    let mut first = FirstWord::default();
                    // Stops with an error as soon as the first word is complete.
                    let _ = write!(first, "{query}");
                    (operation_of(&first.word), None)
                };
                self.running = Some((Instant::now(), index, span));
            }
            InstrumentationEvent::FinishQuery { error, .. } => {
                if let Some((started, index, span)) = self.running.take() {
                    self.histograms[index]
                        .get_or_insert_with(|| {
                            metrics::histogram!(
                                "db_query_duration_seconds",
                                "operation" => OPERATIONS[index]
                            )
                        })
                        .record(started.elapsed().as_secs_f64());
                    if let Some(span) = span
                        && error.is_some()
                    {
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

    #[test]
    fn the_first_word_alone_gives_the_kind_and_stops_the_formatting() {
        let mut first = FirstWord::default();
        let sql = "  SELECT \"id\" FROM \"users\" -- binds: [42]";
        let stopped = write!(first, "{sql}");
        assert!(stopped.is_err(), "formatting goes on after the first word");
        assert_eq!(first.word, "SELECT");
        assert_eq!(OPERATIONS[operation_of(&first.word)], "select");
        for (sql, op) in [
            ("insert into t values (1)", "insert"),
            ("UPDATE t SET a = 1", "update"),
            ("DELETE FROM t", "delete"),
            ("COMMIT", "transaction"),
            ("SET TIME ZONE 'UTC'", "session"),
            ("VACUUM", "other"),
        ] {
            let mut first = FirstWord::default();
            let _ = write!(first, "{sql}");
            assert_eq!(OPERATIONS[operation_of(&first.word)], op, "{sql}");
        }
    }
}
