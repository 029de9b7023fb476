//! `pixpipe inspect --json`: titles, descriptions, dates and orientation as
//! design.md orders their sources, on files the tests build with real metadata.

use std::path::Path;

use crate::support::fixtures::{self, Meta};
use crate::support::{run, stdout};

fn inspect(path: &Path) -> serde_json::Value {
    let out = run(&["inspect", "--json", path.to_str().unwrap()]);
    serde_json::from_str(stdout(&out).trim()).expect("one JSON object")
}

fn jpeg(dir: &Path, name: &str, meta: &Meta) -> std::path::PathBuf {
    let rgb = fixtures::photo_like_rgb(64, 48, 7);
    fixtures::write_fixture(dir, name, &fixtures::jpeg_with_meta(64, 48, &rgb, meta))
}

#[test]
fn title_sources_in_order_of_trust() {
    let dir = tempfile::tempdir().unwrap();
    let all = fixtures::rich_meta();
    let v = inspect(&jpeg(dir.path(), "all.jpg", &all));
    assert_eq!(v["title"], "Café 東京 <xmp>");
    assert_eq!(v["title_source"], "xmp_title");

    let no_xmp = Meta {
        xmp_title: None,
        ..all.clone()
    };
    let v = inspect(&jpeg(dir.path(), "iptc.jpg", &no_xmp));
    assert_eq!(v["title"], "Hafen");
    assert_eq!(v["title_source"], "iptc_object_name");

    let no_iptc = Meta {
        iptc_object_name: None,
        ..no_xmp.clone()
    };
    let v = inspect(&jpeg(dir.path(), "xp.jpg", &no_iptc));
    assert_eq!(v["title"], "Café 東京", "UTF-16LE XPTitle");
    assert_eq!(v["title_source"], "exif_xp_title");

    let no_xp = Meta {
        xp_title: None,
        ..no_iptc.clone()
    };
    let v = inspect(&jpeg(dir.path(), "desc.jpg", &no_xp));
    assert_eq!(v["title"], "Harbour at dusk");
    assert_eq!(v["title_source"], "exif_image_description");

    let v = inspect(&jpeg(
        dir.path(),
        "IMG_2041-beach--day.jpg",
        &Meta::default(),
    ));
    assert_eq!(v["title"], "IMG 2041 beach day");
    assert_eq!(v["title_source"], "file_name");
}

#[test]
fn blank_and_boilerplate_titles_fall_through() {
    let dir = tempfile::tempdir().unwrap();
    let meta = Meta {
        xmp_title: Some("   ".into()),
        iptc_object_name: Some(b"  ".to_vec()),
        xp_title: Some("".into()),
        image_description: Some(b"OLYMPUS DIGITAL CAMERA         ".to_vec()),
        ..Meta::default()
    };
    let v = inspect(&jpeg(dir.path(), "P1010001.jpg", &meta));
    assert_eq!(v["title"], "P1010001");
    assert_eq!(v["title_source"], "file_name");
    assert!(v.get("description").is_none(), "{v}");
}

#[test]
fn non_ascii_utf8_in_exif_ascii_fields() {
    let dir = tempfile::tempdir().unwrap();
    let meta = Meta {
        image_description: Some("Zürich – 東京 🌅".as_bytes().to_vec()),
        ..Meta::default()
    };
    let v = inspect(&jpeg(dir.path(), "a.jpg", &meta));
    assert_eq!(v["title"], "Zürich – 東京 🌅");
}

#[test]
fn iptc_latin1_is_decoded() {
    let dir = tempfile::tempdir().unwrap();
    let meta = Meta {
        iptc_object_name: Some(b"Caf\xe9 cr\xe8me".to_vec()),
        ..Meta::default()
    };
    let v = inspect(&jpeg(dir.path(), "a.jpg", &meta));
    assert_eq!(v["title"], "Café crème");
}

