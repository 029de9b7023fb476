//! What every test module shares: running the pixpipe binary and reading what it printed, writing
//! a folder-target pipeline and a folder of photos, and reading JSON Lines reports.
//!
//! [`fixtures`] builds the files (photos with chosen metadata, hostile files); [`chevereto`] is a
//! fake image host to upload to.

pub mod chevereto;
pub mod fixtures;
pub mod postgres;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The pixpipe binary built for these tests.
pub fn pixpipe() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pixpipe"));
    c.env_remove("CHEVERETO_API_KEY");
    // A pipeline without `ledger.path` uses the data folder's ledger: one of the tests'
    // own, never this machine user's.
    c.env(
        "XDG_DATA_HOME",
        std::env::temp_dir().join(format!("pixpipe-tests-{}", std::process::id())),
    );
    // English whatever this machine's locale: tests that want another language say so.
    for var in ["PIXPIPE_LANG", "LC_ALL", "LC_MESSAGES", "LANG"] {
        c.env_remove(var);
    }
    c
}

/// Runs pixpipe with `args`, returning its output.
pub fn run(args: &[&str]) -> Output {
    pixpipe().args(args).output().expect("run pixpipe")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A pipeline over `input` writing to `dir/out`, with extra YAML appended at the top level
/// and extra lines for sections given verbatim.
pub fn write_pipeline(dir: &Path, input: &Path, extra: &str) -> PathBuf {
    let yaml = format!(
        "version: 1\ninput:\n  paths: [\"{}\"]\nledger:\n  path: \"{}\"\ntarget:\n  dir:\n    path: \"{}\"\n{extra}",
        input.display(),
        dir.join("ledger.sqlite").display(),
        dir.join("out").display(),
    );
    let p = dir.join("pipeline.yaml");
    std::fs::write(&p, yaml).expect("write pipeline");
    p
}

/// The same pipeline naming outputs `{stem}.{ext}`, with `input_keys` added under
/// `input:` and `sections` (whole top-level sections) before the ledger.
pub fn write_named_pipeline(dir: &Path, input: &Path, input_keys: &str, sections: &str) -> PathBuf {
    let yaml = format!(
        "version: 1\ninput:\n  paths: [\"{}\"]\n{input_keys}{sections}ledger:\n  path: \"{}\"\ntarget:\n  dir:\n    path: \"{}\"\n    name: \"{{stem}}.{{ext}}\"\n",
        input.display(),
        dir.join("ledger.sqlite").display(),
        dir.join("out").display(),
    );
    let p = dir.join("pipeline.yaml");
    std::fs::write(&p, yaml).expect("write pipeline");
    p
}

/// `pixpipe run -q PIPELINE --report DIR/r.jsonl`: the process and the report's lines.
pub fn run_reported(pipeline: &Path, dir: &Path) -> (Output, Vec<serde_json::Value>) {
    let report = dir.join("r.jsonl");
    let out = run(&[
        "run",
        "-q",
        pipeline.to_str().expect("UTF-8 path"),
        "--report",
        report.to_str().expect("UTF-8 path"),
    ]);
    assert!(report.exists(), "no report written: {}", stderr(&out));
    (out, read_jsonl(&report))
}

/// Reads a JSON Lines file.
pub fn read_jsonl(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .expect("read jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect()
}

/// The report line for the file named `name`.
pub fn line_for<'a>(report: &'a [serde_json::Value], name: &str) -> &'a serde_json::Value {
    report
        .iter()
        .find(|l| l["path"].as_str().is_some_and(|p| p.ends_with(name)))
        .unwrap_or_else(|| panic!("no report line for {name}: {report:#?}"))
}

/// Writes `n` distinct photo-like JPEGs `p000.jpg`, `p001.jpg`, ... of `w`×`h` into `dir`.
pub fn write_photos(dir: &Path, n: u32, w: u32, h: u32) {
    std::fs::create_dir_all(dir).expect("create photo folder");
    for i in 0..n {
        let rgb = fixtures::photo_like_rgb(w, h, i + 1);
        std::fs::write(
            dir.join(format!("p{i:03}.jpg")),
            fixtures::jpeg_rgb(w, h, &rgb),
        )
        .expect("write photo");
    }
}

/// Every file under `dir`, in no particular order.
pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("read folder") {
        let p = e.expect("folder entry").path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
