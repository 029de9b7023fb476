//! Pipeline files that are wrong, `pixpipe check`, and what the scan picks up.

use std::path::Path;

use crate::support::fixtures;
use crate::support::{self, line_for, read_jsonl, run, stderr, stdout, write_pipeline};

fn run_pipeline_text(text: &str) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.yaml");
    std::fs::write(&p, text).unwrap();
    run(&["run", p.to_str().unwrap()])
}

#[test]
fn config_errors_name_file_line_column_and_key_and_exit_2() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "version: 1\ninput:\n  paths: [a]\n  colour: red\ntarget:\n  dir:\n    path: o\n",
            ":4:",
            "colour",
        ),
        (
            "version: 1\ninput:\n  paths: [a]\nresize:\n  width: 0\ntarget:\n  dir:\n    path: o\n",
            ":5:",
            "width",
        ),
        (
            "version: 1\ninput:\n  paths: [a]\nresize:\n  width: 1000000000\ntarget:\n  dir:\n    path: o\n",
            ":5:",
            "width",
        ),
        (
            "version: 1\ninput:\n  paths: [a]\nencode:\n  quality: -5\ntarget:\n  dir:\n    path: o\n",
            ":5:",
            "quality",
        ),
        (
            "version: 1\ninput:\n  paths: [a]\n  follow_symlinks: perhaps\ntarget:\n  dir:\n    path: o\n",
            ":4:",
            "input.follow_symlinks",
        ),
        (
            "version: 1\ninput:\n  paths: [a]\ntarget:\n  dir:\n    path: ${PIXPIPE_SURELY_UNSET_VAR}\n",
            ":6:",
            "PIXPIPE_SURELY_UNSET_VAR",
        ),
        (
            "version: 1\ninput:\n  paths: [a]\nmetadata:\n  title: \"{titel}\"\ntarget:\n  dir:\n    path: o\n",
            ":5:",
            "titel",
        ),
        (
            "version: 1\ninput:\n  paths: [a\ntarget:\n",
            ":",
            "bad.yaml",
        ),
    ];
    for (text, at, key) in cases {
        let out = run_pipeline_text(text);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{text}\n{err}");
        assert!(
            err.contains(&format!("bad.yaml{at}")),
            "location {at} in: {err}"
        );
        assert!(err.contains(key), "{key} in: {err}");
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(!err.contains("panicked"));
    }
}

#[test]
fn alias_bombs_and_deep_nesting_are_refused() {
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let prev = format!("*a{}", i - 1);
        bomb.push_str(&format!("a{i}: &a{i} [{}]\n", vec![prev; 10].join(", ")));
    }
    bomb.push_str("version: 1\n");
    let out = run_pipeline_text(&bomb);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let deep = format!(
        "version: 1\ninput: {}{}\n",
        "[".repeat(5000),
        "]".repeat(5000)
    );
    let out = run_pipeline_text(&deep);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn check_prints_the_resolved_pipeline_with_the_key_hidden() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("a")).unwrap();
    let p = dir.path().join("p.yaml");
    std::fs::write(
        &p,
        "version: 1\ninput:\n  paths: [a]\ntarget:\n  chevereto:\n    url: https://img.example.invalid\n    api_key: ${PIXPIPE_TEST_KEY}\n",
    )
    .unwrap();
    let out = support::pixpipe()
        .args(["check", p.to_str().unwrap()])
        .env("PIXPIPE_TEST_KEY", "chv_FAKE_recognisable_SECRET_0xC0FFEE")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("***"), "{text}");
    assert!(
        !text.contains("C0FFEE") && !stderr(&out).contains("C0FFEE"),
        "{text}"
    );
    assert!(text.contains("width: 1600"), "defaults are shown: {text}");
}

