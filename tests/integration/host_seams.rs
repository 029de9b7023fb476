//! What a real Chevereto 4.2.5 taught the host target: names it would store as `-`,
//! titles it cuts, albums given by URL, a key checked without uploading anything, and
//! a run in Chinese that says nothing in English but the host's own words.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::support::chevereto::{DEFAULT_API_KEY, Fault, Server, ServerConfig};
use crate::support::fixtures;
use crate::support::{self, line_for, read_jsonl, stderr};

/// A folder of photos and a pipeline to `server`, with `extra` under `target.chevereto`
/// and `top` as whole top-level sections.
struct Job {
    dir: tempfile::TempDir,
    input: PathBuf,
}

impl Job {
    fn new() -> Job {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in");
        support::write_photos(&input, 2, 24, 16);
        Job { dir, input }
    }

    fn rename(&self, from: &str, to: &str) {
        std::fs::rename(self.input.join(from), self.input.join(to)).unwrap();
    }

    fn pipeline(&self, url: &str, extra: &str, top: &str) -> PathBuf {
        let yaml = format!(
            "version: 1\ninput:\n  paths: [\"{}\"]\n{top}ledger:\n  path: \"{}\"\nupload:\n  retries: 1\n  timeout: 10\n  concurrency: 1\ntarget:\n  chevereto:\n    url: \"{url}\"\n    api_key: ${{CHEVERETO_API_KEY}}\n{extra}",
            self.input.display(),
            self.dir.path().join("ledger.sqlite").display(),
        );
        let p = self.dir.path().join("pipeline.yaml");
        std::fs::write(&p, yaml).unwrap();
        p
    }

    fn run(&self, pipeline: &Path, env: &[(&str, &str)]) -> (Output, Vec<serde_json::Value>) {
        let report = self.dir.path().join("report.jsonl");
        let _ = std::fs::remove_file(&report);
        let mut c = support::pixpipe();
        c.args(["run", "-v", pipeline.to_str().unwrap(), "--report"])
            .arg(&report)
            .env("CHEVERETO_API_KEY", DEFAULT_API_KEY);
        for (k, v) in env {
            c.env(k, v);
        }
        let out = c.output().unwrap();
        (out, read_jsonl(&report))
    }
}

