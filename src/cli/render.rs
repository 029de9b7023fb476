//! How results are shown: the run's summary, the plan's counts, and the ledger's
//! rows as text, JSON Lines or CSV. States are written with their one spelling.

use std::fmt::Write as _;

use super::output::{self, Output, PrintError};
use crate::config::{RunPlan, Verbosity};
use crate::exit_codes::ExitCode;
use crate::i18n::{Lang, Messages};
use crate::ledger::{OutputRow, OutputState, StatRow, WorkerRow};
use crate::record::{ReportWriter, Summary};

/// The end of a run: the summary line (or JSON), and the exit code it means. In
/// Chinese, the host's own uploader's words come first ("上传完毕", ...).
pub fn finish(summary: &Summary, plan: &RunPlan, json: bool) -> ExitCode {
    if summary.output_closed {
        return ExitCode::BrokenPipe; // nobody is reading any more: say nothing
    }
    let m = Messages::new(plan.lang);
    let mut printed = Ok(());
    if json {
        let line = serde_json::to_string(summary).unwrap_or_default();
        printed = output::print(format!("{line}\n").as_bytes());
    } else if plan.verbosity != Verbosity::Quiet || summary.failed > 0 {
        let see = match &plan.report {
            Some(r) if summary.failed > 0 && ReportWriter::is_stdout(r) => {
                m.text("msg-see-report", &[])
            }
            Some(r) if summary.failed > 0 => {
                m.text("msg-see-file", &[("file", r.display().to_string())])
            }
            _ => String::new(),
        };
        for line in headline(summary, plan, &m) {
            eprintln!("pixpipe: {line}");
        }
        eprintln!("pixpipe: {}{see}", summary.line_in(&m));
    }
    output::finished(printed, run_code(summary, &m))
}

/// The lines an uploader's users know, before the counts: done, nothing sent, some
/// failed (with where to look). Said in Chinese, where they are the host's own words;
/// the English summary line says as much already. A folder target has its counts only.
fn headline(summary: &Summary, plan: &RunPlan, m: &Messages) -> Vec<String> {
    let uploads = plan.target.remote();
    if m.lang() == Lang::En || summary.dry_run || !uploads {
        return Vec::new();
    }
    let mut lines = Vec::new();
    let delivered = summary.uploaded + summary.written;
    if delivered == 0 {
        lines.push(m.text("msg-done-nothing-uploaded", &[]));
    } else if summary.failed == 0 && summary.fatal.is_none() && !summary.interrupted {
        lines.push(m.text("msg-done-uploaded", &[]));
    }
    if summary.failed > 0 {
        lines.push(m.text("msg-some-failed", &[]));
        lines.push(m.text("msg-see-errors", &[]));
    }
    lines
}

/// What the run's counts mean as an exit code, with the words that go with it.
fn run_code(summary: &Summary, m: &Messages) -> ExitCode {
    if let Some(why) = summary
        .fatal_why
        .as_ref()
        .map(|w| m.render(w))
        .or(summary.fatal.clone())
    {
        eprintln!(
            "pixpipe: {}",
            m.text("msg-stopped", &[("why", why.clone())])
        );
        return ExitCode::Fatal;
    }
    if summary.interrupted {
        eprintln!("pixpipe: {}", m.text("msg-interrupted", &[]));
        ExitCode::Interrupted
    } else if summary.failed > 0 {
        ExitCode::SomeFailed
    } else {
        ExitCode::Success
    }
}

/// What a run would do, in the words of the summary.
pub fn plan(s: &Summary, json: bool, m: &Messages) -> Result<(), PrintError> {
    let new = s.written + s.uploaded;
    let mut out = Output::stdout();
    if json {
        let v = serde_json::json!({
            "new": new,
            "new_bytes": s.new_bytes,
            "already_there": s.already_there,
            "duplicate": s.duplicate,
            "skipped": s.skipped,
            "failed": s.failed,
        });
        out.line(v)?;
    } else {
        let n = |v: u64| ("n", v.to_string());
        let bytes = ("bytes", indicatif::HumanBytes(s.new_bytes).to_string());
        out.line(m.text("msg-plan-new", &[n(new), bytes]))?;
        out.line(m.text("msg-plan-already-there", &[n(s.already_there)]))?;
        out.line(m.text("msg-plan-duplicate", &[n(s.duplicate)]))?;
        out.line(m.text("msg-plan-skipped", &[n(s.skipped)]))?;
        out.line(m.text("msg-plan-failed", &[n(s.failed)]))?;
    }
    out.finish()
}

/// Files and bytes per target and state: a table, or a JSON array of {target, state, files, bytes}.
pub fn stats(rows: &[StatRow], json: bool) -> String {
    if json {
        return format!("{}\n", serde_json::to_string(rows).unwrap_or_default());
    }
    let mut s = format!(
        "{:<60} {:<15} {:>8} {:>12}\n",
        "target", "state", "files", "bytes"
    );
    for r in rows {
        let _ = writeln!(
            s,
            "{:<60} {:<15} {:>8} {:>12}",
            r.target,
            r.state.as_str(),
            r.files,
            r.bytes
        );
    }
    s
}

