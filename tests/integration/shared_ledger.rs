//! Several workers, one PostgreSQL ledger (`ledger.url`): each file read and
//! delivered by one worker, nothing stored twice, nothing lost when a worker dies,
//! stalls past its lease or loses the database for a while.
//!
//! The workers are real pixpipe processes against the fake host; the database is
//! one of its own per test in the cluster `PIXPIPE_TEST_POSTGRES` names (see
//! `support::postgres`). Without it, these tests say so and check nothing.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::support::chevereto::{DEFAULT_API_KEY, Fault, Server, ServerConfig};
use crate::support::postgres::{self, TestDb};
use crate::support::{self, read_jsonl, stderr};

/// An archive of distinct photos, a host that stores duplicates (so that a file sent
/// twice shows), and a pipeline that shares the test's database.
struct Shared {
    dir: tempfile::TempDir,
    input: PathBuf,
    server: Server,
    db: TestDb,
}

impl Shared {
    fn new(db: TestDb, photos: u32, delay_ms: u64) -> Shared {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in");
        support::write_photos(&input, photos, 24, 16);
        let server = Server::start(ServerConfig {
            duplicate_check: false,
            ..Default::default()
        });
        server.set_default_fault(Fault::Slow { delay_ms });
        Shared {
            dir,
            input,
            server,
            db,
        }
    }

    fn pipeline(&self, lease: &str) -> PathBuf {
        let yaml = format!(
            "version: 1\ninput:\n  paths: [\"{}\"]\nledger:\n  url: \"{}\"\n  lease: {lease}\n\
             upload:\n  concurrency: 4\n  retries: 4\n  timeout: 30\n\
             target:\n  chevereto:\n    url: \"{}\"\n    api_key: ${{CHEVERETO_API_KEY}}\n",
            self.input.display(),
            self.db.url,
            self.server.base_url(),
        );
        let p = self.dir.path().join("pipeline.yaml");
        std::fs::write(&p, yaml).unwrap();
        p
    }

    fn report(&self, worker: usize) -> PathBuf {
        self.dir.path().join(format!("report-{worker}.jsonl"))
    }

