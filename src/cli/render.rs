//! How results are shown: the run's summary, the plan's counts, and the ledger's
//! rows as text, JSON Lines or CSV. States are written with their one spelling.

use crate::config::{RunPlan, Verbosity};
use crate::exit_codes::ExitCode;
use crate::ledger::{OutputRow, StatRow};
use crate::record::Summary;

/// The end of a run: the summary line (or JSON), and the exit code it means.
pub fn finish(summary: &Summary, plan: &RunPlan, json: bool) -> ExitCode {
    if summary.output_closed {
        return ExitCode::BrokenPipe; // nobody is reading any more: say nothing
    }
    if json {
        println!("{}", serde_json::to_string(summary).unwrap_or_default());
    } else if plan.verbosity != Verbosity::Quiet || summary.failed > 0 {
        let see = match &plan.report {
            Some(r) if summary.failed > 0 => format!(" — see {}", r.display()),
            _ => String::new(),
        };
        eprintln!("pixpipe: {}{see}", summary.line());
    }
    if let Some(why) = &summary.fatal {
        eprintln!("pixpipe: stopped: {why}");
        return ExitCode::Fatal;
    }
    if summary.interrupted {
        eprintln!("pixpipe: interrupted; finished files are recorded, run again to go on");
        ExitCode::Interrupted
    } else if summary.failed > 0 {
        ExitCode::SomeFailed
    } else {
        ExitCode::Success
    }
}

/// What a run would do, in the words of the summary.
pub fn plan(s: &Summary, json: bool) {
    let new = s.written + s.uploaded;
    if json {
        let v = serde_json::json!({
            "new": new,
            "new_bytes": s.new_bytes,
            "already_there": s.already_there,
            "duplicate": s.duplicate,
            "skipped": s.skipped,
            "failed": s.failed,
        });
        println!("{v}");
    } else {
        println!(
            "new:            {new} ({})",
            indicatif::HumanBytes(s.new_bytes)
        );
        println!("already there:  {}", s.already_there);
        println!("duplicate:      {}", s.duplicate);
        println!("skipped:        {}", s.skipped);
        println!("failed:         {}", s.failed);
    }
}

pub fn stats(rows: &[StatRow]) {
    println!(
        "{:<60} {:<15} {:>8} {:>12}",
        "target", "state", "files", "bytes"
    );
    for r in rows {
        println!(
            "{:<60} {:<15} {:>8} {:>12}",
            r.target,
            r.state.as_str(),
            r.files,
            r.bytes
        );
    }
}

/// One line per output: state, source md5, location, source path.
pub fn list_line(r: &OutputRow) -> String {
    format!(
        "{}\t{}\t{}\t{}",
        r.state,
        r.source_md5,
        r.location.as_deref().unwrap_or("-"),
        r.source_path
    )
}

pub const CSV_HEADER: &str = "target,source_md5,state,source_path,output_md5,location,viewer_url,delete_url,bytes,width,height,title,at";

pub fn csv_line(r: &OutputRow) -> String {
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let num = |v: Option<u64>| v.map(|b| b.to_string()).unwrap_or_default();
    let cells = [
        r.target.clone(),
        r.source_md5.clone(),
        r.state.to_string(),
        r.source_path.clone(),
        opt(&r.output_md5),
        opt(&r.location),
        opt(&r.viewer_url),
        opt(&r.delete_url),
        num(r.bytes),
        num(r.width.map(u64::from)),
        num(r.height.map(u64::from)),
        opt(&r.title),
        r.at.clone(),
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
