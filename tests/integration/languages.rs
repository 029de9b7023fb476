//! The language of the messages: English, or Simplified Chinese chosen by `--lang`,
//! `PIXPIPE_LANG` or the locale; the machine-readable output stays English.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::support::chevereto::{DEFAULT_API_KEY, Server, ServerConfig};
use crate::support::fixtures;
use crate::support::{self, read_jsonl, stderr};

/// A folder of three photos and a broken one.
fn archive(dir: &Path) -> PathBuf {
    let input = dir.join("in");
    support::write_photos(&input, 3, 32, 24);
    fixtures::write_fixture(&input, "broken.jpg", &fixtures::text_as_jpg());
    input
}

fn run_with(p: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut c = support::pixpipe();
    c.arg("run").arg(p).args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.env("CHEVERETO_API_KEY", DEFAULT_API_KEY)
        .output()
        .unwrap()
}

#[test]
fn the_summary_and_per_file_lines_follow_the_locale() {
    let dir = tempfile::tempdir().unwrap();
    let input = archive(dir.path());
    let p = support::write_pipeline(dir.path(), &input, "");
    let zh = run_with(&p, &[("LANG", "zh_CN.UTF-8")], &[]);
    assert_eq!(zh.status.code(), Some(1));
    let err = stderr(&zh);
    assert!(err.contains("已写入 3 个，失败 1 个，用时"), "{err}");
    assert!(
        err.contains("broken.jpg：失败：不是支持的图片或视频"),
        "{err}"
    );
    std::fs::remove_dir_all(dir.path().join("out")).unwrap();
    std::fs::remove_file(dir.path().join("ledger.sqlite")).unwrap();
    let en = run_with(&p, &[("LANG", "C")], &[]);
    let err = stderr(&en);
    assert!(err.contains("3 written, 1 failed in "), "{err}");
    assert!(
        err.contains("broken.jpg: failed: not a supported image or video"),
        "{err}"
    );
    assert!(
        !err.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
        "{err}"
    );
}

#[test]
fn the_flag_beats_pixpipe_lang_which_beats_the_locale() {
    let dir = tempfile::tempdir().unwrap();
    let input = archive(dir.path());
    let p = support::write_pipeline(dir.path(), &input, "");
    let plan = |env: &[(&str, &str)], args: &[&str]| {
        let mut c = support::pixpipe();
        c.args(args).arg("plan").arg(&p);
        for (k, v) in env {
            c.env(k, v);
        }
        support::stdout(&c.output().unwrap())
    };
    assert!(plan(&[("LANG", "zh_CN.UTF-8")], &[]).contains("新文件"));
    assert!(plan(&[("LANG", "zh_CN.UTF-8")], &["--lang", "en"]).contains("new:"));
    assert!(plan(&[("LANG", "C"), ("PIXPIPE_LANG", "zh-CN")], &[]).contains("新文件"));
    assert!(plan(&[("LANG", "C"), ("LC_ALL", "zh_CN.UTF-8")], &[]).contains("新文件"));
    assert!(plan(&[("LC_ALL", ""), ("LANG", "zh_CN.UTF-8")], &[]).contains("新文件"));
    let bad = support::run(&["--lang", "klingon", "check", p.to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("pixpipe speaks en, zh-CN, not \"klingon\""));
    // A mistake in the pipeline file, in Chinese, still naming the file, line and key.
    let no_target = dir.path().join("no-target.yaml");
    std::fs::write(
        &no_target,
        format!("version: 1\ninput:\n  paths: [\"{}\"]\n", input.display()),
    )
    .unwrap();
    let out = support::pixpipe()
        .env("LANG", "zh_CN.UTF-8")
        .args(["check", no_target.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("流水线文件有误：") && err.contains("no-target.yaml"),
        "{err}"
    );
    assert!(
        err.contains("target：请写上 target.dir、target.chevereto 或 target.chevereto_import"),
        "{err}"
    );
    let help = support::pixpipe()
        .env("LANG", "zh_CN.UTF-8")
        .arg("--help")
        .output()
        .unwrap();
    assert!(
        support::stdout(&help).contains("缩放照片档案"),
        "{}",
        support::stdout(&help)
    );
}

#[test]
fn uploads_speak_the_hosts_words_and_machine_output_stays_english() {
    let dir = tempfile::tempdir().unwrap();
    let input = archive(dir.path());
    let server = Server::start(ServerConfig::default());
    let yaml = format!(
        "version: 1\ninput:\n  paths: [\"{}\"]\nledger:\n  path: \"{}\"\nreport:\n  html: \"{}\"\n\
         target:\n  chevereto:\n    url: \"{}\"\n    api_key: ${{CHEVERETO_API_KEY}}\n",
        input.display(),
        dir.path().join("ledger.sqlite").display(),
        dir.path().join("run.html").display(),
        server.base_url()
    );
    let p = dir.path().join("p.yaml");
    std::fs::write(&p, yaml).unwrap();
    let report = dir.path().join("report.jsonl");
    let zh = run_with(
        &p,
        &[("LANG", "zh_CN.UTF-8")],
        &["--report", report.to_str().unwrap()],
    );
    assert_eq!(zh.status.code(), Some(1), "{}", stderr(&zh));
    let err = stderr(&zh);
    assert!(err.contains("注意:部分文件无法上传。"), "{err}");
    assert!(err.contains("检查 错误报告 更多信息."), "{err}");
    assert!(err.contains("已上传 3 个"), "{err}");
    // The report, the page's data and `--json` keep their English words.
    let lines = read_jsonl(&report);
    let broken = lines.iter().find(|l| l["state"] == "failed").unwrap();
    assert!(
        broken["reason"]
            .as_str()
            .unwrap()
            .starts_with("not a supported image")
    );
    let page = std::fs::read_to_string(dir.path().join("run.html")).unwrap();
    assert!(page.contains("<html lang=\"zh-CN\">"));
    assert!(page.contains("已发送") && page.contains("按文件名、标题或原因筛选"));
    // A re-run sends nothing: the host's "nothing was uploaded".
    let again = run_with(&p, &[("LANG", "zh_CN.UTF-8")], &["--json"]);
    let err = stderr(&again);
    let summary: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(summary["already_there"], 3, "{summary}");
    assert!(!err.contains("上传完毕"), "{err}");
    // Without the broken file, a run ends "上传完毕".
    std::fs::remove_file(input.join("broken.jpg")).unwrap();
    support::write_photos(&input.join("more"), 1, 40, 30);
    let done = run_with(&p, &[("PIXPIPE_LANG", "zh-CN")], &[]);
    assert_eq!(done.status.code(), Some(0), "{}", stderr(&done));
    assert!(
        stderr(&done).contains("pixpipe: 上传完毕"),
        "{}",
        stderr(&done)
    );
}
