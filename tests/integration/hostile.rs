//! Files that break other tools: each gets a clear per-file outcome, no panic,
//! no hang, and the run goes on.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::support::fixtures::{self, Meta};
use crate::support::{self, read_jsonl, stderr, write_pipeline};

fn small_jpeg(seed: u32) -> Vec<u8> {
    fixtures::jpeg_rgb(32, 24, &fixtures::photo_like_rgb(32, 24, seed))
}

fn run(input: &Path, dir: &Path) -> (std::process::Output, Vec<serde_json::Value>) {
    support::run_reported(&write_pipeline(dir, input, ""), dir)
}

fn state_of<'a>(report: &'a [serde_json::Value], name: &str) -> (&'a str, String) {
    let l = support::line_for(report, name);
    (
        l["state"].as_str().unwrap(),
        l["reason"].as_str().unwrap_or("").to_string(),
    )
}

#[test]
fn hostile_files_each_get_an_outcome_and_the_run_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir_all(&input).unwrap();
    let w = |name: &str, bytes: &[u8]| std::fs::write(input.join(name), bytes).unwrap();
    let exif_a = Meta {
        orientation: Some(6),
        image_description: Some(b"first".to_vec()),
        ..Meta::default()
    };
    let exif_b = Meta {
        orientation: Some(3),
        image_description: Some(b"second".to_vec()),
        ..Meta::default()
    };
    w(
        "two-exif.jpg",
        &fixtures::jpeg_with_two_exif_segments(&exif_a, &exif_b),
    );
    w(
        "big-comment.jpg",
        &fixtures::jpeg_with_big_comment(64 * 1024),
    );
    w("xmp-not-xml.jpg", &fixtures::xmp_not_xml_jpeg());
    w(
        "trailing-garbage.jpg",
        &fixtures::jpeg_with_trailing_garbage(),
    );
    let zero = Meta {
        orientation: Some(0),
        ..Meta::default()
    };
    w(
        "orientation-0.jpg",
        &fixtures::jpeg_with_meta(32, 24, &fixtures::photo_like_rgb(32, 24, 1), &zero),
    );
    let iptc = Meta {
        iptc_object_name: Some(b"\xff\xfe\x00garbage \x1b$B".to_vec()),
        iptc_keywords: vec![vec![0xC3, 0x28], b"ok".to_vec()],
        ..Meta::default()
    };
    w(
        "iptc-odd.jpg",
        &fixtures::jpeg_with_meta(32, 24, &fixtures::photo_like_rgb(32, 24, 2), &iptc),
    );
    w("webp-bomb.webp", &fixtures::webp_bomb());
    w("tiff-bomb.tif", &fixtures::tiff_bomb());
    w("random.jpg", &fixtures::junk_bytes(5000, 3));
    let started = std::time::Instant::now();
    let (out, report) = run(&input, dir.path());
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(report.len(), 9);
    for name in [
        "two-exif.jpg",
        "big-comment.jpg",
        "xmp-not-xml.jpg",
        "trailing-garbage.jpg",
        "orientation-0.jpg",
        "iptc-odd.jpg",
    ] {
        assert_eq!(state_of(&report, name).0, "written", "{name}: {report:#?}");
    }
    // The first EXIF segment is the one that counts: orientation 6, not 3.
    let two = support::line_for(&report, "two-exif.jpg");
    let img = image::open(two["output"].as_str().unwrap())
        .unwrap()
        .to_rgb8();
    let got = fixtures::sample_quadrants(img.as_raw(), img.width(), img.height());
    assert_eq!(got, fixtures::expected_quadrants(6).map(Some));
    for name in ["webp-bomb.webp", "tiff-bomb.tif"] {
        let (state, reason) = state_of(&report, name);
        assert_eq!(state, "failed", "{name}");
        assert!(
            reason.contains("max_megapixels") || reason.contains("too large"),
            "{name}: {reason}"
        );
    }
    assert_eq!(state_of(&report, "random.jpg").0, "failed");
    assert!(started.elapsed().as_secs() < 60);
}

#[test]
fn awkward_file_names_are_handled() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir_all(&input).unwrap();
    let names: Vec<PathBuf> = vec![
        input.join("with spaces.jpg"),
        input.join("new\nline.jpg"),
        input.join("-rf --leading-dash.jpg"),
        input.join(OsStr::from_bytes(b"latin1-\xe9t\xe9.jpg")),
        input.join("東京 ☀.jpg"),
    ];
    for (i, n) in names.iter().enumerate() {
        std::fs::write(n, small_jpeg(i as u32 + 1)).unwrap();
    }
    let (out, report) = run(&input, dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(report.len(), names.len());
    assert!(
        report.iter().all(|l| l["state"] == "written"),
        "{report:#?}"
    );
    // Output names never hold control characters; all of them exist.
    for l in &report {
        let o = l["output"].as_str().unwrap();
        assert!(!o.chars().any(char::is_control), "{o:?}");
        assert!(Path::new(o).exists(), "{o}");
    }
    // A re-run knows every one of them, whatever bytes its name has.
    let (_, report) = run(&input, dir.path());
    assert!(
        report.iter().all(|l| l["state"] == "already_there"),
        "{report:#?}"
    );
}

#[test]
fn a_file_over_its_time_limit_is_left_behind_and_the_run_ends() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir_all(&input).unwrap();
    // A big photo takes far longer than 1 ms to decode; small ones are quick enough
    // that at least one of them finishes (they are checked after the run, not timed).
    std::fs::write(
        input.join("big.jpg"),
        fixtures::jpeg_rgb(3000, 2000, &fixtures::photo_like_rgb(3000, 2000, 1)),
    )
    .unwrap();
    let p = write_pipeline(dir.path(), &input, "limits:\n  file_seconds: 0.001\n");
    let report = dir.path().join("r.jsonl");
    let out = support::run(&[
        "run",
        "-q",
        "--jobs",
        "1",
        p.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let lines = read_jsonl(&report);
    assert_eq!(
        lines.len(),
        1,
        "reported once, not again when its worker finishes: {lines:#?}"
    );
    let (state, reason) = state_of(&lines, "big.jpg");
    assert_eq!(state, "failed");
    assert!(reason.contains("limits.file_seconds"), "{reason}");
}
