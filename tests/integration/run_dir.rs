//! `pixpipe run` with a folder target: pixels, names, manifest, report,
//! exit codes, re-runs, and bad files that must not stop the run.

use std::path::{Path, PathBuf};

use crate::support::fixtures::{self, Meta};
use crate::support::{line_for, read_jsonl, run, stderr, write_pipeline};

struct Setup {
    dir: tempfile::TempDir,
    input: PathBuf,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in");
        std::fs::create_dir_all(&input).unwrap();
        Setup { dir, input }
    }
    fn add(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.input.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        path
    }
    fn pipeline(&self, extra: &str) -> PathBuf {
        write_pipeline(self.dir.path(), &self.input, extra)
    }
    fn report(&self) -> PathBuf {
        self.dir.path().join("report.jsonl")
    }
    fn run(&self, extra: &str) -> (std::process::Output, Vec<serde_json::Value>) {
        let p = self.pipeline(extra);
        let out = run(&[
            "run",
            "-q",
            p.to_str().unwrap(),
            "--report",
            self.report().to_str().unwrap(),
        ]);
        let report = read_jsonl(&self.report());
        (out, report)
    }
}

fn decode(path: &Path) -> image::RgbImage {
    image::open(path).expect("decodable output").to_rgb8()
}

fn output_of(line: &serde_json::Value) -> PathBuf {
    PathBuf::from(line["output"].as_str().expect("output path"))
}

#[test]
fn every_orientation_is_applied_to_the_pixels() {
    let s = Setup::new();
    for o in 1..=8u16 {
        let rgb = fixtures::quadrant_rgb(80, 40);
        let meta = Meta {
            orientation: Some(o),
            ..Meta::default()
        };
        s.add(
            &format!("o{o}.jpg"),
            &fixtures::jpeg_with_meta(80, 40, &rgb, &meta),
        );
    }
    let (out, report) = s.run("resize:\n  width: 40\n");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for o in 1..=8u16 {
        let line = line_for(&report, &format!("o{o}.jpg"));
        let img = decode(&output_of(line));
        let expect = if o >= 5 { (40, 80) } else { (40, 20) };
        assert_eq!(
            img.dimensions(),
            expect,
            "orientation {o}: width is the width after rotation"
        );
        let got = fixtures::sample_quadrants(img.as_raw(), img.width(), img.height());
        let want = fixtures::expected_quadrants(o).map(Some);
        assert_eq!(got, want, "orientation {o}");
        let bytes = std::fs::read(output_of(line)).unwrap();
        let exif = exif::Reader::new().read_from_container(&mut std::io::Cursor::new(&bytes));
        if let Ok(exif) = exif {
            assert!(
                exif.get_field(exif::Tag::Orientation, exif::In::PRIMARY)
                    .is_none(),
                "no Orientation tag in output"
            );
        }
    }
}

#[test]
fn outputs_are_deterministic_and_md5s_recorded() {
    let s = Setup::new();
    let rgb = fixtures::photo_like_rgb(300, 200, 3);
    s.add(
        "a.jpg",
        &fixtures::jpeg_with_meta(300, 200, &rgb, &fixtures::rich_meta()),
    );
    let (_, first) = s.run("resize:\n  width: 120\n");
    let a = std::fs::read(output_of(&first[0])).unwrap();
    assert_eq!(first[0]["output_md5"], pixpipe::md5_hex(&a).as_str());
    // A fresh ledger and output folder: same input and settings give the same bytes.
    std::fs::remove_dir_all(s.dir.path().join("out")).unwrap();
    std::fs::remove_file(s.dir.path().join("ledger.sqlite")).unwrap();
    let (_, second) = s.run("resize:\n  width: 120\n");
    let b = std::fs::read(output_of(&second[0])).unwrap();
    assert_eq!(a, b);
}

#[test]
fn gps_is_stripped_unless_kept_and_exif_survives() {
    let s = Setup::new();
    let rgb = fixtures::photo_like_rgb(64, 48, 1);
    s.add(
        "a.jpg",
        &fixtures::jpeg_with_meta(64, 48, &rgb, &fixtures::rich_meta()),
    );
    let (_, report) = s.run("");
    let bytes = std::fs::read(output_of(&report[0])).unwrap();
    let exif = exif::Reader::new()
        .read_from_container(&mut std::io::Cursor::new(&bytes))
        .unwrap();
    assert!(
        exif.fields().all(|f| f.tag.context() != exif::Context::Gps),
        "GPS stripped"
    );
    assert!(
        exif.get_field(exif::Tag::Make, exif::In::PRIMARY).is_some(),
        "camera kept"
    );
    assert!(
        exif.get_field(exif::Tag::Orientation, exif::In::PRIMARY)
            .is_none()
    );

    let s = Setup::new();
    s.add(
        "a.jpg",
        &fixtures::jpeg_with_meta(64, 48, &rgb, &fixtures::rich_meta()),
    );
    let (_, report) = s.run("encode:\n  keep_gps: true\n");
    let bytes = std::fs::read(output_of(&report[0])).unwrap();
    let exif = exif::Reader::new()
        .read_from_container(&mut std::io::Cursor::new(&bytes))
        .unwrap();
    assert!(
        exif.get_field(exif::Tag::GPSLatitude, exif::In::PRIMARY)
            .is_some(),
        "GPS kept when asked"
    );
}

