//! The embedded ledger's round trips and migrations, on files of their own.

use std::ops::ControlFlow;

use super::*;
use crate::ledger::{History, OutputState};

/// A ledger file of an older version, made by `sql`.
fn old_ledger(dir: &Path, name: &str, sql: &str) -> std::path::PathBuf {
    let path = dir.join(format!("{name}.sqlite"));
    Connection::open(&path).unwrap().execute_batch(sql).unwrap();
    path
}

fn schema_version(l: &SqliteLedger) -> String {
    l.writer
        .query_row(
            "SELECT value FROM meta WHERE key = 'schema_version'",
            [],
            |r| r.get("value"),
        )
        .unwrap()
}

#[test]
fn a_version_1_ledger_is_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let path = old_ledger(dir.path(), "old", "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
         INSERT INTO meta VALUES ('schema_version', '1');
         CREATE TABLE files (path BLOB PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, source_md5 TEXT NOT NULL);
         INSERT INTO files VALUES (x'2f61', 1, 1, 'm');",);
    let mut l = SqliteLedger::open(&path).unwrap();
    let f = FileRow {
        path: "/d/x.jpg".into(),
        size: 3,
        mtime_ns: 4,
        source_md5: "m2".into(),
        beside: String::new(),
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
        beside: "s1".into(),
    };
    let mut o = OutputRow::new("t", "m1", OutputState::Written);
    o.location = Some("x".into());
    l.commit(&[f], &[o], RunId(1)).unwrap();
    let known = r.known_in_dir(Path::new("/a"), "t").unwrap();
    let k = &known[&b"/a/b.jpg"[..]];
    assert_eq!((k.size, k.mtime_ns, k.source_md5.as_str()), (10, 5, "m1"));
    assert_eq!(
        k.beside.as_deref(),
        Some("s1"),
        "the sidecars' stamp is kept with the file"
    );
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
fn a_folder_finds_its_own_outputs_and_those_delivered_from_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    let mut l = SqliteLedger::open(&dir.path().join("l.sqlite")).unwrap();
    let file = |path: &str, md5: &str| FileRow {
        path: path.into(),
        size: 1,
        mtime_ns: 1,
        source_md5: md5.into(),
        beside: String::new(),
    };
    let output = |md5: &str, from: &str| {
        let mut o = OutputRow::new("t", md5, OutputState::Written);
        o.source_path = from.into();
        o.location = Some(format!("out/{md5}"));
        o
    };
    let files = [
        file("/a/own.jpg", "m1"),
        file("/a/copy.jpg", "m2"),
        file("/a/sub/deeper.jpg", "m3"),
        file("/a/new.jpg", "m4"),
    ];
    // m2 went from another folder; m3's source is below /a, not in it.
    let outputs = [
        output("m1", "/a/own.jpg"),
        output("m2", "/z/first.jpg"),
        output("m3", "/a/sub/deeper.jpg"),
    ];
    l.commit(&files, &outputs, RunId(1)).unwrap();
    let known = l
        .reader()
        .unwrap()
        .known_in_dir(Path::new("/a"), "t")
        .unwrap();
    let location = |p: &str| {
        known[p.as_bytes()]
            .output
            .as_ref()
            .and_then(|o| o.location.clone())
    };
    assert_eq!(known.len(), 3, "the subfolder's file is not the folder's");
    assert_eq!(location("/a/own.jpg").as_deref(), Some("out/m1"));
    assert_eq!(location("/a/copy.jpg").as_deref(), Some("out/m2"));
    assert_eq!(location("/a/new.jpg"), None);
    let plan: String = l
        .writer
        .query_row(
            &format!("EXPLAIN QUERY PLAN {OUTPUTS_IN_DIR}"),
            params!["t", "/a/"],
            |r| r.get(3),
        )
        .unwrap();
    assert!(plan.contains("outputs_source_dir"), "{plan}");
}

