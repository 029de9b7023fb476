//! The embedded ledger: one SQLite file in WAL mode.
//!
//! The `files` table is the quick check (path, size, mtime → source md5) that
//! lets a re-run skip reading unchanged files; `outputs` holds one row per
//! (target, source md5) with what came back. One connection writes; the
//! reader has its own, since WAL lets it read while the writer writes.

mod columns;
mod error;
mod history;
mod schema;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension, params};

use super::{
    FileRow, KnownDir, KnownFile, Ledger, LedgerError, LedgerErrorKind, LedgerReader, OutputKey,
    OutputRow, RunId,
};
use error::error;
use schema::{SCHEMA, SCHEMA_VERSION, migrate};

/// The single writer, which also answers `pixpipe ledger`.
pub struct SqliteLedger {
    path: PathBuf,
    writer: Connection,
}

/// Lookups from the worker threads, through one shared connection.
struct SqliteReader {
    path: PathBuf,
    conn: Mutex<Connection>,
}

fn open_conn(path: &Path) -> Result<Connection, rusqlite::Error> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(conn)
}

impl SqliteLedger {
    /// Opens (creating or migrating if needed) the ledger at `path`.
    pub fn open(path: &Path) -> Result<SqliteLedger, LedgerError> {
        let err = |e: rusqlite::Error| error(path, e);
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| error(path, LedgerErrorKind::Folder(e)))?;
        }
        let writer = open_conn(path).map_err(err)?;
        migrate(&writer).map_err(err)?;
        writer.execute_batch(SCHEMA).map_err(err)?;
        let version: Option<String> = writer
            .query_row(
                "SELECT value FROM meta WHERE key = 'schema_version'",
                [],
                |r| r.get("value"),
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
                return Err(error(
                    path,
                    LedgerErrorKind::Schema {
                        found: version.unwrap_or_default(),
                        expected: SCHEMA_VERSION,
                    },
                ));
            }
        }
        Ok(SqliteLedger {
            path: path.to_path_buf(),
            writer,
        })
    }

    fn err(&self, e: rusqlite::Error) -> LedgerError {
        error(&self.path, e)
    }

    fn write_rows(
        tx: &rusqlite::Transaction<'_>,
        files: &[FileRow],
        outputs: &[OutputRow],
        run: RunId,
    ) -> Result<(), rusqlite::Error> {
        let mut put_file = tx.prepare_cached(
            "INSERT INTO files (path, dir, size, mtime_ns, source_md5, beside)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT(path) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns,
             source_md5 = excluded.source_md5, beside = excluded.beside",
        )?;
        for f in files {
            put_file.execute(params![
                path_key(&f.path),
                path_key(f.path.parent().unwrap_or(Path::new(""))),
                f.size as i64,
                f.mtime_ns,
                f.source_md5,
                f.beside
            ])?;
        }
        let mut put_output = tx.prepare_cached(&columns::upsert())?;
        for o in outputs {
            columns::put(&mut put_output, o, run)?;
        }
        Ok(())
    }
}

impl Ledger for SqliteLedger {
    fn reader(&self) -> Result<Arc<dyn LedgerReader>, LedgerError> {
        let conn = open_conn(&self.path).map_err(|e| self.err(e))?;
        Ok(Arc::new(SqliteReader {
            path: self.path.clone(),
            conn: Mutex::new(conn),
        }))
    }

    fn commit(
        &mut self,
        files: &[FileRow],
        outputs: &[OutputRow],
        run: RunId,
    ) -> Result<Vec<OutputKey>, LedgerError> {
        let path = self.path.clone();
        let tx = self.writer.transaction().map_err(|e| error(&path, e))?;
        SqliteLedger::write_rows(&tx, files, outputs, run).map_err(|e| error(&path, e))?;
        tx.commit().map_err(|e| error(&path, e))?;
        Ok(Vec::new())
    }

    fn clear_pending(&mut self, target: &str, source_md5: &str) -> Result<(), LedgerError> {
        self.writer
            .execute(
                "DELETE FROM outputs WHERE target = ?1 AND source_md5 = ?2 AND state = 'pending'",
                params![target, source_md5],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    fn begin_run(&mut self, pipeline: &str, target: &str) -> Result<RunId, LedgerError> {
        self.writer
            .execute(
                "INSERT INTO runs (started_at, pipeline, target) VALUES (?1, ?2, ?3)",
                params![super::now_iso(), pipeline, target],
            )
            .map_err(|e| self.err(e))?;
        Ok(RunId(self.writer.last_insert_rowid()))
    }

    fn finish_run(&mut self, run: RunId, summary: &str) -> Result<(), LedgerError> {
        self.writer
            .execute(
                "UPDATE runs SET finished_at = ?1, summary = ?2 WHERE id = ?3",
                params![super::now_iso(), summary, run.0],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }
}

impl LedgerReader for SqliteReader {
    /// A re-run checks a whole folder with one query instead of two per file.
    fn known_in_dir(&self, dir: &Path, target: &str) -> Result<KnownDir, LedgerError> {
        let err = |e: rusqlite::Error| error(&self.path, e);
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT f.path AS file_path, f.size AS file_size, f.mtime_ns AS file_mtime_ns,
                    f.source_md5 AS file_md5, f.beside AS file_beside, {}
                 FROM files f LEFT JOIN outputs o ON o.source_md5 = f.source_md5 AND o.target = ?2
                 WHERE f.dir = ?1",
                columns::select("o")
            ))
            .map_err(err)?;
        let cols = columns::OutputColumns::of(&stmt).map_err(err)?;
        let at = |name: &str| stmt.column_index(name).map_err(err);
        let (path, size, mtime) = (at("file_path")?, at("file_size")?, at("file_mtime_ns")?);
        let (md5, beside, target_at) = (at("file_md5")?, at("file_beside")?, at("target")?);
        let mut rows = stmt.query(params![path_key(dir), target]).map_err(err)?;
        let mut known = KnownDir::new();
        while let Some(r) = rows.next().map_err(err)? {
            // `target` is never NULL in a row of `outputs`: NULL means no output joined.
            let has_output = r
                .get::<_, Option<String>>(target_at)
                .map_err(err)?
                .is_some();
            let output = if has_output {
                Some(cols.output(r).map_err(|k| error(&self.path, k))?)
            } else {
                None
            };
            let file = KnownFile {
                size: r.get::<_, i64>(size).map_err(err)? as u64,
                mtime_ns: r.get(mtime).map_err(err)?,
                source_md5: r.get(md5).map_err(err)?,
                beside: r.get(beside).map_err(err)?,
                output,
            };
            let path: Vec<u8> = r.get(path).map_err(err)?;
            known.insert(path, file);
        }
        Ok(known)
    }

    fn lookup(&self, target: &str, source_md5: &str) -> Result<Option<OutputRow>, LedgerError> {
        let err = |e: rusqlite::Error| error(&self.path, e);
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {} FROM outputs WHERE target = ?1 AND source_md5 = ?2",
                columns::select("outputs")
            ))
            .map_err(err)?;
        let cols = columns::OutputColumns::of(&stmt).map_err(err)?;
        let mut rows = stmt.query(params![target, source_md5]).map_err(err)?;
        match rows.next().map_err(err)? {
            Some(r) => cols.output(r).map(Some).map_err(|k| error(&self.path, k)),
            None => Ok(None),
        }
    }
}

/// The key a path has in the ledger: its bytes, as the OS gives them.
fn path_key(p: &Path) -> &[u8] {
    p.as_os_str().as_encoded_bytes()
}
