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
    FileRow, KnownDir, KnownFile, KnownOutput, Ledger, LedgerError, LedgerErrorKind, LedgerReader,
    OutputKey, OutputRow, OutputState, RunId,
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
    /// A re-run checks a whole folder with two range reads instead of two lookups per
    /// file: its files, then the outputs of sources in it (an index by source folder,
    /// see the schema), matched by md5. Looking outputs up by md5 instead reads that
    /// index in random order: at 10^5 outputs it no longer fits SQLite's page cache,
    /// and a re-run read 86,000 pages of a ledger of 15,000. A file whose output was
    /// delivered from another folder (a copy, a moved folder) is looked up by md5.
    fn known_in_dir(&self, dir: &Path, target: &str) -> Result<KnownDir, LedgerError> {
        let err = |e: rusqlite::Error| error(&self.path, e);
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let here = outputs_in_dir(&conn, dir, target).map_err(|k| error(&self.path, k))?;
        let mut stmt = conn
            .prepare_cached(
                "SELECT path, size, mtime_ns, source_md5, beside FROM files WHERE dir = ?1",
            )
            .map_err(err)?;
        let mut rows = stmt.query(params![path_key(dir)]).map_err(err)?;
        let mut known = KnownDir::default();
        while let Some(r) = rows.next().map_err(err)? {
            let source_md5: String = r.get(3).map_err(err)?;
            let output = match here.get(&source_md5) {
                Some(o) => Some(o.clone()),
                None => {
                    known_output(&conn, target, &source_md5).map_err(|k| error(&self.path, k))?
                }
            };
            let file = KnownFile {
                size: r.get::<_, i64>(1).map_err(err)? as u64,
                mtime_ns: r.get(2).map_err(err)?,
                source_md5,
                beside: r.get(4).map_err(err)?,
                output,
            };
            let path: Vec<u8> = r.get(0).map_err(err)?;
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

/// The outputs at target `?1` of the sources in folder `?2` (with its trailing '/'),
/// through the index `outputs_source_dir`, whose expression it repeats word for word
/// so that SQLite uses it.
const OUTPUTS_IN_DIR: &str = "SELECT source_md5, state, location, output_md5, answer
    FROM outputs WHERE target = ?1 AND rtrim(source_path, replace(source_path, '/', '')) = ?2";

/// The outputs at `target` of the sources directly in `dir`, by source md5. A folder
/// whose path is not UTF-8 has none here (`source_path` holds paths as text): its
/// files are looked up one by one.
fn outputs_in_dir(
    conn: &Connection,
    dir: &Path,
    target: &str,
) -> Result<foldhash::HashMap<String, KnownOutput>, LedgerErrorKind> {
    let mut found = foldhash::HashMap::default();
    let Some(dir) = dir.to_str() else {
        return Ok(found);
    };
    let mut stmt = conn.prepare_cached(OUTPUTS_IN_DIR)?;
    let mut rows = stmt.query(params![target, format!("{dir}/")])?;
    while let Some(r) = rows.next()? {
        found.insert(r.get(0)?, output_at(r)?);
    }
    Ok(found)
}

/// What the ledger holds of `source_md5` at `target`, for the quick check.
fn known_output(
    conn: &Connection,
    target: &str,
    source_md5: &str,
) -> Result<Option<KnownOutput>, LedgerErrorKind> {
    let mut stmt = conn.prepare_cached(
        "SELECT source_md5, state, location, output_md5, answer FROM outputs
         WHERE target = ?1 AND source_md5 = ?2",
    )?;
    let mut rows = stmt.query(params![target, source_md5])?;
    match rows.next()? {
        Some(r) => Ok(Some(output_at(r)?)),
        None => Ok(None),
    }
}

/// A [`KnownOutput`] from the columns 1 to 4 of a row.
fn output_at(r: &rusqlite::Row<'_>) -> Result<KnownOutput, LedgerErrorKind> {
    let state = text_at(r, 1)?.unwrap_or_default();
    Ok(KnownOutput {
        state: OutputState::parse(state)?,
        location: r.get(2)?,
        output_md5: r.get(3)?,
        answer: OutputRow::answer_from_json(text_at(r, 4)?)?,
    })
}

/// The text at column `i`, borrowed from the row (not copied into a `String`).
fn text_at<'r>(r: &'r rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Option<&'r str>> {
    r.get_ref(i)?.as_str_or_null().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// The key a path has in the ledger: its bytes, as the OS gives them.
fn path_key(p: &Path) -> &[u8] {
    p.as_os_str().as_encoded_bytes()
}
