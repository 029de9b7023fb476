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

mod conn;
mod connect;
mod schema;
mod worker;

use std::collections::HashSet;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use postgres::Row;
use postgres::types::ToSql;

use super::{
    Candidate, ContentClaim, FileRow, KnownDir, KnownFile, Ledger, LedgerError, LedgerErrorKind,
    LedgerReader, OutputKey, OutputRow, OutputState, RunId, RunRow, Sharing, SourceEntry, StatRow,
    WorkerRow,
};
use conn::{Conn, Db};
use connect::Connector;
use worker::{Heartbeat, Me};

/// The single writer of a run, and the queries of `pixpipe ledger`.
pub struct PgLedger {
    place: Place,
    connector: Connector,
    writer: Conn,
    me: Arc<Me>,
    keys: Arc<Keys>,
    heartbeat: Option<Heartbeat>,
}

/// Lookups and claims from the worker threads.
struct PgReader {
    place: Place,
    conn: Conn,
    me: Arc<Me>,
    keys: Arc<Keys>,
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
        let connector = Connector::new(url)
            .map_err(|e| place.error(LedgerErrorKind::Postgres(format!("{shown}: {e}"))))?;
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

const COLUMNS: &str = "target, source_md5, state, source_path, output_md5, location, viewer_url,
    short_url, delete_url, remote_id, remote_md5, bytes, width, height, title, reason, at";

const O_COLUMNS: &str = "o.target, o.source_md5, o.state, o.source_path, o.output_md5,
    o.location, o.viewer_url, o.short_url, o.delete_url, o.remote_id, o.remote_md5, o.bytes,
    o.width, o.height, o.title, o.reason, o.at";

/// An output row from the columns of [`COLUMNS`], starting at column `at`.
fn row_from(r: &Row, at: usize) -> Result<OutputRow, LedgerErrorKind> {
    let state: String = r.try_get(at + 2).map_err(sql)?;
    let get_u32 = |i: usize| -> Result<Option<u32>, LedgerErrorKind> {
        Ok(r.try_get::<_, Option<i32>>(at + i)
            .map_err(sql)?
            .map(|v| v as u32))
    };
    Ok(OutputRow {
        target: r.try_get(at).map_err(sql)?,
        source_md5: r.try_get(at + 1).map_err(sql)?,
        state: OutputState::parse(&state)?,
        source_path: r
            .try_get::<_, Option<String>>(at + 3)
            .map_err(sql)?
            .unwrap_or_default(),
        output_md5: r.try_get(at + 4).map_err(sql)?,
        location: r.try_get(at + 5).map_err(sql)?,
        viewer_url: r.try_get(at + 6).map_err(sql)?,
        short_url: r.try_get(at + 7).map_err(sql)?,
        delete_url: r.try_get(at + 8).map_err(sql)?,
        remote_id: r.try_get(at + 9).map_err(sql)?,
        remote_md5: r.try_get(at + 10).map_err(sql)?,
        bytes: r
            .try_get::<_, Option<i64>>(at + 11)
            .map_err(sql)?
            .map(|b| b as u64),
        width: get_u32(12)?,
        height: get_u32(13)?,
        title: r.try_get(at + 14).map_err(sql)?,
        reason: r.try_get(at + 15).map_err(sql)?,
        at: r.try_get(at + 16).map_err(sql)?,
    })
}

fn sql(e: postgres::Error) -> LedgerErrorKind {
    LedgerErrorKind::Postgres(conn::words(&e))
}

/// Rows read on the connection's thread, turned into output rows on this one.
fn outputs_of(rows: Vec<Row>, at: usize) -> Result<Vec<OutputRow>, LedgerErrorKind> {
    rows.iter().map(|r| row_from(r, at)).collect()
}

/// Writes one output row unless another live worker owns its content now, and the
/// quick-check rows `files`, in one statement; gives whether the output was written. A
/// final row lets go of the content claim.
fn put_output(
    db: &mut Db<'_>,
    o: &OutputRow,
    files: &FileKeys,
    run: i64,
    me: &str,
) -> Result<bool, postgres::Error> {
    let bytes = o.bytes.map(|b| b as i64);
    let (width, height) = (o.width.map(|w| w as i32), o.height.map(|h| h as i32));
    let params: [&(dyn ToSql + Sync); 24] = [
        &o.target,
        &o.source_md5,
        &o.state.as_str(),
        &o.source_path,
        &o.output_md5,
        &o.location,
        &o.viewer_url,
        &o.short_url,
        &o.delete_url,
        &o.remote_id,
        &o.remote_md5,
        &bytes,
        &width,
        &height,
        &o.title,
        &o.reason,
        &run,
        &o.at,
        &me,
        &files.paths,
        &files.dirs,
        &files.sizes,
        &files.mtimes,
        &files.md5s,
    ];
    let row = db.query_one(
        "WITH owner AS (
            SELECT c.worker FROM pixpipe.content_claims c
            JOIN pixpipe.workers w ON w.id = c.worker AND w.lease_until > now()
            WHERE c.target = $1 AND c.source_md5 = $2 AND c.worker <> $19
            FOR UPDATE OF c
         ), put AS (
            INSERT INTO pixpipe.outputs (target, source_md5, state, source_path, output_md5,
                location, viewer_url, short_url, delete_url, remote_id, remote_md5, bytes, width,
                height, title, reason, run_id, at, worker)
            SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19
            WHERE NOT EXISTS (SELECT 1 FROM owner)
            ON CONFLICT (target, source_md5) DO UPDATE SET state = EXCLUDED.state,
                source_path = EXCLUDED.source_path, output_md5 = EXCLUDED.output_md5,
                location = EXCLUDED.location, viewer_url = EXCLUDED.viewer_url,
                short_url = EXCLUDED.short_url, delete_url = EXCLUDED.delete_url,
                remote_id = EXCLUDED.remote_id, remote_md5 = EXCLUDED.remote_md5,
                bytes = EXCLUDED.bytes, width = EXCLUDED.width, height = EXCLUDED.height,
                title = EXCLUDED.title, reason = EXCLUDED.reason, run_id = EXCLUDED.run_id,
                at = EXCLUDED.at, worker = EXCLUDED.worker
            WHERE EXCLUDED.state <> 'failed' OR pixpipe.outputs.state = 'failed'
            RETURNING 1
         ), released AS (
            DELETE FROM pixpipe.content_claims
            WHERE target = $1 AND source_md5 = $2 AND worker = $19 AND $3 <> 'pending'
              AND NOT EXISTS (SELECT 1 FROM owner)
            RETURNING 1
         ), quick AS (
            INSERT INTO pixpipe.files (path, dir, size, mtime_ns, source_md5)
            SELECT * FROM unnest($20::BYTEA[], $21::BYTEA[], $22::BIGINT[], $23::BIGINT[], $24::TEXT[])
            ON CONFLICT (path) DO UPDATE SET dir = EXCLUDED.dir, size = EXCLUDED.size,
               mtime_ns = EXCLUDED.mtime_ns, source_md5 = EXCLUDED.source_md5
            RETURNING 1
         )
         SELECT NOT EXISTS (SELECT 1 FROM owner)",
        &params,
    )?;
    Ok(row.get(0))
}