#[test]
fn a_version_2_ledger_speaks_the_report_words_after_migration() {
    let dir = tempfile::tempdir().unwrap();
    let path = old_ledger(dir.path(), "v2", "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
         INSERT INTO meta VALUES ('schema_version', '2');
         CREATE TABLE outputs (id INTEGER PRIMARY KEY, target TEXT NOT NULL, source_md5 TEXT NOT NULL,
            state TEXT NOT NULL, source_path TEXT, output_md5 TEXT, location TEXT, viewer_url TEXT,
            short_url TEXT, delete_url TEXT, remote_id TEXT, remote_md5 TEXT, bytes INTEGER,
            width INTEGER, height INTEGER, title TEXT, run_id INTEGER, at TEXT NOT NULL);
         INSERT INTO outputs (target, source_md5, state, at) VALUES
            ('dir:/o', 'a', 'done', 't'), ('chevereto:h', 'b', 'done', 't'),
            ('chevereto:h', 'c', 'host_duplicate', 't'), ('chevereto:h', 'd', 'pending', 't');",);
    let l = SqliteLedger::open(&path).unwrap();
    let mut states = Vec::new();
    l.outputs(None, &mut |r| {
        states.push((r.source_md5, r.state));
        ControlFlow::Continue(())
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

#[test]
fn a_version_3_ledger_keeps_the_hosts_answers_in_one_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = old_ledger(dir.path(), "v3", "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
         INSERT INTO meta VALUES ('schema_version', '3');
         CREATE TABLE outputs (id INTEGER PRIMARY KEY, target TEXT NOT NULL, source_md5 TEXT NOT NULL,
            state TEXT NOT NULL, source_path TEXT, output_md5 TEXT, location TEXT, viewer_url TEXT,
            short_url TEXT, delete_url TEXT, remote_id TEXT, remote_md5 TEXT, bytes INTEGER,
            width INTEGER, height INTEGER, title TEXT, reason TEXT, run_id INTEGER, at TEXT NOT NULL);
         CREATE UNIQUE INDEX outputs_target_md5 ON outputs(target, source_md5);
         INSERT INTO outputs (target, source_md5, state, source_path, location, viewer_url,
            short_url, delete_url, remote_id, remote_md5, bytes, width, height, title, at) VALUES
            ('chevereto:h', 'a', 'uploaded', '/in/a.jpg', 'https://h/i/a.jpg', 'https://h/image/a',
             'https://h/a', 'https://h/delete/a', 'Ab1', '0123', 10, 4, 3, 'A', 't1'),
            ('chevereto:h', 'b', 'uploaded', '/in/b.jpg', 'https://h/i/b.jpg', 'https://h/image/b',
             NULL, NULL, 'Bb2', NULL, NULL, NULL, NULL, NULL, 't2'),
            ('dir:/o', 'c', 'written', '/in/c.jpg', '/o/c.jpg', NULL, NULL, NULL, NULL, NULL,
             5, NULL, NULL, NULL, 't3');",);
    let l = SqliteLedger::open(&path).unwrap();
    let mut rows = Vec::new();
    l.outputs(None, &mut |r| {
        rows.push(r);
        ControlFlow::Continue(())
    })
    .unwrap();
    assert_eq!(rows.len(), 3);
    let answers = |r: &OutputRow| {
        r.answer
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(
        answers(&rows[0]),
        "delete_url=https://h/delete/a id=Ab1 md5=0123 short_url=https://h/a viewer_url=https://h/image/a"
    );
    assert_eq!(answers(&rows[1]), "id=Bb2 viewer_url=https://h/image/b");
    assert!(rows[2].answer.is_empty());
    assert_eq!(
        (rows[0].bytes, rows[0].width, rows[0].title.as_deref()),
        (Some(10), Some(4), Some("A"))
    );
    assert_eq!(rows[2].location.as_deref(), Some("/o/c.jpg"));
    // The old columns are gone, and the file says it is version 4.
    let names: Vec<String> = l
        .writer
        .prepare("SELECT name FROM pragma_table_info('outputs')")
        .unwrap()
        .query_map([], |r| r.get("name"))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(names.contains(&"answer".to_string()), "{names:?}");
    for old in [
        "viewer_url",
        "short_url",
        "delete_url",
        "remote_id",
        "remote_md5",
    ] {
        assert!(!names.contains(&old.to_string()), "{old} in {names:?}");
    }
    let version = schema_version(&l);
    assert_eq!(version, SCHEMA_VERSION.to_string());
    drop(l);
    // Opened again, nothing more is migrated.
    assert!(SqliteLedger::open(&path).is_ok());
}

#[test]
fn answers_round_trip_and_a_failure_keeps_none() {
    let dir = tempfile::tempdir().unwrap();
    let mut l = SqliteLedger::open(&dir.path().join("l.sqlite")).unwrap();
    let mut o = OutputRow::new("chevereto:h", "m", OutputState::Uploaded);
    o.answer
        .insert("viewer_url".into(), "https://h/image/m".into());
    o.answer.insert("id".into(), "M1".into());
    l.commit(&[], &[o.clone()], RunId(1)).unwrap();
    let back = l
        .reader()
        .unwrap()
        .lookup("chevereto:h", "m")
        .unwrap()
        .unwrap();
    assert_eq!(back, o);
    assert_eq!(back.answer("viewer_url"), Some("https://h/image/m"));
    l.writer
        .execute("UPDATE outputs SET answer = 'not json'", [])
        .unwrap();
    let e = l.reader().unwrap().lookup("chevereto:h", "m").unwrap_err();
    assert!(e.to_string().contains("not json"), "{e}");
}

#[test]
fn a_version_4_ledger_keeps_its_quick_check_rows_with_no_sidecars() {
    let dir = tempfile::tempdir().unwrap();
    let path = old_ledger(
        dir.path(),
        "v4",
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
         INSERT INTO meta VALUES ('schema_version', '4');
         CREATE TABLE files (path BLOB PRIMARY KEY, dir BLOB NOT NULL, size INTEGER NOT NULL,
            mtime_ns INTEGER NOT NULL, source_md5 TEXT NOT NULL);
         INSERT INTO files VALUES (x'2f642f612e6a7067', x'2f64', 7, 8, 'm');",
    );
    let l = SqliteLedger::open(&path).unwrap();
    let known = l
        .reader()
        .unwrap()
        .known_in_dir(Path::new("/d"), "t")
        .unwrap();
    let k = &known[b"/d/a.jpg".as_slice()];
    assert_eq!((k.size, k.mtime_ns, k.beside.as_deref()), (7, 8, None));
    let version = schema_version(&l);
    assert_eq!(version, "5");
    drop(l);
    assert!(
        SqliteLedger::open(&path).is_ok(),
        "opened again, nothing to migrate"
    );
}
