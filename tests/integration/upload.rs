//! Uploads to a Chevereto host (a faithful fake started by each test on
//! 127.0.0.1): parameters, answers, retries, the ledger, and exactly-once.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::support::chevereto::{DEFAULT_API_KEY, Fault, Server, ServerConfig};
use crate::support::fixtures::{self, Meta};
use crate::support::{self, line_for, read_jsonl, stderr};

struct Job {
    dir: tempfile::TempDir,
    input: PathBuf,
}

impl Job {
    fn new() -> Job {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in");
        std::fs::create_dir_all(&input).unwrap();
        Job { dir, input }
    }

    fn add(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.input.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, bytes).unwrap();
        p
    }

    fn add_photos(&self, n: u32) {
        support::write_photos(&self.input, n, 24, 16);
    }

    /// Writes the pipeline: `target_extra` lines go under `target.chevereto`, `upload` lines
    /// under `upload` (retries 4 and timeout 10 unless they set them).
    fn pipeline(&self, server: &Server, target_extra: &str, upload: &str) -> PathBuf {
        let mut upload = upload.to_string();
        for (key, value) in [("retries", "4"), ("timeout", "10")] {
            if !upload.contains(&format!("  {key}:")) {
                upload.push_str(&format!("  {key}: {value}\n"));
            }
        }
        let yaml = format!(
            "version: 1\ninput:\n  paths: [\"{}\"]\nledger:\n  path: \"{}\"\nupload:\n{upload}target:\n  chevereto:\n    url: \"{}\"\n    api_key: ${{CHEVERETO_API_KEY}}\n{target_extra}",
            self.input.display(),
            self.dir.path().join("ledger.sqlite").display(),
            server.base_url(),
        );
        let p = self.dir.path().join("pipeline.yaml");
        std::fs::write(&p, yaml).unwrap();
        p
    }

    fn report(&self) -> PathBuf {
        self.dir.path().join("report.jsonl")
    }

    fn run_with(
        &self,
        pipeline: &Path,
        key: &str,
        args: &[&str],
    ) -> (Output, Vec<serde_json::Value>) {
        let report = self.report();
        let _ = std::fs::remove_file(&report);
        let out = support::pixpipe()
            .args([
                "run",
                "-q",
                pipeline.to_str().unwrap(),
                "--report",
                report.to_str().unwrap(),
            ])
            .args(args)
            .env("CHEVERETO_API_KEY", key)
            .output()
            .unwrap();
        let lines = if report.exists() {
            read_jsonl(&report)
        } else {
            Vec::new()
        };
        (out, lines)
    }

    fn run(
        &self,
        server: &Server,
        target_extra: &str,
        upload: &str,
    ) -> (Output, Vec<serde_json::Value>) {
        let p = self.pipeline(server, target_extra, upload);
        self.run_with(&p, DEFAULT_API_KEY, &[])
    }
}

#[test]
fn uploads_once_and_a_rerun_sends_nothing() {
    let server = Server::start(ServerConfig::default());
    let job = Job::new();
    job.add_photos(5);
    job.add("notes.txt", b"not a photo");
    let (out, report) = job.run(&server, "", "");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(server.stored().len(), 5);
    let uploaded: Vec<_> = report.iter().filter(|l| l["state"] == "uploaded").collect();
    assert_eq!(uploaded.len(), 5);
    for l in &uploaded {
        assert!(
            l["output"]
                .as_str()
                .unwrap()
                .starts_with("http://127.0.0.1"),
            "{l}"
        );
        assert!(l["delete_url"].as_str().is_some());
    }
    let requests = server.upload_requests().len();
    let (out, report) = job.run(&server, "", "");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        server.upload_requests().len(),
        requests,
        "a re-run sends nothing"
    );
    assert_eq!(
        report
            .iter()
            .filter(|l| l["state"] == "already_there")
            .count(),
        5
    );
    // Renamed and moved files are still known by their content.
    std::fs::rename(job.input.join("p000.jpg"), job.input.join("moved.jpg")).unwrap();
    let (_, report) = job.run(&server, "", "");
    assert_eq!(line_for(&report, "moved.jpg")["state"], "already_there");
    assert_eq!(server.upload_requests().len(), requests);
}

