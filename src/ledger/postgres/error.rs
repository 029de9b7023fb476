//! PostgreSQL's errors in the ledger's words: out of reach, busy (a deadlock or a
//! lock not granted), damaged data, or the server's own message, with the driver's
//! error kept as the cause.

use postgres::error::SqlState;

use super::connect::ConnectError;
use crate::ledger::LedgerErrorKind;

/// What went wrong on the way to (or at) the database.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    /// The server's message and code, or the causes of a failed connection.
    #[error("{}", words(.0))]
    Sql(#[source] postgres::Error),
    #[error("the ledger's connection thread has stopped")]
    ThreadStopped,
    #[error("cannot start a thread: {0}")]
    Thread(#[source] std::io::Error),
    #[error("{shown}: {source}")]
    Connector { shown: String, source: ConnectError },
}

/// A refusal of the database, as a ledger error.
pub fn kind(e: postgres::Error) -> LedgerErrorKind {
    let busy = [
        SqlState::T_R_DEADLOCK_DETECTED,
        SqlState::LOCK_NOT_AVAILABLE,
    ];
    let corrupt = [SqlState::DATA_CORRUPTED, SqlState::INDEX_CORRUPTED];
    match e.code() {
        Some(c) if busy.contains(c) => LedgerErrorKind::Busy(Box::new(PgError::Sql(e))),
        Some(c) if corrupt.contains(c) => LedgerErrorKind::Corrupt(Box::new(PgError::Sql(e))),
        _ => LedgerErrorKind::Database(Box::new(PgError::Sql(e))),
    }
}

/// The database could not be reached.
pub fn unreachable(shown: &str, e: postgres::Error) -> LedgerErrorKind {
    LedgerErrorKind::Unreachable {
        place: shown.to_string(),
        why: Box::new(PgError::Sql(e)),
    }
}

/// Anything else on the way to the database, as a ledger error.
pub fn other(e: PgError) -> LedgerErrorKind {
    LedgerErrorKind::Database(Box::new(e))
}

/// An error as a person would want it: the server's message, or the causes.
pub fn words(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{} ({})", db.message(), db.code().code());
    }
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.contains(&more) {
            text = format!("{text}: {more}");
        }
        cause = c.source();
    }
    let text = text
        .strip_prefix("error connecting to server: ")
        .unwrap_or(&text);
    text.replace(" (os error 111)", "")
        .replace("Connection refused", "connection refused")
}
