//! The embedded ledger: one SQLite file in WAL mode.
//!
//! The `files` table is the quick check (path, size, mtime → source md5) that
//! lets a re-run skip reading unchanged files; `outputs` holds one row per
//! (target, source md5) with what came back. One connection writes; the
//! reader has its own, since WAL lets it read while the writer writes.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension, params};

use super::schema::{SCHEMA, SCHEMA_VERSION, migrate};
use super::{
    FileRow, KnownDir, KnownFile, Ledger, LedgerError, LedgerErrorKind, LedgerReader, OutputKey,
    OutputRow, OutputState, RunId, RunRow, SourceEntry, StatRow,
};

/// The single writer.
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

fn error(path: &Path, kind: impl Into<LedgerErrorKind>) -> LedgerError {
    LedgerError {
        path: path.to_path_buf(),
        kind: kind.into(),
    }
}

impl SqliteLedger {
    /// Opens (creating if needed) the ledger at `path`.
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
            "INSERT INTO files (path, dir, size, mtime_ns, source_md5) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(path) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns,
             source_md5 = excluded.source_md5",
        )?;
        for f in files {
            put_file.execute(params![
                path_key(&f.path),
                path_key(f.path.parent().unwrap_or(Path::new(""))),
                f.size as i64,
                f.mtime_ns,
                f.source_md5
            ])?;
        }
        let mut put_output = tx.prepare_cached(
            "INSERT INTO outputs (target, source_md5, state, source_path, output_md5, location, viewer_url,
                short_url, delete_url, remote_id, remote_md5, bytes, width, height, title, reason, run_id, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)
             ON CONFLICT(target, source_md5) DO UPDATE SET state = excluded.state,
                source_path = excluded.source_path, output_md5 = excluded.output_md5,
                location = excluded.location, viewer_url = excluded.viewer_url,
                short_url = excluded.short_url, delete_url = excluded.delete_url,
                remote_id = excluded.remote_id, remote_md5 = excluded.remote_md5,
                bytes = excluded.bytes, width = excluded.width, height = excluded.height,
                title = excluded.title, reason = excluded.reason, run_id = excluded.run_id,
                at = excluded.at
             WHERE excluded.state <> 'failed' OR outputs.state = 'failed'",
        )?;
        for o in outputs {
            put_output.execute(params![
                o.target,
                o.source_md5,
                o.state.as_str(),
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
                o.reason,
                run.0,
                o.at,
            ])?;
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

    fn outputs(
        &self,
        target: Option<&str>,
        each: &mut dyn FnMut(OutputRow) -> ControlFlow<()>,
    ) -> Result<(), LedgerError> {
        let sql =
            format!("SELECT {COLUMNS} FROM outputs WHERE (?1 IS NULL OR target = ?1) ORDER BY id");
        let mut stmt = self.writer.prepare(&sql).map_err(|e| self.err(e))?;
        let mut rows = stmt.query(params![target]).map_err(|e| self.err(e))?;
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            if each(row_from_sql(r, 0).map_err(|k| error(&self.path, k))?).is_break() {
                break;
            }
        }
        Ok(())
    }

    fn stats(&self) -> Result<Vec<StatRow>, LedgerError> {
        let mut stmt = self
            .writer
            .prepare(
                "SELECT target, state, COUNT(*), COALESCE(SUM(bytes), 0) FROM outputs
                 GROUP BY target, state ORDER BY target, state",
            )
            .map_err(|e| self.err(e))?;
        let mut rows = stmt.query([]).map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let state: String = r.get(1).map_err(|e| self.err(e))?;
            out.push(StatRow {
                target: r.get(0).map_err(|e| self.err(e))?,
                state: OutputState::parse(&state).map_err(|k| error(&self.path, k))?,
                files: r.get::<_, i64>(2).map_err(|e| self.err(e))? as u64,
                bytes: r.get::<_, i64>(3).map_err(|e| self.err(e))? as u64,
            });
        }
        Ok(out)
    }

    fn sources(&self) -> Result<Vec<SourceEntry>, LedgerError> {
        let err = |e: rusqlite::Error| error(&self.path, e);
        let mut stmt = self
            .writer
            .prepare("SELECT target, source_md5, source_path FROM outputs ORDER BY id")
            .map_err(err)?;
        let rows = stmt
            .query_map([], |r| {
                Ok(SourceEntry {
                    key: OutputKey {
                        target: r.get(0)?,
                        source_md5: r.get(1)?,
                    },
                    source_path: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                })
            })
            .map_err(err)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(err)
    }

    fn forget(&mut self, keys: &[OutputKey]) -> Result<usize, LedgerError> {
        let path = self.path.clone();
        let err = |e: rusqlite::Error| error(&path, e);
        let tx = self.writer.transaction().map_err(err)?;
        let mut gone = 0;
        {
            let mut delete = tx
                .prepare_cached("DELETE FROM outputs WHERE target = ?1 AND source_md5 = ?2")
                .map_err(err)?;
            for k in keys {
                gone += delete
                    .execute(params![k.target, k.source_md5])
                    .map_err(err)?;
            }
        }
        tx.commit().map_err(err)?;
        Ok(gone)
    }

    fn runs(&self) -> Result<Vec<RunRow>, LedgerError> {
        let err = |e: rusqlite::Error| error(&self.path, e);
        let mut stmt = self
            .writer
            .prepare(
                "SELECT started_at, finished_at, pipeline, target, summary FROM runs ORDER BY id",
            )
            .map_err(err)?;
        let rows = stmt
            .query_map([], |r| {
                Ok(RunRow {
                    started_at: r.get(0)?,
                    finished_at: r.get(1)?,
                    pipeline: r.get(2)?,
                    target: r.get(3)?,
                    summary: r.get(4)?,
                })
            })
            .map_err(err)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(err)
    }

    fn import(&mut self, runs: &[RunRow], outputs: &[OutputRow]) -> Result<(), LedgerError> {
        let path = self.path.clone();
        let err = |e: rusqlite::Error| error(&path, e);
        let tx = self.writer.transaction().map_err(err)?;
        {
            let mut put = tx
                .prepare_cached(
                    "INSERT INTO runs (started_at, finished_at, pipeline, target, summary)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(err)?;
            for r in runs {
                put.execute(params![
                    r.started_at,
                    r.finished_at,
                    r.pipeline,
                    r.target,
                    r.summary
                ])
                .map_err(err)?;
            }
        }
        SqliteLedger::write_rows(&tx, &[], outputs, RunId(0)).map_err(err)?;
        tx.commit().map_err(err)
    }
}