#[test]
fn a_name_the_host_would_store_as_a_dash_is_sent_readable_and_the_title_keeps_it() {
    let server = Server::start(ServerConfig::default());
    let job = Job::new();
    job.rename("p000.jpg", "港口.jpg");
    job.rename("p001.jpg", "日出 2019.jpg");
    let (out, report) = job.run(&job.pipeline(&server.base_url(), "", ""), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let stored = server.stored();
    let by_title = |t: &str| stored.iter().find(|i| i.effective_title == t).unwrap();
    let harbour = by_title("港口");
    assert!(
        harbour.original_filename.starts_with("photo-")
            && harbour.original_filename.ends_with(".jpg"),
        "{harbour:?}"
    );
    assert_ne!(harbour.stored_name, "-.jpg");
    let sunrise = by_title("日出 2019");
    assert_eq!(
        sunrise.original_filename, "日出 2019.jpg",
        "it has digits: kept"
    );
    assert_eq!(sunrise.stored_name, "-2019.jpg");
    assert_eq!(line_for(&report, "港口.jpg")["state"], "uploaded");
}

#[test]
fn a_title_the_host_would_cut_is_warned_of_in_the_report() {
    let server = Server::start(ServerConfig::default());
    let job = Job::new();
    let long = "湾".repeat(120);
    let top = format!("metadata:\n  title: \"{long}\"\n");
    let (out, report) = job.run(&job.pipeline(&server.base_url(), "", &top), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let warnings = line_for(&report, "p000.jpg")["warnings"].to_string();
    assert!(
        warnings.contains("the title has 120 characters; the host keeps the first 100"),
        "{warnings}"
    );
    for img in server.stored() {
        assert_eq!(img.effective_title.chars().count(), 100);
    }
}

#[test]
fn albums_are_given_by_id_or_by_the_url_people_see() {
    let server = Server::start(ServerConfig::default());
    server.add_album(DEFAULT_API_KEY, "DM");
    server.add_album(DEFAULT_API_KEY, "Xy1");
    let job = Job::new();
    std::fs::create_dir_all(job.input.join("2019")).unwrap();
    job.rename("p001.jpg", "2019/p001.jpg");
    let base = server.base_url();
    let extra = format!(
        "    album_id: \"{base}/album/Harbour-at-dawn.DM\"\n    albums:\n      \"2019\": \"{base}/album/Xy1/\"\n"
    );
    let (out, _) = job.run(&job.pipeline(&base, &extra, ""), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut albums: Vec<_> = server
        .stored()
        .iter()
        .map(|i| (i.original_filename.clone(), i.album_id.clone()))
        .collect();
    albums.sort();
    assert_eq!(
        albums,
        [
            ("p000.jpg".to_string(), Some("DM".to_string())),
            ("p001.jpg".to_string(), Some("Xy1".to_string())),
        ]
    );
    // A URL that names no album is the pipeline file's mistake, located.
    let p = job.pipeline(
        &base,
        &format!("    album_id: \"{base}/image/x.abc\"\n"),
        "",
    );
    let out = support::pixpipe()
        .args(["check", p.to_str().unwrap()])
        .env("CHEVERETO_API_KEY", DEFAULT_API_KEY)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("is not an album URL"),
        "{}",
        stderr(&out)
    );
}

fn check_online(p: &Path, key: &str, lang: &str) -> Output {
    support::pixpipe()
        .args(["check", "--online", p.to_str().unwrap()])
        .env("CHEVERETO_API_KEY", key)
        .env("LANG", lang)
        .output()
        .unwrap()
}

#[test]
fn check_online_tells_a_good_key_from_a_bad_one_and_uploads_nothing() {
    let server = Server::start(ServerConfig::default());
    let job = Job::new();
    let p = job.pipeline(&server.base_url(), "", "");
    let good = check_online(&p, DEFAULT_API_KEY, "C");
    assert_eq!(good.status.code(), Some(0), "{}", stderr(&good));
    assert!(
        stderr(&good).contains("the host knows this key"),
        "{}",
        stderr(&good)
    );
    let bad = check_online(&p, "chv_wrong_0000", "C");
    assert_eq!(bad.status.code(), Some(3), "{}", stderr(&bad));
    assert!(
        stderr(&bad).contains("the host refused the key: Invalid API key."),
        "{}",
        stderr(&bad)
    );
    let zh = check_online(&p, "chv_wrong_0000", "zh_CN.UTF-8");
    assert!(stderr(&zh).contains("图床拒绝了此密钥"), "{}", stderr(&zh));
    assert!(
        !stderr(&bad).contains("chv_wrong_0000"),
        "the key is never shown"
    );
    assert!(server.stored().is_empty(), "nothing was uploaded");
    assert_eq!(server.upload_requests().len(), 3);
    // No host listening: said, and exit 3.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let gone = check_online(&job.pipeline(&url, "", ""), DEFAULT_API_KEY, "C");
    assert_eq!(gone.status.code(), Some(3), "{}", stderr(&gone));
    assert!(stderr(&gone).contains("no answer"), "{}", stderr(&gone));
    // A folder target has no host to ask.
    let dir = support::write_pipeline(job.dir.path(), &job.input, "");
    let out = support::run(&["check", "--online", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn a_run_in_chinese_says_nothing_in_english_but_the_hosts_words() {
    let server = Server::start(ServerConfig::default());
    let job = Job::new();
    fixtures::write_fixture(&job.input, "broken.jpg", &fixtures::text_as_jpg());
    // Three answers of a dead backend: both photos' first tries meet one each (a file
    // backing off holds no upload slot, so the second starts meanwhile), and whichever
    // tries again first meets the third and fails; the other goes through.
    server.push_faults([Fault::Status503, Fault::Status503, Fault::Status503]);
    let (out, report) = job.run(
        &job.pipeline(&server.base_url(), "", ""),
        &[("LANG", "zh_CN.UTF-8")],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let failed: Vec<_> = report.iter().filter(|l| l["state"] == "failed").collect();
    assert_eq!(failed.len(), 2, "{report:#?}");
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().filter(|l| l.contains(".jpg")).collect();
    assert_eq!(lines.len(), 3, "{err}");
    for line in lines {
        // The path, then nothing but Chinese, numbers, the host's HTTP status and the
        // file's own first bytes (quoted).
        let said = line.rsplit_once(".jpg").unwrap().1.replace("HTTP", "");
        let said: String = said.split('"').step_by(2).collect();
        assert!(
            !said.chars().any(|c| c.is_ascii_alphabetic()),
            "English in a Chinese run: {line}"
        );
    }
    assert!(err.contains("尝试 2 次后放弃：图床返回 HTTP 503"), "{err}");
    // The report stays English.
    let reasons: Vec<String> = failed.iter().map(|l| l["reason"].to_string()).collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("gave up after 2 attempts: HTTP 503 from the host")),
        "{reasons:?}"
    );
}
