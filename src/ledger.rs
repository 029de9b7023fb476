//! The persistent record of what was already sent where.
//!
//! One SQLite file in WAL mode. The `files` table is the quick check
//! (path, size, mtime → source md5) that lets a re-run skip reading unchanged
//! files; `outputs` holds one row per (target, source md5) with what came back.
//! Rows are committed in batches by a single writer; readers use their own
//! connection. The API key is never given to this module.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

const SCHEMA_VERSION: i64 = 2;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    path BLOB PRIMARY KEY,
    dir BLOB NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    source_md5 TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS files_dir ON files(dir);
CREATE TABLE IF NOT EXISTS outputs (
    id INTEGER PRIMARY KEY,
    target TEXT NOT NULL,
    source_md5 TEXT NOT NULL,
    state TEXT NOT NULL,
    source_path TEXT,
    output_md5 TEXT,
    location TEXT,
    viewer_url TEXT,
    short_url TEXT,
    delete_url TEXT,
    remote_id TEXT,
    remote_md5 TEXT,
    bytes INTEGER,
    width INTEGER,
    height INTEGER,
    title TEXT,
    run_id INTEGER,
    at TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS outputs_target_md5 ON outputs(target, source_md5);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    pipeline TEXT,
    target TEXT NOT NULL,
    summary TEXT
);
";

/// A ledger problem, with the file it concerns.
#[derive(Debug, thiserror::Error)]
#[error("ledger {path}: {source}")]
pub struct LedgerError {
    pub path: PathBuf,
    #[source]
    pub source: rusqlite::Error,
}

/// The state of a (target, source) pair in the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputState {
    /// Delivered, with its location.
    Done,
    /// The host said it already had these bytes (no location known).
    HostDuplicate,
    /// Sent, but the run stopped before the answer came: may or may not be on the host.
    Pending,
}

impl OutputState {
    fn as_str(self) -> &'static str {
        match self {
            OutputState::Done => "done",
            OutputState::HostDuplicate => "host_duplicate",
            OutputState::Pending => "pending",
        }
    }
    fn parse(s: &str) -> OutputState {
        match s {
            "done" => OutputState::Done,
            "host_duplicate" => OutputState::HostDuplicate,
            _ => OutputState::Pending,
        }
    }
}

/// One row of `outputs`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OutputRow {
    pub target: String,
    pub source_md5: String,
    pub state: Option<OutputState>,
    pub source_path: String,
    pub output_md5: Option<String>,
    pub location: Option<String>,
    pub viewer_url: Option<String>,
    pub short_url: Option<String>,
    pub delete_url: Option<String>,
    pub remote_id: Option<String>,
    pub remote_md5: Option<String>,
    pub bytes: Option<u64>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub title: Option<String>,
    pub at: String,
}

/// A file of one folder as the ledger knows it, with its output at one target if any.
#[derive(Debug, Clone)]
pub struct KnownFile {
    pub size: u64,
    pub mtime_ns: i64,
    pub source_md5: String,
    pub state: Option<OutputState>,
    pub location: Option<String>,
    pub viewer_url: Option<String>,
    pub delete_url: Option<String>,
    pub output_md5: Option<String>,
}

/// The known files of one folder, by their full path's bytes.
pub type KnownDir = std::collections::HashMap<Vec<u8>, KnownFile>;

/// The key a path has in the ledger (its bytes, as the OS gives them).
pub fn path_bytes(p: &Path) -> Vec<u8> {
    path_key(p).to_vec()
}

/// A quick-check row: a file as it was when its md5 was computed.
#[derive(Debug, Clone)]
pub struct FileRow {
    pub path: PathBuf,
    pub size: u64,
    pub mtime_ns: i64,
    pub source_md5: String,
}

fn path_key(p: &Path) -> &[u8] {
    p.as_os_str().as_encoded_bytes()
}

/// The ledger's default place: the platform's data folder.
pub fn default_path() -> PathBuf {
    dirs::data_dir()
        .unwrap_or_else(std::env::temp_dir)
        .join("pixpipe")
        .join("ledger.sqlite")
}

fn open_conn(path: &Path) -> Result<Connection, rusqlite::Error> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(conn)
}