#[test]
fn host_md5_equals_output_md5_for_every_orientation() {
    let server = Server::start(ServerConfig::default());
    let job = Job::new();
    for o in 1..=8u16 {
        let meta = Meta {
            orientation: Some(o),
            date_time_original: Some("2020:01:01 10:00:00".into()),
            ..Meta::default()
        };
        job.add(
            &format!("o{o}.jpg"),
            &fixtures::jpeg_with_meta(40, 30, &fixtures::quadrant_rgb(40, 30), &meta),
        );
    }
    let (out, report) = job.run(&server, "", "");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let stored = server.stored();
    assert_eq!(stored.len(), 8);
    for l in &report {
        let ours = l["output_md5"].as_str().unwrap();
        assert!(
            stored.iter().any(|s| s.md5 == ours),
            "host md5 equals ours for {}",
            l["path"]
        );
        assert!(l.get("warnings").is_none(), "{l}");
    }
}

#[test]
fn every_parameter_reaches_the_host() {
    let server = Server::start(ServerConfig::default());
    server.add_album(DEFAULT_API_KEY, "albSummer");
    server.add_album(DEFAULT_API_KEY, "albFixed");
    let job = Job::new();
    let meta = Meta {
        xmp_title: Some("Café 東京".into()),
        xmp_description: Some("Ünïcode description".into()),
        xmp_subject: vec!["sea".into(), "a/b".into()],
        ..Meta::default()
    };
    job.add(
        "summer/a.jpg",
        &fixtures::jpeg_with_meta(30, 20, &fixtures::photo_like_rgb(30, 20, 1), &meta),
    );
    job.add(
        "other/b.jpg",
        &fixtures::jpeg_rgb(30, 20, &fixtures::photo_like_rgb(30, 20, 2)),
    );
    let target = "    album_id: albFixed\n    albums:\n      summer: albSummer\n    category_id: 7\n    expiration: PT1H\n    nsfw: true\n";
    let (out, report) = job.run(&server, target, "");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let stored = server.stored();
    let a = stored
        .iter()
        .find(|s| s.original_filename == "a.jpg")
        .expect("a.jpg stored");
    assert_eq!(a.title.as_deref(), Some("Café 東京"));
    assert_eq!(a.description.as_deref(), Some("Ünïcode description"));
    assert_eq!(a.tags, vec!["sea"], "the host drops a/b");
    assert_eq!(a.album_id.as_deref(), Some("albSummer"));
    assert_eq!(a.category_id.as_deref(), Some("7"));
    assert_eq!(a.expiration_secs, 3600);
    assert!(a.nsfw);
    assert_eq!(a.mime, "image/jpeg");
    let b = stored
        .iter()
        .find(|s| s.original_filename == "b.jpg")
        .unwrap();
    assert_eq!(b.album_id.as_deref(), Some("albFixed"));
    let warned = line_for(&report, "a.jpg")["warnings"].to_string();
    assert!(
        warned.contains("a/b"),
        "dropped tags are warned about: {warned}"
    );
    let req = &server.upload_requests()[0];
    assert_eq!(req.header("x-api-key"), Some(DEFAULT_API_KEY));
    assert!(req.field("key").is_none());
    assert_eq!(req.path, "/api/1/upload");
    assert!(req.query.is_none());
}

#[test]
fn key_as_field_base64_source_and_txt_and_redirect_answers() {
    for (extra, expect_prefix) in [
        ("    auth: field\n    source: base64\n", "http://"),
        ("    format: txt\n", "http://"),
        ("    format: redirect\n", "http://"),
    ] {
        let server = Server::start(ServerConfig::default());
        let job = Job::new();
        job.add_photos(2);
        let (out, report) = job.run(&server, extra, "");
        assert_eq!(out.status.code(), Some(0), "{extra}: {}", stderr(&out));
        assert_eq!(server.stored().len(), 2, "{extra}");
        for l in &report {
            assert_eq!(l["state"], "uploaded", "{extra}: {l}");
            assert!(
                l["output"].as_str().unwrap().starts_with(expect_prefix),
                "{extra}: {l}"
            );
        }
        if extra.contains("field") {
            let req = &server.upload_requests()[0];
            assert!(req.header("x-api-key").is_none());
            assert_eq!(req.field("key"), Some(DEFAULT_API_KEY));
            assert!(req.files.is_empty(), "base64 travels as a field");
        }
    }
}

