//! HEIC/HEIF photos: decoded (grids, 10 bits, alpha), resized and delivered as JPEG with
//! their EXIF and XMP; broken and hostile ones fail alone with a reason.

use std::path::Path;

use crate::support::fixtures::{
    self, Meta, declare_size, expected_quadrants, heic_with_meta, opaque, photo_like_rgb,
    quadrant_rgb, sample_quadrants,
};
use crate::support::{self, line_for, read_jsonl, stderr};

/// Runs a folder-target pipeline with `extra` top-level YAML; returns the exit code and report.
fn run(dir: &Path, extra: &str) -> (Option<i32>, Vec<serde_json::Value>) {
    let p = support::write_named_pipeline(dir, &dir.join("in"), "", extra);
    let (out, report) = support::run_reported(&p, dir);
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{}",
        stderr(&out)
    );
    (out.status.code(), report)
}

fn decoded(path: &Path) -> image::DynamicImage {
    image::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn an_iphone_style_heic_becomes_a_jpeg_with_its_title_date_and_no_gps() {
    let dir = tempfile::tempdir().unwrap();
    // 1200x800: a 3x2 grid of 512-pixel tiles, as iPhones store photos.
    let meta = Meta {
        // Informative only in HEIF: the pixels must not be turned by it.
        orientation: Some(6),
        make: Some("Apple".into()),
        model: Some("iPhone 12".into()),
        date_time_original: Some("2021:05:06 07:08:09".into()),
        gps: Some((48.85, 2.35)),
        xmp_title: Some("Harbour at dawn".into()),
        xmp_subject: vec!["harbour".into(), "boats".into()],
        ..Meta::default()
    };
    let heic = heic_with_meta(1200, 800, &opaque(&quadrant_rgb(1200, 800)), false, &meta);
    fixtures::write_fixture(&dir.path().join("in"), "IMG_0001.HEIC", &heic);
    let (code, report) = run(dir.path(), "resize:\n  width: 600\n");
    assert_eq!(code, Some(0));
    let line = line_for(&report, "IMG_0001.HEIC");
    assert_eq!(line["state"], "written", "{line}");
    let out = Path::new(line["output"].as_str().unwrap());
    assert_eq!(out.extension().unwrap(), "jpg");
    let img = decoded(out).to_rgb8();
    assert_eq!(
        img.dimensions(),
        (600, 400),
        "the EXIF orientation is not applied"
    );
    let quadrants = sample_quadrants(img.as_raw(), 600, 400);
    assert_eq!(
        quadrants,
        expected_quadrants(1).map(Some),
        "decoded pixels, upright"
    );

    let manifest = read_jsonl(&dir.path().join("out/manifest.jsonl"));
    assert_eq!(manifest[0]["title"], "Harbour at dawn", "{}", manifest[0]);
    assert!(
        manifest[0]["date_taken"]
            .as_str()
            .unwrap()
            .starts_with("2021-05-06T07:08:09"),
        "{}",
        manifest[0]
    );
    let bytes = std::fs::read(out).unwrap();
    let exif = exif::Reader::new()
        .read_from_container(&mut std::io::Cursor::new(&bytes))
        .expect("the HEIC's EXIF is in the JPEG");
    let date = exif.get_field(exif::Tag::DateTimeOriginal, exif::In::PRIMARY);
    assert!(date.is_some(), "date taken kept");
    assert!(
        exif.get_field(exif::Tag::Orientation, exif::In::PRIMARY)
            .is_none()
    );
    assert!(
        exif.fields().all(|f| f.tag.context() != exif::Context::Gps),
        "GPS stripped"
    );
}

#[test]
fn ten_bit_and_alpha_heics_decode_and_keep_their_transparency_in_png() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    let (w, h) = (300, 200);
    let mut rgba = opaque(&photo_like_rgb(w, h, 7));
    // The left half transparent.
    for (i, px) in rgba.chunks_exact_mut(4).enumerate() {
        if (i as u32 % w) < w / 2 {
            px[3] = 0;
        }
    }
    fixtures::write_fixture(
        &input,
        "alpha.heic",
        &heic_with_meta(w, h, &rgba, false, &Meta::default()),
    );
    let ten = opaque(&quadrant_rgb(w, h));
    fixtures::write_fixture(
        &input,
        "ten.heic",
        &heic_with_meta(w, h, &ten, true, &Meta::default()),
    );
    let (code, report) = run(dir.path(), "encode:\n  format: png\n");
    assert_eq!(code, Some(0), "{report:?}");
    let alpha = decoded(Path::new(
        line_for(&report, "alpha.heic")["output"].as_str().unwrap(),
    ))
    .to_rgba8();
    assert_eq!(alpha.dimensions(), (w, h));
    assert_eq!(alpha.get_pixel(10, 100)[3], 0, "transparent half");
    assert_eq!(alpha.get_pixel(w - 10, 100)[3], 255, "opaque half");
    let ten = decoded(Path::new(
        line_for(&report, "ten.heic")["output"].as_str().unwrap(),
    ))
    .to_rgb8();
    assert_eq!(
        sample_quadrants(ten.as_raw(), w, h),
        expected_quadrants(1).map(Some)
    );
}

#[test]
fn broken_and_hostile_heics_fail_alone_with_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    let good = heic_with_meta(
        64,
        48,
        &opaque(&photo_like_rgb(64, 48, 1)),
        false,
        &Meta::default(),
    );
    fixtures::write_fixture(&input, "good.heic", &good);
    let big = heic_with_meta(
        600,
        600,
        &opaque(&photo_like_rgb(600, 600, 2)),
        false,
        &Meta::default(),
    );
    fixtures::write_fixture(&input, "truncated.heic", &big[..big.len() / 2]);
    let mut bomb = big.clone();
    declare_size(&mut bomb, 60_000, 60_000);
    fixtures::write_fixture(&input, "bomb.heic", &bomb);
    fixtures::write_fixture(&input, "header-only.heic", &big[..40]);
    let (code, report) = run(dir.path(), "");
    assert_eq!(code, Some(1), "some files failed: {report:?}");
    assert_eq!(line_for(&report, "good.heic")["state"], "written");
    for name in ["truncated.heic", "bomb.heic", "header-only.heic"] {
        let line = line_for(&report, name);
        assert_eq!(line["state"], "failed", "{line}");
        assert!(
            line["reason"].as_str().is_some_and(|r| !r.is_empty()),
            "{line}"
        );
    }
    let bomb = line_for(&report, "bomb.heic")["reason"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        bomb.contains("60000x60000") && bomb.contains("max_megapixels"),
        "{bomb}"
    );
}
