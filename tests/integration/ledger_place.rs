//! The ledger as `pixpipe ledger` finds and reads it: one reading of a pipeline file's
//! `ledger.path` and `ledger.url` (both at once is refused, naming both), `--ledger`
//! and `--pipeline` as alternatives, and a shared ledger of the first version migrated
//! with the host's answers kept and exported as before.

use crate::support::postgres;
use crate::support::{self, stderr, stdout};

#[test]
fn a_pipeline_file_with_both_a_ledger_path_and_url_is_refused_naming_both() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("p.yaml");
    std::fs::write(
        &p,
        "version: 1\ninput:\n  paths: [in]\nledger:\n  path: l.sqlite\n  url: postgres://ann@127.0.0.1:1/photos\ntarget:\n  dir:\n    path: out\n",
    )
    .unwrap();
    let out = support::run(&["ledger", "--pipeline", p.to_str().unwrap(), "stats"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("ledger.path") && err.contains("ledger.url"),
        "{err}"
    );
    assert!(stdout(&out).is_empty());
}

#[test]
fn ledger_and_pipeline_options_exclude_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let l = dir.path().join("l.sqlite");
    let p = dir.path().join("p.yaml");
    let out = support::run(&[
        "ledger",
        "--ledger",
        l.to_str().unwrap(),
        "--pipeline",
        p.to_str().unwrap(),
        "stats",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("--ledger") && err.contains("--pipeline"),
        "{err}"
    );
}

/// The tables of the first shared ledger, before the host's answers were one column.
const VERSION_1: &str = "
CREATE SCHEMA pixpipe;
CREATE TABLE pixpipe.meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO pixpipe.meta VALUES ('schema_version', '1');
CREATE TABLE pixpipe.outputs (
    id BIGSERIAL PRIMARY KEY, target TEXT NOT NULL, source_md5 TEXT NOT NULL,
    state TEXT NOT NULL, source_path TEXT, output_md5 TEXT, location TEXT, viewer_url TEXT,
    short_url TEXT, delete_url TEXT, remote_id TEXT, remote_md5 TEXT, bytes BIGINT,
    width INTEGER, height INTEGER, title TEXT, reason TEXT, run_id BIGINT, worker TEXT,
    at TEXT NOT NULL, UNIQUE (target, source_md5)
);
INSERT INTO pixpipe.outputs (target, source_md5, state, source_path, location, viewer_url,
    short_url, delete_url, remote_id, remote_md5, bytes, width, height, title, at) VALUES
    ('chevereto:h', 'a', 'uploaded', '/in/a.jpg', 'https://h/i/a.jpg', 'https://h/image/a',
     'https://h/a', 'https://h/delete/a', 'Ab1', '0123', 10, 4, 3, 'A', 't1'),
    ('chevereto:h', 'b', 'uploaded', '/in/b.jpg', 'https://h/i/b.jpg', 'https://h/image/b',
     NULL, NULL, 'Bb2', NULL, NULL, NULL, NULL, NULL, 't2'),
    ('dir:/o', 'c', 'written', '/in/c.jpg', '/o/c.jpg', NULL, NULL, NULL, NULL, NULL,
     5, NULL, NULL, NULL, 't3');
";

#[test]
fn a_version_1_shared_ledger_keeps_the_hosts_answers_in_one_column() {
    let Some(db) = postgres::database("migrate_v1") else {
        return;
    };
    db.client().batch_execute(VERSION_1).unwrap();
    let out = support::run(&["ledger", "--ledger", &db.url, "export", "--format", "jsonl"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 3, "{rows:#?}");
    let a = &rows[0];
    assert_eq!(a["viewer_url"], "https://h/image/a");
    assert_eq!(a["short_url"], "https://h/a");
    assert_eq!(a["delete_url"], "https://h/delete/a");
    assert_eq!(a["remote_id"], "Ab1");
    assert_eq!(a["remote_md5"], "0123");
    assert_eq!(
        (a["bytes"].as_u64(), a["width"].as_u64()),
        (Some(10), Some(4))
    );
    let b = &rows[1];
    assert_eq!(b["viewer_url"], "https://h/image/b");
    assert_eq!(b["remote_id"], "Bb2");
    assert!(b["short_url"].is_null() && b["remote_md5"].is_null(), "{b}");
    assert!(rows[2]["viewer_url"].is_null());
    assert_eq!(rows[2]["location"], "/o/c.jpg");
    // Stored as one JSON object without the NULLs; the old columns are gone.
    let mut c = db.client();
    let answers: Vec<Option<String>> = c
        .query("SELECT answer FROM pixpipe.outputs ORDER BY id", &[])
        .unwrap()
        .iter()
        .map(|r| r.get("answer"))
        .collect();
    let parsed: Vec<Option<serde_json::Value>> = answers
        .iter()
        .map(|a| a.as_deref().map(|t| serde_json::from_str(t).unwrap()))
        .collect();
    assert_eq!(
        parsed[1],
        Some(serde_json::json!({"viewer_url": "https://h/image/b", "id": "Bb2"}))
    );
    assert_eq!(parsed[2], None);
    let old = db.count(
        "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = 'pixpipe'
         AND table_name = 'outputs'
         AND column_name IN ('viewer_url', 'short_url', 'delete_url', 'remote_id', 'remote_md5')",
    );
    assert_eq!(old, 0);
    let version: String = c
        .query_one(
            "SELECT value FROM pixpipe.meta WHERE key = 'schema_version'",
            &[],
        )
        .unwrap()
        .get("value");
    assert_eq!(version, "3");
    // The CSV export carries the viewer and delete URLs as before.
    let out = support::run(&["ledger", "--ledger", &db.url, "export", "--format", "csv"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let csv = stdout(&out);
    assert!(
        csv.lines()
            .nth(1)
            .unwrap()
            .contains("https://h/image/a,https://h/delete/a,10,4,3,A,t1"),
        "{csv}"
    );
}

#[test]
fn a_version_2_shared_ledger_stamps_its_quick_check_rows_with_no_sidecars() {
    let Some(db) = postgres::database("migrate_v2") else {
        return;
    };
    db.client()
        .batch_execute(
            "CREATE SCHEMA pixpipe;
             CREATE TABLE pixpipe.meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             INSERT INTO pixpipe.meta VALUES ('schema_version', '2');
             CREATE TABLE pixpipe.files (path BYTEA PRIMARY KEY, dir BYTEA NOT NULL,
                size BIGINT NOT NULL, mtime_ns BIGINT NOT NULL, source_md5 TEXT NOT NULL);
             INSERT INTO pixpipe.files VALUES ('\\x61', '\\x', 1, 2, 'm');",
        )
        .unwrap();
    let out = support::run(&["ledger", "--ledger", &db.url, "stats"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        db.count("SELECT COUNT(*) FROM pixpipe.files WHERE beside IS NULL AND size = 1"),
        1,
        "the old row is kept, its sidecars not known"
    );
    assert_eq!(
        db.count("SELECT COUNT(*) FROM pixpipe.meta WHERE key = 'schema_version' AND value = '3'"),
        1
    );
}