/// Quick-check rows as stored: path and folder keys, size, mtime, md5.
#[derive(Default)]
struct FileKeys {
    paths: Vec<Vec<u8>>,
    dirs: Vec<Vec<u8>>,
    sizes: Vec<i64>,
    mtimes: Vec<i64>,
    md5s: Vec<String>,
}

/// Every quick-check row in one statement.
fn put_files(db: &mut Db<'_>, f: &FileKeys) -> Result<(), postgres::Error> {
    if f.paths.is_empty() {
        return Ok(());
    }
    db.execute(
        "INSERT INTO pixpipe.files (path, dir, size, mtime_ns, source_md5)
         SELECT * FROM unnest($1::BYTEA[], $2::BYTEA[], $3::BIGINT[], $4::BIGINT[], $5::TEXT[])
         ON CONFLICT (path) DO UPDATE SET dir = EXCLUDED.dir, size = EXCLUDED.size,
            mtime_ns = EXCLUDED.mtime_ns, source_md5 = EXCLUDED.source_md5",
        &[&f.paths, &f.dirs, &f.sizes, &f.mtimes, &f.md5s],
    )?;
    Ok(())
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
            }
        }
        let outputs = outputs.to_vec();
        let me = self.me.id.clone();
        self.call(move |db| {
            let mut lost = Vec::new();
            // The quick-check rows go with the first output (an upload's answer and its
            // file's row: one statement), or alone.
            let none = FileKeys::default();
            for (i, o) in outputs.iter().enumerate() {
                let files = if i == 0 { &keys } else { &none };
                if !put_output(db, o, files, run.0, &me)? {
                    lost.push(OutputKey {
                        target: o.target.clone(),
                        source_md5: o.source_md5.clone(),
                    });
                }
            }
            if outputs.is_empty() {
                put_files(db, &keys)?;
            }
            Ok(lost)
        })
    }

    fn clear_pending(&mut self, target: &str, source_md5: &str) -> Result<(), LedgerError> {
        let (t, m, me) = (
            target.to_string(),
            source_md5.to_string(),
            self.me.id.clone(),
        );
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

    /// A page at a time, so a table of millions of rows never sits in memory.
    fn outputs(
        &self,
        target: Option<&str>,
        each: &mut dyn FnMut(OutputRow) -> ControlFlow<()>,
    ) -> Result<(), LedgerError> {
        let target = target.map(str::to_string);
        let mut after = 0i64;
        loop {
            let t = target.clone();
            let rows = self.call(move |c| {
                c.query(
                    &format!(
                        "SELECT id, {COLUMNS} FROM pixpipe.outputs
                         WHERE ($1::TEXT IS NULL OR target = $1) AND id > $2 ORDER BY id LIMIT 1000"
                    ),
                    &[&t, &after],
                )
            })?;
            if rows.is_empty() {
                return Ok(());
            }
            after = rows.last().map_or(after, |r| r.get(0));
            for row in outputs_of(rows, 1).map_err(|k| self.place.error(k))? {
                if each(row).is_break() {
                    return Ok(());
                }
            }
        }
    }

    fn stats(&self) -> Result<Vec<StatRow>, LedgerError> {
        let rows = self.call(|c| {
            c.query(
                "SELECT target, state, COUNT(*)::BIGINT, COALESCE(SUM(bytes), 0)::BIGINT
                 FROM pixpipe.outputs GROUP BY target, state ORDER BY target, state",
                &[],
            )
        })?;
        rows.iter()
            .map(|r| {
                Ok(StatRow {
                    target: r.get(0),
                    state: OutputState::parse(r.get(1)).map_err(|k| self.place.error(k))?,
                    files: r.get::<_, i64>(2) as u64,
                    bytes: r.get::<_, i64>(3) as u64,
                })
            })
            .collect()
    }

    fn sources(&self) -> Result<Vec<SourceEntry>, LedgerError> {
        let rows = self.call(|c| {
            c.query(
                "SELECT target, source_md5, source_path FROM pixpipe.outputs ORDER BY id",
                &[],
            )
        })?;
        Ok(rows
            .iter()
            .map(|r| SourceEntry {
                key: OutputKey {
                    target: r.get(0),
                    source_md5: r.get(1),
                },
                source_path: r.get::<_, Option<String>>(2).unwrap_or_default(),
            })
            .collect())
    }

    fn forget(&mut self, keys: &[OutputKey]) -> Result<usize, LedgerError> {
        let keys = keys.to_vec();
        self.call(move |c| {
            let mut tx = c.client().transaction()?;
            let mut gone = 0;
            for k in &keys {
                gone += tx.execute(
                    "DELETE FROM pixpipe.outputs WHERE target = $1 AND source_md5 = $2",
                    &[&k.target, &k.source_md5],
                )? as usize;
            }
            tx.commit()?;
            Ok(gone)
        })
    }

    fn workers(&self) -> Result<Vec<WorkerRow>, LedgerError> {
        let rows = self.call(|c| {
            c.query(
                "SELECT w.id, w.host, w.pid,
                    to_char(w.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),
                    to_char(w.heartbeat_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),
                    to_char(w.lease_until AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),
                    w.lease_until > now() AND w.finished_at IS NULL,
                    w.finished_at IS NOT NULL,
                    (SELECT COUNT(*) FROM pixpipe.path_claims p WHERE p.worker = w.id)::BIGINT,
                    (SELECT COUNT(*) FROM pixpipe.outputs o WHERE o.worker = w.id)::BIGINT,
                    GREATEST(EXTRACT(EPOCH FROM (COALESCE(w.finished_at, w.heartbeat_at) - w.started_at)), 0.001)::FLOAT8
                 FROM pixpipe.workers w ORDER BY w.started_at DESC LIMIT 100",
                &[],
            )
        })?;
        Ok(rows
            .iter()
            .map(|r| {
                let outputs = r.get::<_, i64>(9) as u64;
                WorkerRow {
                    id: r.get(0),
                    host: r.get(1),
                    pid: r.get(2),
                    started_at: r.get(3),
                    heartbeat_at: r.get(4),
                    lease_until: r.get(5),
                    live: r.get(6),
                    finished: r.get(7),
                    claims: r.get::<_, i64>(8) as u64,
                    outputs,
                    files_per_second: outputs as f64 / r.get::<_, f64>(10),
                }
            })
            .collect())
    }

    fn runs(&self) -> Result<Vec<RunRow>, LedgerError> {
        let rows = self.call(|c| {
            c.query(
                "SELECT started_at, finished_at, pipeline, target, summary
                 FROM pixpipe.runs ORDER BY id",
                &[],
            )
        })?;
        Ok(rows
            .iter()
            .map(|r| RunRow {
                started_at: r.get(0),
                finished_at: r.get(1),
                pipeline: r.get(2),
                target: r.get(3),
                summary: r.get(4),
            })
            .collect())
    }

    fn import(&mut self, runs: &[RunRow], outputs: &[OutputRow]) -> Result<(), LedgerError> {
        let (runs, outputs, me) = (runs.to_vec(), outputs.to_vec(), self.me.id.clone());
        self.call(move |db| {
            for r in &runs {
                db.execute(
                    "INSERT INTO pixpipe.runs (started_at, finished_at, pipeline, target, summary)
                     VALUES ($1, $2, $3, $4, $5)",
                    &[
                        &r.started_at,
                        &r.finished_at,
                        &r.pipeline,
                        &r.target,
                        &r.summary,
                    ],
                )?;
            }
            for o in &outputs {
                put_output(db, o, &FileKeys::default(), 0, &me)?;
            }
            Ok(())
        })
    }
}

