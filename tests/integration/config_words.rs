//! Mistakes a new user makes in a pipeline file, and the words pixpipe answers with: each
//! names file:line:column, the dotted key, what was expected and what was written. And the
//! friendlier forms (durations, sizes, `${VAR:-default}`, `target.dir: PATH`) that are taken.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::support::{self, read_jsonl, run, stderr, stdout};

/// A folder holding `p.yaml` with `text` and an (empty) input folder `in`.
struct Case {
    dir: tempfile::TempDir,
    file: PathBuf,
}

impl Case {
    fn new(text: &str) -> Case {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("in")).unwrap();
        let file = dir.path().join("p.yaml");
        std::fs::write(&file, text).unwrap();
        Case { dir, file }
    }

    fn path(&self) -> &str {
        self.file.to_str().unwrap()
    }

    fn run(&self, command: &str) -> Output {
        run(&[command, self.path()])
    }

    /// `pixpipe check` fails with exit code 2 and exactly this one line,
    /// `at` being `:line:column` or empty.
    fn refused(&self, at: &str, message: &str) {
        let out = self.run("check");
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert_eq!(err, format!("pixpipe: {}{at}: {message}\n", self.path()));
        assert!(stdout(&out).is_empty(), "{}", stdout(&out));
    }

    /// `pixpipe check` passes and prints the resolved file.
    fn accepted(&self) -> String {
        let out = self.run("check");
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        stdout(&out)
    }
}

const HEAD: &str = "version: 1\ninput:\n  paths: [in]\n";

/// A file with `section` after the input and a folder target.
fn with(section: &str) -> Case {
    Case::new(&format!("{HEAD}{section}target:\n  dir:\n    path: out\n"))
}

#[test]
fn numbers_say_which_whole_numbers_they_take() {
    let cases = [
        (
            "encode:\n  quality: high\n",
            ":5:12",
            "encode.quality",
            "1 to 100",
            "`high`",
        ),
        (
            "encode:\n  quality: 101\n",
            ":5:12",
            "encode.quality",
            "1 to 100",
            "`101`",
        ),
        (
            "encode:\n  quality: 85.5\n",
            ":5:12",
            "encode.quality",
            "1 to 100",
            "`85.5`",
        ),
        (
            "encode:\n  quality:\n",
            ":5:10",
            "encode.quality",
            "1 to 100",
            "nothing",
        ),
        (
            "resize:\n  width: wide\n",
            ":5:10",
            "resize.width",
            "1 to 65535",
            "`wide`",
        ),
        (
            "resize:\n  width: 0\n",
            ":5:10",
            "resize.width",
            "1 to 65535",
            "`0`",
        ),
        ("jobs: lots\n", ":4:7", "jobs", "1 to 1024", "`lots`"),
        (
            "limits:\n  max_megapixels: 0\n",
            ":5:19",
            "limits.max_megapixels",
            "1 to 100000",
            "`0`",
        ),
        (
            "upload:\n  concurrency: many\n",
            ":5:16",
            "upload.concurrency",
            "1 to 1024",
            "`many`",
        ),
        (
            "upload:\n  batch_size: -1\n",
            ":5:15",
            "upload.batch_size",
            "1 to 65535",
            "`-1`",
        ),
        (
            "upload:\n  retries: 1.5\n",
            ":5:12",
            "upload.retries",
            "0 to 100",
            "`1.5`",
        ),
        (
            "upload:\n  retries: [1, 2]\n",
            ":5:12",
            "upload.retries",
            "0 to 100",
            "a list",
        ),
    ];
    for (section, at, key, range, got) in cases {
        with(section).refused(
            at,
            &format!("{key}: expected a whole number from {range}, got {got}"),
        );
    }
    let c = Case::new(&format!(
        "{HEAD}target:\n  chevereto:\n    url: https://img.example.invalid\n    api_key: ${{PIXPIPE_TEST_UNSET_KEY:-k}}\n    category_id: three\n"
    ));
    c.refused(
        ":8:18",
        "target.chevereto.category_id: expected a whole number from 1 to 4294967295, got `three`",
    );
}

