//! The command line's conventions: completions and the manual page, `--report -`,
//! `inspect` on folders, `ledger forget` by path, glob and md5, `-q`/`-v` only where
//! they mean something, `--json` for `check` and `ledger stats`, closed pipes, safe
//! output names, a manifest of current outputs, and `upload --no-ledger`.

use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};

use crate::support::chevereto::{DEFAULT_API_KEY, Server, ServerConfig};
use crate::support::{self, fixtures, read_jsonl, run, stderr, stdout, write_pipeline};

/// Runs `pixpipe run -q PIPELINE --report REPORT` from `cwd`; returns the report's lines.
fn run_pipeline(cwd: &Path, pipeline: &Path) -> Vec<serde_json::Value> {
    let report = cwd.join("report.jsonl");
    let out = support::pixpipe()
        .current_dir(cwd)
        .args(["run", "-q", pipeline.to_str().unwrap(), "--report"])
        .arg(&report)
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{:?}: {}",
        out.status,
        stderr(&out)
    );
    read_jsonl(&report)
}

fn ledger_args(dir: &Path) -> Vec<String> {
    vec![
        "ledger".into(),
        "--ledger".into(),
        dir.join("ledger.sqlite").display().to_string(),
    ]
}

#[test]
fn completions_for_every_shell_and_a_roff_manual_page() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = run(&["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}: {}", stderr(&out));
        let script = stdout(&out);
        assert!(script.len() > 200, "{shell}: {script}");
        assert!(script.contains("pixpipe"), "{shell}: {script}");
        assert!(script.contains("inspect"), "{shell} knows the commands");
    }
    let out = run(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&["man"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let page = stdout(&out);
    assert!(page.starts_with('.'), "roff requests: {page}");
    assert!(
        page.lines().any(|l| l.starts_with(".TH pixpipe")),
        "a title line: {page}"
    );
    assert!(page.contains("completions"), "lists the commands");
}

#[test]
fn report_dash_writes_json_lines_to_stdout_and_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    support::write_photos(&input, 3, 24, 16);
    let p = write_pipeline(dir.path(), &input, "resize:\n  width: 12\n");
    let out = support::pixpipe()
        .current_dir(dir.path())
        .args(["run", p.to_str().unwrap(), "--report", "-"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("every stdout line is a report line"))
        .collect();
    assert_eq!(lines.len(), 3, "{}", stdout(&out));
    assert!(lines.iter().all(|l| l["state"] == "written"), "{lines:?}");
    assert!(stderr(&out).contains("3 written"), "{}", stderr(&out));
    assert!(!dir.path().join("-").exists(), "no file named -");
    // The JSON summary cannot share stdout with the report.
    let out = support::pixpipe()
        .current_dir(dir.path())
        .args(["run", p.to_str().unwrap(), "--report", "-", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--json"), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    assert!(!dir.path().join("-").exists());
}

#[test]
fn inspect_walks_folders_like_run() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("album");
    support::write_photos(&folder, 2, 24, 16);
    support::write_photos(&folder.join("sub"), 1, 24, 16);
    support::write_photos(&folder.join(".hidden"), 1, 24, 16);
    let single = dir.path().join("one.jpg");
    std::fs::copy(folder.join("p000.jpg"), &single).unwrap();
    let out = run(&[
        "inspect",
        "--json",
        folder.to_str().unwrap(),
        single.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(!text.contains("Is a directory"), "{text}");
    let paths: Vec<String> = text
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            assert_eq!(v["format"], "jpeg", "{v}");
            v["path"].as_str().unwrap().to_string()
        })
        .collect();
    let expected: Vec<String> = [
        folder.join("p000.jpg"),
        folder.join("p001.jpg"),
        folder.join("sub/p000.jpg"),
        single.clone(),
    ]
    .iter()
    .map(|p| p.display().to_string())
    .collect();
    assert_eq!(
        paths, expected,
        "every photo, dot-folders left out as run does"
    );
    let out = run(&["inspect", folder.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("sub/p000.jpg\n  format       jpeg"));
}

#[test]
fn ledger_forget_by_relative_path_glob_and_md5_and_names_what_matched_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    support::write_photos(&input, 6, 24, 16);
    let p = write_pipeline(dir.path(), &input, "resize:\n  width: 12\n");
    let report = run_pipeline(dir.path(), &p);
    assert_eq!(report.len(), 6);
    let md5_of = |name: &str| {
        support::line_for(&report, name)["source_md5"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let md5 = md5_of("p003.jpg");
    let out = support::pixpipe()
        .current_dir(dir.path())
        .args(ledger_args(dir.path()))
        .args([
            "forget",
            "in/p000.jpg",
            "./in/p00[12].jpg",
            &md5,
            "in/nope.jpg",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let said = stdout(&out);
    assert!(said.contains("in/p000.jpg: forgot 1 output(s)"), "{said}");
    assert!(
        said.contains("./in/p00[12].jpg: forgot 2 output(s)"),
        "{said}"
    );
    assert!(
        said.contains(&format!("{md5}: forgot 1 output(s)")),
        "{said}"
    );
    assert!(stderr(&out).contains("in/nope.jpg"), "{}", stderr(&out));
    assert!(!said.contains("nope"), "{said}");
    let out = support::pixpipe()
        .args(ledger_args(dir.path()))
        .arg("list")
        .output()
        .unwrap();
    let left = stdout(&out);
    assert_eq!(left.lines().count(), 2, "{left}");
    assert!(
        left.contains("p004.jpg") && left.contains("p005.jpg"),
        "{left}"
    );
    // Only an argument that matches nothing: exit 1, nothing forgotten.
    let out = support::pixpipe()
        .current_dir(dir.path())
        .args(ledger_args(dir.path()))
        .args(["forget", "in/p000.jpg"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("in/p000.jpg"));
}

#[test]
fn quiet_and_verbose_belong_to_run_and_upload_only() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    support::write_photos(&input, 2, 24, 16);
    let p = write_pipeline(dir.path(), &input, "resize:\n  width: 12\n");
    let ps = p.to_str().unwrap();
    for args in [
        vec!["check", "-v", ps],
        vec!["check", ps, "--quiet"],
        vec!["plan", "-q", ps],
        vec!["inspect", "-v", ps],
    ] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?} is refused");
        assert!(stderr(&out).contains("unexpected argument"), "{args:?}");
    }
    let out = run(&["run", ps, "-v"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("p001.jpg"), "a line per file");
    let out = run(&["run", "-q", ps]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
    let out = run(&["upload", "-q", "-v", "x.jpg", "--url", "http://127.0.0.1:9"]);
    assert_eq!(out.status.code(), Some(2), "-q and -v still conflict");
}

#[test]
fn check_and_ledger_stats_speak_json() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    support::write_photos(&input, 3, 24, 16);
    let p = write_pipeline(dir.path(), &input, "resize:\n  width: 12\n");
    let out = run(&["check", "--json", p.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("one JSON object");
    assert_eq!(v["resize"]["width"], 12, "{v}");
    assert_eq!(v["input"]["paths"][0], input.display().to_string());
    // Secrets stay hidden.
    let secret = dir.path().join("secret.yaml");
    std::fs::write(
        &secret,
        "version: 1\ninput:\n  paths: [\"in\"]\ntarget:\n  chevereto:\n    url: \"https://img.example\"\n    api_key: \"chv_very_secret\"\n",
    )
    .unwrap();
    let out = run(&["check", "--json", secret.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stdout(&out).contains("chv_very_secret"));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["target"]["chevereto"]["api_key"], "***", "{v}");

    run_pipeline(dir.path(), &p);
    let out = support::pixpipe()
        .args(ledger_args(dir.path()))
        .args(["stats", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows: Vec<serde_json::Value> = serde_json::from_str(&stdout(&out)).expect("an array");
    assert_eq!(rows.len(), 1, "{rows:?}");
    let r = &rows[0];
    assert!(r["target"].as_str().unwrap().starts_with("dir:"), "{r}");
    assert_eq!(r["state"], "written");
    assert_eq!(r["files"], 3);
    assert!(r["bytes"].as_u64().unwrap() > 0, "{r}");
}

/// Runs pixpipe with stdout piped; reads its first line (or none), closes the pipe and
/// waits. Gives how it ended and what it said on stderr.
fn with_stdout_closed(args: &[String], read_first_line: bool) -> (ExitStatus, String) {
    let mut child = support::pixpipe()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pipe = child.stdout.take().unwrap();
    if read_first_line {
        let mut first = String::new();
        BufReader::new(pipe).read_line(&mut first).unwrap();
        assert!(!first.is_empty(), "{args:?} printed a line");
    } else {
        drop(pipe);
    }
    let out = child.wait_with_output().unwrap();
    (out.status, stderr(&out))
}

fn assert_quiet_stop(args: &[String], read_first_line: bool) {
    let (status, err) = with_stdout_closed(args, read_first_line);
    assert!(
        status.code() == Some(141) || status.signal() == Some(13),
        "{args:?}: {status:?}: {err}"
    );
    assert!(!err.contains("panicked"), "{args:?}: {err}");
    assert!(!err.contains("Broken pipe"), "{args:?}: no message: {err}");
}

#[test]
fn closed_pipes_are_a_quiet_stop() {
    // Long folder names make the ledger's listings bigger than a pipe holds.
    let dir = tempfile::tempdir().unwrap();
    let base = dir
        .path()
        .join("a-folder-with-a-rather-long-name-".repeat(3));
    let input = base.join("photos-of-a-long-summer-with-long-names");
    support::write_photos(&input, 250, 8, 8);
    let p = write_pipeline(&base, &input, "resize:\n  width: 4\n");
    let ps = p.display().to_string();
    let report = run_pipeline(&base, &p);
    assert_eq!(report.len(), 250);
    let mut ledger = ledger_args(&base);
    ledger.push("list".into());
    assert_quiet_stop(&ledger, true);
    ledger.pop();
    ledger.push("export".into());
    assert_quiet_stop(&ledger, true);
    let inspect = ["inspect", "--json", input.to_str().unwrap()].map(String::from);
    assert_quiet_stop(&inspect, true);
    // A pipeline whose resolved form is bigger than a pipe holds (inputs that exist:
    // `check` refuses missing ones).
    let many: String = (0..4000)
        .map(|i| format!("\"{}/p{:03}.jpg\", ", input.display(), i % 250))
        .collect();
    let big = base.join("big.yaml");
    std::fs::write(
        &big,
        format!(
            "version: 1\ninput:\n  paths: [{many}]\ntarget:\n  dir:\n    path: \"{}\"\n",
            base.join("out").display()
        ),
    )
    .unwrap();
    assert_quiet_stop(&["check".into(), big.display().to_string()], true);
    // `plan` prints a few lines at the very end: the pipe is closed before it gets there.
    assert_quiet_stop(&["plan".into(), ps], false);
}

#[test]
fn output_names_have_no_refused_characters_and_no_empty_stems() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    support::write_photos(&input, 2, 24, 16);
    let p = write_pipeline(
        dir.path(),
        &input,
        "    name: \"odd: *what?/ {stem}<|>. \"\nresize:\n  width: 12\n",
    );
    let report = run_pipeline(dir.path(), &p);
    let out = dir.path().join("out");
    let mut names: Vec<PathBuf> = report
        .iter()
        .map(|l| {
            Path::new(l["output"].as_str().unwrap())
                .strip_prefix(&out)
                .unwrap()
                .to_path_buf()
        })
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec![
            PathBuf::from("odd_ _what_/p000___"),
            PathBuf::from("odd_ _what_/p001___")
        ]
    );
    // Photos without a title, named by their title: `unnamed.jpg`, then numbered.
    std::fs::remove_dir_all(&out).unwrap();
    std::fs::remove_file(dir.path().join("ledger.sqlite")).unwrap();
    let p = write_pipeline(
        dir.path(),
        &input,
        "    name: \"{title}.{ext}\"\nresize:\n  width: 12\n",
    );
    let report = run_pipeline(dir.path(), &p);
    let mut names: Vec<String> = report
        .iter()
        .map(|l| {
            Path::new(l["output"].as_str().unwrap())
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    assert_eq!(names, vec!["unnamed-1.jpg", "unnamed.jpg"]);
}

/// The manifest's lines as (source, output), checking each output exists and is named once.
fn manifest_pairs(out: &Path) -> Vec<(String, String)> {
    let lines = read_jsonl(&out.join("manifest.jsonl"));
    let pairs: Vec<(String, String)> = lines
        .iter()
        .map(|l| {
            let pair = (
                l["source"].as_str().unwrap().to_string(),
                l["output"].as_str().unwrap().to_string(),
            );
            assert!(Path::new(&pair.1).is_file(), "{l}");
            pair
        })
        .collect();
    let outputs: std::collections::HashSet<&String> = pairs.iter().map(|p| &p.1).collect();
    assert_eq!(
        outputs.len(),
        pairs.len(),
        "one line per output: {pairs:#?}"
    );
    pairs
}

#[test]
fn the_manifest_holds_one_line_per_current_output() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    let album = input.join("album");
    support::write_photos(&album, 3, 24, 16);
    let out = dir.path().join("out");
    let named = |template: &str| {
        write_pipeline(
            dir.path(),
            &input,
            &format!("    name: \"{template}\"\nresize:\n  width: 12\n"),
        )
    };
    let p = named("{stem}.{ext}");
    run_pipeline(dir.path(), &p);
    assert_eq!(manifest_pairs(&out).len(), 3);
    // The same outputs written again (they were deleted): still one line each.
    for i in 0..3 {
        std::fs::remove_file(out.join(format!("p00{i}.jpg"))).unwrap();
    }
    let report = run_pipeline(dir.path(), &p);
    assert!(report.iter().all(|l| l["state"] == "written"), "{report:?}");
    assert_eq!(manifest_pairs(&out).len(), 3);
    // Different outputs for the same sources: only the new ones are current.
    let forget = support::pixpipe()
        .current_dir(dir.path())
        .args(ledger_args(dir.path()))
        .args(["forget", "in/**"])
        .output()
        .unwrap();
    assert_eq!(forget.status.code(), Some(0), "{}", stderr(&forget));
    let p = named("v2/{stem}.{ext}");
    run_pipeline(dir.path(), &p);
    let pairs = manifest_pairs(&out);
    assert_eq!(pairs.len(), 3, "{pairs:#?}");
    assert!(pairs.iter().all(|(_, o)| o.contains("/v2/")), "{pairs:#?}");
    // The input folder renamed: the lines follow the sources.
    let renamed = input.join("album-2019");
    std::fs::rename(&album, &renamed).unwrap();
    let report = run_pipeline(dir.path(), &p);
    assert!(
        report.iter().all(|l| l["state"] == "already_there"),
        "{report:?}"
    );
    let pairs = manifest_pairs(&out);
    assert_eq!(pairs.len(), 3, "{pairs:#?}");
    for (source, _) in &pairs {
        assert!(Path::new(source).is_file(), "{source} exists");
        assert!(source.contains("/album-2019/"), "{source}");
    }
}

#[test]
fn upload_says_where_it_records_and_no_ledger_records_nowhere() {
    let server = Server::start(ServerConfig::default());
    let dir = tempfile::tempdir().unwrap();
    let photo = dir.path().join("x.jpg");
    std::fs::write(
        &photo,
        fixtures::jpeg_rgb(30, 20, &fixtures::photo_like_rgb(30, 20, 9)),
    )
    .unwrap();
    let home = dir.path().join("home");
    let data = dir.path().join("data");
    let upload = |extra: &[&str]| {
        support::pixpipe()
            .args([
                "upload",
                photo.to_str().unwrap(),
                "--url",
                &server.base_url(),
            ])
            .args(extra)
            .env("CHEVERETO_API_KEY", DEFAULT_API_KEY)
            .env("HOME", &home)
            .env("XDG_DATA_HOME", &data)
            .output()
            .unwrap()
    };
    let out = upload(&["--no-ledger"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(server.stored().len(), 1);
    assert!(
        stderr(&out).contains("recording nothing"),
        "{}",
        stderr(&out)
    );
    assert!(!data.exists() && !home.exists(), "no ledger anywhere");
    // Without a ledger the upload is still real: the summary says so, not "would upload".
    assert!(stderr(&out).contains("1 uploaded"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("would upload"), "{}", stderr(&out));
    // Two copies of one photo in one run go once, even with no ledger to remember it.
    let copy = dir.path().join("x-copy.jpg");
    std::fs::copy(&photo, &copy).unwrap();
    let before = server.upload_requests().len();
    let out = support::pixpipe()
        .args(["upload", "--no-ledger", "--json"])
        .arg(&photo)
        .arg(&copy)
        .args(["--url", &server.base_url()])
        .env("CHEVERETO_API_KEY", DEFAULT_API_KEY)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["duplicate"], 1, "{v}");
    assert_eq!(v["dry_run"], false, "{v}");
    assert_eq!(server.upload_requests().len(), before + 1);
    let out = upload(&["-q", "--no-ledger"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
    assert_eq!(
        server.upload_requests().len(),
        3,
        "nothing known, sent again"
    );
    assert!(!data.exists());
    // Without it, the default ledger is named and written.
    let ledger = data.join("pixpipe/ledger.sqlite");
    let out = upload(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("recording in {}", ledger.display())),
        "{}",
        stderr(&out)
    );
    assert!(ledger.is_file());
    let l = dir.path().join("l.sqlite");
    let out = upload(&["--no-ledger", "--ledger", l.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!l.exists());
}