impl PgReader {
    fn call<R: Send + 'static>(
        &self,
        work: impl FnMut(&mut Db<'_>) -> Result<R, postgres::Error> + Send + 'static,
    ) -> Result<R, LedgerError> {
        self.conn.call(work).map_err(|k| self.place.error(k))
    }
}

impl LedgerReader for PgReader {
    fn known_in_dir(&self, dir: &Path, target: &str) -> Result<KnownDir, LedgerError> {
        let dir_key = self.keys.key(dir);
        let (d, t) = (dir_key.clone(), target.to_string());
        let rows = self.call(move |c| {
            c.query(
                &format!(
                    "SELECT f.path, f.size, f.mtime_ns, f.source_md5, o.source_md5, {O_COLUMNS}
                     FROM pixpipe.files f LEFT JOIN pixpipe.outputs o
                        ON o.source_md5 = f.source_md5 AND o.target = $2
                     WHERE f.dir = $1"
                ),
                &[&d, &t],
            )
        })?;
        let mut known = KnownDir::new();
        for r in &rows {
            let key: Vec<u8> = r.get(0);
            let Some(full) = self.keys.full(dir, &dir_key, &key) else {
                continue;
            };
            let output = match r.get::<_, Option<String>>(4) {
                Some(_) => Some(row_from(r, 5).map_err(|k| self.place.error(k))?),
                None => None,
            };
            let file = KnownFile {
                size: r.get::<_, i64>(1) as u64,
                mtime_ns: r.get(2),
                source_md5: r.get(3),
                output,
            };
            known.insert(full.into_os_string().into_encoded_bytes(), file);
        }
        Ok(known)
    }

