//! The SQLite ledger's tables, and the migrations from older versions.

use rusqlite::{Connection, OptionalExtension};

pub const SCHEMA_VERSION: i64 = 5;

pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    path BLOB PRIMARY KEY,
    dir BLOB NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    source_md5 TEXT NOT NULL,
    beside TEXT
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
    answer TEXT,
    bytes INTEGER,
    width INTEGER,
    height INTEGER,
    title TEXT,
    reason TEXT,
    run_id INTEGER,
    at TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS outputs_target_md5 ON outputs(target, source_md5);
-- The outputs of a source folder together, for the quick check of a folder: the
-- folder of `source_path` with its trailing '/' (trimming from the right every
-- character of the path but '/' stops at the last '/'). An index on an expression
-- needs no new column, so a ledger of this schema version gets it when opened.
CREATE INDEX IF NOT EXISTS outputs_source_dir
    ON outputs(target, rtrim(source_path, replace(source_path, '/', '')));
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    pipeline TEXT,
    target TEXT NOT NULL,
    summary TEXT
);
";

/// Brings a ledger of an older schema up to date, one version at a time.
/// Version 2 spelt states `done` and `host_duplicate` and kept no failures; version 3
/// uses the words of the report (`written`, `uploaded`, `already_there`) and records
/// failed files with their reason. Version 1 had no `files.dir`; the
/// quick-check table is only a cache of md5s, so it is rebuilt (files are read once more).
/// Version 4 keeps a target's answers (URLs, the host's id and md5) in one JSON column,
/// `answer`, instead of a column each, so a new target needs no new columns.
/// Version 5 stamps each quick-check row with its sidecars (`files.beside`); rows of
/// older versions have NULL there, "not known", which the quick check takes as unchanged.
pub fn migrate(conn: &Connection) -> Result<(), rusqlite::Error> {
    let version: Option<String> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'schema_version'",
            [],
            |r| r.get("value"),
        )
        .optional()
        .or_else(|e| match e {
            rusqlite::Error::SqliteFailure(_, _) => Ok(None),
            other => Err(other),
        })?;
    let mut version = version.and_then(|v| v.parse::<i64>().ok());
    if version == Some(1) {
        conn.execute_batch(
            "BEGIN; DROP TABLE IF EXISTS files;
             UPDATE meta SET value = '2' WHERE key = 'schema_version'; COMMIT;",
        )?;
        version = Some(2);
    }
    let has_outputs = has_table(conn, "outputs")?;
    if version == Some(2) && !has_outputs {
        conn.execute(
            "UPDATE meta SET value = '3' WHERE key = 'schema_version'",
            [],
        )?;
        version = Some(3);
    } else if version == Some(2) {
        conn.execute_batch(
            "BEGIN;
             ALTER TABLE outputs ADD COLUMN reason TEXT;
             UPDATE outputs SET state = CASE
                 WHEN state = 'done' AND target LIKE 'dir:%' THEN 'written'
                 WHEN state = 'done' THEN 'uploaded'
                 WHEN state = 'host_duplicate' THEN 'already_there'
                 ELSE state END;
             UPDATE meta SET value = '3' WHERE key = 'schema_version'; COMMIT;",
        )?;
        version = Some(3);
    }
    if version == Some(3) && !has_outputs {
        conn.execute(
            "UPDATE meta SET value = '4' WHERE key = 'schema_version'",
            [],
        )?;
        version = Some(4);
    } else if version == Some(3) {
        conn.execute_batch(ANSWERS_INTO_ONE_COLUMN)?;
        version = Some(4);
    }
    let has_files = has_table(conn, "files")?;
    if version == Some(4) {
        let add = if has_files {
            "ALTER TABLE files ADD COLUMN beside TEXT;"
        } else {
            ""
        };
        conn.execute_batch(&format!(
            "BEGIN; {add} UPDATE meta SET value = '5' WHERE key = 'schema_version'; COMMIT;"
        ))?;
    }
    Ok(())
}

fn has_table(conn: &Connection, name: &str) -> Result<bool, rusqlite::Error> {
    conn.query_row(
        "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = ?1",
        [name],
        |r| r.get::<_, i64>("n"),
    )
    .map(|n| n > 0)
}

/// Version 3 to 4: the host's answers, each from its own column into one JSON object
/// named as the target names them. `json_patch` onto an empty object leaves out the
/// NULL ones, and a row with none keeps no object at all.
const ANSWERS_INTO_ONE_COLUMN: &str = "BEGIN;
    ALTER TABLE outputs ADD COLUMN answer TEXT;
    UPDATE outputs SET answer = NULLIF(json_patch('{}', json_object(
        'viewer_url', viewer_url, 'short_url', short_url, 'delete_url', delete_url,
        'id', remote_id, 'md5', remote_md5)), '{}');
    ALTER TABLE outputs DROP COLUMN viewer_url;
    ALTER TABLE outputs DROP COLUMN short_url;
    ALTER TABLE outputs DROP COLUMN delete_url;
    ALTER TABLE outputs DROP COLUMN remote_id;
    ALTER TABLE outputs DROP COLUMN remote_md5;
    UPDATE meta SET value = '4' WHERE key = 'schema_version';
    COMMIT;";
