//! Words kept beside the photos: archives built the way Lightroom (XMP sidecars) and
//! Google Takeout (a JSON per photo, with every naming quirk, and an album's
//! `metadata.json`) leave them, and photos whose only date is in their name.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::fixtures::{Meta, jpeg_with_meta, photo_like_rgb, write_fixture, xmp_packet};
use crate::support::{self, line_for, run_reported, stderr, walk, write_named_pipeline};

/// A small distinct JPEG whose own metadata says other things than its sidecars.
fn photo(seed: u32, meta: &Meta) -> Vec<u8> {
    jpeg_with_meta(64, 48, &photo_like_rgb(64, 48, seed), meta)
}

fn embedded(i: u32) -> Meta {
    Meta {
        image_description: Some(format!("Embedded caption {i}").into_bytes()),
        date_time_original: Some("2010:01:01 00:00:00".into()),
        ..Meta::default()
    }
}

/// What a photo of the archive must come out with.
struct Expected {
    name: String,
    title: String,
    description: Option<String>,
    tags: Vec<String>,
    date: String,
}

/// A Lightroom-like folder: half the sidecars named `stem.xmp`, half `name.ext.xmp`,
/// in both cases of letters; each photo's own EXIF says something else.
fn lightroom(dir: &Path, n: u32, out: &mut Vec<Expected>) {
    for i in 0..n {
        let name = if i % 3 == 0 {
            format!("DSC_{i:04}.JPG")
        } else {
            format!("DSC_{i:04}.jpg")
        };
        write_fixture(dir, &name, &photo(i + 1, &embedded(i)));
        let side = Meta {
            xmp_title: Some(format!("Harbour № {i} & friends")),
            xmp_description: Some(format!("Boats seen from the quay, day {i}")),
            xmp_subject: vec![format!("boat{i}"), "harbour".into()],
            xmp_create_date: Some(format!("2019-05-{:02}T07:08:09+02:00", i % 28 + 1)),
            ..Meta::default()
        };
        let stem = name.trim_end_matches(".jpg").trim_end_matches(".JPG");
        let side_name = match i % 4 {
            0 => format!("{stem}.xmp"),
            1 => format!("{name}.xmp"),
            2 => format!("{stem}.XMP"),
            _ => format!("{name}.XMP"),
        };
        write_fixture(dir, &side_name, xmp_packet(&side).unwrap().as_bytes());
        out.push(Expected {
            name: name.clone(),
            title: format!("Harbour № {i} & friends"),
            description: Some(format!("Boats seen from the quay, day {i}")),
            tags: vec![format!("boat{i}"), "harbour".into()],
            date: format!("2019-05-{:02}T07:08:09+02:00", i % 28 + 1),
        });
    }
}

fn takeout_json(description: &str, title: &str, seconds: i64) -> String {
    serde_json::json!({
        "title": title,
        "description": description,
        "imageViews": "3",
        "creationTime": {"timestamp": "1700000000", "formatted": "Nov 14, 2023"},
        "photoTakenTime": {"timestamp": seconds.to_string(), "formatted": "…"},
        "geoData": {"latitude": 45.76, "longitude": 4.83, "altitude": 170.0},
        "url": "https://photos.example/abc"
    })
    .to_string()
}

