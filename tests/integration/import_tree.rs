//! The tree for a Chevereto host's Bulk Importer (`target.chevereto_import`): photos
//! converted, a JSON beside each, a `metadata.json` per album folder, and exactly
//! once even though the importer takes the photos out of the tree.

use std::path::{Path, PathBuf};

use crate::support::{self, fixtures, line_for, stderr};

fn archive(dir: &Path) -> PathBuf {
    let input = dir.join("in");
    support::write_photos(&input, 3, 40, 30);
    for (file, folder) in [("p000.jpg", "Harbour"), ("p001.jpg", "港口: 日出")] {
        std::fs::create_dir_all(input.join(folder)).unwrap();
        std::fs::rename(input.join(file), input.join(folder).join(file)).unwrap();
    }
    input
}

fn pipeline(dir: &Path, input: &Path, target: &str) -> PathBuf {
    let yaml = format!(
        "version: 1\ninput:\n  paths: [\"{}\"]\nmetadata:\n  tags: [\"sea, dawn\"]\nresize:\n  width: 20\nledger:\n  path: \"{}\"\ntarget:\n  chevereto_import:\n    path: \"{}\"\n{target}",
        input.display(),
        dir.join("ledger.sqlite").display(),
        dir.join("tree").display(),
    );
    let p = dir.join("pipeline.yaml");
    std::fs::write(&p, yaml).unwrap();
    p
}

fn json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// Every file under `dir`, relative, sorted.
fn files(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.path().strip_prefix(dir).unwrap().display().to_string())
        .collect();
    out.sort();
    out
}

#[test]
fn albums_layout_writes_photos_with_their_json_and_each_folder_as_an_album() {
    let dir = tempfile::tempdir().unwrap();
    let input = archive(dir.path());
    let p = pipeline(dir.path(), &input, "    category_id: 3\n    nsfw: true\n");
    let (out, report) = support::run_reported(&p, dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let tree = dir.path().join("tree");
    assert_eq!(
        files(&tree),
        [
            "Harbour/metadata.json",
            "Harbour/p000.jpg",
            "Harbour/p000.jpg.json",
            "p002.jpg",
            "p002.jpg.json",
            "港口_ 日出/metadata.json",
            "港口_ 日出/p001.jpg",
            "港口_ 日出/p001.jpg.json",
        ],
        "no .lock is left once the run ends"
    );
    assert_eq!(
        json(&tree.join("港口_ 日出/metadata.json"))["albumData"]["title"],
        "港口: 日出",
        "the album keeps the folder's name as written"
    );
    let image = json(&tree.join("Harbour/p000.jpg.json"));
    assert_eq!(image["imageData"]["title"], "p000");
    assert_eq!(
        image["imageData"]["tags"],
        serde_json::json!(["sea", "dawn"])
    );
    assert_eq!(image["imageData"]["categoryId"], 3);
    assert_eq!(image["imageData"]["nsfw"], true);
    assert!(
        image["imageData"].get("description").is_none(),
        "falsy fields are left out"
    );
    let photo = image::open(tree.join("Harbour/p000.jpg")).unwrap();
    assert_eq!(photo.width(), 20, "converted like any output");
    let line = line_for(&report, "p000.jpg");
    assert_eq!(line["state"], "written");
    assert!(
        line["output"]
            .as_str()
            .unwrap()
            .ends_with("tree/Harbour/p000.jpg")
    );
    assert!(
        line["warnings"]
            .to_string()
            .contains("keeps tags only for a user's photos"),
        "{line}"
    );
}

#[test]
fn photos_the_importer_took_away_are_delivered_not_lost() {
    let dir = tempfile::tempdir().unwrap();
    let input = archive(dir.path());
    let p = pipeline(dir.path(), &input, "");
    let (out, _) = support::run_reported(&p, dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // What the importer does: takes the photos, deletes the folders it walked.
    let tree = dir.path().join("tree");
    std::fs::remove_dir_all(&tree).unwrap();
    std::fs::create_dir(&tree).unwrap();
    let (out, report) = support::run_reported(&p, dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        report.iter().all(|l| l["state"] == "already_there"),
        "{report:#?}"
    );
    assert!(
        files(&tree).is_empty(),
        "nothing is written twice: {:?}",
        files(&tree)
    );
    // A new photo goes into its album folder, described again.
    let rgb = fixtures::photo_like_rgb(40, 30, 9);
    fixtures::write_fixture(
        &input.join("Harbour"),
        "p003.jpg",
        &fixtures::jpeg_rgb(40, 30, &rgb),
    );
    let (_, report) = support::run_reported(&p, dir.path());
    assert_eq!(line_for(&report, "Harbour/p003.jpg")["state"], "written");
    assert_eq!(
        files(&tree),
        [
            "Harbour/metadata.json",
            "Harbour/p003.jpg",
            "Harbour/p003.jpg.json"
        ]
    );
}

#[test]
fn users_layout_puts_the_albums_under_the_user_and_asks_for_one() {
    let dir = tempfile::tempdir().unwrap();
    let input = archive(dir.path());
    let p = pipeline(
        dir.path(),
        &input,
        "    layout: users\n    user: admin\n    album: Trips\n",
    );
    let (out, _) = support::run_reported(&p, dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let tree = dir.path().join("tree");
    let all = files(&tree);
    assert!(
        all.contains(&"admin/Trips/Harbour/p000.jpg".to_string()),
        "{all:?}"
    );
    assert!(
        all.contains(&"admin/Trips/p002.jpg.json".to_string()),
        "{all:?}"
    );
    assert!(
        !all.iter().any(|f| f == "admin/metadata.json"),
        "the user's folder is no album"
    );
    let p = pipeline(dir.path(), &input, "    layout: users\n");
    let out = support::run(&["check", p.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("target.chevereto_import.user: give the user with layout: users"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_takeout_albums_own_title_names_its_album_in_the_tree() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    // Takeout makes the title "Trip: Paris" a safe folder name.
    let album = input.join("Trip_ Paris");
    support::write_photos(&album, 1, 40, 30);
    std::fs::write(album.join("metadata.json"), r#"{"title": "Trip: Paris"}"#).unwrap();
    let out = support::run(&[
        "run",
        "-q",
        pipeline(dir.path(), &input, "").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let tree = dir.path().join("tree");
    assert_eq!(
        json(&tree.join("Trip_ Paris/metadata.json"))["albumData"]["title"],
        "Trip: Paris"
    );
    assert!(
        !files(&tree)
            .iter()
            .any(|f| f.ends_with("metadata.json") && f.contains("p000")),
        "the album file is not delivered as a photo: {:?}",
        files(&tree)
    );
}
