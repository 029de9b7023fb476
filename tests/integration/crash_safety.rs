//! Exactly-once under interruption: SIGKILL at several points of a run, then a
//! re-run; Ctrl-C; and the key never leaking into any output.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::support::chevereto::{Fault, Server, ServerConfig};
use crate::support::fixtures;
use crate::support::{self, read_jsonl, stderr, walk};

const ADMIN_KEY: &str = "chv_FAKE_admin_key_for_tests";

/// Admin keys skip the host's own duplicate check, so a file sent twice is stored twice:
/// exactly what these tests must be able to see.
fn admin_server() -> Server {
    Server::start(ServerConfig {
        api_keys: vec![ADMIN_KEY.into()],
        admin_keys: vec![ADMIN_KEY.into()],
        url_upload_enabled: true,
        ..ServerConfig::default()
    })
}

fn setup(server: &Server, n: u32, concurrency: u32) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    support::write_photos(&input, n, 24, 16);
    let p = dir.path().join("pipeline.yaml");
    std::fs::write(
        &p,
        format!(
            "version: 1\ninput:\n  paths: [\"{}\"]\nledger:\n  path: \"{}\"\nupload:\n  concurrency: {concurrency}\n  retries: 3\n  timeout: 10\ntarget:\n  chevereto:\n    url: \"{}\"\n    api_key: ${{CHEVERETO_API_KEY}}\n",
            input.display(),
            dir.path().join("ledger.sqlite").display(),
            server.base_url()
        ),
    )
    .unwrap();
    (dir, p)
}

