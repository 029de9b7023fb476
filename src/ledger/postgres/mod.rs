//! The shared ledger: one PostgreSQL database for several workers, on one machine
//! or many, each running the same pipeline over the same archive.
//!
//! The tables are those of the embedded ledger, with paths recorded relative to
//! their input root (so each machine may mount the archive elsewhere), plus what
//! the workers agree through:
//! - `workers`: each worker and its lease, which its heartbeat extends;
//! - `path_claims`: which worker reads which file. A worker asks for the files its
//!   quick check did not settle, a batch at a time, and gets those no live worker
//!   holds; the others are left to the workers that hold them, unread;
//! - `content_claims`: which worker delivers which source md5 at a target. Asked
//!   for once a file is read; held until its final row is written, in the same
//!   transaction, which checks that the claim is still this worker's.
//!
//! A claim holds while its worker's lease runs, so the claims of a worker that died
//! go to the next worker that asks, once its lease is over. The database's clock
//! decides, so the machines' clocks need not agree.

mod columns;
mod conn;
mod connect;
mod error;
mod history;
mod reader;
mod schema;
mod worker;

#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::{
    FileRow, Ledger, LedgerError, LedgerErrorKind, LedgerReader, OutputKey, OutputRow, OutputState,
    RunId, Sharing,
};
use columns::{FileKeys, put_files, put_output};
use conn::{Conn, Db};
use connect::Connector;
use error::PgError;
use reader::PgReader;
use worker::{Heartbeat, Me};

/// The single writer of a run, which also answers `pixpipe ledger`.
pub struct PgLedger {
    place: Place,
    connector: Connector,
    writer: Conn,
    me: Arc<Me>,
    keys: Arc<Keys>,
    heartbeat: Option<Heartbeat>,
    /// The `pending` rows this worker wrote and has not finished: their final rows
    /// must find them still this worker's (see [`columns`]). As many as uploads in flight.
    pending: HashSet<OutputKey>,
}

/// The URL without its password, for messages.
#[derive(Clone)]
struct Place(Arc<str>);

impl Place {
    fn error(&self, kind: LedgerErrorKind) -> LedgerError {
        LedgerError {
            path: PathBuf::from(&*self.0),
            kind,
        }
    }
}

impl PgLedger {
    /// Connects (an unreachable database is said at once), then creates or checks the tables.
    pub fn open(url: &str, shown: &str, sharing: Sharing) -> Result<PgLedger, LedgerError> {
        let place = Place(Arc::from(shown));
        let connector = Connector::new(url).map_err(|source| {
            place.error(error::other(PgError::Connector {
                shown: shown.to_string(),
                source,
            }))
        })?;
        let writer = Conn::open(&connector, shown).map_err(|k| place.error(k))?;
        let found = writer
            .call(|db| schema::prepare(db.client()))
            .map_err(|k| place.error(k))?;
        if let schema::Found::Other(v) = found {
            return Err(place.error(LedgerErrorKind::Schema {
                found: v,
                expected: schema::SCHEMA_VERSION,
            }));
        }
        let lease = match sharing.lease.is_zero() {
            true => Duration::from_secs(120),
            false => sharing.lease,
        };
        Ok(PgLedger {
            place,
            connector,
            writer,
            me: Arc::new(Me::new(lease)),
            keys: Arc::new(Keys {
                roots: sharing.roots,
            }),
            heartbeat: None,
            pending: HashSet::new(),
        })
    }

    fn call<R: Send + 'static>(
        &self,
        work: impl FnMut(&mut Db<'_>) -> Result<R, postgres::Error> + Send + 'static,
    ) -> Result<R, LedgerError> {
        self.writer.call(work).map_err(|k| self.place.error(k))
    }

    /// Joins the workers, and starts the heartbeat that keeps this worker's claims.
    fn register(&mut self) -> Result<(), LedgerError> {
        if self.me.registered() {
            return Ok(());
        }
        let me = Arc::clone(&self.me);
        self.call(move |c| {
            c.execute(
                "INSERT INTO pixpipe.workers (id, host, pid, lease_until)
                 VALUES ($1, $2, $3, now() + make_interval(secs => $4))
                 ON CONFLICT (id) DO NOTHING",
                &[&me.id, &me.host, &me.pid, &me.lease_seconds()],
            )
        })?;
        let beat = Conn::open(&self.connector, &self.place.0).map_err(|k| self.place.error(k))?;
        self.heartbeat = Some(Heartbeat::start(beat, self.me.id.clone(), self.me.lease));
        self.me.set_registered();
        Ok(())
    }
}

impl Drop for PgLedger {
    /// A worker that ends lets its claims go at once, and says it has finished; if the
    /// database cannot be told now, the lease lets them go in its time.
    fn drop(&mut self) {
        if !self.me.registered() {
            return;
        }
        drop(self.heartbeat.take());
        let id = self.me.id.clone();
        let _ = self.writer.call_within(Duration::from_secs(5), move |c| {
            let mut tx = c.client().transaction()?;
            tx.execute("DELETE FROM pixpipe.path_claims WHERE worker = $1", &[&id])?;
            tx.execute(
                "DELETE FROM pixpipe.content_claims WHERE worker = $1",
                &[&id],
            )?;
            tx.execute(
                "UPDATE pixpipe.workers SET finished_at = now(), heartbeat_at = now(),
                     lease_until = now() WHERE id = $1",
                &[&id],
            )?;
            tx.commit()
        });
    }
}

