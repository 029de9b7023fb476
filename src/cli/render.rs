//! How results are shown: the run's summary, the plan's counts, and the ledger's
//! rows as text, JSON Lines or CSV. States are written with their one spelling.

use std::fmt::Write as _;

use super::output::{self, Output, PrintError};
use crate::config::{RunPlan, Verbosity};
use crate::exit_codes::ExitCode;
use crate::ledger::{OutputRow, OutputState, StatRow};
use crate::record::{ReportWriter, Summary};

/// The end of a run: the summary line (or JSON), and the exit code it means.
pub fn finish(summary: &Summary, plan: &RunPlan, json: bool) -> ExitCode {
    if summary.output_closed {
        return ExitCode::BrokenPipe; // nobody is reading any more: say nothing
    }
    let mut printed = Ok(());
    if json {
        let line = serde_json::to_string(summary).unwrap_or_default();
        printed = output::print(format!("{line}\n").as_bytes());
    } else if plan.verbosity != Verbosity::Quiet || summary.failed > 0 {
        let see = match &plan.report {
            Some(r) if summary.failed > 0 && ReportWriter::is_stdout(r) => {
                " — see the report".into()
            }
            Some(r) if summary.failed > 0 => format!(" — see {}", r.display()),
            _ => String::new(),
        };
        eprintln!("pixpipe: {}{see}", summary.line());
    }
    output::finished(printed, run_code(summary))
}

/// What the run's counts mean as an exit code, with the words that go with it.
fn run_code(summary: &Summary) -> ExitCode {
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
pub fn plan(s: &Summary, json: bool) -> Result<(), PrintError> {
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
        out.line(format_args!(
            "new:            {new} ({})",
            indicatif::HumanBytes(s.new_bytes)
        ))?;
        out.line(format_args!("already there:  {}", s.already_there))?;
        out.line(format_args!("duplicate:      {}", s.duplicate))?;
        out.line(format_args!("skipped:        {}", s.skipped))?;
        out.line(format_args!("failed:         {}", s.failed))?;
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

pub const CSV_HEADER: &str = "target,source_md5,state,source_path,output_md5,location,viewer_url,delete_url,bytes,width,height,title,at,reason";

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