#[test]
fn invalid_expiration_and_insecure_http_are_refused_before_sending() {
    let server = Server::start(ServerConfig::default());
    let job = Job::new();
    job.add_photos(1);
    let (out, _) = job.run(&server, "    expiration: 5 minutes\n", "");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("expiration"), "{}", stderr(&out));
    assert!(stderr(&out).contains("pipeline.yaml:"), "{}", stderr(&out));
    let p = job.dir.path().join("insecure.yaml");
    std::fs::write(
        &p,
        format!(
            "version: 1\ninput:\n  paths: [\"{}\"]\ntarget:\n  chevereto:\n    url: http://img.example.invalid\n    api_key: ${{CHEVERETO_API_KEY}}\n",
            job.input.display()
        ),
    )
    .unwrap();
    let (out, _) = job.run_with(&p, DEFAULT_API_KEY, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("allow_insecure_http"),
        "{}",
        stderr(&out)
    );
    assert!(server.upload_requests().is_empty());
}

#[test]
fn a_bad_key_stops_the_run_without_hammering() {
    let server = Server::start(ServerConfig::default());
    let job = Job::new();
    job.add_photos(30);
    let p = job.pipeline(&server, "", "");
    let (out, report) = job.run_with(&p, "chv_FAKE_wrong_key_000", &[]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("Invalid API key"), "{}", stderr(&out));
    // Requests already in flight when the first answer came may finish; none start after it.
    let requests = server.upload_requests().len();
    assert!(requests <= 4, "at most the uploads in flight: {requests}");
    assert!(server.stored().is_empty());
    assert_eq!(
        report.iter().filter(|l| l["state"] == "uploaded").count(),
        0
    );
}