fn spawn(p: &Path, report: &Path) -> std::process::Child {
    support::pixpipe()
        .args([
            "run",
            "-q",
            p.to_str().unwrap(),
            "--report",
            report.to_str().unwrap(),
        ])
        .env("CHEVERETO_API_KEY", ADMIN_KEY)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

fn wait_until(mut what: impl FnMut() -> bool) {
    let start = Instant::now();
    while !what() {
        assert!(start.elapsed() < Duration::from_secs(60), "timed out");
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn sigkill_at_any_point_loses_nothing_and_repeats_at_most_the_uploads_in_flight() {
    for kill_after in [0usize, 7, 19] {
        let server = admin_server();
        server.set_default_fault(Fault::Slow { delay_ms: 40 });
        let concurrency = 4;
        let (dir, p) = setup(&server, 30, concurrency);
        let report = dir.path().join("r.jsonl");
        let mut child = spawn(&p, &report);
        wait_until(|| server.upload_requests().len() > kill_after);
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        // Requests already on the wire finish on the host's side (it is slow on purpose).
        std::thread::sleep(Duration::from_millis(300));
        server.set_default_fault(Fault::None);
        let out = support::pixpipe()
            .args([
                "run",
                "-q",
                p.to_str().unwrap(),
                "--report",
                report.to_str().unwrap(),
            ])
            .env("CHEVERETO_API_KEY", ADMIN_KEY)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let counts = server.store_count_by_sent_md5();
        assert_eq!(counts.len(), 30, "kill after {kill_after}: nothing lost");
        let twice: usize = counts.values().map(|n| n - 1).sum();
        assert!(
            twice <= concurrency as usize,
            "kill after {kill_after}: {twice} stored twice"
        );
        // Those that may be on the host twice are named in the report.
        let lines = read_jsonl(&report);
        let flagged = lines
            .iter()
            .filter(|l| l["possibly_duplicated"] == true)
            .count();
        assert!(
            flagged >= twice,
            "kill after {kill_after}: {flagged} flagged, {twice} twice"
        );
        // And a third run has nothing left to do.
        let before = server.stored().len();
        let third = dir.path().join("third.jsonl");
        let out = support::pixpipe()
            .args([
                "run",
                "-q",
                p.to_str().unwrap(),
                "--report",
                third.to_str().unwrap(),
            ])
            .env("CHEVERETO_API_KEY", ADMIN_KEY)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        let sent: Vec<_> = read_jsonl(&third)
            .into_iter()
            .filter(|l| l["state"] != "already_there")
            .collect();
        assert!(sent.is_empty(), "third run sent: {sent:#?}");
        assert_eq!(server.stored().len(), before);
    }
}

#[test]
fn ctrl_c_finishes_the_uploads_in_flight_then_exits_130() {
    let server = admin_server();
    server.set_default_fault(Fault::Slow { delay_ms: 60 });
    let (dir, p) = setup(&server, 40, 4);
    let report = dir.path().join("r.jsonl");
    let child = spawn(&p, &report);
    wait_until(|| server.stored().len() >= 5);
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    let stored_at_stop = server.stored().len();
    assert!(stored_at_stop < 40, "stopped early");
    server.set_default_fault(Fault::None);
    let out = support::pixpipe()
        .args(["run", "-q", p.to_str().unwrap()])
        .env("CHEVERETO_API_KEY", ADMIN_KEY)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let counts = server.store_count_by_sent_md5();
    assert_eq!(counts.len(), 40);
    assert!(
        counts.values().all(|n| *n == 1),
        "uploads in flight at Ctrl-C were recorded, not repeated"
    );
}

#[test]
fn url_inputs_are_sent_for_the_host_to_fetch() {
    let server = admin_server();
    let (dir, p) = setup(&server, 0, 2);
    let text = std::fs::read_to_string(&p).unwrap().replace(
        "input:\n",
        "input:\n  urls: [\"https://photos.example.invalid/a.jpg\"]\n",
    );
    std::fs::write(&p, text).unwrap();
    let report = dir.path().join("r.jsonl");
    let run = || {
        support::pixpipe()
            .args([
                "run",
                "-q",
                p.to_str().unwrap(),
                "--report",
                report.to_str().unwrap(),
            ])
            .env("CHEVERETO_API_KEY", ADMIN_KEY)
            .output()
            .unwrap()
    };
    let out = run();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let stored = server.stored();
    assert_eq!(stored.len(), 1);
    assert_eq!(
        stored[0].source_url.as_deref(),
        Some("https://photos.example.invalid/a.jpg")
    );
    run();
    assert_eq!(server.stored().len(), 1, "sent once");
}

#[test]
fn the_key_never_appears_in_any_output() {
    const KEY: &str = "chv_FAKE_RECOGNISABLE_7f3a9c2e55d1";
    let server = Server::start(ServerConfig {
        api_keys: vec![KEY.into()],
        ..ServerConfig::default()
    });
    let (dir, p) = setup(&server, 4, 2);
    std::fs::write(dir.path().join("in/broken.jpg"), b"not a jpeg").unwrap();
    server.push_faults([Fault::Status503, Fault::ResetMidBody]);
    let report = dir.path().join("r.jsonl");
    let mut outputs: Vec<Vec<u8>> = Vec::new();
    let mut run = |args: &[&str], key: &str| {
        let out = support::pixpipe()
            .args(args)
            .env("CHEVERETO_API_KEY", key)
            .output()
            .unwrap();
        outputs.push(out.stdout);
        outputs.push(out.stderr);
    };
    let ps = p.to_str().unwrap();
    let rs = report.to_str().unwrap();
    run(&["run", "-v", ps, "--report", rs], KEY);
    run(&["run", "-v", "--json", ps, "--report", rs], KEY);
    run(&["plan", ps], KEY);
    run(&["check", ps], KEY);
    run(&["run", "-v", "--dry-run", ps], KEY);
    server.revoke_key(KEY);
    std::fs::write(
        dir.path().join("in/new.jpg"),
        fixtures::jpeg_rgb(8, 8, &[9u8; 192]),
    )
    .unwrap();
    run(&["run", "-v", ps, "--report", rs], KEY);
    let ledger = dir.path().join("ledger.sqlite");
    run(
        &["ledger", "--ledger", ledger.to_str().unwrap(), "export"],
        KEY,
    );
    run(
        &["ledger", "--ledger", ledger.to_str().unwrap(), "list"],
        KEY,
    );
    run(&["ledger", "--pipeline", ps, "stats"], KEY);
    let img = dir.path().join("in/p000.jpg");
    run(
        &[
            "upload",
            "-v",
            img.to_str().unwrap(),
            "--url",
            &server.base_url(),
        ],
        KEY,
    );
    for entry in walk(dir.path()) {
        if entry.file_name().is_some_and(|n| n == "pipeline.yaml") {
            continue;
        }
        outputs.push(std::fs::read(&entry).unwrap());
    }
    let needle = KEY.as_bytes();
    for (i, bytes) in outputs.iter().enumerate() {
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle),
            "the key leaked in output #{i}"
        );
    }
    assert!(outputs.len() > 22, "every command and file was checked");
}

#[test]
fn a_literal_key_in_a_readable_file_is_warned_about() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("in")).unwrap();
    let p = dir.path().join("p.yaml");
    std::fs::write(
        &p,
        "version: 1\ninput:\n  paths: [in]\nledger:\n  path: l.sqlite\ntarget:\n  chevereto:\n    url: http://127.0.0.1:9\n    api_key: chv_FAKE_literal_0000\n",
    )
    .unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = support::pixpipe()
        .args(["run", p.to_str().unwrap()])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert!(err.contains("can be read by other users"), "{err}");
    assert!(!err.contains("chv_FAKE_literal_0000"));
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = support::pixpipe()
        .args(["run", p.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!stderr(&out).contains("can be read by other users"));
}