/// Brings a ledger of an older schema up to date. Version 1 had no `files.dir`; the
/// quick-check table is only a cache of md5s, so it is rebuilt (files are read once more).
fn migrate(conn: &Connection) -> Result<(), rusqlite::Error> {
    let version: Option<String> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'schema_version'",
            [],
            |r| r.get(0),
        )
        .optional()
        .or_else(|e| match e {
            rusqlite::Error::SqliteFailure(_, _) => Ok(None),
            other => Err(other),
        })?;
    if version.as_deref() == Some("1") {
        conn.execute_batch(
            "BEGIN; DROP TABLE IF EXISTS files;
             UPDATE meta SET value = '2' WHERE key = 'schema_version'; COMMIT;",
        )?;
    }
    Ok(())
}

/// The single writer; lookups from worker threads go through a [`LedgerReader`].
pub struct Ledger {
    path: PathBuf,
    writer: Connection,
}

/// A read-only view shared by worker threads (SQLite in WAL mode lets it read while the writer writes).
pub struct LedgerReader {
    path: PathBuf,
    conn: Mutex<Connection>,
}

impl Ledger {
    /// Opens (creating if needed) the ledger at `path`.
    pub fn open(path: &Path) -> Result<Ledger, LedgerError> {
        let err = |source| LedgerError {
            path: path.to_path_buf(),
            source,
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| err(rusqlite::Error::ToSqlConversionFailure(Box::new(e))))?;
        }
        let writer = open_conn(path).map_err(err)?;
        migrate(&writer).map_err(err)?;
        writer.execute_batch(SCHEMA).map_err(err)?;
        let version: Option<String> = writer
            .query_row(
                "SELECT value FROM meta WHERE key = 'schema_version'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(err)?;
        match version.as_deref().map(str::parse::<i64>) {
            None => {
                writer
                    .execute(
                        "INSERT INTO meta (key, value) VALUES ('schema_version', ?1)",
                        [SCHEMA_VERSION.to_string()],
                    )
                    .map_err(err)?;
            }
            Some(Ok(v)) if v == SCHEMA_VERSION => {}
            Some(_) => {
                return Err(err(rusqlite::Error::InvalidParameterName(format!(
                    "schema version {} is not {SCHEMA_VERSION}; this ledger was written by another pixpipe",
                    version.unwrap_or_default()
                ))));
            }
        }
        Ok(Ledger {
            path: path.to_path_buf(),
            writer,
        })
    }

