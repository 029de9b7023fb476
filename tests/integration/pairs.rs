//! Files that pair with a photo of the same name: camera RAWs (skipped beside their
//! JPEG, else delivered from their embedded preview) and Live Photo videos.

use std::path::Path;

use crate::support::fixtures::{self, jpeg_rgb, photo_like_rgb, quicktime_head, raw_with_preview};
use crate::support::{self, line_for, stderr};

fn jpeg(w: u32, h: u32, seed: u32) -> Vec<u8> {
    jpeg_rgb(w, h, &photo_like_rgb(w, h, seed))
}

/// Runs a folder-target pipeline over `input` with `input_extra` lines under `input:`.
fn run(dir: &Path, input: &Path, input_extra: &str, width: u32) -> Vec<serde_json::Value> {
    let resize = format!("resize:\n  width: {width}\n");
    let p = support::write_named_pipeline(dir, input, input_extra, &resize);
    let (out, report) = support::run_reported(&p, dir);
    assert!(out.status.success(), "{}", stderr(&out));
    report
}

#[test]
fn a_raw_beside_its_jpeg_is_skipped_unread_and_a_lone_one_comes_from_its_preview() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    fixtures::write_fixture(&input, "IMG_0001.JPG", &jpeg(64, 48, 1));
    let paired = raw_with_preview(
        "NIKON CORPORATION",
        1,
        "2020:01:02 03:04:05",
        &jpeg(640, 480, 2),
    );
    fixtures::write_fixture(&input, "IMG_0001.NEF", &paired);
    // Lone, turned a quarter (orientation 6), with a 640x480 preview: shown 480 wide.
    let lone = raw_with_preview(
        "NIKON CORPORATION",
        6,
        "2019:07:08 09:10:11",
        &jpeg(640, 480, 3),
    );
    fixtures::write_fixture(&input, "DSC_0002.NEF", &lone);
    let report = run(dir.path(), &input, "", 300);
    let pair = line_for(&report, "IMG_0001.NEF");
    assert_eq!(pair["state"], "skipped", "{pair}");
    assert_eq!(pair["reason"], "raw of IMG_0001.JPG");
    assert_eq!(
        pair["bytes_read"].as_u64().unwrap_or(0),
        0,
        "decided from its first bytes: {pair}"
    );
    assert_eq!(line_for(&report, "IMG_0001.JPG")["state"], "written");
    let alone = line_for(&report, "DSC_0002.NEF");
    assert_eq!(alone["state"], "written", "{alone}");
    assert_eq!(
        (alone["width"].as_u64(), alone["height"].as_u64()),
        (Some(300), Some(400))
    );
    assert!(
        alone["date_taken"]
            .as_str()
            .unwrap()
            .starts_with("2019-07-08T09:10:11"),
        "{alone}"
    );
    let out = dir.path().join("out/DSC_0002.jpg");
    let img = image::load_from_memory(&std::fs::read(out).unwrap()).unwrap();
    assert_eq!(
        (img.width(), img.height()),
        (300, 400),
        "the RAW's orientation, applied once"
    );
}

#[test]
fn a_preview_narrower_than_the_width_is_skipped_and_the_policy_key_chooses() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    let small = raw_with_preview("SONY", 1, "2020:01:02 03:04:05", &jpeg(160, 120, 4));
    fixtures::write_fixture(&input, "A.ARW", &small);
    fixtures::write_fixture(&input, "B.JPG", &jpeg(64, 48, 5));
    let big = raw_with_preview("SONY", 1, "2020:01:02 03:04:05", &jpeg(400, 300, 6));
    fixtures::write_fixture(&input, "B.ARW", &big);
    let report = run(dir.path(), &input, "", 300);
    let a = line_for(&report, "A.ARW");
    assert_eq!(a["state"], "skipped");
    assert!(
        a["reason"]
            .as_str()
            .unwrap()
            .contains("(160x120) is narrower than resize.width 300"),
        "{a}"
    );
    assert_eq!(line_for(&report, "B.ARW")["state"], "skipped");

    let dir = tempfile::tempdir().unwrap();
    let input2 = dir.path().join("in");
    std::fs::create_dir_all(&input2).unwrap();
    for name in ["B.JPG", "B.ARW"] {
        std::fs::copy(input.join(name), input2.join(name)).unwrap();
    }
    let report = run(dir.path(), &input2, "  raw: preview\n", 300);
    assert_eq!(
        line_for(&report, "B.ARW")["state"],
        "written",
        "delivered beside its JPEG"
    );
    let report = run(
        tempfile::tempdir().unwrap().path(),
        &input2,
        "  raw: skip\n",
        300,
    );
    let b = line_for(&report, "B.ARW");
    assert_eq!(b["reason"], "camera RAW (input.raw: skip)", "{b}");
}

#[test]
fn a_live_photo_video_is_skipped_beside_its_still_unless_kept() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    fixtures::write_fixture(&input, "IMG_0003.JPG", &jpeg(64, 48, 7));
    fixtures::write_fixture(&input, "IMG_0003.MOV", &quicktime_head(1));
    fixtures::write_fixture(&input, "clip.mov", &quicktime_head(2));
    let report = run(dir.path(), &input, "", 300);
    let live = line_for(&report, "IMG_0003.MOV");
    assert_eq!(live["state"], "skipped", "{live}");
    assert!(
        live["reason"]
            .as_str()
            .unwrap()
            .contains("Live Photo IMG_0003.JPG"),
        "{live}"
    );
    assert_eq!(
        line_for(&report, "clip.mov")["state"],
        "written",
        "a video of its own"
    );
    let dir = tempfile::tempdir().unwrap();
    let report = run(dir.path(), &input, "  live_photos: keep\n", 300);
    assert_eq!(line_for(&report, "IMG_0003.MOV")["state"], "written");
}