#[test]
fn key_revoked_mid_run_stops_it_and_a_rerun_finishes_the_rest() {
    let server = Server::start(ServerConfig::default());
    let job = Job::new();
    job.add_photos(12);
    server.push_faults((0..3).map(|_| Fault::Slow { delay_ms: 50 }));
    let p = job.pipeline(
        &server,
        "",
        "  concurrency: 1
",
    );
    server.add_key("chv_FAKE_second_key", false);
    let handle = {
        std::thread::spawn({
            let p = p.clone();
            let report = job.report();
            move || {
                support::pixpipe()
                    .args([
                        "run",
                        "-q",
                        p.to_str().unwrap(),
                        "--report",
                        report.to_str().unwrap(),
                    ])
                    .env("CHEVERETO_API_KEY", "chv_FAKE_second_key")
                    .output()
                    .unwrap()
            }
        })
    };
    while server.stored().len() < 3 {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    server.revoke_key("chv_FAKE_second_key");
    let out = handle.join().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let stored_before = server.stored().len();
    let after_error = server
        .upload_requests()
        .iter()
        .skip_while(|r| r.error_code != Some(100))
        .skip(1)
        .count();
    assert!(
        after_error <= 1,
        "requests after the key error: {after_error}"
    );
    server.add_key("chv_FAKE_third_key", false);
    let (out, _) = job.run_with(&p, "chv_FAKE_third_key", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(server.stored().len(), 12, "nothing lost");
    assert!(stored_before < 12);
    assert!(
        server.store_count_by_sent_md5().values().all(|n| *n == 1),
        "nothing twice"
    );
}

#[test]
fn transient_faults_are_retried_and_nothing_is_stored_twice() {
    let server = Server::start(ServerConfig::default());
    let job = Job::new();
    job.add_photos(6);
    server.push_faults([
        Fault::Status503,
        Fault::Status500,
        Fault::TooManyRequests {
            retry_after_secs: 1,
        },
        Fault::ResetMidBody,
        Fault::Status502,
    ]);
    let (out, report) = job.run(&server, "", "");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(server.stored().len(), 6);
    assert!(server.store_count_by_sent_md5().values().all(|n| *n == 1));
    assert!(
        report.iter().all(|l| l["state"] == "uploaded"),
        "{report:#?}"
    );
    assert!(server.upload_requests().len() >= 11);
}

#[test]
fn a_lost_answer_is_reported_as_possibly_duplicated() {
    let server = Server::start(ServerConfig::default());
    let job = Job::new();
    job.add_photos(1);
    server.push_faults([Fault::LoseAnswerAfterStore]);
    let (out, report) = job.run(&server, "", "");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // The retry finds the host already holding the bytes (code 101): stored once.
    assert_eq!(server.stored().len(), 1);
    assert_eq!(report[0]["state"], "already_there");
    assert_eq!(report[0]["possibly_duplicated"], true);
}

#[test]
fn host_duplicate_is_not_a_failure() {
    let server = Server::start(ServerConfig::default());
    let first = Job::new();
    first.add_photos(2);
    first.run(&server, "", "");
    // Another ledger (another machine): the host says "Duplicated upload".
    let second = Job::new();
    second.add_photos(2);
    let (out, report) = second.run(&server, "", "");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        report.iter().all(|l| l["state"] == "already_there"),
        "{report:#?}"
    );
    assert_eq!(server.stored().len(), 2);
}

#[test]
fn flood_limit_per_day_stops_the_run_with_a_clear_message() {
    let server = Server::start(ServerConfig {
        flood_per_day: Some(3),
        ..ServerConfig::default()
    });
    let job = Job::new();
    job.add_photos(6);
    let p = job.pipeline(
        &server,
        "",
        "  concurrency: 1
",
    );
    let (out, _) = job.run_with(&p, DEFAULT_API_KEY, &[]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("per day"), "{}", stderr(&out));
    assert_eq!(server.stored().len(), 3);
}

#[test]
fn plan_and_dry_run_send_nothing() {
    let server = Server::start(ServerConfig::default());
    let job = Job::new();
    job.add_photos(3);
    let copy = std::fs::read(job.input.join("p000.jpg")).unwrap();
    job.add("copy.jpg", &copy);
    job.add("notes.txt", b"text");
    let p = job.pipeline(&server, "", "");
    let out = support::pixpipe()
        .args(["plan", "--json", p.to_str().unwrap()])
        .env("CHEVERETO_API_KEY", DEFAULT_API_KEY)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["new"], 3);
    assert_eq!(v["duplicate"], 1);
    assert_eq!(v["skipped"], 1);
    assert_eq!(v["already_there"], 0);
    let (out, _) = job.run_with(&p, DEFAULT_API_KEY, &["--dry-run"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(server.upload_requests().is_empty());
    job.run_with(&p, DEFAULT_API_KEY, &[]);
    let out = support::pixpipe()
        .args(["plan", "--json", p.to_str().unwrap()])
        .env("CHEVERETO_API_KEY", DEFAULT_API_KEY)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["new"], 0);
    assert_eq!(v["already_there"], 4);
}

#[test]
fn one_off_upload_command() {
    let server = Server::start(ServerConfig::default());
    let job = Job::new();
    let a = job.add(
        "x.jpg",
        &fixtures::jpeg_rgb(30, 20, &fixtures::photo_like_rgb(30, 20, 5)),
    );
    let ledger = job.dir.path().join("l.sqlite");
    let out = support::pixpipe()
        .args([
            "upload",
            a.to_str().unwrap(),
            "--url",
            &server.base_url(),
            "--title",
            "One {off}",
            "--tags",
            "a,b",
        ])
        .args(["--ledger", ledger.to_str().unwrap()])
        .env("CHEVERETO_API_KEY", DEFAULT_API_KEY)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let stored = server.stored();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].title.as_deref(), Some("One {off}"));
    assert_eq!(stored[0].tags, vec!["a", "b"]);
    let out = support::pixpipe()
        .args(["upload", a.to_str().unwrap(), "--url", &server.base_url()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "no key: {}", stderr(&out));
    assert!(stderr(&out).contains("CHEVERETO_API_KEY"));
    let out = support::pixpipe()
        .args([
            "ledger",
            "--ledger",
            ledger.to_str().unwrap(),
            "export",
            "--format",
            "csv",
        ])
        .output()
        .unwrap();
    let csv = String::from_utf8_lossy(&out.stdout);
    assert!(csv.starts_with("target,source_md5,state"), "{csv}");
    assert_eq!(csv.lines().count(), 2);
}