    /// A second connection for lookups from other threads.
    pub fn reader(&self) -> Result<LedgerReader, LedgerError> {
        let conn = open_conn(&self.path).map_err(|e| self.err(e))?;
        Ok(LedgerReader {
            path: self.path.clone(),
            conn: Mutex::new(conn),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, source: rusqlite::Error) -> LedgerError {
        LedgerError {
            path: self.path.clone(),
            source,
        }
    }

    /// Writes a batch of quick-check rows and output rows in one transaction.
    pub fn commit(
        &mut self,
        files: &[FileRow],
        outputs: &[OutputRow],
        run_id: i64,
    ) -> Result<(), LedgerError> {
        let path = self.path.clone();
        let err = |source| LedgerError {
            path: path.clone(),
            source,
        };
        let tx = self.writer.transaction().map_err(err)?;
        {
            let mut put_file = tx
                .prepare_cached(
                    "INSERT INTO files (path, dir, size, mtime_ns, source_md5) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT(path) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns,
                     source_md5 = excluded.source_md5",
                )
                .map_err(err)?;
            for f in files {
                put_file
                    .execute(params![
                        path_key(&f.path),
                        path_key(f.path.parent().unwrap_or(Path::new(""))),
                        f.size as i64,
                        f.mtime_ns,
                        f.source_md5
                    ])
                    .map_err(err)?;
            }
            let mut put_output = tx
                .prepare_cached(
                    "INSERT INTO outputs (target, source_md5, state, source_path, output_md5, location, viewer_url,
                        short_url, delete_url, remote_id, remote_md5, bytes, width, height, title, run_id, at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)
                     ON CONFLICT(target, source_md5) DO UPDATE SET state = excluded.state,
                        source_path = excluded.source_path, output_md5 = excluded.output_md5,
                        location = excluded.location, viewer_url = excluded.viewer_url,
                        short_url = excluded.short_url, delete_url = excluded.delete_url,
                        remote_id = excluded.remote_id, remote_md5 = excluded.remote_md5,
                        bytes = excluded.bytes, width = excluded.width, height = excluded.height,
                        title = excluded.title, run_id = excluded.run_id, at = excluded.at",
                )
                .map_err(err)?;
            for o in outputs {
                put_output
                    .execute(params![
                        o.target,
                        o.source_md5,
                        o.state.unwrap_or(OutputState::Done).as_str(),
                        o.source_path,
                        o.output_md5,
                        o.location,
                        o.viewer_url,
                        o.short_url,
                        o.delete_url,
                        o.remote_id,
                        o.remote_md5,
                        o.bytes.map(|b| b as i64),
                        o.width,
                        o.height,
                        o.title,
                        run_id,
                        o.at,
                    ])
                    .map_err(err)?;
            }
        }
        tx.commit().map_err(err)
    }

    /// Drops a `pending` row whose upload is known not to have been stored.
    pub fn clear_pending(&mut self, target: &str, source_md5: &str) -> Result<(), LedgerError> {
        self.writer
            .execute(
                "DELETE FROM outputs WHERE target = ?1 AND source_md5 = ?2 AND state = 'pending'",
                params![target, source_md5],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    /// Starts a run row and returns its id.
    pub fn begin_run(&self, pipeline: &str, target: &str) -> Result<i64, LedgerError> {
        self.writer
            .execute(
                "INSERT INTO runs (started_at, pipeline, target) VALUES (?1, ?2, ?3)",
                params![now_iso(), pipeline, target],
            )
            .map_err(|e| self.err(e))?;
        Ok(self.writer.last_insert_rowid())
    }

    pub fn finish_run(&self, run_id: i64, summary: &str) -> Result<(), LedgerError> {
        self.writer
            .execute(
                "UPDATE runs SET finished_at = ?1, summary = ?2 WHERE id = ?3",
                params![now_iso(), summary, run_id],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    /// Every output row, optionally for one target, oldest first.
    pub fn outputs(
        &self,
        target: Option<&str>,
        mut each: impl FnMut(OutputRow),
    ) -> Result<(), LedgerError> {
        let sql =
            format!("SELECT {COLUMNS} FROM outputs WHERE (?1 IS NULL OR target = ?1) ORDER BY id");
        let mut stmt = self.writer.prepare(&sql).map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![target], row_from_sql)
            .map_err(|e| self.err(e))?;
        for r in rows {
            each(r.map_err(|e| self.err(e))?);
        }
        Ok(())
    }

    /// Counts per target and state.
    pub fn stats(&self) -> Result<Vec<(String, String, u64, u64)>, LedgerError> {
        let mut stmt = self
            .writer
            .prepare("SELECT target, state, COUNT(*), COALESCE(SUM(bytes), 0) FROM outputs GROUP BY target, state ORDER BY target, state")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get::<_, i64>(2)? as u64,
                    r.get::<_, i64>(3)? as u64,
                ))
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// Forgets outputs whose source md5 or source path matches, so they are sent again.
    pub fn forget(&self, key: &str) -> Result<usize, LedgerError> {
        self.writer
            .execute(
                "DELETE FROM outputs WHERE source_md5 = ?1 OR source_path = ?1",
                params![key],
            )
            .map_err(|e| self.err(e))
    }
}

impl LedgerReader {
    fn err(&self, source: rusqlite::Error) -> LedgerError {
        LedgerError {
            path: self.path.clone(),
            source,
        }
    }

    /// Everything the ledger knows of the files in one folder, for one target: a
    /// re-run checks a whole folder with one query instead of two per file.
    pub fn known_in_dir(&self, dir: &Path, target: &str) -> Result<KnownDir, LedgerError> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let mut stmt = conn
            .prepare_cached(
                "SELECT f.path, f.size, f.mtime_ns, f.source_md5, o.state, o.location, o.viewer_url,
                        o.delete_url, o.output_md5
                 FROM files f LEFT JOIN outputs o ON o.source_md5 = f.source_md5 AND o.target = ?2
                 WHERE f.dir = ?1",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![path_key(dir), target], |r| {
                let path: Vec<u8> = r.get(0)?;
                Ok((
                    path,
                    KnownFile {
                        size: r.get::<_, i64>(1)? as u64,
                        mtime_ns: r.get(2)?,
                        source_md5: r.get(3)?,
                        state: r
                            .get::<_, Option<String>>(4)?
                            .map(|s| OutputState::parse(&s)),
                        location: r.get(5)?,
                        viewer_url: r.get(6)?,
                        delete_url: r.get(7)?,
                        output_md5: r.get(8)?,
                    },
                ))
            })
            .map_err(|e| self.err(e))?;
        let mut known = KnownDir::new();
        for row in rows {
            let (path, file) = row.map_err(|e| self.err(e))?;
            known.insert(path, file);
        }
        Ok(known)
    }

    /// What the ledger knows of this source at this target.
    pub fn lookup(&self, target: &str, source_md5: &str) -> Result<Option<OutputRow>, LedgerError> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        conn.query_row(
            &format!("SELECT {COLUMNS} FROM outputs WHERE target = ?1 AND source_md5 = ?2"),
            params![target, source_md5],
            row_from_sql,
        )
        .optional()
        .map_err(|e| self.err(e))
    }
}