#[test]
fn sigkill_during_a_folder_run_leaves_whole_files_and_a_rerun_completes() {
    for kill_after in [0usize, 5, 17] {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in");
        support::write_photos(&input, 30u32, 600, 400);
        let p = support::write_pipeline(dir.path(), &input, "resize:\n  width: 300\n");
        let text = std::fs::read_to_string(&p)
            .unwrap()
            .replace("    path: \"", "    name: \"{stem}.{ext}\"\n    path: \"");
        std::fs::write(&p, text).unwrap();
        let out_dir = dir.path().join("out");
        let count_outputs = || {
            std::fs::read_dir(&out_dir)
                .map(|d| {
                    d.flatten()
                        .filter(|e| e.file_name().to_string_lossy().ends_with(".jpg"))
                        .count()
                })
                .unwrap_or(0)
        };
        let mut child = support::pixpipe()
            .args(["run", "-q", "--jobs", "1", p.to_str().unwrap()])
            .spawn()
            .unwrap();
        wait_until(|| count_outputs() >= kill_after || child.try_wait().unwrap().is_some());
        let _ = child.kill();
        child.wait().unwrap();
        // Whatever is there is whole.
        for e in std::fs::read_dir(&out_dir).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.ends_with(".jpg") {
                image::open(e.path()).unwrap_or_else(|err| {
                    panic!("kill after {kill_after}: {name} is broken: {err}")
                });
            }
        }
        for line in std::fs::read_to_string(out_dir.join("manifest.jsonl"))
            .unwrap_or_default()
            .lines()
        {
            serde_json::from_str::<serde_json::Value>(line).expect("no half-written manifest line");
        }
        let report = dir.path().join("r.jsonl");
        let out = support::pixpipe()
            .args([
                "run",
                "-q",
                p.to_str().unwrap(),
                "--report",
                report.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let lines = read_jsonl(&report);
        assert_eq!(lines.len(), 30);
        assert!(
            lines
                .iter()
                .all(|l| l["state"] == "written" || l["state"] == "already_there")
        );
        assert_eq!(
            count_outputs(),
            30,
            "kill after {kill_after}: every source has its output, once"
        );
        let leftovers = std::fs::read_dir(&out_dir)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".part"))
            .count();
        assert_eq!(
            leftovers, 0,
            "temporary files of the killed run are cleaned up"
        );
        let manifest = std::fs::read_to_string(out_dir.join("manifest.jsonl")).unwrap();
        let outputs: std::collections::HashSet<String> = manifest
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["output"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(outputs.len(), 30, "the manifest names every output");
    }
}

#[test]
fn a_full_disk_fails_files_clearly_and_corrupts_nothing() {
    // A 400 KiB file system in a private mount namespace; needs root (CI has it).
    let can_mount = std::process::Command::new("unshare")
        .args(["-m", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !can_mount {
        eprintln!("skipped: cannot mount a small file system here (needs root and unshare)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    support::write_photos(&input, 12u32, 400, 300);
    let small = dir.path().join("small");
    let copy = dir.path().join("copy");
    std::fs::create_dir_all(&small).unwrap();
    let p = dir.path().join("p.yaml");
    std::fs::write(
        &p,
        format!(
            "version: 1\ninput:\n  paths: [\"{}\"]\nledger:\n  path: \"{}\"\nresize:\n  width: 400\nencode:\n  quality: 100\ntarget:\n  dir:\n    path: \"{}\"\n    name: \"{{stem}}.{{ext}}\"\n",
            input.display(),
            dir.path().join("ledger.sqlite").display(),
            small.join("out").display()
        ),
    )
    .unwrap();
    let report = dir.path().join("r.jsonl");
    let script = format!(
        "mount -t tmpfs -o size=400k tmpfs '{small}' && '{bin}' run -q --jobs 1 '{p}' --report '{report}'; code=$?; \
         ls -a '{small}/out' > '{dir}/listing'; cp -r '{small}/out' '{copy}'; exit $code",
        small = small.display(),
        bin = env!("CARGO_BIN_EXE_pixpipe"),
        p = p.display(),
        report = report.display(),
        dir = dir.path().display(),
        copy = copy.display(),
    );
    let out = std::process::Command::new("unshare")
        .args(["-m", "sh", "-c", &script])
        .output()
        .unwrap();
    // Outputs that do not fit fail one by one (exit 1); when not even the manifest fits,
    // the run stops with a clear error (exit 3). Either way nothing is lost or half-written.
    let code = out.status.code();
    assert!(
        code == Some(1) || code == Some(3),
        "{code:?}: {}",
        stderr(&out)
    );
    if code == Some(3) {
        assert!(stderr(&out).contains("No space left"), "{}", stderr(&out));
    }
    let lines = read_jsonl(&report);
    assert_eq!(lines.len(), 12, "every file is accounted for: {lines:#?}");
    let written: Vec<_> = lines.iter().filter(|l| l["state"] == "written").collect();
    assert!(!written.is_empty(), "{lines:#?}");
    assert!(written.len() < 12, "the disk did fill up: {lines:#?}");
    for l in lines.iter().filter(|l| l["state"] == "failed") {
        assert!(
            l["reason"].as_str().unwrap().contains("No space left"),
            "{l}"
        );
    }
    let listing = std::fs::read_to_string(dir.path().join("listing")).unwrap();
    assert!(
        !listing.contains(".part"),
        "no temporary file is left: {listing}"
    );
    for l in &written {
        let name = Path::new(l["output"].as_str().unwrap())
            .file_name()
            .unwrap()
            .to_owned();
        image::open(copy.join(name)).expect("every written output is whole");
    }
}