#[test]
fn plan_and_run_refuse_the_same_mistakes_as_check() {
    let c = with("encode:\n  quality: high\n");
    for command in ["plan", "run"] {
        let out = c.run(command);
        assert_eq!(out.status.code(), Some(2), "{command}");
        assert!(
            stderr(&out).contains(
                ":5:12: encode.quality: expected a whole number from 1 to 100, got `high`"
            ),
            "{command}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn booleans_say_true_or_false() {
    Case::new("version: 1\ninput:\n  paths: [in]\n  follow_symlinks: maybe\ntarget:\n  dir: out\n")
        .refused(
            ":4:20",
            "input.follow_symlinks: expected true or false, got `maybe`",
        );
    with("encode:\n  keep_gps: 2\n")
        .refused(":5:13", "encode.keep_gps: expected true or false, got `2`");
    with("resize:\n  upscale: \"sure\"\n").refused(
        ":5:12",
        "resize.upscale: expected true or false, got `sure`",
    );
    // YAML's own spellings still work.
    let text = with("encode:\n  keep_gps: yes\n  keep_exif: off\n").accepted();
    assert!(
        text.contains("keep_gps: true") && text.contains("keep_exif: false"),
        "{text}"
    );
}

#[test]
fn names_list_their_choices_and_suggest_the_near_one() {
    with("resize:\n  filter: lanczos\n").refused(
        ":5:11",
        "resize.filter: expected one of nearest, box, bilinear, hamming, catmull-rom, mitchell, gaussian, lanczos3, got `lanczos`; did you mean `lanczos3`?",
    );
    with("encode:\n  format: jpg\n").refused(
        ":5:11",
        "encode.format: expected one of jpeg, png, webp, keep, got `jpg`; did you mean `jpeg`?",
    );
    with("encode:\n  format: gif\n").refused(
        ":5:11",
        "encode.format: expected one of jpeg, png, webp, keep, got `gif`",
    );
    with("resize:\n  decode: fast\n").refused(
        ":5:11",
        "resize.decode: expected one of scaled, full, got `fast`",
    );
}

#[test]
fn durations_in_units_or_seconds() {
    with("upload:\n  timeout: soon\n").refused(
        ":5:12",
        "upload.timeout: expected a duration like 30s, 2m, 1h30m or a number of seconds, got `soon`",
    );
    with("limits:\n  file_seconds: 2 minutes\n").refused(
        ":5:17",
        "limits.file_seconds: expected a duration like 30s, 2m, 1h30m or a number of seconds, got `2 minutes`",
    );
    with("upload:\n  timeout: 0\n").refused(
        ":5:12",
        "upload.timeout: expected a duration above 0 and at most 24h, got `0`",
    );
    for (timeout, file_seconds, shown_timeout, shown_file) in [
        ("30s", "2m", "30s", "2m"),
        ("1h30m", "90", "1h30m", "1m30s"),
        ("120", "0.5", "2m", "0.5s"),
    ] {
        let text = with(&format!(
            "upload:\n  timeout: {timeout}\nlimits:\n  file_seconds: {file_seconds}\n"
        ))
        .accepted();
        assert!(
            text.contains(&format!("  timeout: {shown_timeout}\n")),
            "{text}"
        );
        assert!(
            text.contains(&format!("  file_seconds: {shown_file}\n")),
            "{text}"
        );
    }
}

#[test]
fn a_duration_limit_applies_to_a_run() {
    // 1ms per file, written as a duration: photos are left behind, naming the key and the time.
    // Photos large enough that each takes far longer than the run takes to look (it looks
    // after each file and every 200 ms), even on a machine busy with other tests.
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    support::write_photos(&input, 1, 1200, 800);
    let photo = std::fs::read(input.join("p000.jpg")).unwrap();
    for i in 1..12u8 {
        // The same pixels in distinct files: a byte after the image's end.
        std::fs::write(
            input.join(format!("p{i:03}.jpg")),
            [&photo[..], &[i]].concat(),
        )
        .unwrap();
    }
    let p = support::write_pipeline(dir.path(), &input, "limits:\n  file_seconds: 1ms\n");
    let report = dir.path().join("r.jsonl");
    let out = run(&[
        "run",
        "-q",
        p.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let lines = read_jsonl(&report);
    assert!(
        lines.iter().any(|l| l["state"] == "failed"
            && l["reason"] == "still not done after 0.001 s (limits.file_seconds); left behind"),
        "{lines:#?}"
    );
}

#[test]
fn sizes_in_units_or_mib() {
    with("limits:\n  max_file_mib: big\n").refused(
        ":5:17",
        "limits.max_file_mib: expected a size like 10MiB, 512KiB, 2GiB or a number of MiB, got `big`",
    );
    with("limits:\n  max_file_mib: 0\n").refused(
        ":5:17",
        "limits.max_file_mib: expected a size of at least 1 byte, got `0`",
    );
    for (written, shown) in [
        ("10MiB", "10MiB"),
        ("512KiB", "512KiB"),
        ("2GiB", "2GiB"),
        ("1.5MiB", "1536KiB"),
        ("512", "512MiB"),
    ] {
        let text = with(&format!("limits:\n  max_file_mib: {written}\n")).accepted();
        assert!(
            text.contains(&format!("  max_file_mib: {shown}\n")),
            "{written}: {text}"
        );
    }
}

#[test]
fn a_size_limit_applies_to_a_run() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    support::write_photos(&input, 1, 64, 64);
    let p = support::write_pipeline(dir.path(), &input, "limits:\n  max_file_mib: 100B\n");
    let report = dir.path().join("r.jsonl");
    let out = run(&[
        "run",
        "-q",
        p.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let lines = read_jsonl(&report);
    let reason = lines[0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("over limits.max_file_mib (100 bytes)"),
        "{reason}"
    );
}

#[test]
fn env_defaults_fill_unset_or_empty_variables() {
    let c = Case::new(&format!(
        "{HEAD}upload:\n  timeout: ${{PIXPIPE_TEST_TIMEOUT:-45s}}\ntarget:\n  dir:\n    path: ${{PIXPIPE_TEST_OUT:-out/default}}\n"
    ));
    let check = |env: &[(&str, &str)]| {
        let mut cmd = support::pixpipe();
        cmd.args(["check", c.path()]);
        cmd.env_remove("PIXPIPE_TEST_TIMEOUT")
            .env_remove("PIXPIPE_TEST_OUT");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        stdout(&out)
    };
    let text = check(&[]);
    assert!(text.contains("    path: out/default\n"), "{text}");
    assert!(text.contains("  timeout: 45s\n"), "{text}");
    let text = check(&[("PIXPIPE_TEST_OUT", ""), ("PIXPIPE_TEST_TIMEOUT", "")]);
    assert!(
        text.contains("    path: out/default\n"),
        "empty takes the default: {text}"
    );
    let text = check(&[
        ("PIXPIPE_TEST_OUT", "elsewhere"),
        ("PIXPIPE_TEST_TIMEOUT", "3m"),
    ]);
    assert!(text.contains("    path: elsewhere\n"), "{text}");
    assert!(text.contains("  timeout: 3m\n"), "{text}");

    // Without a default, an unset variable is still an error.
    Case::new(&format!(
        "{HEAD}target:\n  dir:\n    path: ${{PIXPIPE_TEST_SURELY_UNSET}}\n"
    ))
    .refused(
        ":6:11",
        "target.dir.path: environment variable PIXPIPE_TEST_SURELY_UNSET is not set",
    );
}

#[test]
fn unknown_keys_suggest_the_near_one() {
    with("encode:\n  qualty: 90\n").refused(
        ":5:3",
        "encode.qualty: unknown key; did you mean `quality`?",
    );
    with("upload:\n  timout: 2m\n").refused(
        ":5:3",
        "upload.timout: unknown key; did you mean `timeout`?",
    );
    with("resise:\n  width: 800\n").refused(":4:1", "resise: unknown key; did you mean `resize`?");
    with("encode:\n  colour: red\n").refused(
        ":5:3",
        "encode.colour: unknown key; the keys of encode are format, quality, background, keep_exif, keep_gps, keep_icc, strip_metadata",
    );
    Case::new(&format!(
        "{HEAD}target:\n  dir:\n    path: out\n    nmae: x\n"
    ))
    .refused(":7:5", "target.dir.nmae: unknown key; did you mean `name`?");
}

#[test]
fn a_missing_input_path_is_refused_by_check_plan_and_run() {
    let c = Case::new(
        "version: 1\ninput:\n  paths: [in, missing]\nledger:\n  path: l.sqlite\ntarget:\n  dir: out\n",
    );
    let message = format!(
        "{}:3:15: input.paths: folder or file does not exist: {}\n",
        c.path(),
        c.dir.path().join("missing").display()
    );
    for command in ["check", "plan", "run"] {
        let out = c.run(command);
        assert_eq!(out.status.code(), Some(2), "{command}: {}", stderr(&out));
        assert_eq!(stderr(&out), format!("pixpipe: {message}"), "{command}");
    }
    assert!(!c.dir.path().join("out").exists() && !c.dir.path().join("l.sqlite").exists());

    let c =
        Case::new("version: 1\ninput:\n  paths:\n    - in\n    - gone/away\ntarget:\n  dir: out\n");
    c.refused(
        ":5:7",
        &format!(
            "input.paths: folder or file does not exist: {}",
            c.dir.path().join("gone/away").display()
        ),
    );
}

#[test]
fn a_missing_or_empty_target_says_what_to_add() {
    Case::new(HEAD).refused(
        "",
        "target: add target.dir, target.chevereto or target.chevereto_import",
    );
    Case::new(&format!("{HEAD}target: {{}}\n")).refused(
        ":4:1",
        "target: add target.dir, target.chevereto or target.chevereto_import",
    );
    Case::new(&format!("{HEAD}target:\n")).refused(
        ":4:1",
        "target: add target.dir, target.chevereto or target.chevereto_import",
    );
    Case::new(&format!("{HEAD}target:\n  dir:\n    name: x\n")).refused(
        ":6:5",
        "target.dir.path: missing; add `path:` under target.dir",
    );
}

#[test]
fn version_errors_name_the_key_once() {
    Case::new("version: 2\ninput:\n  paths: [in]\ntarget:\n  dir: out\n").refused(
        ":1:10",
        "version: unsupported pipeline version 2 (this pixpipe reads version 1)",
    );
    Case::new("version: one\ninput:\n  paths: [in]\ntarget:\n  dir: out\n").refused(
        ":1:10",
        "version: expected the pipeline version 1, got `one`",
    );
    Case::new("input:\n  paths: [in]\ntarget:\n  dir: out\n")
        .refused(":1:1", "version: missing; start the file with `version: 1`");
}

#[test]
fn a_dir_target_may_be_just_its_folder() {
    let c = Case::new(
        "version: 1\ninput:\n  paths: [in]\nledger:\n  path: l.sqlite\ntarget:\n  dir: out/photos\n",
    );
    let text = c.accepted();
    assert!(
        text.contains("target:\n  dir:\n    path: out/photos\n    name: \"{date:%Y/%m}/{stem}.{ext}\"\n    manifest: manifest.jsonl\n"),
        "{text}"
    );
    // And a run writes there, with the default names and manifest.
    support::write_photos(&c.dir.path().join("in"), 1, 64, 48);
    let out = c.run("run");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let root = c.dir.path().join("out/photos");
    assert!(root.join("manifest.jsonl").is_file());
    let written = walk(&root);
    assert!(
        written
            .iter()
            .any(|p| p.extension().is_some_and(|e| e == "jpg")),
        "{written:?}"
    );
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn check_and_plan_warn_about_a_literal_key_in_a_readable_file() {
    use std::os::unix::fs::PermissionsExt;
    let c = Case::new(
        "version: 1\ninput:\n  paths: [in]\nledger:\n  path: l.sqlite\ntarget:\n  chevereto:\n    url: http://127.0.0.1:9\n    api_key: chv_FAKE_literal_0000\n",
    );
    std::fs::set_permissions(&c.file, std::fs::Permissions::from_mode(0o644)).unwrap();
    for command in ["check", "plan"] {
        let out = c.run(command);
        let err = stderr(&out);
        assert!(
            err.contains("can be read by other users"),
            "{command}: {err}"
        );
        assert!(
            !err.contains("chv_FAKE_literal_0000")
                && !stdout(&out).contains("chv_FAKE_literal_0000")
        );
    }
    std::fs::set_permissions(&c.file, std::fs::Permissions::from_mode(0o600)).unwrap();
    for command in ["check", "plan"] {
        let out = c.run(command);
        assert!(
            !stderr(&out).contains("can be read by other users"),
            "{command}"
        );
    }
    // A key given as a variable's default is written out too.
    std::fs::write(
        &c.file,
        "version: 1\ninput:\n  paths: [in]\ntarget:\n  chevereto:\n    url: http://127.0.0.1:9\n    api_key: \"${PIXPIPE_TEST_UNSET_KEY:-chv_FAKE_literal_0000}\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&c.file, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert!(stderr(&c.run("check")).contains("can be read by other users"));
}
