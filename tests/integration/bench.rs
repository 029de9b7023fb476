//! `pixpipe bench`: walks folders as `run` does, names what it leaves out, and gives
//! a quality figure and a recommendation with every speed.

use crate::support::{self, stderr};

#[test]
fn bench_walks_nested_folders_scores_quality_and_recommends_one_setting() {
    let dir = tempfile::tempdir().unwrap();
    support::write_photos(&dir.path().join("2019/summer"), 2, 640, 480);
    support::write_photos(&dir.path().join("2020"), 1, 640, 480);
    std::fs::write(dir.path().join("2020/broken.jpg"), b"\xFF\xD8\xFF\xE0 cut").unwrap();
    let out = support::pixpipe()
        .args(["bench", "--width", "320", "--repeat", "2", "--json"])
        .args([
            "--filter",
            "catmull-rom,lanczos3",
            "--decode",
            "scaled,full",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["images"], 3, "{v:#}");
    assert_eq!(v["codec"], "libjpeg-turbo");
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 4);
    assert!(
        rows.iter().any(|r| r["filter"] == "catmull-rom"),
        "CLI spelling"
    );
    for r in rows {
        let ssim = r["ssim"].as_f64().unwrap();
        assert!(ssim > 0.5 && ssim <= 1.0, "{r:#}");
        let (lo, mid, hi) = (
            r["images_per_sec_min"].as_f64().unwrap(),
            r["images_per_sec"].as_f64().unwrap(),
            r["images_per_sec_max"].as_f64().unwrap(),
        );
        assert!(lo <= mid && mid <= hi && lo > 0.0, "{r:#}");
    }
    // The full decode with Lanczos3 is the reference itself, up to the JPEG encode.
    let best = rows
        .iter()
        .find(|r| r["filter"] == "lanczos3" && r["decode"] == "full")
        .unwrap();
    assert!(best["ssim"].as_f64().unwrap() >= rows[0]["ssim"].as_f64().unwrap() - 1e-9);
    assert_eq!(rows.iter().filter(|r| r["recommended"] == true).count(), 1);
    assert!(
        v["recommendation"]
            .as_str()
            .unwrap()
            .contains("resize.filter")
    );
    let left_out = v["left_out"].as_array().unwrap();
    assert!(
        left_out
            .iter()
            .any(|l| l["path"].as_str().unwrap().ends_with("broken.jpg")),
        "{left_out:#?}"
    );
    assert!(!v["scaling"].as_array().unwrap().is_empty());
}

#[test]
fn bench_on_a_folder_without_photos_says_so() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), b"text").unwrap();
    let out = support::pixpipe()
        .arg("bench")
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no photos to measure"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("notes.txt"), "{}", stderr(&out));
}
