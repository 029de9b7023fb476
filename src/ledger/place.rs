//! Where a ledger lives, and the one factory that opens a backend there.
//!
//! A run, `pixpipe ledger` and `ledger copy` all name a ledger the same two ways (a
//! file, or a `postgres://` URL), so the choice of backend is made here once: no
//! caller matches on the place to pick a backend of its own.

use std::path::PathBuf;

use super::{History, Ledger, LedgerError, PgLedger, SqliteLedger};
use crate::config::{DbUrl, DbUrlError};

/// Where the ledger lives: one SQLite file, or a PostgreSQL database that several
/// workers share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LedgerPlace {
    File(PathBuf),
    Postgres(DbUrl),
}

impl LedgerPlace {
    /// A ledger named on the command line: a `postgres://` URL, or else a file.
    pub fn from_arg(arg: &str) -> Result<LedgerPlace, DbUrlError> {
        if arg.starts_with("postgres://") || arg.starts_with("postgresql://") {
            return DbUrl::parse(arg).map(LedgerPlace::Postgres);
        }
        Ok(LedgerPlace::File(PathBuf::from(arg)))
    }

    /// Whether the ledger is there already (a database is asked when it is opened).
    pub fn exists(&self) -> bool {
        match self {
            LedgerPlace::File(p) => p.exists(),
            LedgerPlace::Postgres(_) => true,
        }
    }
}

impl std::fmt::Display for LedgerPlace {
    /// For people: the file, or the URL without its password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LedgerPlace::File(p) => write!(f, "{}", p.display()),
            LedgerPlace::Postgres(u) => write!(f, "{u}"),
        }
    }
}

/// What a worker of a shared ledger needs beyond the URL.
#[derive(Debug, Clone, Default)]
pub struct Sharing {
    /// The input roots: paths are recorded relative to them, so that every worker may
    /// mount the archive somewhere else.
    pub roots: Vec<PathBuf>,
    /// How long claims hold without a heartbeat.
    pub lease: std::time::Duration,
}

/// An open backend, before the caller picks which of its faces it needs.
enum Backend {
    Sqlite(Box<SqliteLedger>),
    Postgres(Box<PgLedger>),
}

/// Opens (creating or migrating its tables if needed) the backend at `place`.
fn backend(place: &LedgerPlace, sharing: Sharing) -> Result<Backend, LedgerError> {
    Ok(match place {
        LedgerPlace::File(path) => Backend::Sqlite(Box::new(SqliteLedger::open(path)?)),
        LedgerPlace::Postgres(url) => Backend::Postgres(Box::new(PgLedger::open(
            url.expose(),
            &url.shown(),
            sharing,
        )?)),
    })
}

/// The ledger at `place` as a run's writer.
pub fn open(place: &LedgerPlace, sharing: Sharing) -> Result<Box<dyn Ledger>, LedgerError> {
    Ok(match backend(place, sharing)? {
        Backend::Sqlite(l) => l,
        Backend::Postgres(l) => l,
    })
}

/// The ledger at `place` as `pixpipe ledger` reads and edits it. It takes part in
/// no run, so it needs no input roots nor lease.
pub fn open_history(place: &LedgerPlace) -> Result<Box<dyn History>, LedgerError> {
    Ok(match backend(place, Sharing::default())? {
        Backend::Sqlite(l) => l,
        Backend::Postgres(l) => l,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_names_a_database_and_anything_else_a_file() {
        assert!(matches!(
            LedgerPlace::from_arg("postgresql://ann@h/db"),
            Ok(LedgerPlace::Postgres(_))
        ));
        assert_eq!(
            LedgerPlace::from_arg("postgres.sqlite").unwrap(),
            LedgerPlace::File("postgres.sqlite".into())
        );
        assert!(LedgerPlace::from_arg("postgres://").is_err());
    }
}