/// Paths as the ledger keeps them: relative to the input root they are under,
/// prefixed with the root's place in `input.paths` (`0:holiday/a.jpg`).
struct Keys {
    roots: Vec<PathBuf>,
}

impl Keys {
    fn key(&self, p: &Path) -> Vec<u8> {
        for (i, root) in self.roots.iter().enumerate() {
            if let Ok(rel) = p.strip_prefix(root) {
                let mut k = format!("{i}:").into_bytes();
                k.extend_from_slice(rel.as_os_str().as_encoded_bytes());
                return k;
            }
        }
        p.as_os_str().as_encoded_bytes().to_vec()
    }

    /// The full path, on this machine, of a file of folder `dir` recorded as `key`.
    fn full(&self, dir: &Path, dir_key: &[u8], key: &[u8]) -> Option<PathBuf> {
        let name = key.strip_prefix(dir_key)?;
        let name = name.strip_prefix(b"/").unwrap_or(name);
        if name.is_empty() || name.contains(&b'/') {
            return None;
        }
        use std::os::unix::ffi::OsStrExt;
        Some(dir.join(std::ffi::OsStr::from_bytes(name)))
    }
}

impl Ledger for PgLedger {
    fn reader(&self) -> Result<Arc<dyn LedgerReader>, LedgerError> {
        let conn = Conn::open(&self.connector, &self.place.0).map_err(|k| self.place.error(k))?;
        Ok(Arc::new(PgReader {
            place: self.place.clone(),
            conn,
            me: Arc::clone(&self.me),
            keys: Arc::clone(&self.keys),
        }))
    }

    fn begin_run(&mut self, pipeline: &str, target: &str) -> Result<RunId, LedgerError> {
        self.register()?;
        let (pipeline, target, me) = (pipeline.to_string(), target.to_string(), self.me.id.clone());
        let id = self.call(move |c| {
            c.query_one(
                "INSERT INTO pixpipe.runs (started_at, pipeline, target, worker)
                 VALUES ($1, $2, $3, $4) RETURNING id",
                &[&super::now_iso(), &pipeline, &target, &me],
            )
            .map(|r| r.get::<_, i64>(0))
        })?;
        Ok(RunId(id))
    }

    /// Each row in a statement of its own, outputs first: a statement is atomic, and a
    /// quick-check row lost to a crash only costs reading that file once more.
    fn commit(
        &mut self,
        files: &[FileRow],
        outputs: &[OutputRow],
        run: RunId,
    ) -> Result<Vec<OutputKey>, LedgerError> {
        let mut keys = FileKeys::default();
        // One row per path: a statement may not touch a row twice.
        let mut seen = HashSet::new();
        for f in files.iter().rev() {
            let key = self.keys.key(&f.path);
            if seen.insert(key.clone()) {
                keys.paths.push(key);
                keys.dirs
                    .push(self.keys.key(f.path.parent().unwrap_or(Path::new(""))));
                keys.sizes.push(f.size as i64);
                keys.mtimes.push(f.mtime_ns);
                keys.md5s.push(f.source_md5.clone());
                keys.besides.push(f.beside.clone());
            }
        }
        let outputs = outputs.to_vec();
        let after_pending: Vec<bool> = outputs
            .iter()
            .map(|o| self.pending.contains(&o.key()))
            .collect();
        let now_pending: Vec<(OutputKey, bool)> = outputs
            .iter()
            .map(|o| (o.key(), o.state == OutputState::Pending))
            .collect();
        let me = self.me.id.clone();
        let lost = self.call(move |db| {
            let mut lost = Vec::new();
            // The quick-check rows go with the first output (an upload's answer and its
            // file's row: one statement), or alone.
            let none = FileKeys::default();
            for (i, o) in outputs.iter().enumerate() {
                let files = if i == 0 { &keys } else { &none };
                if !put_output(db, o, files, run.0, &me, after_pending[i])? {
                    lost.push(o.key());
                }
            }
            if outputs.is_empty() {
                put_files(db, &keys)?;
            }
            Ok(lost)
        })?;
        for (key, pending) in now_pending {
            if pending {
                self.pending.insert(key);
            } else {
                self.pending.remove(&key);
            }
        }
        Ok(lost)
    }

    fn clear_pending(&mut self, target: &str, source_md5: &str) -> Result<(), LedgerError> {
        let (t, m, me) = (
            target.to_string(),
            source_md5.to_string(),
            self.me.id.clone(),
        );
        self.pending.remove(&OutputKey {
            target: t.clone(),
            source_md5: m.clone(),
        });
        self.call(move |db| {
            db.execute(
                "WITH gone AS (
                    DELETE FROM pixpipe.outputs WHERE target = $1 AND source_md5 = $2
                    AND state = 'pending' AND (worker = $3 OR worker IS NULL) RETURNING 1)
                 DELETE FROM pixpipe.content_claims
                 WHERE target = $1 AND source_md5 = $2 AND worker = $3",
                &[&t, &m, &me],
            )
        })
        .map(|_| ())
    }

    fn finish_run(&mut self, run: RunId, summary: &str) -> Result<(), LedgerError> {
        let summary = summary.to_string();
        self.call(move |c| {
            c.execute(
                "UPDATE pixpipe.runs SET finished_at = $1, summary = $2 WHERE id = $3",
                &[&super::now_iso(), &summary, &run.0],
            )
        })
        .map(|_| ())
    }
}
