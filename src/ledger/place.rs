//! The one factory that opens a backend where a ledger lives.
//!
//! A run, `pixpipe ledger` and `ledger copy` all name a ledger the same two ways (a
//! file, or a `postgres://` URL: a [`LedgerPlace`], resolved with the pipeline file),
//! so the choice of backend is made here once: no caller matches on the place to pick a
//! backend of its own.

use std::path::PathBuf;

use super::{History, Ledger, LedgerError, PgLedger, SqliteLedger};
use crate::config::LedgerPlace;

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