impl LedgerReader for SqliteReader {
    /// A re-run checks a whole folder with one query instead of two per file.
    fn known_in_dir(&self, dir: &Path, target: &str) -> Result<KnownDir, LedgerError> {
        let err = |e: rusqlite::Error| error(&self.path, e);
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT f.path, f.size, f.mtime_ns, f.source_md5, o.source_md5, {O_COLUMNS}
                 FROM files f LEFT JOIN outputs o ON o.source_md5 = f.source_md5 AND o.target = ?2
                 WHERE f.dir = ?1"
            ))
            .map_err(err)?;
        let mut rows = stmt.query(params![path_key(dir), target]).map_err(err)?;
        let mut known = KnownDir::new();
        while let Some(r) = rows.next().map_err(err)? {
            let path: Vec<u8> = r.get(0).map_err(err)?;
            let has_output = r.get::<_, Option<String>>(4).map_err(err)?.is_some();
            let output = if has_output {
                Some(row_from_sql(r, 5).map_err(|k| error(&self.path, k))?)
            } else {
                None
            };
            let file = KnownFile {
                size: r.get::<_, i64>(1).map_err(err)? as u64,
                mtime_ns: r.get(2).map_err(err)?,
                source_md5: r.get(3).map_err(err)?,
                output,
            };
            known.insert(path, file);
        }
        Ok(known)
    }

    fn lookup(&self, target: &str, source_md5: &str) -> Result<Option<OutputRow>, LedgerError> {
        let err = |e: rusqlite::Error| error(&self.path, e);
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM outputs WHERE target = ?1 AND source_md5 = ?2"
            ))
            .map_err(err)?;
        let mut rows = stmt.query(params![target, source_md5]).map_err(err)?;
        match rows.next().map_err(err)? {
            Some(r) => row_from_sql(r, 0)
                .map(Some)
                .map_err(|k| error(&self.path, k)),
            None => Ok(None),
        }
    }
}