#[test]
fn alpha_is_laid_on_white_not_black() {
    let s = Setup::new();
    let mut rgba = vec![0u8; 16 * 16 * 4];
    for (i, px) in rgba.chunks_exact_mut(4).enumerate() {
        // Left half fully transparent black, right half opaque red.
        if i % 16 >= 8 {
            px.copy_from_slice(&[255, 0, 0, 255]);
        }
    }
    s.add("alpha.png", &fixtures::png_rgba(16, 16, &rgba));
    let (out, report) = s.run("");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let img = decode(&output_of(&report[0]));
    let left = img.get_pixel(2, 8).0;
    assert!(
        left.iter().all(|c| *c > 240),
        "transparent area is white: {left:?}"
    );
    let right = img.get_pixel(13, 8).0;
    assert!(
        right[0] > 200 && right[1] < 60,
        "opaque red stays red: {right:?}"
    );

    let s = Setup::new();
    s.add("alpha.png", &fixtures::png_rgba(16, 16, &rgba));
    let (_, report) = s.run("encode:\n  background: \"#000080\"\n");
    let img = decode(&output_of(&report[0]));
    let left = img.get_pixel(2, 8).0;
    assert!(
        left[2] > 100 && left[0] < 30,
        "configured background: {left:?}"
    );
}

#[test]
fn tiny_and_extreme_shapes() {
    let s = Setup::new();
    s.add("one.jpg", &fixtures::jpeg_rgb(1, 1, &[10, 200, 30]));
    let strip = fixtures::photo_like_rgb(30000, 10, 2);
    s.add("strip.jpg", &fixtures::jpeg_rgb(30000, 10, &strip));
    let (out, report) = s.run("");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let one = line_for(&report, "one.jpg");
    assert_eq!(
        (one["width"].as_u64(), one["height"].as_u64()),
        (Some(1), Some(1)),
        "never upscaled"
    );
    let strip = line_for(&report, "strip.jpg");
    assert_eq!(
        (strip["width"].as_u64(), strip["height"].as_u64()),
        (Some(1600), Some(1))
    );
    assert_eq!(decode(&output_of(strip)).dimensions(), (1600, 1));
}

