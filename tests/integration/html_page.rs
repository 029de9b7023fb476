//! The HTML page of a run (`run --html`, `report.html`) and of the ledger (`ledger html`):
//! one file that loads nothing from anywhere, with a thumbnail per written photo, every
//! file that did not make it named with its reason, and the counts of `--json`; and, in a
//! real browser where one is installed, a page that renders, shows its thumbnails and
//! filters its rows.

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine;
use serde_json::Value;

use crate::support::{fixtures, read_jsonl, run, stderr, stdout, write_photos, write_pipeline};

const STATES: [&str; 7] = [
    "written",
    "uploaded",
    "already_there",
    "duplicate",
    "skipped",
    "failed",
    "not_started",
];

/// A folder of `photos` photos, a truncated JPEG and a text file.
fn input(dir: &Path, photos: u32) -> PathBuf {
    let input = dir.join("in");
    write_photos(&input, photos, 320, 240);
    std::fs::write(input.join("broken.jpg"), fixtures::truncated_jpeg()).unwrap();
    std::fs::write(input.join("notes.txt"), "not a photo\n").unwrap();
    input
}

/// Runs `pipeline` with `--html page` and `--json`, giving the summary and the page's text.
fn run_with_page(pipeline: &Path, page: &Path, report: &Path) -> (Value, String) {
    let out = run(&[
        "run",
        pipeline.to_str().unwrap(),
        "--html",
        page.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
        "--json",
        "-q",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "one file fails: {}",
        stderr(&out)
    );
    let summary: Value = serde_json::from_str(&stdout(&out)).expect("--json summary");
    (summary, std::fs::read_to_string(page).expect("the page"))
}

/// The rows embedded in the page, parsed as the page's script parses them.
fn rows(page: &str) -> Vec<Value> {
    let open = "<script type=\"application/json\" id=\"data\">";
    let start = page.find(open).expect("embedded data") + open.len();
    let len = page[start..].find("</script>").expect("data ends");
    serde_json::from_str::<Vec<Value>>(&page[start..start + len]).expect("the data is JSON")
}

/// The values of `src`/`href` attributes of every tag that makes a browser load something.
fn loaded_urls(page: &str) -> Vec<String> {
    let lower = page.to_ascii_lowercase();
    let mut urls = Vec::new();
    for tag in [
        "<script", "<link", "<img", "<iframe", "<source", "<video", "<audio", "<object", "<embed",
        "<image", "<use",
    ] {
        for (at, _) in lower.match_indices(tag) {
            let end = lower[at..].find('>').map_or(lower.len(), |e| at + e);
            let text = &lower[at..end];
            for attr in ["src=", "href=", "data="] {
                for (a, _) in text.match_indices(attr) {
                    let value = text[a + attr.len()..].trim_start_matches(['"', '\'']);
                    urls.push(
                        value
                            .chars()
                            .take_while(|c| !"\"' >".contains(*c))
                            .collect(),
                    );
                }
            }
        }
    }
    urls
}

fn assert_loads_nothing(page: &str) {
    for url in loaded_urls(page) {
        assert!(
            !url.starts_with("http:") && !url.starts_with("https:") && !url.starts_with("//"),
            "the page loads {url}"
        );
    }
    let lower = page.to_ascii_lowercase();
    for css in ["@import", "url(", "<link"] {
        assert!(!lower.contains(css), "the page has {css}");
    }
    assert!(
        page.contains("content=\"default-src 'none'; img-src data:;"),
        "the page forbids itself any fetch"
    );
}

/// The count the page's summary gives for `state`.
fn page_count(page: &str, state: &str) -> u64 {
    let key = format!("data-count=\"{state}\">");
    let at = page
        .find(&key)
        .unwrap_or_else(|| panic!("no count for {state}"))
        + key.len();
    let digits: String = page[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().unwrap()
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

#[test]
fn the_page_of_a_run_loads_nothing_and_shows_every_file() {
    let dir = tempfile::tempdir().unwrap();
    let input = input(dir.path(), 3);
    let pipeline = write_pipeline(dir.path(), &input, "");
    let page_path = dir.path().join("pages").join("run.html");
    let report_path = dir.path().join("report.jsonl");
    let (summary, page) = run_with_page(&pipeline, &page_path, &report_path);
    assert_loads_nothing(&page);
    for state in STATES {
        assert_eq!(
            page_count(&page, state),
            summary[state].as_u64().unwrap(),
            "{state}"
        );
    }
    assert_eq!(summary["written"], 3);
    let rows = rows(&page);
    assert_eq!(rows.len(), 5, "every file has a row");
    let thumbs: Vec<&Value> = rows.iter().filter(|r| r.get("thumb").is_some()).collect();
    assert_eq!(thumbs.len(), 3, "one thumbnail per written photo");
    for r in &thumbs {
        assert_eq!(r["state"], "written");
        let jpeg = base64::engine::general_purpose::STANDARD
            .decode(r["thumb"].as_str().unwrap())
            .unwrap();
        assert!(jpeg.len() < 16 * 1024, "a few KB: {}", jpeg.len());
        let img = image::load_from_memory(&jpeg).expect("a JPEG");
        assert_eq!((img.width(), img.height()), (160, 120));
        // The output is linked relative to the page's folder, and is there.
        let href = r["links"][0]["href"].as_str().unwrap();
        assert!(href.starts_with("../out/"), "{href}");
        assert!(
            page_path
                .parent()
                .unwrap()
                .join(percent_decode(href))
                .is_file(),
            "{href}"
        );
    }
    let report = read_jsonl(&report_path);
    let broken = rows
        .iter()
        .find(|r| r["path"].as_str().unwrap().ends_with("broken.jpg"));
    let broken = broken.expect("the failed file has a row");
    assert_eq!(broken["state"], "failed");
    let reported = crate::support::line_for(&report, "broken.jpg");
    assert!(!broken["reason"].as_str().unwrap().is_empty());
    assert_eq!(broken["reason"], reported["reason"]);
    let notes = rows
        .iter()
        .find(|r| r["path"].as_str().unwrap().ends_with("notes.txt"));
    assert_eq!(notes.unwrap()["state"], "skipped");
    assert!(notes.unwrap()["reason"].is_string());
    for line in &report {
        assert!(line.get("thumb").is_none() && line.get("thumbnail").is_none());
    }
}

#[test]
fn a_title_that_closes_the_script_stays_text() {
    let dir = tempfile::tempdir().unwrap();
    let input = input(dir.path(), 2);
    let extra = "metadata:\n  title: \"</script><b>x {stem}\"\n";
    let pipeline = write_pipeline(dir.path(), &input, extra);
    let page_path = dir.path().join("run.html");
    let (_, page) = run_with_page(&pipeline, &page_path, &dir.path().join("r.jsonl"));
    assert_eq!(
        page.matches("<script").count(),
        page.matches("</script>").count(),
        "no script is closed early"
    );
    assert!(!page.contains("<b>x"), "the title is not markup");
    let rows = rows(&page);
    let titles: Vec<&str> = rows.iter().filter_map(|r| r["title"].as_str()).collect();
    assert!(titles.contains(&"</script><b>x p000"), "{titles:?}");
}

#[test]
fn report_html_is_taken_from_the_file_and_the_command_line_wins() {
    let dir = tempfile::tempdir().unwrap();
    let input = input(dir.path(), 1);
    let pipeline = write_pipeline(dir.path(), &input, "report:\n  html: pages/index.html\n");
    let out = run(&["run", pipeline.to_str().unwrap(), "-q"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let from_file = dir.path().join("pages/index.html");
    assert!(
        from_file.is_file(),
        "report.html is taken from the pipeline file's folder"
    );
    std::fs::remove_file(&from_file).unwrap();
    let given = dir.path().join("given.html");
    let out = run(&[
        "run",
        pipeline.to_str().unwrap(),
        "--html",
        given.to_str().unwrap(),
        "-q",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(given.is_file() && !from_file.exists(), "--html wins");
    let page = std::fs::read_to_string(&given).unwrap();
    assert_eq!(page_count(&page, "already_there"), 1);
    assert!(
        rows(&page).iter().all(|r| r.get("thumb").is_none()),
        "nothing new: no thumbnail"
    );
}

#[test]
fn ledger_html_lists_every_delivered_row() {
    let dir = tempfile::tempdir().unwrap();
    let input = input(dir.path(), 3);
    let pipeline = write_pipeline(dir.path(), &input, "");
    let ps = pipeline.to_str().unwrap();
    assert_eq!(run(&["run", ps, "-q"]).status.code(), Some(1));
    let export = run(&["ledger", "--pipeline", ps, "export"]);
    let exported: Vec<Value> = stdout(&export)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let delivered: Vec<&Value> = exported
        .iter()
        .filter(|r| r["state"] == "written")
        .collect();
    assert_eq!(delivered.len(), 3);
    // One output gone from disk: still listed, by its link, without a thumbnail.
    std::fs::remove_file(delivered[0]["location"].as_str().unwrap()).unwrap();
    let page_path = dir.path().join("ledger.html");
    let out = run(&[
        "ledger",
        "--pipeline",
        ps,
        "html",
        page_path.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let page = std::fs::read_to_string(&page_path).unwrap();
    assert_loads_nothing(&page);
    let rows = rows(&page);
    for d in &delivered {
        let row = rows.iter().find(|r| r["path"] == d["source_path"]);
        let row = row.unwrap_or_else(|| panic!("no row for {d}"));
        assert_eq!(row["state"], "written");
        assert_eq!(row["target"], d["target"]);
        let on_disk = Path::new(d["location"].as_str().unwrap()).exists();
        assert_eq!(row.get("thumb").is_some(), on_disk, "{row}");
    }
    assert_eq!(rows.iter().filter(|r| r.get("thumb").is_some()).count(), 2);
    let failed = rows.iter().filter(|r| r["state"] == "failed").count();
    assert_eq!(failed, 1, "what failed is listed with its reason");
    assert_eq!(page_count(&page, "written"), 3);
}

#[test]
fn the_page_of_an_upload_links_to_the_host_and_never_shows_the_key() {
    use crate::support::chevereto::{DEFAULT_API_KEY, Server, ServerConfig};
    let server = Server::start(ServerConfig::default());
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    write_photos(&input, 2, 64, 48);
    let yaml = format!(
        "version: 1\ninput:\n  paths: [\"{}\"]\nledger:\n  path: \"{}\"\ntarget:\n  chevereto:\n    url: \"{}\"\n    api_key: ${{CHEVERETO_API_KEY}}\n",
        input.display(),
        dir.path().join("ledger.sqlite").display(),
        server.base_url(),
    );
    let pipeline = dir.path().join("p.yaml");
    std::fs::write(&pipeline, yaml).unwrap();
    let page_path = dir.path().join("up.html");
    let out = crate::support::pixpipe()
        .args(["run", "-q", pipeline.to_str().unwrap(), "--html"])
        .arg(&page_path)
        .env("CHEVERETO_API_KEY", DEFAULT_API_KEY)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let page = std::fs::read_to_string(&page_path).unwrap();
    assert_loads_nothing(&page);
    assert!(
        !page.contains(DEFAULT_API_KEY),
        "the key is never on the page"
    );
    assert!(page.contains(&server.base_url()), "the target is named");
    assert_eq!(page_count(&page, "uploaded"), 2);
    let rows = rows(&page);
    assert_eq!(rows.len(), 2);
    for r in &rows {
        assert_eq!(r["state"], "uploaded");
        assert!(r.get("thumb").is_some(), "{r}");
        let labels: Vec<&str> = r["links"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["label"].as_str().unwrap())
            .collect();
        assert_eq!(labels, ["viewer", "image"], "{r}");
        for l in r["links"].as_array().unwrap() {
            assert!(l["href"].as_str().unwrap().starts_with("http"), "{l}");
        }
    }
}

/// Headless Chromium, with a profile of its own and nothing in the background.
fn chromium(profile: &Path, args: &[&str]) -> std::process::Output {
    Command::new("timeout")
        .arg("120")
        .arg("/usr/bin/chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .output()
        .expect("run chromium")
}

/// The page's DOM after its scripts ran, opened at `fragment`.
fn dom(page: &Path, fragment: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let url = format!("file://{}{fragment}", page.display());
    let out = chromium(profile.path(), &["--dump-dom", &url]);
    assert!(out.status.success(), "chromium: {}", stderr(&out));
    stdout(&out)
}

fn visible_rows(dom: &str) -> usize {
    dom.matches("class=\"row").count()
}

#[test]
fn the_page_renders_and_filters_in_a_real_browser() {
    if !Path::new("/usr/bin/chromium").exists() {
        eprintln!("chromium not found: browser test skipped (apt-get install chromium)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let input = input(dir.path(), 4);
    let extra = "metadata:\n  title: \"</script><b>x {stem}\"\n";
    let pipeline = write_pipeline(dir.path(), &input, extra);
    let page = dir.path().join("run.html");
    let (summary, text) = run_with_page(&pipeline, &page, &dir.path().join("r.jsonl"));
    assert_loads_nothing(&text);

    let profile = tempfile::tempdir().unwrap();
    let png = dir.path().join("shot.png");
    let url = format!("file://{}", page.display());
    let shot = format!("--screenshot={}", png.display());
    let out = chromium(profile.path(), &[&shot, "--window-size=1200,900", &url]);
    assert!(out.status.success(), "chromium: {}", stderr(&out));
    let img = image::open(&png).expect("a PNG").to_rgb8();
    let colours: std::collections::HashSet<[u8; 3]> = img.pixels().map(|p| p.0).collect();
    assert!(
        colours.len() > 50,
        "a blank page: {} colours",
        colours.len()
    );

    let all = dom(&page, "");
    let written = summary["written"].as_u64().unwrap() as usize;
    assert_eq!(written, 4);
    assert_eq!(
        all.matches("class=\"thumb\"").count(),
        written,
        "a thumbnail per photo"
    );
    assert_eq!(visible_rows(&all), 6, "4 written, 1 failed, 1 skipped");
    assert!(
        all.contains("&lt;/script&gt;&lt;b&gt;x p000"),
        "the title shows as text"
    );
    assert!(all.contains("6 of 6 files shown"));

    let one = dom(&page, "#filter=p002");
    assert_eq!(visible_rows(&one), 1, "the filter hides the others");
    assert_eq!(one.matches("class=\"thumb\"").count(), 1);
    let by_reason = dom(&page, "#filter=BROKEN");
    assert_eq!(visible_rows(&by_reason), 1, "name, any case");
    assert!(by_reason.contains("broken.jpg"));
    let by_reason = dom(&page, "#filter=not%20a%20supported");
    assert_eq!(visible_rows(&by_reason), 1, "by reason");
    assert!(by_reason.contains("notes.txt"));
    let none = dom(&page, "#filter=no%20such%20file");
    assert_eq!(visible_rows(&none), 0);
    assert!(none.contains("0 of 6 files shown"));
}

#[test]
fn a_ledger_page_of_many_rows_opens_in_linked_parts_in_a_real_browser() {
    if !Path::new("/usr/bin/chromium").exists() {
        eprintln!("chromium not found: browser test skipped (apt-get install chromium)");
        return;
    }
    // More rows than one file of a page holds: files that fail, each a ledger row.
    let rows_total = pixpipe::PAGE_ROWS_PER_FILE + 50;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir_all(&input).unwrap();
    for i in 0..rows_total {
        std::fs::write(
            input.join(format!("f{i:05}.jpg")),
            format!("not a photo {i}"),
        )
        .unwrap();
    }
    let pipeline = write_pipeline(dir.path(), &input, "");
    let ps = pipeline.to_str().unwrap();
    assert_eq!(run(&["run", ps, "-q"]).status.code(), Some(1));
    let page = dir.path().join("ledger.html");
    let out = run(&["ledger", "--pipeline", ps, "html", page.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("in 2 part(s)"), "{}", stdout(&out));
    let second = dir.path().join("ledger-2.html");
    let (text1, text2) = (
        std::fs::read_to_string(&page).unwrap(),
        std::fs::read_to_string(&second).unwrap(),
    );
    assert_loads_nothing(&text1);
    assert_loads_nothing(&text2);
    assert_eq!(rows(&text1).len(), pixpipe::PAGE_ROWS_PER_FILE);
    assert_eq!(rows(&text2).len(), 50);
    assert_eq!(
        page_count(&text1, "failed"),
        rows_total as u64,
        "the whole summary"
    );
    assert!(text1.contains("href=\"ledger-2.html\""));

    let first = dom(&page, "");
    assert!(
        first.contains(&format!(
            "{n} of {n} files shown",
            n = pixpipe::PAGE_ROWS_PER_FILE
        )),
        "the first part renders its rows"
    );
    let last = dom(&second, "");
    assert_eq!(
        visible_rows(&last),
        50,
        "the second part renders its own rows"
    );
    assert!(
        last.contains("href=\"ledger.html\""),
        "and links back to the first"
    );
    assert!(last.contains(&format!("f{:05}.jpg", rows_total - 1)));
}