/// The key a path has in the ledger: its bytes, as the OS gives them.
fn path_key(p: &Path) -> &[u8] {
    p.as_os_str().as_encoded_bytes()
}

const COLUMNS: &str =
    "target, source_md5, state, source_path, output_md5, location, viewer_url, short_url,
    delete_url, remote_id, remote_md5, bytes, width, height, title, reason, at";

const O_COLUMNS: &str = "o.target, o.source_md5, o.state, o.source_path, o.output_md5,
    o.location, o.viewer_url, o.short_url, o.delete_url, o.remote_id, o.remote_md5, o.bytes,
    o.width, o.height, o.title, o.reason, o.at";

/// An output row from the columns of [`COLUMNS`], starting at column `at`.
fn row_from_sql(r: &rusqlite::Row<'_>, at: usize) -> Result<OutputRow, LedgerErrorKind> {
    let state: String = r.get(at + 2)?;
    Ok(OutputRow {
        target: r.get(at)?,
        source_md5: r.get(at + 1)?,
        state: OutputState::parse(&state)?,
        source_path: r.get::<_, Option<String>>(at + 3)?.unwrap_or_default(),
        output_md5: r.get(at + 4)?,
        location: r.get(at + 5)?,
        viewer_url: r.get(at + 6)?,
        short_url: r.get(at + 7)?,
        delete_url: r.get(at + 8)?,
        remote_id: r.get(at + 9)?,
        remote_md5: r.get(at + 10)?,
        bytes: r.get::<_, Option<i64>>(at + 11)?.map(|b| b as u64),
        width: r.get(at + 12)?,
        height: r.get(at + 13)?,
        title: r.get(at + 14)?,
        reason: r.get(at + 15)?,
        at: r.get(at + 16)?,
    })
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
        let mut l = SqliteLedger::open(&path).unwrap();
        let f = FileRow {
            path: "/d/x.jpg".into(),
            size: 3,
            mtime_ns: 4,
            source_md5: "m2".into(),
        };
        l.commit(&[f], &[], RunId(1)).unwrap();
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
        let mut l = SqliteLedger::open(&path).unwrap();
        let r = l.reader().unwrap();
        let f = FileRow {
            path: "/a/b.jpg".into(),
            size: 10,
            mtime_ns: 5,
            source_md5: "m1".into(),
        };
        let mut o = OutputRow::new("t", "m1", OutputState::Written);
        o.location = Some("x".into());
        l.commit(&[f], &[o], RunId(1)).unwrap();
        let known = r.known_in_dir(Path::new("/a"), "t").unwrap();
        let k = &known[&b"/a/b.jpg"[..]];
        assert_eq!((k.size, k.mtime_ns, k.source_md5.as_str()), (10, 5, "m1"));
        let out = k.output.as_ref().unwrap();
        assert_eq!(out.state, OutputState::Written);
        assert_eq!(out.location.as_deref(), Some("x"));
        assert!(r.known_in_dir(Path::new("/b"), "t").unwrap().is_empty());
        assert!(
            r.known_in_dir(Path::new("/a"), "other").unwrap()[&b"/a/b.jpg"[..]]
                .output
                .is_none()
        );
        let row = r.lookup("t", "m1").unwrap().unwrap();
        assert_eq!(row.state, OutputState::Written);
        assert!(r.lookup("other", "m1").unwrap().is_none());
        drop((l, r));
        let mut l = SqliteLedger::open(&path).unwrap();
        let r = l.reader().unwrap();
        assert!(r.lookup("t", "m1").unwrap().is_some());
        let key = OutputKey {
            target: "t".into(),
            source_md5: "m1".into(),
        };
        assert_eq!(l.forget(&[key]).unwrap(), 1);
        assert!(r.lookup("t", "m1").unwrap().is_none());
    }

    #[test]
    fn a_version_2_ledger_speaks_the_report_words_after_migration() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v2.sqlite");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             INSERT INTO meta VALUES ('schema_version', '2');
             CREATE TABLE outputs (id INTEGER PRIMARY KEY, target TEXT NOT NULL, source_md5 TEXT NOT NULL,
                state TEXT NOT NULL, source_path TEXT, output_md5 TEXT, location TEXT, viewer_url TEXT,
                short_url TEXT, delete_url TEXT, remote_id TEXT, remote_md5 TEXT, bytes INTEGER,
                width INTEGER, height INTEGER, title TEXT, run_id INTEGER, at TEXT NOT NULL);
             INSERT INTO outputs (target, source_md5, state, at) VALUES
                ('dir:/o', 'a', 'done', 't'), ('chevereto:h', 'b', 'done', 't'),
                ('chevereto:h', 'c', 'host_duplicate', 't'), ('chevereto:h', 'd', 'pending', 't');",
        )
        .unwrap();
        drop(conn);
        let l = SqliteLedger::open(&path).unwrap();
        let mut states = Vec::new();
        l.outputs(None, &mut |r| {
            states.push((r.source_md5, r.state));
            std::ops::ControlFlow::Continue(())
        })
        .unwrap();
        assert_eq!(
            states,
            vec![
                ("a".to_string(), OutputState::Written),
                ("b".to_string(), OutputState::Uploaded),
                ("c".to_string(), OutputState::AlreadyThere),
                ("d".to_string(), OutputState::Pending),
            ]
        );
    }

    #[test]
    fn a_failure_never_replaces_a_delivered_row() {
        let dir = tempfile::tempdir().unwrap();
        let mut l = SqliteLedger::open(&dir.path().join("l.sqlite")).unwrap();
        let mut failed = OutputRow::new("t", "m", OutputState::Failed);
        failed.reason = Some("cannot decode".into());
        l.commit(&[], &[failed.clone()], RunId(1)).unwrap();
        let r = l.reader().unwrap();
        let row = r.lookup("t", "m").unwrap().unwrap();
        assert_eq!(row.state, OutputState::Failed);
        assert_eq!(row.reason.as_deref(), Some("cannot decode"));
        l.commit(
            &[],
            &[OutputRow::new("t", "m", OutputState::Written)],
            RunId(2),
        )
        .unwrap();
        l.commit(&[], &[failed], RunId(3)).unwrap();
        assert_eq!(
            r.lookup("t", "m").unwrap().unwrap().state,
            OutputState::Written
        );
    }

    #[test]
    fn sources_list_every_output_and_forget_takes_exactly_the_keys_given() {
        let dir = tempfile::tempdir().unwrap();
        let mut l = SqliteLedger::open(&dir.path().join("l.sqlite")).unwrap();
        let row = |target: &str, md5: &str, path: &str| {
            let mut o = OutputRow::new(target, md5, OutputState::Written);
            o.source_path = path.into();
            o
        };
        let rows = [
            row("t", "m1", "/in/a.jpg"),
            row("t", "m2", "/in/b.jpg"),
            row("u", "m1", "/in/a.jpg"),
        ];
        l.commit(&[], &rows, RunId(1)).unwrap();
        let listed: Vec<(String, String, String)> = l
            .sources()
            .unwrap()
            .into_iter()
            .map(|e| (e.key.target, e.key.source_md5, e.source_path))
            .collect();
        let expected: Vec<(String, String, String)> = rows
            .iter()
            .map(|o| {
                (
                    o.target.clone(),
                    o.source_md5.clone(),
                    o.source_path.clone(),
                )
            })
            .collect();
        assert_eq!(listed, expected);
        let key = |target: &str, md5: &str| OutputKey {
            target: target.into(),
            source_md5: md5.into(),
        };
        // Only (t, m1): the same content at another target stays.
        assert_eq!(l.forget(&[key("t", "m1"), key("t", "nope")]).unwrap(), 1);
        let left: Vec<OutputKey> = l.sources().unwrap().into_iter().map(|e| e.key).collect();
        assert_eq!(left, vec![key("t", "m2"), key("u", "m1")]);
        assert_eq!(l.forget(&[]).unwrap(), 0);
    }

    #[test]
    fn an_unknown_state_is_an_error_not_pending() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.sqlite");
        let mut l = SqliteLedger::open(&path).unwrap();
        l.commit(
            &[],
            &[OutputRow::new("t", "m", OutputState::Written)],
            RunId(1),
        )
        .unwrap();
        l.writer
            .execute("UPDATE outputs SET state = 'shipped'", [])
            .unwrap();
        let e = l.reader().unwrap().lookup("t", "m").unwrap_err();
        assert!(e.to_string().contains("shipped"), "{e}");
        assert!(l.outputs(None, &mut |_| ControlFlow::Continue(())).is_err());
    }
}