/// The workers of a shared ledger, newest first: a table, or a JSON array.
pub fn workers(rows: &[WorkerRow], json: bool) -> String {
    if json {
        return format!("{}\n", serde_json::to_string(rows).unwrap_or_default());
    }
    let mut s = format!(
        "\n{:<44} {:<9} {:<21} {:>7} {:>8} {:>8}\n",
        "worker", "status", "lease until", "claims", "outputs", "files/s"
    );
    for w in rows {
        let status = match (w.live, w.finished) {
            (true, _) => "live",
            (false, true) => "finished",
            (false, false) => "lost",
        };
        let _ = writeln!(
            s,
            "{:<44} {:<9} {:<21} {:>7} {:>8} {:>8.1}",
            w.id, status, w.lease_until, w.claims, w.outputs, w.files_per_second
        );
    }
    s
}

/// One line per output: state, source md5, location, source path.
pub fn list_line(r: &OutputRow) -> String {
    let where_or_why = match r.state {
        OutputState::Failed => r.reason.as_deref(),
        _ => r.location.as_deref(),
    };
    // One row a line, one cell a tab: a reason that spans lines must not break the table.
    let cell = |s: &str| s.replace(['\t', '\n', '\r'], " ").trim().to_string();
    format!(
        "{}\t{}\t{}\t{}",
        r.state,
        r.source_md5,
        cell(where_or_why.unwrap_or("-")),
        cell(&r.source_path)
    )
}

/// An output row as `ledger export --format jsonl` has always spelt it: the host's
/// answers as fields of their own (`id` and `md5` as `remote_id`, `remote_md5`), each
/// present, null when the target gave none.
#[derive(serde::Serialize)]
struct JsonRow<'a> {
    target: &'a str,
    source_md5: &'a str,
    state: OutputState,
    source_path: &'a str,
    output_md5: Option<&'a str>,
    location: Option<&'a str>,
    viewer_url: Option<&'a str>,
    short_url: Option<&'a str>,
    delete_url: Option<&'a str>,
    remote_id: Option<&'a str>,
    remote_md5: Option<&'a str>,
    bytes: Option<u64>,
    width: Option<u32>,
    height: Option<u32>,
    title: Option<&'a str>,
    reason: Option<&'a str>,
    at: &'a str,
}

/// One output row as a line of JSON.
pub fn json_line(r: &OutputRow) -> String {
    let row = JsonRow {
        target: &r.target,
        source_md5: &r.source_md5,
        state: r.state,
        source_path: &r.source_path,
        output_md5: r.output_md5.as_deref(),
        location: r.location.as_deref(),
        viewer_url: r.answer("viewer_url"),
        short_url: r.answer("short_url"),
        delete_url: r.answer("delete_url"),
        remote_id: r.answer("id"),
        remote_md5: r.answer("md5"),
        bytes: r.bytes,
        width: r.width,
        height: r.height,
        title: r.title.as_deref(),
        reason: r.reason.as_deref(),
        at: &r.at,
    };
    serde_json::to_string(&row).expect("a row of strings and numbers is JSON")
}

pub const CSV_HEADER: &str = "target,source_md5,state,source_path,output_md5,location,viewer_url,delete_url,bytes,width,height,title,at,reason";

pub fn csv_line(r: &OutputRow) -> String {
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let num = |v: Option<u64>| v.map(|b| b.to_string()).unwrap_or_default();
    let answer = |name: &str| r.answer(name).unwrap_or_default().to_string();
    let cells = [
        r.target.clone(),
        r.source_md5.clone(),
        r.state.to_string(),
        r.source_path.clone(),
        opt(&r.output_md5),
        opt(&r.location),
        answer("viewer_url"),
        answer("delete_url"),
        num(r.bytes),
        num(r.width.map(u64::from)),
        num(r.height.map(u64::from)),
        opt(&r.title),
        r.at.clone(),
        opt(&r.reason),
    ];
    cells
        .iter()
        .map(|c| csv_cell(c))
        .collect::<Vec<_>>()
        .join(",")
}

/// A CSV cell, quoted when it must be.
fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_jsonl_export_spells_the_hosts_answers_as_before() {
        let mut r = OutputRow::new("chevereto:h", "m", OutputState::Uploaded);
        r.at = "t".into();
        r.answer
            .insert("viewer_url".into(), "https://h/image/a".into());
        r.answer.insert("id".into(), "A1".into());
        r.answer.insert("md5".into(), "0123".into());
        let line = json_line(&r);
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            line.find("\"target\"").unwrap(),
            1,
            "the first field, as before: {line}"
        );
        assert_eq!(keys.len(), 17, "{keys:?}");
        assert_eq!(v["viewer_url"], "https://h/image/a");
        assert_eq!(v["remote_id"], "A1");
        assert_eq!(v["remote_md5"], "0123");
        assert!(v["short_url"].is_null() && v["delete_url"].is_null());
        assert_eq!(v["state"], "uploaded");
        let csv = csv_line(&r);
        assert!(csv.contains(",https://h/image/a,,"), "{csv}");
    }
}
