//! What a new user hit: a dead or vanishing host, Ctrl-C during a backoff, TLS to a
//! plain-HTTP port, a closed stderr, a dry run's footprint, and failed files kept in
//! the ledger with their reason.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::chevereto::{DEFAULT_API_KEY, Fault, Server, ServerConfig};
use crate::support::{self, read_jsonl, stderr, write_pipeline};

/// A pipeline of `n` photos to the host at `url`.
fn upload_job(n: u32, url: &str, upload: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    support::write_photos(&input, n, 24, 16);
    let yaml = format!(
        "version: 1\ninput:\n  paths: [\"{}\"]\nledger:\n  path: \"{}\"\nupload:\n  timeout: 10\n{upload}target:\n  chevereto:\n    url: \"{url}\"\n    api_key: ${{CHEVERETO_API_KEY}}\n",
        input.display(),
        dir.path().join("ledger.sqlite").display(),
    );
    let p = dir.path().join("pipeline.yaml");
    std::fs::write(&p, yaml).unwrap();
    (dir, p)
}

fn spawn_run(p: &Path, report: &Path) -> Child {
    support::pixpipe()
        .args([
            "run",
            p.to_str().unwrap(),
            "--report",
            report.to_str().unwrap(),
        ])
        .env("CHEVERETO_API_KEY", DEFAULT_API_KEY)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_until(mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "timed out waiting"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_port_that_refuses_connections_stops_the_run_with_every_file_not_started() {
    let port = free_port();
    let (dir, p) = upload_job(20, &format!("http://127.0.0.1:{port}"), "");
    let report = dir.path().join("r.jsonl");
    let started = Instant::now();
    let out = spawn_run(&p, &report).wait_with_output().unwrap();
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "cannot reach 127.0.0.1:{port}: connection refused"
        )),
        "{}",
        stderr(&out)
    );
    // One short probe for the host, not a backoff per file (minutes before).
    assert!(took < Duration::from_secs(20), "took {took:?}");
    let lines = read_jsonl(&report);
    assert_eq!(lines.len(), 20);
    assert!(
        lines.iter().all(|l| l["state"] == "not_started"),
        "{lines:#?}"
    );
}

/// A TCP relay to the fake host that can be taken down (listener closed, connections
/// cut) and brought back on the same port, like a host that goes away and returns.
struct Relay {
    port: u16,
    up: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<TcpStream>>>,
}

impl Relay {
    fn new(to: String) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let relay = Relay {
            port,
            up: Arc::new(AtomicBool::new(true)),
            conns: Arc::default(),
        };
        let (up, conns) = (Arc::clone(&relay.up), Arc::clone(&relay.conns));
        std::thread::spawn(move || serve(listener, port, to, up, conns));
        relay
    }

    fn down(&self) {
        self.up.store(false, Ordering::SeqCst);
        for c in self.conns.lock().unwrap().drain(..) {
            let _ = c.shutdown(Shutdown::Both);
        }
    }

    fn up(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

fn serve(
    mut listener: TcpListener,
    port: u16,
    to: String,
    up: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<TcpStream>>>,
) {
    listener.set_nonblocking(true).unwrap();
    loop {
        if !up.load(Ordering::SeqCst) {
            drop(listener);
            while !up.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(20));
            }
            listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
            listener.set_nonblocking(true).unwrap();
        }
        match listener.accept() {
            Ok((client, _)) => {
                client.set_nonblocking(false).unwrap();
                let server = TcpStream::connect(&to).unwrap();
                conns.lock().unwrap().push(client.try_clone().unwrap());
                conns.lock().unwrap().push(server.try_clone().unwrap());
                pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
                pipe(server, client);
            }
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 || to.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    });
}

#[test]
fn a_host_that_goes_away_mid_run_pauses_every_upload_and_they_go_on_when_it_is_back() {
    let server = Server::start(ServerConfig::default());
    server.set_default_fault(Fault::Slow { delay_ms: 150 });
    let relay = Relay::new(server.base_url().trim_start_matches("http://").to_string());
    let (dir, p) = upload_job(
        12,
        &format!("http://127.0.0.1:{}", relay.port),
        "  concurrency: 2\n",
    );
    let report = dir.path().join("r.jsonl");
    let mut child = spawn_run(&p, &report);
    wait_until(|| server.stored().len() >= 2);
    relay.down();
    std::thread::sleep(Duration::from_secs(3));
    relay.up();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(err.contains("unreachable since"), "{err}");
    let lines = read_jsonl(&report);
    assert_eq!(lines.len(), 12);
    assert!(
        lines
            .iter()
            .all(|l| l["state"] == "uploaded" || l["possibly_duplicated"] == true),
        "{lines:#?}"
    );
    // Cut connections may have lost answers, never files.
    assert!(
        server.store_count_by_sent_md5().len() == 12,
        "every file stored"
    );
}