    fn lookup(&self, target: &str, source_md5: &str) -> Result<Option<OutputRow>, LedgerError> {
        let (t, m) = (target.to_string(), source_md5.to_string());
        let rows = self.call(move |c| {
            c.query(
                &format!(
                    "SELECT {COLUMNS} FROM pixpipe.outputs WHERE target = $1 AND source_md5 = $2"
                ),
                &[&t, &m],
            )
        })?;
        let mut rows = outputs_of(rows, 0).map_err(|k| self.place.error(k))?;
        Ok(rows.pop())
    }

    /// One statement for the whole batch: a file is granted when no claim holds it (or
    /// its claim is this worker's, or its worker's lease is over) and it was not
    /// delivered, unchanged, since the quick check looked.
    fn claim_paths(&self, target: &str, files: &[Candidate<'_>]) -> Result<Vec<bool>, LedgerError> {
        if !self.me.registered() || files.is_empty() {
            return Ok(vec![true; files.len()]);
        }
        let keys: Vec<Vec<u8>> = files.iter().map(|f| self.keys.key(f.path)).collect();
        let sizes: Vec<i64> = files.iter().map(|f| f.size as i64).collect();
        let mtimes: Vec<i64> = files.iter().map(|f| f.mtime_ns).collect();
        let (t, k, me) = (target.to_string(), keys.clone(), self.me.id.clone());
        let granted: HashSet<Vec<u8>> = self
            .call(move |c| {
                c.query(
                    "INSERT INTO pixpipe.path_claims (target, path, worker)
                     SELECT $1, w.path, $3
                     FROM unnest($2::BYTEA[], $4::BIGINT[], $5::BIGINT[]) AS w(path, size, mtime)
                     WHERE NOT EXISTS (SELECT 1 FROM pixpipe.files f
                         JOIN pixpipe.outputs o ON o.source_md5 = f.source_md5 AND o.target = $1
                         WHERE f.path = w.path AND f.size = w.size AND f.mtime_ns = w.mtime
                           AND o.state IN ('written', 'uploaded', 'already_there'))
                     ON CONFLICT (target, path) DO UPDATE SET worker = EXCLUDED.worker
                     WHERE pixpipe.path_claims.worker = EXCLUDED.worker
                        OR NOT EXISTS (SELECT 1 FROM pixpipe.workers w
                            WHERE w.id = pixpipe.path_claims.worker AND w.lease_until > now())
                     RETURNING path",
                    &[&t, &k, &me, &sizes, &mtimes],
                )
            })?
            .iter()
            .map(|r| r.get(0))
            .collect();
        Ok(keys.iter().map(|k| granted.contains(k)).collect())
    }

    /// Claims the content, then reads what the ledger holds of it: in that order, so a
    /// worker that delivered it meanwhile is seen.
    fn claim_content(
        &self,
        target: &str,
        source_md5: &str,
        path: &Path,
    ) -> Result<ContentClaim, LedgerError> {
        if !self.me.registered() {
            return Ok(ContentClaim::Mine(
                self.lookup(target, source_md5)?.map(Box::new),
            ));
        }
        let (t, m, me) = (
            target.to_string(),
            source_md5.to_string(),
            self.me.id.clone(),
        );
        let p = path.display().to_string();
        // Two statements, not one: the second must see a row another worker committed
        // after the first began.
        let (holder, rows) = self.call(move |db| {
            let mine = db.query_opt(
                "INSERT INTO pixpipe.content_claims (target, source_md5, worker, path)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (target, source_md5) DO UPDATE SET worker = EXCLUDED.worker,
                    path = EXCLUDED.path
                 WHERE pixpipe.content_claims.worker = EXCLUDED.worker
                    OR NOT EXISTS (SELECT 1 FROM pixpipe.workers w
                        WHERE w.id = pixpipe.content_claims.worker AND w.lease_until > now())
                 RETURNING 1",
                &[&t, &m, &me, &p],
            )?;
            if mine.is_none() {
                let holder = db
                    .query_opt(
                        "SELECT worker, path FROM pixpipe.content_claims
                         WHERE target = $1 AND source_md5 = $2",
                        &[&t, &m],
                    )?
                    .map(|r| (r.get::<_, String>(0), r.get::<_, String>(1)));
                return Ok((holder, Vec::new()));
            }
            let rows = db.query(
                &format!(
                    "SELECT {COLUMNS} FROM pixpipe.outputs WHERE target = $1 AND source_md5 = $2"
                ),
                &[&t, &m],
            )?;
            let delivered = rows
                .first()
                .and_then(|r| r.try_get::<_, String>(2).ok())
                .is_some_and(|s| OutputState::parse(&s).is_ok_and(OutputState::delivered));
            if delivered {
                db.execute(
                    "DELETE FROM pixpipe.content_claims WHERE target = $1 AND source_md5 = $2 AND worker = $3",
                    &[&t, &m, &me],
                )?;
            }
            Ok((None, rows))
        })?;
        if let Some((worker, path)) = holder {
            return Ok(ContentClaim::Held { worker, path });
        }
        let mut rows = outputs_of(rows, 0).map_err(|k| self.place.error(k))?;
        Ok(ContentClaim::Mine(rows.pop().map(Box::new)))
    }
}