#[test]
fn bad_files_fail_alone_and_the_run_goes_on() {
    let s = Setup::new();
    s.add("zero.jpg", b"");
    s.add("truncated.jpg", &fixtures::truncated_jpeg());
    s.add("text.jpg", &fixtures::text_as_jpg());
    s.add("loop.jpg", &fixtures::exif_ifd_loop_jpeg());
    s.add("outside.jpg", &fixtures::exif_offset_past_end_jpeg());
    s.add("bomb.png", &fixtures::png_bomb_header());
    s.add("gifbomb.gif", &fixtures::gif_bomb_header());
    s.add("notes.txt", b"just text");
    s.add(
        "good.jpg",
        &fixtures::jpeg_rgb(32, 32, &fixtures::quadrant_rgb(32, 32)),
    );
    let started = std::time::Instant::now();
    let (out, report) = s.run("");
    assert_eq!(
        out.status.code(),
        Some(1),
        "some files failed: {}",
        stderr(&out)
    );
    assert_eq!(report.len(), 9, "every file is accounted for: {report:#?}");
    let state = |n: &str| line_for(&report, n)["state"].as_str().unwrap().to_string();
    let reason = |n: &str| {
        line_for(&report, n)["reason"]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    assert_eq!(state("zero.jpg"), "failed");
    assert!(reason("zero.jpg").contains("empty"));
    assert_eq!(state("truncated.jpg"), "failed");
    assert!(
        reason("truncated.jpg").contains("truncated"),
        "{}",
        reason("truncated.jpg")
    );
    assert_eq!(state("text.jpg"), "failed");
    assert!(reason("text.jpg").contains("not a supported image"));
    assert_eq!(state("bomb.png"), "failed");
    assert!(
        reason("bomb.png").contains("100000x100000"),
        "{}",
        reason("bomb.png")
    );
    assert_eq!(state("gifbomb.gif"), "failed");
    assert_eq!(state("notes.txt"), "skipped");
    // Broken metadata does not cost the photo: it is written, with a warning.
    assert_eq!(state("loop.jpg"), "written");
    assert_eq!(state("outside.jpg"), "written");
    assert!(
        !line_for(&report, "outside.jpg")["warnings"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(state("good.jpg"), "written");
    let err = stderr(&out);
    assert!(
        err.contains("truncated.jpg: failed"),
        "per-file error on stderr: {err}"
    );
    assert!(started.elapsed().as_secs() < 60, "bombs fail fast");
}

#[test]
fn rerun_reads_nothing_and_writes_nothing() {
    let s = Setup::new();
    for i in 0..4 {
        let rgb = fixtures::photo_like_rgb(100, 80, i);
        s.add(&format!("p{i}.jpg"), &fixtures::jpeg_rgb(100, 80, &rgb));
    }
    let (out, report) = s.run("");
    assert_eq!(out.status.code(), Some(0));
    assert!(report.iter().all(|l| l["state"] == "written"));
    let manifest = s.dir.path().join("out/manifest.jsonl");
    assert_eq!(read_jsonl(&manifest).len(), 4);
    // Change a source's bytes but keep its size and mtime: the quick check trusts
    // (path, size, mtime), so a re-run that reads no file still calls it a duplicate.
    let p = s.input.join("p0.jpg");
    let mtime = std::fs::metadata(&p).unwrap().modified().unwrap();
    let mut bytes = std::fs::read(&p).unwrap();
    let n = bytes.len();
    bytes[n - 3] ^= 0xFF;
    std::fs::write(&p, &bytes).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&p)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    let (out, report) = s.run("");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        report.iter().all(|l| l["state"] == "already_there"),
        "{report:#?}"
    );
    assert_eq!(read_jsonl(&manifest).len(), 4, "nothing written again");
    // A deleted output is written again.
    let gone = PathBuf::from(read_jsonl(&manifest)[1]["output"].as_str().unwrap());
    std::fs::remove_file(&gone).unwrap();
    let (_, report) = s.run("");
    assert_eq!(
        report.iter().filter(|l| l["state"] == "written").count(),
        1,
        "{report:#?}"
    );
    assert!(gone.exists());
    // A real change (new content, new mtime) is noticed and processed.
    std::fs::write(
        &p,
        fixtures::jpeg_rgb(100, 80, &fixtures::photo_like_rgb(100, 80, 77)),
    )
    .unwrap();
    std::fs::File::options()
        .write(true)
        .open(&p)
        .unwrap()
        .set_modified(mtime + std::time::Duration::from_secs(5))
        .unwrap();
    let (_, report) = s.run("");
    assert_eq!(
        line_for(&report, "p0.jpg")["state"],
        "written",
        "{report:#?}"
    );
}

#[test]
fn copies_in_one_run_are_written_once() {
    let s = Setup::new();
    let bytes = fixtures::jpeg_rgb(50, 40, &fixtures::photo_like_rgb(50, 40, 9));
    s.add("a/x.jpg", &bytes);
    s.add("b/x-copy.jpg", &bytes);
    let (out, report) = s.run("");
    assert_eq!(out.status.code(), Some(0));
    let states: Vec<&str> = report
        .iter()
        .map(|l| l["state"].as_str().unwrap())
        .collect();
    assert_eq!(
        states.iter().filter(|s| **s == "written").count(),
        1,
        "{report:#?}"
    );
    assert_eq!(states.iter().filter(|s| **s == "duplicate").count(), 1);
}

#[test]
fn names_follow_the_template_and_never_overwrite() {
    let s = Setup::new();
    let meta = |d: &str| Meta {
        date_time_original: Some(d.into()),
        ..Meta::default()
    };
    s.add(
        "a/IMG_1.jpg",
        &fixtures::jpeg_with_meta(
            20,
            20,
            &fixtures::photo_like_rgb(20, 20, 1),
            &meta("2020:02:03 04:05:06"),
        ),
    );
    s.add(
        "b/IMG_1.jpg",
        &fixtures::jpeg_with_meta(
            20,
            20,
            &fixtures::photo_like_rgb(20, 20, 2),
            &meta("2020:02:09 04:05:06"),
        ),
    );
    let (out, report) = s.run("");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut outputs: Vec<String> = report
        .iter()
        .map(|l| l["output"].as_str().unwrap().to_string())
        .collect();
    outputs.sort();
    let root = s.dir.path().join("out");
    assert_eq!(
        outputs,
        vec![
            root.join("2020/02/IMG_1-1.jpg").display().to_string(),
            root.join("2020/02/IMG_1.jpg").display().to_string()
        ]
    );
    let manifest = read_jsonl(&root.join("manifest.jsonl"));
    assert_eq!(manifest.len(), 2);
    for m in &manifest {
        for key in [
            "source",
            "output",
            "source_md5",
            "output_md5",
            "title",
            "date_taken",
            "source_bytes",
            "output_bytes",
        ] {
            assert!(m.get(key).is_some(), "manifest has {key}: {m}");
        }
    }
}

#[test]
fn animated_gif_passes_through_unchanged() {
    let s = Setup::new();
    let gif = fixtures::animated_gif(40, 30, 3);
    s.add("anim.gif", &gif);
    let (out, report) = s.run(
        "target:\n  dir:\n    path: out\n    name: \"{stem}.{ext}\"\n"
            .replace("target:\n  dir:\n    path: out\n", "")
            .as_str(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let written = std::fs::read(output_of(&report[0])).unwrap();
    assert_eq!(written, gif);
}

#[test]
fn dry_run_writes_nothing() {
    let s = Setup::new();
    s.add(
        "a.jpg",
        &fixtures::jpeg_rgb(20, 20, &fixtures::photo_like_rgb(20, 20, 1)),
    );
    let p = s.pipeline("");
    let out = run(&["run", "-q", "--dry-run", p.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(!s.dir.path().join("out/manifest.jsonl").exists());
}

#[test]
fn an_impossible_date_falls_back_with_a_warning_naming_tag_and_value() {
    let s = Setup::new();
    let meta = Meta {
        date_time_original: Some("2021:13:45 25:61:00".into()),
        ..Default::default()
    };
    let rgb = fixtures::photo_like_rgb(32, 24, 9);
    s.add("odd.jpg", &fixtures::jpeg_with_meta(32, 24, &rgb, &meta));
    let (out, report) = s.run("");
    assert!(out.status.success(), "{}", stderr(&out));
    let line = &report[0];
    let warnings = line["warnings"].to_string();
    assert!(
        warnings.contains("DateTimeOriginal") && warnings.contains("2021:13:45 25:61:00"),
        "{line}"
    );
    assert!(
        !line["date_taken"]
            .as_str()
            .unwrap_or("")
            .starts_with("2021-13"),
        "{line}"
    );
}

#[test]
fn an_image_pixpipe_cannot_decode_but_hosts_take_is_passed_through_and_said_so() {
    let s = Setup::new();
    let mut avif = b"\0\0\0\x1cftypavif\0\0\0\0avifmif1miaf".to_vec();
    avif.extend(fixtures::junk_bytes(2000, 3));
    s.add("a.avif", &avif);
    let (_, report) = s.run("");
    assert_eq!(report[0]["state"], "written", "{}", report[0]);
    assert_eq!(
        std::fs::read(output_of(&report[0])).unwrap(),
        avif,
        "byte for byte"
    );
    let warnings = report[0]["warnings"].to_string();
    assert!(
        warnings.contains("avif passed through unchanged: not resized"),
        "{warnings}"
    );
}

/// A QuickTime file of a movie header made at `seconds` since 1904 (UTC), and no media.
fn mov_made_at(seconds: u32) -> Vec<u8> {
    let bx = |kind: &[u8], content: &[u8]| {
        [
            &((content.len() + 8) as u32).to_be_bytes()[..],
            kind,
            content,
        ]
        .concat()
    };
    let mut mvhd = vec![0u8; 100];
    mvhd[4..8].copy_from_slice(&seconds.to_be_bytes());
    [
        bx(b"ftyp", b"qt  \0\0\0\0qt  "),
        bx(b"moov", &bx(b"mvhd", &mvhd)),
        bx(b"mdat", &[0u8; 64]),
    ]
    .concat()
}

#[test]
fn a_video_is_placed_by_the_date_its_movie_header_gives() {
    let s = Setup::new();
    // 2021-05-06T07:08:09Z.
    s.add("clip.mov", &mov_made_at(3_703_129_689));
    let (_, report) = s.run("");
    assert_eq!(report[0]["state"], "written", "{}", report[0]);
    assert_eq!(report[0]["date_taken"], "2021-05-06T07:08:09+00:00");
    let out = output_of(&report[0]);
    assert!(out.ends_with("2021/05/clip.mov"), "{}", out.display());
}
