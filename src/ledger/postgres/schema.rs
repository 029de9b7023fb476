//! The shared ledger's tables, in a schema of their own (`pixpipe`) so they sit
//! beside anything else the database holds. Created and migrated by the first
//! worker to arrive, under an advisory lock, so that workers starting together do
//! not trip over each other.
//!
//! Version 2 keeps a target's answers (URLs, the host's id and md5) in one JSON
//! column, `answer`, instead of a column each, so a new target needs no new columns.
//! Version 3 stamps each quick-check row with its sidecars (`files.beside`).

use postgres::Client;

pub const SCHEMA_VERSION: i64 = 3;

/// The advisory lock's key: "pixpipe" in ASCII, as a number.
const LOCK: i64 = 0x0070_6978_7069_7065;

/// Where the version is kept: created first, so a migration can read it.
const META: &str = "
CREATE SCHEMA IF NOT EXISTS pixpipe;
CREATE TABLE IF NOT EXISTS pixpipe.meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
";

const TABLES: &str = "
CREATE TABLE IF NOT EXISTS pixpipe.files (
    path BYTEA PRIMARY KEY,
    dir BYTEA NOT NULL,
    size BIGINT NOT NULL,
    mtime_ns BIGINT NOT NULL,
    source_md5 TEXT NOT NULL,
    beside TEXT
);
CREATE INDEX IF NOT EXISTS files_dir ON pixpipe.files (dir);
CREATE TABLE IF NOT EXISTS pixpipe.outputs (
    id BIGSERIAL PRIMARY KEY,
    target TEXT NOT NULL,
    source_md5 TEXT NOT NULL,
    state TEXT NOT NULL,
    source_path TEXT,
    output_md5 TEXT,
    location TEXT,
    answer TEXT,
    bytes BIGINT,
    width INTEGER,
    height INTEGER,
    title TEXT,
    reason TEXT,
    run_id BIGINT,
    worker TEXT,
    at TEXT NOT NULL,
    UNIQUE (target, source_md5)
);
CREATE INDEX IF NOT EXISTS outputs_worker ON pixpipe.outputs (worker);
CREATE TABLE IF NOT EXISTS pixpipe.runs (
    id BIGSERIAL PRIMARY KEY,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    pipeline TEXT,
    target TEXT NOT NULL,
    summary TEXT,
    worker TEXT
);
CREATE TABLE IF NOT EXISTS pixpipe.workers (
    id TEXT PRIMARY KEY,
    host TEXT NOT NULL,
    pid BIGINT NOT NULL,
    started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    heartbeat_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    lease_until TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ
);
CREATE TABLE IF NOT EXISTS pixpipe.path_claims (
    target TEXT NOT NULL,
    path BYTEA NOT NULL,
    worker TEXT NOT NULL,
    PRIMARY KEY (target, path)
);
CREATE INDEX IF NOT EXISTS path_claims_worker ON pixpipe.path_claims (worker);
CREATE TABLE IF NOT EXISTS pixpipe.content_claims (
    target TEXT NOT NULL,
    source_md5 TEXT NOT NULL,
    worker TEXT NOT NULL,
    path TEXT NOT NULL,
    PRIMARY KEY (target, source_md5)
);
CREATE INDEX IF NOT EXISTS content_claims_worker ON pixpipe.content_claims (worker);
";

/// Version 1 to 2: the host's answers, each from its own column into one JSON object
/// named as the target names them; `jsonb_strip_nulls` leaves out the NULL ones, and a
/// row with none keeps no object at all.
const ANSWERS_INTO_ONE_COLUMN: &str = "
ALTER TABLE pixpipe.outputs ADD COLUMN answer TEXT;
UPDATE pixpipe.outputs SET answer = NULLIF(jsonb_strip_nulls(jsonb_build_object(
    'viewer_url', viewer_url, 'short_url', short_url, 'delete_url', delete_url,
    'id', remote_id, 'md5', remote_md5))::TEXT, '{}');
ALTER TABLE pixpipe.outputs DROP COLUMN viewer_url, DROP COLUMN short_url,
    DROP COLUMN delete_url, DROP COLUMN remote_id, DROP COLUMN remote_md5;
UPDATE pixpipe.meta SET value = '2' WHERE key = 'schema_version';
";

/// Version 2 to 3: the sidecars' stamp of each quick-check row; older rows keep NULL,
/// "not known", which the quick check takes as unchanged.
const SIDECAR_STAMPS: &str = "
ALTER TABLE pixpipe.files ADD COLUMN IF NOT EXISTS beside TEXT;
UPDATE pixpipe.meta SET value = '3' WHERE key = 'schema_version';
";

/// What the database holds: this version, or one this pixpipe does not know.
pub enum Found {
    Current,
    Other(String),
}

/// Creates the tables when they are missing, brings a version 1 ledger up to date (in
/// the same transaction: a worker that waited on the lock finds it done), and says
/// which version the tables are.
pub fn prepare(client: &mut Client) -> Result<Found, postgres::Error> {
    let mut tx = client.transaction()?;
    // Held to the end of the transaction: the second worker waits, then finds it all done.
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK])?;
    tx.batch_execute(META)?;
    let mut version: Option<String> = tx
        .query_opt(
            "SELECT value FROM pixpipe.meta WHERE key = 'schema_version'",
            &[],
        )?
        .map(|r| r.get("value"));
    if version.as_deref() == Some("1") {
        tx.batch_execute(ANSWERS_INTO_ONE_COLUMN)?;
        version = Some("2".into());
    }
    tx.batch_execute(TABLES)?;
    // After the tables: a version 1 ledger had no `files` yet, and has it now.
    if version.as_deref() == Some("2") {
        tx.batch_execute(SIDECAR_STAMPS)?;
        version = Some("3".into());
    }
    let found = match version {
        None => {
            tx.execute(
                "INSERT INTO pixpipe.meta (key, value) VALUES ('schema_version', $1)",
                &[&SCHEMA_VERSION.to_string()],
            )?;
            Found::Current
        }
        Some(v) if v == SCHEMA_VERSION.to_string() => Found::Current,
        Some(v) => Found::Other(v),
    };
    tx.commit()?;
    Ok(found)
}
