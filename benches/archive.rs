//! A big archive, run every night: the first run's rate over many small photos, and
//! a re-run over the unchanged archive side by side with `find -printf '%s %T@'`
//! stating the same tree, with each run's peak memory.
//!
//! `cargo bench --bench archive` builds 10,000 small distinct JPEGs in 100 folders;
//! `PIXPIPE_BENCH_FILES=100000` (or more) sets the count. The tree is built once per
//! count under the target folder and kept for the next run. Runs are interleaved,
//! three rounds of each, medians shown: the machine is noisy, compare within a run.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const FOLDERS: u32 = 100;

fn main() {
    let files: u32 = std::env::var("PIXPIPE_BENCH_FILES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    let tree = build_tree(files);
    let work = tempfile::tempdir().unwrap();
    let pipeline = work.path().join("archive.yaml");
    std::fs::write(
        &pipeline,
        format!(
            "version: 1\ninput:\n  paths: [\"{}\"]\nledger:\n  path: \"{}\"\ntarget:\n  dir:\n    path: \"{}\"\n",
            tree.display(),
            work.path().join("ledger.sqlite").display(),
            work.path().join("out").display()
        ),
    )
    .unwrap();
    println!(
        "{files} small JPEGs in {FOLDERS} folders, {} cores",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let (first, first_peak) = pixpipe_run(&pipeline);
    println!(
        "first run     {first:>8.2} s  {:>8.0} files/s  peak {:>4} MB",
        f64::from(files) / first,
        first_peak / 1024
    );
    let mut finds = Vec::new();
    let mut reruns = Vec::new();
    for _ in 0..3 {
        finds.push(find(&tree));
        reruns.push(pixpipe_run(&pipeline));
    }
    finds.sort_by(f64::total_cmp);
    reruns.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (rerun, peak) = reruns[1];
    println!("find -printf  {:>8.2} s", finds[1]);
    println!(
        "re-run        {rerun:>8.2} s  {:>8.2} × find  peak {:>4} MB",
        rerun / finds[1],
        peak / 1024
    );
    ledger_page(&pipeline, work.path());
}

/// `pixpipe ledger html` over the whole ledger: its time, peak memory, the files of
/// the page, and how long headless Chromium takes to render the first (where installed).
fn ledger_page(pipeline: &Path, work: &Path) {
    let page = work.join("ledger.html");
    let started = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_pixpipe"))
        .args(["ledger", "--pipeline"])
        .arg(pipeline)
        .arg("html")
        .arg(&page)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let (code, peak) = wait_with_peak(child);
    assert_eq!(code, 0, "ledger html failed");
    let seconds = started.elapsed().as_secs_f64();
    let parts = std::fs::read_dir(work)
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            name.to_string_lossy().starts_with("ledger")
                && name.to_string_lossy().ends_with(".html")
        })
        .count();
    let first = std::fs::metadata(&page).unwrap().len();
    println!(
        "ledger html   {seconds:>8.2} s  {parts:>5} files, the first {:.1} MB  peak {:>4} MB",
        first as f64 / 1e6,
        peak / 1024
    );
    if Path::new("/usr/bin/chromium").exists() {
        let profile = tempfile::tempdir().unwrap();
        let started = Instant::now();
        let out = Command::new("/usr/bin/chromium")
            .args(["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom"])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg(format!("file://{}", page.display()))
            .output()
            .unwrap();
        assert!(out.status.success());
        println!(
            "first part    {:>8.2} s  in headless Chromium (start to rendered DOM)",
            started.elapsed().as_secs_f64()
        );
    }
}

/// The tree for `files` photos, built on first use: photo `i` in folder `i % 100`,
/// each a distinct 64×48 JPEG.
fn build_tree(files: u32) -> PathBuf {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("archive-{files}"));
    let done = root.join(".complete");
    if done.exists() {
        return root.join("photos");
    }
    let photos = root.join("photos");
    let _ = std::fs::remove_dir_all(&root);
    let started = Instant::now();
    for f in 0..FOLDERS {
        std::fs::create_dir_all(photos.join(format!("f{f:03}"))).unwrap();
    }
    use rayon::prelude::*;
    (0..files).into_par_iter().for_each(|i| {
        let path = photos
            .join(format!("f{:03}", i % FOLDERS))
            .join(format!("p{i:07}.jpg"));
        std::fs::write(path, pixpipe::generated_jpeg(64, 48, i + 1)).unwrap();
    });
    std::fs::write(done, b"").unwrap();
    eprintln!("built the tree in {:.1} s", started.elapsed().as_secs_f64());
    photos
}

/// Seconds `find` takes to print every file's size and modification time.
fn find(tree: &Path) -> f64 {
    let started = Instant::now();
    let status = Command::new("find")
        .arg(tree)
        .args(["-printf", "%s %T@\n"])
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    started.elapsed().as_secs_f64()
}

/// Seconds one `pixpipe run` takes, and its peak resident memory in KiB.
fn pixpipe_run(pipeline: &Path) -> (f64, i64) {
    let started = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_pixpipe"))
        .args(["run", "-q"])
        .arg(pipeline)
        .spawn()
        .unwrap();
    let (code, peak) = wait_with_peak(child);
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(code, 0, "pixpipe run failed");
    (seconds, peak)
}

/// Waits for `child`, giving its exit code and its own peak resident set (KiB).
fn wait_with_peak(child: std::process::Child) -> (i32, i64) {
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: the pid is our own child's, not yet waited for; both pointers are valid.
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert!(pid > 0, "wait4 failed");
    (libc::WEXITSTATUS(status), usage.ru_maxrss)
}