#[test]
fn ctrl_c_during_a_backoff_stops_within_two_seconds() {
    let server = Server::start(ServerConfig::default());
    server.set_default_fault(Fault::Status503);
    let (dir, p) = upload_job(1, &server.base_url(), "  retries: 10\n");
    let report = dir.path().join("r.jsonl");
    let child = spawn_run(&p, &report);
    // Three answers in: the backoff now runs for seconds.
    wait_until(|| server.upload_requests().len() >= 3);
    std::thread::sleep(Duration::from_millis(300));
    let sent = Instant::now();
    let ok = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let out = child.wait_with_output().unwrap();
    let took = sent.elapsed();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    assert!(took < Duration::from_secs(2), "took {took:?}");
    let lines = read_jsonl(&report);
    assert_eq!(lines[0]["state"], "not_started", "{lines:#?}");
}

/// A plain-HTTP server that answers anything with 400, as web servers answer a TLS
/// ClientHello sent to their plain port.
fn plain_http_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            let mut buf = [0u8; 1024];
            let _ = conn.read(&mut buf);
            let _ = conn.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        }
    });
    port
}

#[test]
fn tls_to_a_plain_http_port_says_so() {
    let port = plain_http_port();
    let (dir, p) = upload_job(2, &format!("https://127.0.0.1:{port}"), "");
    let started = Instant::now();
    let out = spawn_run(&p, &dir.path().join("r.jsonl"))
        .wait_with_output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("plain HTTP, not HTTPS"),
        "{}",
        stderr(&out)
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "said at once, not after retries"
    );
}

#[test]
fn plan_and_dry_run_leave_nothing_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    support::write_photos(&input, 3, 24, 16);
    let p = write_pipeline(dir.path(), &input, "");
    for args in [vec!["plan"], vec!["run", "--dry-run"]] {
        let out = support::pixpipe().args(&args).arg(&p).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        assert!(
            !dir.path().join("ledger.sqlite").exists(),
            "{args:?} made a ledger"
        );
        assert!(
            !dir.path().join("out").exists(),
            "{args:?} made the output folder"
        );
        if args[0] == "run" {
            assert!(stderr(&out).contains("would write 3"), "{}", stderr(&out));
        }
    }
}

#[test]
fn the_summary_gives_time_bytes_and_rate() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    support::write_photos(&input, 2, 24, 16);
    let p = write_pipeline(dir.path(), &input, "");
    let out = support::pixpipe().arg("run").arg(&p).output().unwrap();
    let err = stderr(&out);
    assert!(err.contains("2 written, 0 failed in "), "{err}");
    assert!(err.contains(" read, ") && err.contains(" files/s"), "{err}");
    let out = support::pixpipe()
        .args(["run", "--json"])
        .arg(&p)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["already_there"], 2);
    assert!(v["elapsed_seconds"].as_f64().unwrap() > 0.0);
}

#[test]
fn failed_files_are_recorded_in_the_ledger_with_their_reason() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    support::write_photos(&input, 1, 24, 16);
    std::fs::write(input.join("broken.jpg"), b"\xFF\xD8\xFF\xE0 not really").unwrap();
    let p = write_pipeline(dir.path(), &input, "");
    let out = support::pixpipe().arg("run").arg(&p).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let out = support::pixpipe()
        .args(["ledger", "--pipeline"])
        .arg(&p)
        .args(["export", "--format", "jsonl"])
        .output()
        .unwrap();
    let rows: Vec<serde_json::Value> = support::stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let failed: Vec<_> = rows.iter().filter(|r| r["state"] == "failed").collect();
    assert_eq!(failed.len(), 1, "{rows:#?}");
    assert!(
        failed[0]["source_path"]
            .as_str()
            .unwrap()
            .ends_with("broken.jpg")
    );
    assert!(!failed[0]["reason"].as_str().unwrap_or("").is_empty());
    assert_eq!(rows.iter().filter(|r| r["state"] == "written").count(), 1);
    // `ledger list --state failed` shows it, with the reason in place of a location.
    let out = support::pixpipe()
        .args(["ledger", "--pipeline"])
        .arg(&p)
        .args(["list", "--state", "failed"])
        .output()
        .unwrap();
    let lines: Vec<String> = support::stdout(&out).lines().map(String::from).collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    let cells: Vec<&str> = lines[0].split('\t').collect();
    assert_eq!(cells[0], "failed");
    let reason = failed[0]["reason"].as_str().unwrap();
    assert_eq!(cells[2], reason.replace('\n', " ").trim());
    assert!(cells[3].ends_with("broken.jpg"));
}

#[test]
fn a_closed_stderr_stops_the_run_quietly_and_records_what_was_written() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    support::write_photos(&input, 40, 320, 240);
    let p = write_pipeline(dir.path(), &input, "jobs: 1\n");
    let mut child = support::pixpipe()
        .args(["run", "-v"])
        .arg(&p)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read one line, then go away, like `2>&1 | head -1`.
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut first = String::new();
    err.read_line(&mut first).unwrap();
    drop(err);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(141), "first line: {first}");
    // Whatever was written is in the ledger: a re-run writes only the rest, no copies.
    let written_before = count_files(&dir.path().join("out"));
    let out = support::pixpipe()
        .args(["run", "--json"])
        .arg(&p)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["written"].as_u64().unwrap() + v["already_there"].as_u64().unwrap(),
        40
    );
    assert_eq!(v["already_there"].as_u64().unwrap(), written_before);
}

/// Image files under `dir` (the manifest aside).
fn count_files(dir: &Path) -> u64 {
    walk(dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "jpg"))
        .count() as u64
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}
