//! Several workers, one shared ledger: files per second delivered by 1, 2, 4 and 8
//! `pixpipe run` processes of one pipeline, against a loopback host that answers
//! each upload after 40 ms, with `upload.concurrency: 4`, and what each costs:
//! files stored twice, and files read more than once; then 1 and 4 workers against
//! the same host failing some requests and losing some answers.
//!
//! `PIXPIPE_TEST_POSTGRES=postgres://postgres@127.0.0.1:PORT/postgres cargo bench --bench workers`
//! (`.ci/postgres start DIR` makes such a cluster). Each configuration runs three
//! times on a database of its own; the median is shown.

#[allow(dead_code)]
#[path = "../tests/integration/support/chevereto/mod.rs"]
mod chevereto;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use chevereto::{DEFAULT_API_KEY, Fault, Server, ServerConfig};

/// Enough files that a run with four workers outlasts the slowest answer of the
/// faulty host (2 s) several times over, so the ratio is of rates, not of one tail.
const FILES: u32 = 1_600;
const LATENCY_MS: u64 = 40;

fn main() {
    let Ok(admin) = std::env::var("PIXPIPE_TEST_POSTGRES") else {
        eprintln!(
            "workers bench: skipped: set PIXPIPE_TEST_POSTGRES to a PostgreSQL cluster's URL \
             (.ci/postgres start DIR makes one)"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir_all(&input).unwrap();
    let mut total_bytes = 0u64;
    for i in 0..FILES {
        let jpeg = pixpipe::generated_jpeg(96, 64, i + 1);
        total_bytes += jpeg.len() as u64;
        std::fs::write(input.join(format!("p{i:04}.jpg")), jpeg).unwrap();
    }
    println!(
        "{FILES} files, host latency {LATENCY_MS} ms, upload.concurrency 4, {} cores",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    for faulty in [false, true] {
        if faulty {
            println!(
                "the host failing {FAILING}% of requests (500, 503, 429, resets, 2 s answers) \
                 and dropping {DROPPED}% of answers after storing"
            );
        }
        println!("workers  files/s  ratio  stored twice  read / files");
        let mut base = 0.0;
        let counts: &[usize] = if faulty { &[1, 4] } else { &[1, 2, 4, 8] };
        for &workers in counts {
            let mut runs: Vec<(f64, usize, f64)> = (0..3)
                .map(|r| {
                    let setup = Setup {
                        workers,
                        round: r,
                        faulty,
                    };
                    measure(&admin, dir.path(), &input, setup, total_bytes)
                })
                .collect();
            runs.sort_by(|a, b| a.0.total_cmp(&b.0));
            let (rate, twice, read) = runs[1];
            if workers == 1 {
                base = rate;
            }
            println!(
                "{workers:>7}  {rate:>7.1}  {:>5.2}  {twice:>12}  {read:>12.2}",
                rate / base
            );
        }
    }
}

/// Requests failing, in percent: each of the faults below in turn, at random.
const FAILING: u32 = 3;
/// Answers lost after the upload was stored, in percent.
const DROPPED: u32 = 1;

/// One configuration of a measured run.
struct Setup {
    workers: usize,
    round: usize,
    faulty: bool,
}

/// The host's answers in request order, for twice as many requests as files (the
/// rest answer after the usual latency): the same sequence for every run.
fn faults(seed: u64) -> Vec<Fault> {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..FILES * 2)
        .map(|_| {
            let r = rng.u32(0..100);
            if r < DROPPED {
                return Fault::LoseAnswerAfterStore;
            }
            if r >= DROPPED + FAILING {
                return Fault::Slow {
                    delay_ms: LATENCY_MS,
                };
            }
            match rng.u32(0..5) {
                0 => Fault::Status500,
                1 => Fault::Status503,
                2 => Fault::TooManyRequests {
                    retry_after_secs: 1,
                },
                3 => Fault::ResetMidBody,
                _ => Fault::Slow { delay_ms: 2_000 },
            }
        })
        .collect()
}

/// One run of `workers` processes on a fresh database: files per second, files the
/// host stored more than once, and bytes read over the archive's bytes.
fn measure(
    admin: &str,
    dir: &Path,
    input: &Path,
    setup: Setup,
    total_bytes: u64,
) -> (f64, usize, f64) {
    let Setup {
        workers,
        round,
        faulty,
    } = setup;
    let name = format!(
        "pixpipe_bench_{}_{workers}_{round}_{}",
        std::process::id(),
        u8::from(faulty)
    );
    let mut c = postgres::Client::connect(admin, postgres::NoTls).unwrap();
    c.execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"), &[])
        .unwrap();
    c.execute(&format!("CREATE DATABASE {name}"), &[]).unwrap();
    let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
    let server = Server::start(ServerConfig {
        duplicate_check: false,
        ..Default::default()
    });
    server.set_default_fault(Fault::Slow {
        delay_ms: LATENCY_MS,
    });
    if faulty {
        server.push_faults(faults(round as u64));
    }
    let yaml = format!(
        "version: 1\ninput:\n  paths: [\"{}\"]\nledger:\n  url: \"{url}\"\nupload:\n  concurrency: 4\n\
         target:\n  chevereto:\n    url: \"{}\"\n    api_key: ${{CHEVERETO_API_KEY}}\n",
        input.display(),
        server.base_url()
    );
    let pipeline = dir.join("bench.yaml");
    std::fs::write(&pipeline, yaml).unwrap();
    let started = Instant::now();
    let children: Vec<_> = (0..workers)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_pixpipe"))
                .args(["run", "-q", "--json"])
                .arg(&pipeline)
                .env("CHEVERETO_API_KEY", DEFAULT_API_KEY)
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut read = 0u64;
    for child in children {
        let out = child.wait_with_output().unwrap();
        let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        read += summary["bytes_read"].as_u64().unwrap_or(0);
    }
    let seconds = started.elapsed().as_secs_f64();
    let mut counts = std::collections::HashMap::new();
    for img in server.stored() {
        *counts.entry(img.original_filename).or_insert(0usize) += 1;
    }
    assert_eq!(counts.len(), FILES as usize, "every file delivered");
    let twice = counts.values().filter(|n| **n > 1).count();
    drop(server);
    let _ = c.execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"), &[]);
    (
        f64::from(FILES) / seconds,
        twice,
        read as f64 / total_bytes as f64,
    )
}