/// A Takeout album folder with every naming quirk: `.json`, `.supplemental-metadata.json`,
/// a `(1)` copy whose number moved, an edited copy sharing its original's JSON, names
/// cut at 46 and at 51 characters, the old `stem.json`. The photos have no date of
/// their own: Takeout's is the one.
fn takeout(dir: &Path, out: &mut Vec<Expected>) {
    write_fixture(
        dir,
        "metadata.json",
        br#"{"title": "Lyon in June", "description": ""}"#,
    );
    let long = "PXL_20230704_153012345.NIGHT.PORTRAIT-01.COVER";
    let cases: Vec<(String, String)> = vec![
        ("IMG_0101.jpg".into(), "IMG_0101.jpg.json".into()),
        (
            "IMG_0102.jpg".into(),
            "IMG_0102.jpg.supplemental-metadata.json".into(),
        ),
        ("IMG_0103(1).jpg".into(), "IMG_0103.jpg(1).json".into()),
        (
            "IMG_0104(2).jpg".into(),
            "IMG_0104.jpg.supplemental-metadata(2).json".into(),
        ),
        ("IMG_0105-edited.jpg".into(), "IMG_0105.jpg.json".into()),
        ("IMG_0106.jpg".into(), "IMG_0106.json".into()),
        (
            format!("{long}.jpg"),
            format!(
                "{}.json",
                &format!("{long}.jpg.supplemental-metadata")[..46]
            ),
        ),
        (
            format!("{long}2.jpg"),
            format!(
                "{}.json",
                &format!("{long}2.jpg.supplemental-metadata")[..51]
            ),
        ),
        (
            "PXL_20210101_101010123.jpg".into(),
            "PXL_20210101_101010123.jpg.supplemental-met.json".into(),
        ),
    ];
    for (i, (name, json)) in cases.iter().enumerate() {
        let i = i as u32;
        write_fixture(dir, name, &photo(100 + i, &Meta::default()));
        let seconds = 1_561_900_000 + i64::from(i) * 3600;
        let description = format!("Picnic by the Saône, part {i}");
        write_fixture(
            dir,
            json,
            takeout_json(&description, name, seconds).as_bytes(),
        );
        let date = chrono::DateTime::from_timestamp(seconds, 0).unwrap();
        out.push(Expected {
            name: name.clone(),
            // Takeout's title is the file name: the title comes from the name too.
            title: support_title(name),
            description: Some(description),
            tags: vec!["Lyon in June".into()],
            date: date.format("%Y-%m-%dT%H:%M:%S+00:00").to_string(),
        });
    }
}

/// The title pixpipe makes from a file name (`IMG_0101` → `IMG 0101`).
fn support_title(name: &str) -> String {
    let stem = Path::new(name).file_stem().unwrap().to_string_lossy();
    stem.split(['_', '-', ' '])
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Photos with no date but the one their name spells.
fn named_dates(dir: &Path, out: &mut Vec<Expected>) {
    for (i, (name, date)) in [
        ("IMG-20190704-WA0001.jpg", "2019-07-04T00:00:00"),
        ("Screenshot_2020-05-01-10-11-12.jpg", "2020-05-01T10:11:12"),
    ]
    .iter()
    .enumerate()
    {
        write_fixture(dir, name, &photo(200 + i as u32, &Meta::default()));
        out.push(Expected {
            name: name.to_string(),
            title: support_title(name),
            description: None,
            tags: Vec::new(),
            date: date.to_string(),
        });
    }
}

fn archive(root: &Path) -> Vec<Expected> {
    let mut expected = Vec::new();
    lightroom(&root.join("Lightroom"), 24, &mut expected);
    takeout(
        &root.join("Takeout/Google Photos/Lyon in June"),
        &mut expected,
    );
    named_dates(&root.join("Phone"), &mut expected);
    expected
}

const TEMPLATES: &str = "metadata:\n  tags: [\"{keywords}\", \"{album}\"]\n";

#[test]
fn lightroom_and_takeout_exports_give_their_words_and_no_sidecar_is_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    let expected = archive(&input);
    let p = write_named_pipeline(dir.path(), &input, "", TEMPLATES);
    let (o, report) = run_reported(&p, dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    let mut agree = 0;
    for e in &expected {
        let line = line_for(&report, &format!("/{}", e.name));
        assert_eq!(line["state"], "written", "{line}");
        let got = (
            line["title"].as_str().unwrap_or_default(),
            line["description"].as_str(),
            line["tags"]
                .as_array()
                .map(|t| t.iter().map(|v| v.as_str().unwrap().to_string()).collect())
                .unwrap_or_default(),
            line["date_taken"].as_str().unwrap_or_default(),
        );
        let want = (
            e.title.as_str(),
            e.description.as_deref(),
            e.tags.clone(),
            e.date.as_str(),
        );
        if got == want {
            agree += 1;
        } else {
            eprintln!("{}: got {got:?}, want {want:?}", e.name);
        }
    }
    assert_eq!(
        agree,
        expected.len(),
        "every photo's words agree with its sidecar"
    );

    // Every sidecar and JSON is reported as what it is, and none is delivered.
    let sidecars: Vec<&serde_json::Value> = report
        .iter()
        .filter(|l| {
            let p = l["path"].as_str().unwrap().to_lowercase();
            p.ends_with(".xmp") || p.ends_with(".json")
        })
        .collect();
    assert_eq!(sidecars.len(), 24 + 9 + 1);
    for l in &sidecars {
        assert_eq!(l["state"], "skipped", "{l}");
        let why = l["reason"].as_str().unwrap();
        assert!(
            why.starts_with("sidecar of ")
                || why.starts_with("Takeout metadata of ")
                || why == "Takeout album metadata",
            "{l}"
        );
    }
    let outputs: Vec<PathBuf> = walk(&dir.path().join("out"));
    assert_eq!(
        outputs.len(),
        expected.len() + 1,
        "the photos and the manifest: {outputs:?}"
    );
    assert!(outputs.iter().all(|p| {
        let ext = p.extension().unwrap().to_string_lossy().to_lowercase();
        ext == "jpg" || p.file_name().unwrap() == "manifest.jsonl"
    }));

    // The source of each value is in the report.
    let lr = line_for(&report, "/DSC_0001.jpg");
    assert_eq!(lr["sources"]["title"], "xmp_sidecar");
    assert_eq!(lr["sources"]["date"], "xmp_sidecar");
    let t = line_for(&report, "/IMG_0102.jpg");
    assert_eq!(t["sources"]["description"], "takeout");
    assert_eq!(t["sources"]["date"], "takeout");
    assert_eq!(
        line_for(&report, "/IMG-20190704-WA0001.jpg")["sources"]["date"],
        "file_name"
    );
}

#[test]
fn the_order_of_trust_in_the_pipeline_file_changes_the_result() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    let own = Meta {
        xmp_title: Some("Title in the file".into()),
        date_time_original: Some("2011:02:03 04:05:06".into()),
        ..Meta::default()
    };
    write_fixture(&input, "IMG_20200102_030405.jpg", &photo(7, &own));
    let side = Meta {
        xmp_title: Some("Title in the sidecar".into()),
        xmp_create_date: Some("2018-01-01T10:00:00".into()),
        ..Meta::default()
    };
    write_fixture(
        &input,
        "IMG_20200102_030405.xmp",
        xmp_packet(&side).unwrap().as_bytes(),
    );
    let run = |sections: &str, sub: &str| {
        let d = dir.path().join(sub);
        std::fs::create_dir_all(&d).unwrap();
        let p = write_named_pipeline(&d, &input, "", sections);
        let (o, report) = run_reported(&p, &d);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let l = line_for(&report, "030405.jpg").clone();
        (
            l["title"].as_str().unwrap().to_string(),
            l["date_taken"].as_str().unwrap().to_string(),
        )
    };
    assert_eq!(
        run("", "default"),
        ("Title in the sidecar".into(), "2018-01-01T10:00:00".into())
    );
    let reversed = "metadata:\n  precedence:\n    title: [embedded, sidecar]\n    date: [file_name, embedded]\n";
    assert_eq!(
        run(reversed, "reversed"),
        ("Title in the file".into(), "2020-01-02T03:04:05".into())
    );
    let embedded_only = "metadata:\n  precedence:\n    date: [embedded]\n";
    assert_eq!(run(embedded_only, "embedded").1, "2011-02-03T04:05:06");
}