fn jpeg(seed: u32) -> Vec<u8> {
    fixtures::jpeg_rgb(16, 16, &fixtures::photo_like_rgb(16, 16, seed))
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn hidden_files_excludes_and_includes() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    write(&input.join("keep/a.jpg"), &jpeg(1));
    write(&input.join(".hidden/b.jpg"), &jpeg(2));
    write(&input.join(".c.jpg"), &jpeg(3));
    write(&input.join("@eaDir/d.jpg"), &jpeg(4));
    write(&input.join("keep/e.png.bak"), b"backup");
    let p = write_pipeline(dir.path(), &input, "");
    let text = std::fs::read_to_string(&p).unwrap().replace(
        "input:\n",
        "input:\n  exclude: [\"**/@eaDir/**\"]\n  include: [\"**/*.jpg\"]\n",
    );
    std::fs::write(&p, text).unwrap();
    let report = dir.path().join("r.jsonl");
    let out = run(&[
        "run",
        "-q",
        p.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let lines = read_jsonl(&report);
    let paths: Vec<&str> = lines.iter().map(|l| l["path"].as_str().unwrap()).collect();
    assert_eq!(paths.len(), 1, "{paths:?}");
    assert!(paths[0].ends_with("keep/a.jpg"));
}

#[test]
fn symlinks_are_skipped_by_default_and_loops_detected_when_followed() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    write(&input.join("real/a.jpg"), &jpeg(1));
    let elsewhere = dir.path().join("elsewhere");
    write(&elsewhere.join("b.jpg"), &jpeg(2));
    std::os::unix::fs::symlink(&elsewhere, input.join("link")).unwrap();
    std::os::unix::fs::symlink(&input, input.join("real/loop")).unwrap();
    let p = write_pipeline(dir.path(), &input, "");
    let report = dir.path().join("r.jsonl");
    let out = run(&[
        "run",
        "-q",
        p.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let lines = read_jsonl(&report);
    assert_eq!(line_for(&lines, "real/a.jpg")["state"], "written");
    assert_eq!(line_for(&lines, "/link")["state"], "skipped");
    assert!(
        line_for(&lines, "/link")["reason"]
            .as_str()
            .unwrap()
            .contains("symbolic link")
    );

    let text = std::fs::read_to_string(&p)
        .unwrap()
        .replace("input:\n", "input:\n  follow_symlinks: true\n");
    std::fs::write(&p, text).unwrap();
    let out = run(&[
        "run",
        "-q",
        p.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
    ]);
    let lines = read_jsonl(&report);
    assert_eq!(
        line_for(&lines, "link/b.jpg")["state"],
        "written",
        "{lines:#?}"
    );
    let looped = line_for(&lines, "real/loop");
    assert_eq!(looped["state"], "failed");
    assert!(
        looped["reason"].as_str().unwrap().contains("loop"),
        "{looped}"
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn several_roots_and_a_missing_one() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("r1/a.jpg"), &jpeg(1));
    write(&dir.path().join("r2/b.jpg"), &jpeg(2));
    let p = dir.path().join("p.yaml");
    let pipeline = |paths: &str| {
        format!(
            "version: 1\ninput:\n  paths: [{paths}]\nledger:\n  path: l.sqlite\ntarget:\n  dir:\n    path: out\n"
        )
    };
    // A missing root is a mistake in the file: refused before anything runs.
    std::fs::write(&p, pipeline("r1, r2, missing")).unwrap();
    let out = run(&["run", "-q", p.to_str().unwrap()]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("p.yaml:3:19: input.paths: folder or file does not exist:"),
        "{err}"
    );
    assert!(!dir.path().join("out").exists(), "nothing was written");

    std::fs::write(&p, pipeline("r1, r2")).unwrap();
    let report = dir.path().join("r.jsonl");
    let out = run(&[
        "run",
        "-q",
        p.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let lines = read_jsonl(&report);
    assert_eq!(line_for(&lines, "r1/a.jpg")["state"], "written");
    assert_eq!(line_for(&lines, "r2/b.jpg")["state"], "written");
}

#[test]
fn unusable_ledger_paths_are_config_errors_with_their_location() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("in")).unwrap();
    std::fs::write(
        dir.path().join("not-a-db"),
        b"this is not SQLite, just text that goes on for a while......",
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("a-folder")).unwrap();
    for (ledger, expect) in [
        ("missing/folder/l.sqlite", "does not exist"),
        ("not-a-db", "cannot use"),
        ("a-folder", "cannot use"),
    ] {
        let p = dir.path().join("p.yaml");
        std::fs::write(
            &p,
            format!("version: 1\ninput:\n  paths: [in]\nledger:\n  path: {ledger}\ntarget:\n  dir:\n    path: out\n"),
        )
        .unwrap();
        let out = run(&["run", p.to_str().unwrap()]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{ledger}: {err}");
        assert!(err.contains("p.yaml:5:9: ledger.path:"), "{ledger}: {err}");
        assert!(err.contains(expect), "{ledger}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    assert!(
        !dir.path().join("missing").exists(),
        "no folder is created for a mistyped path"
    );
}

#[test]
fn the_example_pipeline_is_valid_and_documents_every_key() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("pipeline.example.yaml");
    let out = run(&["check", example.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = std::fs::read_to_string(&example).unwrap();
    for key in [
        "paths:",
        "include:",
        "exclude:",
        "follow_symlinks:",
        "hidden:",
        "title:",
        "description:",
        "tags:",
        "width:",
        "filter:",
        "upscale:",
        "decode:",
        "format:",
        "quality:",
        "background:",
        "keep_exif:",
        "keep_gps:",
        "keep_icc:",
        "max_megapixels:",
        "max_file_mib:",
        "file_seconds:",
        "concurrency:",
        "batch_size:",
        "rate_limit:",
        "timeout:",
        "retries:",
        "name:",
        "manifest:",
        "url:",
        "api_key:",
        "auth:",
        "source:",
        "album_id:",
        "albums:",
        "category_id:",
        "expiration:",
        "nsfw:",
        "use_file_date:",
        "send_metadata:",
        "allow_insecure_http:",
        "html:",
        "jobs:",
    ] {
        let line = text.lines().find(|l| {
            l.trim_start_matches(|c: char| c == '#' || c.is_whitespace())
                .starts_with(key)
        });
        let line = line.unwrap_or_else(|| panic!("the example lacks {key}"));
        assert!(line.contains('#'), "{key} has a comment: {line}");
    }
}
