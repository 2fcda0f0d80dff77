//! The SQLite/PostgreSQL split: one borrowed-connection enum and the macro that compiles a
//! diesel expression once per backend.

use diesel::pg::PgConnection;
use diesel::sqlite::SqliteConnection;

/// A connection inside an open transaction, on either backend.
pub enum Conn<'a> {
    /// Embedded SQLite.
    Sqlite(&'a mut SqliteConnection),
    /// PostgreSQL.
    Postgres(&'a mut PgConnection),
}

impl std::fmt::Debug for Conn<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Sqlite(_) => "Conn::Sqlite",
            Self::Postgres(_) => "Conn::Postgres",
        })
    }
}

/// Evaluates `$body` with `$c` bound to the concrete connection of `$conn` (a `&mut Conn`).
/// The body is type-checked for each backend, so it may use anything both support.
#[macro_export]
macro_rules! with_conn {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            $crate::dialect::Conn::Sqlite(inner) => {
                let $c: &mut ::diesel::sqlite::SqliteConnection = &mut **inner;
                $body
            }
            $crate::dialect::Conn::Postgres(inner) => {
                let $c: &mut ::diesel::pg::PgConnection = &mut **inner;
                $body
            }
        }
    };
}
