//! The shared ledger's tables, in a schema of their own (`pixpipe`) so they sit
//! beside anything else the database holds. Created and migrated by the first
//! worker to arrive, under an advisory lock, so that workers starting together do
//! not trip over each other.

use postgres::Client;

pub const SCHEMA_VERSION: i64 = 1;

/// The advisory lock's key: "pixpipe" in ASCII, as a number.
const LOCK: i64 = 0x0070_6978_7069_7065;

const TABLES: &str = "
CREATE SCHEMA IF NOT EXISTS pixpipe;
CREATE TABLE IF NOT EXISTS pixpipe.meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pixpipe.files (
    path BYTEA PRIMARY KEY,
    dir BYTEA NOT NULL,
    size BIGINT NOT NULL,
    mtime_ns BIGINT NOT NULL,
    source_md5 TEXT NOT NULL
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
    viewer_url TEXT,
    short_url TEXT,
    delete_url TEXT,
    remote_id TEXT,
    remote_md5 TEXT,
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

/// What the database holds: this version, or one this pixpipe does not know.
pub enum Found {
    Current,
    Other(String),
}

/// Creates the tables when they are missing and says which version they are.
pub fn prepare(client: &mut Client) -> Result<Found, postgres::Error> {
    let mut tx = client.transaction()?;
    // Held to the end of the transaction: the second worker waits, then finds it all done.
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK])?;
    tx.batch_execute(TABLES)?;
    let version: Option<String> = tx
        .query_opt(
            "SELECT value FROM pixpipe.meta WHERE key = 'schema_version'",
            &[],
        )?
        .map(|r| r.get(0));
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