    /// Starts worker `n` of the pipeline.
    fn start(&self, pipeline: &Path, n: usize) -> Child {
        support::pixpipe()
            .args(["run", "-q", pipeline.to_str().unwrap(), "--report"])
            .arg(self.report(n))
            .env("CHEVERETO_API_KEY", DEFAULT_API_KEY)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// Waits for a worker; gives its exit code and what it said.
    fn wait(&self, child: Child) -> (Option<i32>, String) {
        let out = child.wait_with_output().unwrap();
        (out.status.code(), stderr(&out))
    }

    /// How many times the host stored each file name.
    fn stored_names(&self) -> HashMap<String, usize> {
        let mut names = HashMap::new();
        for img in self.server.stored() {
            *names.entry(img.original_filename).or_insert(0) += 1;
        }
        names
    }

    /// The report lines of the given workers, all together.
    fn lines(&self, workers: impl IntoIterator<Item = usize>) -> Vec<serde_json::Value> {
        workers
            .into_iter()
            .filter(|w| self.report(*w).exists())
            .flat_map(|w| read_jsonl(&self.report(w)))
            .collect()
    }
}

/// Waits until `check` holds, for at most `limit`.
fn wait_until(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// A worker's process id, from its id in the ledger (`host:pid:start`).
fn pid_of(worker: &str) -> u32 {
    worker.split(':').nth(1).unwrap().parse().unwrap()
}

fn name_of(line: &serde_json::Value) -> String {
    let path = line["path"].as_str().unwrap();
    Path::new(path)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

#[test]
fn four_workers_share_an_archive_and_store_nothing_twice() {
    let Some(db) = postgres::database("four_workers") else {
        return;
    };
    let photos = 60;
    let s = Shared::new(db, photos, 40);
    let p = s.pipeline("2m");
    // All four start on an empty database at once: the tables are made once.
    let workers: Vec<Child> = (0..4).map(|n| s.start(&p, n)).collect();
    for w in workers {
        let (code, err) = s.wait(w);
        assert_eq!(code, Some(0), "{err}");
    }
    let stored = s.stored_names();
    assert_eq!(
        stored.len(),
        photos as usize,
        "every photo reached the host"
    );
    assert!(stored.values().all(|n| *n == 1), "none twice: {stored:?}");
    // Each file was read by one worker only: the lines of files read (they name their
    // format) hold it once in all, uploaded. A worker that starts late (a loaded
    // machine) may find files another one finished by its quick check, without reading
    // them: those lines say already there, and name no format.
    let lines = s.lines(0..4);
    let (read, known): (Vec<_>, Vec<_>) = lines.iter().partition(|l| l.get("format").is_some());
    assert_eq!(read.len(), photos as usize, "{lines:#?}");
    let names: HashSet<String> = read.iter().map(|l| name_of(l)).collect();
    assert_eq!(names.len(), photos as usize);
    assert!(read.iter().all(|l| l["state"] == "uploaded"), "{lines:#?}");
    assert!(
        known.iter().all(|l| l["state"] == "already_there"),
        "{known:#?}"
    );
    let busy = (0..4)
        .filter(|w| s.report(*w).exists() && !read_jsonl(&s.report(*w)).is_empty())
        .count();
    assert!(busy >= 2, "the work was shared ({busy} workers did some)");
    assert_eq!(
        s.db.count("SELECT COUNT(*) FROM pixpipe.outputs WHERE state = 'uploaded'"),
        i64::from(photos)
    );
    assert_eq!(s.db.count("SELECT COUNT(*) FROM pixpipe.path_claims"), 0);
    // A fifth worker afterwards finds everything done and reads nothing.
    let (code, err) = s.wait(s.start(&p, 4));
    assert_eq!(code, Some(0), "{err}");
    let last = read_jsonl(&s.report(4));
    assert!(last.iter().all(|l| l["state"] == "already_there"));
    assert_eq!(s.server.stored().len(), photos as usize);
    // `ledger stats` names the workers.
    let stats = support::run(&["ledger", "--ledger", &s.db.url, "stats"]);
    let text = support::stdout(&stats);
    assert!(text.contains("finished"), "{text}");
    assert_eq!(text.matches("finished").count(), 5, "{text}");
}

#[test]
fn a_killed_worker_costs_nothing_and_a_rerun_completes_the_archive() {
    let Some(db) = postgres::database("killed_worker") else {
        return;
    };
    let photos = 40;
    let s = Shared::new(db, photos, 150);
    let p = s.pipeline("2s");
    let mut workers: Vec<Option<Child>> = (0..4).map(|n| Some(s.start(&p, n))).collect();
    // Kill (SIGKILL) a worker with uploads in flight.
    let mut victim = String::new();
    assert!(wait_until(Duration::from_secs(20), || {
        let c = s.db.client();
        match c_first_pending(c) {
            Some(w) => {
                victim = w;
                true
            }
            None => false,
        }
    }));
    let pid = pid_of(&victim);
    let index = workers
        .iter()
        .position(|w| w.as_ref().is_some_and(|c| c.id() == pid))
        .expect("the victim is one of ours");
    let mut killed = workers[index].take().unwrap();
    killed.kill().unwrap();
    let _ = killed.wait();
    for w in workers.into_iter().flatten() {
        let (code, err) = s.wait(w);
        assert_eq!(code, Some(0), "{err}");
    }
    // The others finished everything the dead worker had not claimed.
    let accounted = s.db.count(&format!(
        "SELECT COUNT(*) FROM (
            SELECT f.path FROM pixpipe.files f JOIN pixpipe.outputs o ON o.source_md5 = f.source_md5
                WHERE o.state = 'uploaded'
            UNION SELECT path FROM pixpipe.path_claims WHERE worker = '{victim}') AS t"
    ));
    assert_eq!(accounted, i64::from(photos));
    // Once its lease is over, a re-run takes what it held and completes the archive.
    std::thread::sleep(Duration::from_millis(2500));
    let (code, err) = s.wait(s.start(&p, 9));
    assert_eq!(code, Some(0), "{err}");
    let stored = s.stored_names();
    assert_eq!(stored.len(), photos as usize, "nothing is lost");
    let twice: Vec<&String> = stored
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(k, _)| k)
        .collect();
    assert!(twice.len() <= 4, "at most its uploads in flight: {twice:?}");
    let rerun = read_jsonl(&s.report(9));
    for name in &twice {
        let line = rerun.iter().find(|l| &&name_of(l) == name).unwrap();
        assert_eq!(line["possibly_duplicated"], true, "{line}");
    }
    assert_eq!(
        s.db.count("SELECT COUNT(*) FROM pixpipe.outputs WHERE state = 'uploaded'"),
        i64::from(photos)
    );
    assert_eq!(
        s.db.count("SELECT COUNT(*) FROM pixpipe.outputs WHERE state = 'pending'"),
        0
    );
}

/// The worker of a `pending` row, if any.
fn c_first_pending(mut c: ::postgres::Client) -> Option<String> {
    c.query_opt(
        "SELECT worker FROM pixpipe.outputs WHERE state = 'pending' LIMIT 1",
        &[],
    )
    .ok()
    .flatten()
    .map(|r| r.get(0))
}

#[test]
fn a_worker_that_lost_its_lease_cannot_record_over_the_new_owner() {
    let Some(db) = postgres::database("lost_lease") else {
        return;
    };
    let s = Shared::new(db, 3, 2500);
    let p = s.pipeline("1s");
    let a = s.start(&p, 0);
    let pending_of = |who: &str| {
        s.db.peek(&format!(
            "SELECT COUNT(*) FROM pixpipe.outputs WHERE state = 'pending' AND worker LIKE '%:{who}:%'"
        ))
        .unwrap_or(0)
    };
    let a_pid = a.id().to_string();
    assert!(wait_until(Duration::from_secs(20), || pending_of(&a_pid) == 3));
    // Stall A past its lease, with its three uploads in flight.
    unsafe { libc::kill(a.id() as i32, libc::SIGSTOP) };
    std::thread::sleep(Duration::from_millis(1800));
    let b = s.start(&p, 1);
    let b_pid = b.id().to_string();
    assert!(wait_until(Duration::from_secs(20), || pending_of(&b_pid) == 3));
    unsafe { libc::kill(a.id() as i32, libc::SIGCONT) };
    let (code_a, err_a) = s.wait(a);
    let (code_b, err_b) = s.wait(b);
    assert_eq!((code_a, code_b), (Some(0), Some(0)), "{err_a}\n{err_b}");
    // B took the files over; A's answers came back too late to be recorded.
    let rows = s.db.count(&format!(
        "SELECT COUNT(*) FROM pixpipe.outputs WHERE state = 'uploaded' AND worker LIKE '%:{b_pid}:%'"
    ));
    assert_eq!(rows, 3);
    for line in s.lines([0, 1]) {
        assert_eq!(line["state"], "uploaded", "{line}");
        assert_eq!(line["possibly_duplicated"], true, "{line}");
    }
    let a_lines = read_jsonl(&s.report(0));
    assert!(a_lines.iter().all(|l| {
        l["warnings"]
            .to_string()
            .contains("another worker took this file over")
    }));
    assert_eq!(s.server.stored().len(), 6, "both sent them: each flagged");
}

#[test]
fn workers_ride_out_lost_database_connections() {
    let Some(db) = postgres::database("restart") else {
        return;
    };
    let photos = 30;
    let s = Shared::new(db, photos, 100);
    let p = s.pipeline("1m");
    let workers: Vec<Child> = (0..2).map(|n| s.start(&p, n)).collect();
    assert!(wait_until(Duration::from_secs(20), || {
        s.db.peek("SELECT COUNT(*) FROM pixpipe.outputs")
            .unwrap_or(0)
            > 3
    }));
    // As a server restart looks to its clients: every connection cut, three times.
    let mut cut = 0;
    for _ in 0..3 {
        cut += s.db.drop_connections();
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(cut >= 2, "connections were cut ({cut})");
    for w in workers {
        let (code, err) = s.wait(w);
        assert_eq!(code, Some(0), "{err}");
    }
    let stored = s.stored_names();
    assert_eq!(stored.len(), photos as usize);
    assert!(stored.values().all(|n| *n == 1), "{stored:?}");
    assert_eq!(
        s.db.count("SELECT COUNT(*) FROM pixpipe.outputs WHERE state = 'uploaded'"),
        i64::from(photos)
    );
}

#[test]
fn a_shared_ledger_for_a_folder_and_its_copy_to_and_from_sqlite() {
    let Some(db) = postgres::database("copy") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    support::write_photos(&input.join("trip"), 5, 32, 24);
    let yaml = format!(
        "version: 1\ninput:\n  paths: [\"{}\"]\nledger:\n  url: \"{}\"\ntarget:\n  dir:\n    path: \"{}\"\n",
        input.display(),
        db.url,
        dir.path().join("out").display()
    );
    let p = dir.path().join("p.yaml");
    std::fs::write(&p, yaml).unwrap();
    let ps = p.to_str().unwrap();
    let first = support::run(&["run", "-q", ps, "--json"]);
    assert!(first.status.success(), "{}", stderr(&first));
    let summary: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    assert_eq!(summary["written"], 5, "{summary}");
    // Paths are kept relative to the input root, so another mount finds them.
    let keys = db.count(
        "SELECT COUNT(*) FROM pixpipe.files WHERE encode(path, 'escape') LIKE '0:trip/p00%.jpg'",
    );
    assert_eq!(keys, 5);
    let again = support::run(&["run", "-q", ps, "--json"]);
    let summary: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(summary["already_there"], 5, "{summary}");
    assert_eq!(summary["bytes_read"], 0, "the quick check read nothing");
    // Copy to SQLite and back to an empty database: the counts agree each way.
    let file = dir.path().join("copy.sqlite");
    let out = support::run(&[
        "ledger",
        "copy",
        "--from",
        &db.url,
        "--to",
        file.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(support::stdout(&out).contains("copied 5 outputs"));
    let Some(back) = postgres::database("copy_back") else {
        return;
    };
    let out = support::run(&[
        "ledger",
        "copy",
        "--from",
        file.to_str().unwrap(),
        "--to",
        &back.url,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        back.count("SELECT COUNT(*) FROM pixpipe.outputs WHERE state = 'written'"),
        5
    );
    assert_eq!(back.count("SELECT COUNT(*) FROM pixpipe.runs"), 2);
    // Into a ledger that holds outputs already: refused, in words.
    let out = support::run(&[
        "ledger",
        "copy",
        "--from",
        file.to_str().unwrap(),
        "--to",
        &back.url,
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("copy into an empty ledger"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_database_that_cannot_be_reached_is_exit_3_in_words_without_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    support::write_photos(&input, 2, 16, 16);
    // A loopback port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let yaml = format!(
        "version: 1\ninput:\n  paths: [\"{}\"]\nledger:\n  url: postgres://ann:hunter2secret@127.0.0.1:{port}/photos\ntarget:\n  dir:\n    path: \"{}\"\n",
        input.display(),
        dir.path().join("out").display()
    );
    let p = dir.path().join("p.yaml");
    std::fs::write(&p, yaml).unwrap();
    let out = support::run(&["run", p.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3));
    let err = stderr(&out);
    assert!(err.contains("cannot reach the database"), "{err}");
    assert!(err.contains("connection refused"), "{err}");
    assert!(!err.contains("hunter2secret"), "{err}");
    assert!(!dir.path().join("out").exists(), "nothing was written");
}

#[test]
fn ledger_url_mistakes_are_named_where_they_are_written() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir_all(&input).unwrap();
    let write = |ledger: &str| {
        let yaml = format!(
            "version: 1\ninput:\n  paths: [\"{}\"]\nledger:\n{ledger}target:\n  dir:\n    path: out\n",
            input.display()
        );
        let p = dir.path().join("p.yaml");
        std::fs::write(&p, yaml).unwrap();
        support::run(&["check", p.to_str().unwrap()])
    };
    let both = write("  path: l.sqlite\n  url: postgres://h/db\n");
    assert_eq!(both.status.code(), Some(2));
    assert!(
        stderr(&both).contains("either ledger.path or ledger.url"),
        "{}",
        stderr(&both)
    );
    let bad = write("  url: mysql://ann:pw1234@h/db\n");
    assert_eq!(bad.status.code(), Some(2));
    let err = stderr(&bad);
    assert!(err.contains("p.yaml:5:"), "{err}");
    assert!(err.contains("ledger.url"), "{err}");
    assert!(!err.contains("pw1234"), "{err}");
}