const COLUMNS: &str =
    "target, source_md5, state, source_path, output_md5, location, viewer_url, short_url,
    delete_url, remote_id, remote_md5, bytes, width, height, title, at";

fn row_from_sql(r: &rusqlite::Row<'_>) -> rusqlite::Result<OutputRow> {
    Ok(OutputRow {
        target: r.get(0)?,
        source_md5: r.get(1)?,
        state: Some(OutputState::parse(&r.get::<_, String>(2)?)),
        source_path: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
        output_md5: r.get(4)?,
        location: r.get(5)?,
        viewer_url: r.get(6)?,
        short_url: r.get(7)?,
        delete_url: r.get(8)?,
        remote_id: r.get(9)?,
        remote_md5: r.get(10)?,
        bytes: r.get::<_, Option<i64>>(11)?.map(|b| b as u64),
        width: r.get(12)?,
        height: r.get(13)?,
        title: r.get(14)?,
        at: r.get(15)?,
    })
}

/// The current time as ISO 8601 UTC, for ledger rows.
pub fn now_iso() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_1_ledger_is_migrated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.sqlite");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             INSERT INTO meta VALUES ('schema_version', '1');
             CREATE TABLE files (path BLOB PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, source_md5 TEXT NOT NULL);
             INSERT INTO files VALUES (x'2f61', 1, 1, 'm');",
        )
        .unwrap();
        drop(conn);
        let mut l = Ledger::open(&path).unwrap();
        let f = FileRow {
            path: "/d/x.jpg".into(),
            size: 3,
            mtime_ns: 4,
            source_md5: "m2".into(),
        };
        l.commit(&[f], &[], 1).unwrap();
        let known = l
            .reader()
            .unwrap()
            .known_in_dir(Path::new("/d"), "t")
            .unwrap();
        assert_eq!(known.len(), 1);
    }

    #[test]
    fn quick_check_and_outputs_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.sqlite");
        let mut l = Ledger::open(&path).unwrap();
        let r = l.reader().unwrap();
        let f = FileRow {
            path: "/a/b.jpg".into(),
            size: 10,
            mtime_ns: 5,
            source_md5: "m1".into(),
        };
        let o = OutputRow {
            target: "t".into(),
            source_md5: "m1".into(),
            location: Some("x".into()),
            at: now_iso(),
            ..Default::default()
        };
        l.commit(&[f], &[o], 1).unwrap();
        let known = r.known_in_dir(Path::new("/a"), "t").unwrap();
        let k = &known[&b"/a/b.jpg"[..]];
        assert_eq!((k.size, k.mtime_ns, k.source_md5.as_str()), (10, 5, "m1"));
        assert_eq!(k.state, Some(OutputState::Done));
        assert!(r.known_in_dir(Path::new("/b"), "t").unwrap().is_empty());
        let row = r.lookup("t", "m1").unwrap().unwrap();
        assert_eq!(row.state, Some(OutputState::Done));
        assert!(r.lookup("other", "m1").unwrap().is_none());
        drop((l, r));
        let l = Ledger::open(&path).unwrap();
        let r = l.reader().unwrap();
        assert!(r.lookup("t", "m1").unwrap().is_some());
        assert_eq!(l.forget("m1").unwrap(), 1);
        assert!(r.lookup("t", "m1").unwrap().is_none());
    }
}