#[test]
fn a_thousand_uploads_at_concurrency_16_each_stored_once() {
    let server = Server::start(ServerConfig::default());
    let job = Job::new();
    for i in 0..1000u32 {
        // Four 8x8 blocks whose grey levels spell out i: distinct even after JPEG quantization.
        let mut rgb = vec![0u8; 32 * 8 * 3];
        for (px, chunk) in rgb.chunks_exact_mut(3).enumerate() {
            let block = (px % 32) / 8;
            let level = ((i >> (block * 3)) & 7) as u8 * 36;
            chunk.copy_from_slice(&[level, level, level]);
        }
        job.add(
            &format!("d{}/f{i:04}.jpg", i / 100),
            &fixtures::jpeg_rgb(32, 8, &rgb),
        );
    }
    let p = job.pipeline(
        &server,
        "",
        "  concurrency: 16
",
    );
    server.push_faults((0..20).map(|i| {
        if i % 2 == 0 {
            Fault::Status503
        } else {
            Fault::ResetMidBody
        }
    }));
    let (out, report) = job.run_with(&p, DEFAULT_API_KEY, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(report.len(), 1000);
    let counts = server.store_count_by_sent_md5();
    assert_eq!(counts.len(), 1000, "every file stored");
    assert!(counts.values().all(|n| *n == 1), "each exactly once");
}

#[test]
fn a_hung_answer_times_out_and_is_retried() {
    let server = Server::start(ServerConfig::default());
    let job = Job::new();
    job.add_photos(2);
    server.push_faults([Fault::Hang]);
    let p = job.pipeline(
        &server,
        "",
        "  timeout: 1
",
    );
    let (out, report) = job.run_with(&p, DEFAULT_API_KEY, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(server.stored().len(), 2);
    assert!(
        report
            .iter()
            .all(|l| l["state"] == "uploaded" || l["state"] == "already_there"),
        "{report:#?}"
    );
}

#[test]
fn rate_limit_spaces_the_requests() {
    let server = Server::start(ServerConfig::default());
    let job = Job::new();
    job.add_photos(6);
    let p = job.pipeline(
        &server,
        "",
        "  rate_limit: 10
  concurrency: 6
",
    );
    let started = std::time::Instant::now();
    let (out, _) = job.run_with(&p, DEFAULT_API_KEY, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(server.stored().len(), 6);
    // Six requests at ten a second cannot all start within half a second.
    assert!(started.elapsed() >= std::time::Duration::from_millis(500));
}

#[test]
fn ledger_forget_makes_a_file_go_again() {
    let server = Server::start(ServerConfig {
        duplicate_check: false,
        ..ServerConfig::default()
    });
    let job = Job::new();
    job.add_photos(2);
    let (_, report) = job.run(&server, "", "");
    let md5 = report[0]["source_md5"].as_str().unwrap().to_string();
    let ledger = job.dir.path().join("ledger.sqlite");
    let out = support::pixpipe()
        .args([
            "ledger",
            "--ledger",
            ledger.to_str().unwrap(),
            "forget",
            &md5,
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(support::stdout(&out).contains("forgot 1"));
    let out = support::pixpipe()
        .args(["ledger", "--ledger", ledger.to_str().unwrap(), "stats"])
        .output()
        .unwrap();
    assert!(
        support::stdout(&out).contains("uploaded"),
        "{}",
        support::stdout(&out)
    );
    let (_, report) = job.run(&server, "", "");
    assert_eq!(
        report.iter().filter(|l| l["state"] == "uploaded").count(),
        1
    );
    assert_eq!(server.stored().len(), 3);
}

#[test]
fn a_host_that_goes_away_and_comes_back_loses_nothing() {
    let server = Server::start(ServerConfig::default());
    let job = Job::new();
    job.add_photos(4);
    server.set_default_fault(Fault::Status503);
    let p = job.pipeline(
        &server,
        "",
        "  retries: 8
",
    );
    let handle = {
        let p = p.clone();
        let report = job.report();
        std::thread::spawn(move || {
            support::pixpipe()
                .args([
                    "run",
                    "-q",
                    p.to_str().unwrap(),
                    "--report",
                    report.to_str().unwrap(),
                ])
                .env("CHEVERETO_API_KEY", DEFAULT_API_KEY)
                .output()
                .unwrap()
        })
    };
    std::thread::sleep(std::time::Duration::from_secs(3));
    assert!(server.stored().is_empty(), "the host is down");
    server.set_default_fault(Fault::None);
    let out = handle.join().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(server.stored().len(), 4);
    assert!(server.store_count_by_sent_md5().values().all(|n| *n == 1));
}

#[test]
fn a_429_storm_is_waited_out() {
    let server = Server::start(ServerConfig::default());
    let job = Job::new();
    job.add_photos(3);
    server.push_faults((0..12).map(|_| Fault::TooManyRequests {
        retry_after_secs: 0,
    }));
    let (out, report) = job.run(&server, "", "");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(server.stored().len(), 3);
    assert!(report.iter().all(|l| l["state"] == "uploaded"));
}