#[test]
fn a_place_that_cannot_hold_a_field_is_named_with_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_named_pipeline(
        dir.path(),
        &dir.path().join("in"),
        "",
        "metadata:\n  precedence:\n    title: [sidecar, file_time]\n",
    );
    let o = support::run(&["check", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("pipeline.yaml:") && e.contains("metadata.precedence.title"),
        "{e}"
    );
    assert!(
        e.contains("file_time") && e.contains("sidecar, takeout, embedded, file_name"),
        "{e}"
    );
    for (order, words) in [
        (
            "date: [embedded, embedded]",
            "`embedded` is named twice in the order of the date",
        ),
        ("keywords: []", "the keywords needs at least one place"),
    ] {
        let p = write_named_pipeline(
            dir.path(),
            &dir.path().join("in"),
            "",
            &format!("metadata:\n  precedence:\n    {order}\n"),
        );
        let o = support::run(&["check", p.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2));
        let e = stderr(&o);
        assert!(e.contains("pipeline.yaml:") && e.contains(words), "{e}");
    }
}

/// The summary line's "… read" figure, from a run without `-q`.
fn bytes_read(p: &Path) -> String {
    let o = support::run(&["run", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let e = stderr(&o);
    let summary = e
        .lines()
        .rev()
        .find(|l| l.contains(" read,"))
        .unwrap_or_else(|| panic!("{e}"));
    let before = summary.split(" read,").next().unwrap();
    before.rsplit(": ").next().unwrap().to_string()
}

#[test]
fn a_changed_sidecar_makes_its_photo_read_again_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    let mut expected = Vec::new();
    lightroom(&input, 3, &mut expected);
    let p = write_named_pipeline(dir.path(), &input, "", "");
    assert_ne!(bytes_read(&p), "0 B");
    assert_eq!(
        bytes_read(&p),
        "0 B",
        "an unchanged archive is not read again"
    );
    // Rows from before stamps were kept (NULL) match: an upgrade reads nothing again.
    let ledger = rusqlite::Connection::open(dir.path().join("ledger.sqlite")).unwrap();
    assert_eq!(
        ledger
            .execute("UPDATE files SET beside = NULL", [])
            .unwrap(),
        3
    );
    drop(ledger);
    assert_eq!(
        bytes_read(&p),
        "0 B",
        "a row without a stamp is not a changed file"
    );
    assert_eq!(bytes_read(&p), "0 B");
    // Lightroom saves a sidecar: its photo alone is read again, and is not sent twice.
    let side = input.join("DSC_0001.jpg.xmp");
    let text = std::fs::read_to_string(&side)
        .unwrap()
        .replace("friends", "family");
    std::fs::write(&side, text).unwrap();
    let one_photo = std::fs::metadata(input.join("DSC_0001.jpg")).unwrap().len();
    let read = in_bytes(&bytes_read(&p));
    assert!(
        (one_photo as f64 * 0.95..=one_photo as f64 * 1.05).contains(&read),
        "read {read} B, the photo is {one_photo} B"
    );
    // Its content was delivered already: a new title alone is not a new picture.
    let side = input.join("DSC_0002.XMP");
    let text = std::fs::read_to_string(&side)
        .unwrap()
        .replace("friends", "family");
    std::fs::write(&side, text).unwrap();
    let (o, report) = run_reported(&p, dir.path());
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(line_for(&report, "DSC_0002.jpg")["state"], "already_there");
    assert_eq!(
        walk(&dir.path().join("out")).len(),
        3 + 1,
        "nothing sent twice"
    );
}

/// `1.23 KiB` → bytes.
fn in_bytes(shown: &str) -> f64 {
    let (n, unit) = shown.split_once(' ').unwrap();
    let n: f64 = n.parse().unwrap();
    n * match unit {
        "B" => 1.0,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        other => panic!("unit {other}"),
    }
}

/// exiftool, when installed, reads the merged words back from the delivered files.
#[test]
fn exiftool_reads_the_sidecars_words_from_the_delivered_file() {
    if Command::new("exiftool").arg("-ver").output().is_err() {
        eprintln!("skipped: exiftool is not installed (Debian: libimage-exiftool-perl)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    let mut expected = Vec::new();
    lightroom(&input, 2, &mut expected);
    takeout(&input.join("album"), &mut Vec::new());
    let p = write_named_pipeline(dir.path(), &input, "", "");
    let (o, _) = run_reported(&p, dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let read = |file: &str| {
        let o = Command::new("exiftool")
            .args([
                "-j",
                "-XMP:Title",
                "-XMP:Description",
                "-XMP:Subject",
                "-IPTC:ObjectName",
                "-IPTC:Caption-Abstract",
                "-IPTC:Keywords",
                "-EXIF:DateTimeOriginal",
                "-EXIF:ImageDescription",
                "-GPSLatitude",
            ])
            .arg(dir.path().join("out").join(file))
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v[0].clone()
    };
    let lr = read("DSC_0001.jpg");
    assert_eq!(lr["Title"], "Harbour № 1 & friends", "{lr}");
    assert_eq!(lr["ObjectName"], "Harbour № 1 & friends", "{lr}");
    assert_eq!(lr["Description"], "Boats seen from the quay, day 1", "{lr}");
    assert_eq!(
        lr["Caption-Abstract"], "Boats seen from the quay, day 1",
        "{lr}"
    );
    assert_eq!(
        lr["Subject"],
        serde_json::json!(["boat1", "harbour"]),
        "{lr}"
    );
    assert_eq!(
        lr["Keywords"],
        serde_json::json!(["boat1", "harbour"]),
        "{lr}"
    );
    assert_eq!(lr["DateTimeOriginal"], "2019:05:02 07:08:09", "{lr}");
    assert!(
        lr.get("ImageDescription").is_none(),
        "the stale caption is gone: {lr}"
    );
    let t = read("IMG_0102.jpg");
    assert_eq!(t["Description"], "Picnic by the Saône, part 1", "{t}");
    assert_eq!(t["Caption-Abstract"], "Picnic by the Saône, part 1", "{t}");
    assert!(
        t.get("GPSLatitude").is_none(),
        "Takeout's place is stripped like GPS: {t}"
    );
}