#[test]
fn dates_with_offset_fallbacks_and_malformed_values() {
    let dir = tempfile::tempdir().unwrap();
    let with_offset = Meta {
        date_time_original: Some("2021:03:04 10:11:12".into()),
        offset_time_original: Some("+05:30".into()),
        ..Meta::default()
    };
    let v = inspect(&jpeg(dir.path(), "a.jpg", &with_offset));
    assert_eq!(v["date_taken"], "2021-03-04T10:11:12+05:30");
    assert_eq!(v["date_source"], "exif_date_time_original");

    let malformed_original = Meta {
        date_time_original: Some("0000:00:00 00:00:00".into()),
        date_time_digitized: Some("2020:01:02 03:04:05".into()),
        ..Meta::default()
    };
    let v = inspect(&jpeg(dir.path(), "b.jpg", &malformed_original));
    assert_eq!(v["date_taken"], "2020-01-02T03:04:05");
    assert_eq!(v["date_source"], "exif_date_time_digitized");

    let xmp_only = Meta {
        date_time_original: Some("garbage".into()),
        xmp_create_date: Some("2019-05-06T07:08:09+02:00".into()),
        ..Meta::default()
    };
    let v = inspect(&jpeg(dir.path(), "c.jpg", &xmp_only));
    assert_eq!(v["date_taken"], "2019-05-06T07:08:09+02:00");
    assert_eq!(v["date_source"], "xmp");

    let v = inspect(&jpeg(dir.path(), "d.jpg", &Meta::default()));
    assert_eq!(v["date_source"], "file_mtime");
    let year: i32 = v["date_taken"].as_str().unwrap()[..4].parse().unwrap();
    assert!(year >= 2024, "{v}");
}

#[test]
fn orientation_dimensions_and_hashes() {
    let dir = tempfile::tempdir().unwrap();
    for o in 1..=8u16 {
        let meta = Meta {
            orientation: Some(o),
            big_endian: o % 2 == 0,
            ..Meta::default()
        };
        let path = jpeg(dir.path(), &format!("o{o}.jpg"), &meta);
        let v = inspect(&path);
        assert_eq!(v["orientation"], o, "{v}");
        assert_eq!(v["width"], 64, "stored width");
        assert_eq!(v["height"], 48, "stored height");
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(v["blake3"], blake3::hash(&bytes).to_hex().as_str());
        assert_eq!(v["md5"].as_str().unwrap().len(), 32);
    }
    let v = inspect(&jpeg(
        dir.path(),
        "o9.jpg",
        &Meta {
            orientation: Some(9),
            ..Meta::default()
        },
    ));
    assert_eq!(v["orientation"], 1);
    assert!(
        v["warnings"][0].as_str().unwrap().contains("orientation"),
        "{v}"
    );
}

#[test]
fn broken_files_give_an_error_field_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let empty = fixtures::write_fixture(dir.path(), "empty.jpg", b"");
    let text = fixtures::write_fixture(dir.path(), "text.jpg", &fixtures::text_as_jpg());
    let good = jpeg(dir.path(), "good.jpg", &Meta::default());
    let out = run(&[
        "inspect",
        "--json",
        empty.to_str().unwrap(),
        text.to_str().unwrap(),
        good.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert!(lines[0]["error"].as_str().unwrap().contains("empty"));
    assert!(
        lines[1]["error"]
            .as_str()
            .unwrap()
            .contains("not a supported image")
    );
    assert_eq!(lines[2]["format"], "jpeg");
}

#[test]
fn exif_that_loops_or_points_outside_still_yields_the_photo() {
    let dir = tempfile::tempdir().unwrap();
    let looped = fixtures::write_fixture(dir.path(), "loop.jpg", &fixtures::exif_ifd_loop_jpeg());
    let v = inspect(&looped);
    assert_eq!(v["format"], "jpeg");
    assert!(v.get("error").is_none(), "{v}");
    let outside = fixtures::write_fixture(
        dir.path(),
        "outside.jpg",
        &fixtures::exif_offset_past_end_jpeg(),
    );
    let v = inspect(&outside);
    assert_eq!(v["orientation"], 3, "good fields are kept: {v}");
    assert!(!v["warnings"].as_array().unwrap().is_empty(), "{v}");
}

#[test]
fn png_metadata_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let meta = Meta {
        xmp_title: Some("PNG title".into()),
        date_time_original: Some("2018:07:08 09:10:11".into()),
        ..Meta::default()
    };
    let rgb = fixtures::photo_like_rgb(20, 10, 1);
    let path = fixtures::write_fixture(
        dir.path(),
        "p.png",
        &fixtures::png_with_meta(20, 10, &rgb, &meta),
    );
    let v = inspect(&path);
    assert_eq!(v["format"], "png");
    assert_eq!(v["title"], "PNG title");
    assert_eq!(v["date_taken"], "2018-07-08T09:10:11");
}
