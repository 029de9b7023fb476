//! SQLite's errors in the ledger's words: a busy or locked file, a file that is no
//! database, or SQLite's own message for anything else, with SQLite's error kept as
//! the cause.

use std::path::Path;

use rusqlite::ErrorCode;

use crate::ledger::{LedgerError, LedgerErrorKind};

impl From<rusqlite::Error> for LedgerErrorKind {
    fn from(e: rusqlite::Error) -> LedgerErrorKind {
        match e.sqlite_error_code() {
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
                LedgerErrorKind::Busy(Box::new(e))
            }
            Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => {
                LedgerErrorKind::Corrupt(Box::new(e))
            }
            _ => LedgerErrorKind::Database(Box::new(e)),
        }
    }
}

/// A problem of the ledger file at `path`.
pub fn error(path: &Path, kind: impl Into<LedgerErrorKind>) -> LedgerError {
    LedgerError {
        path: path.to_path_buf(),
        kind: kind.into(),
    }
}
