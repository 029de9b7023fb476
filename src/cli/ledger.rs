//! `pixpipe ledger stats|list|export|html|forget`.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use super::args::{ExportFormat, LedgerAction};
use super::commands::load;
use super::forget::{self, Selector};
use super::output::{Output, PrintError};
use super::render;
use crate::config::THUMBNAIL_WIDTH;
use crate::config::default_ledger_path;
use crate::exit_codes::ExitCode;
use crate::ledger::{self, Ledger, LedgerError, OutputRow};
use crate::record::html::{self, Entry, Head};

/// Why a `pixpipe ledger` command stopped.
#[derive(Debug, thiserror::Error)]
enum LedgerCommandError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Print(#[from] PrintError),
    #[error("cannot tell the current folder, which relative paths start from: {0}")]
    CurrentFolder(std::io::Error),
    #[error("cannot write the page {path}: {source}")]
    Page {
        path: PathBuf,
        source: std::io::Error,
    },
}

pub fn command(
    ledger: Option<PathBuf>,
    pipeline: Option<PathBuf>,
    action: LedgerAction,
) -> ExitCode {
    let pipeline_name = pipeline.as_ref().map(|p| p.display().to_string());
    let path = match (ledger, pipeline) {
        (Some(l), _) => l,
        (None, Some(p)) => match load(&p) {
            Ok(lp) => match &lp.pipeline.ledger.path {
                Some(l) => lp.resolve(l.as_str()),
                None => default_ledger_path(),
            },
            Err(code) => return code,
        },
        (None, None) => default_ledger_path(),
    };
    if !path.exists() {
        eprintln!("pixpipe: no ledger at {}", path.display());
        return ExitCode::BadConfig;
    }
    match act(&path, action, pipeline_name) {
        Ok(code) => code,
        Err(LedgerCommandError::Print(e)) => e.exit_code(),
        Err(e) => {
            eprintln!("pixpipe: {e}");
            ExitCode::Fatal
        }
    }
}

fn act(
    path: &Path,
    action: LedgerAction,
    pipeline: Option<String>,
) -> Result<ExitCode, LedgerCommandError> {
    let mut ledger = ledger::open(path)?;
    let mut out = Output::stdout();
    let code = match action {
        LedgerAction::Stats { json } => {
            out.text(&render::stats(&ledger.stats()?, json))?;
            ExitCode::Success
        }
        LedgerAction::List { state } => {
            print_rows(ledger.as_ref(), &mut out, |r| {
                state
                    .is_none_or(|s| s == r.state)
                    .then(|| render::list_line(r))
            })?;
            ExitCode::Success
        }
        LedgerAction::Export { format } => {
            export(ledger.as_ref(), &mut out, format)?;
            ExitCode::Success
        }
        LedgerAction::Html { file } => {
            page(ledger.as_ref(), &file, pipeline, &mut out)?;
            ExitCode::Success
        }
        LedgerAction::Forget { keys } => forget(ledger.as_mut(), &keys, &mut out)?,
    };
    out.finish()?;
    Ok(code)
}

/// Every output row as JSON Lines, or as CSV under its header.
fn export(
    ledger: &dyn Ledger,
    out: &mut Output,
    format: ExportFormat,
) -> Result<(), LedgerCommandError> {
    match format {
        ExportFormat::Jsonl => print_rows(ledger, out, |r| {
            Some(serde_json::to_string(r).unwrap_or_default())
        }),
        ExportFormat::Csv => {
            let mut first = true;
            print_rows(ledger, out, |r| {
                Some(match std::mem::take(&mut first) {
                    true => format!("{}\n{}", render::CSV_HEADER, render::csv_line(r)),
                    false => render::csv_line(r),
                })
            })
        }
    }
}

/// One line per output row; the table is read no further once printing stops.
fn print_rows(
    ledger: &dyn Ledger,
    out: &mut Output,
    mut line: impl FnMut(&OutputRow) -> Option<String>,
) -> Result<(), LedgerCommandError> {
    let mut printed = Ok(());
    ledger.outputs(None, &mut |r| {
        if let Some(text) = line(&r) {
            printed = out.line(text);
        }
        match printed {
            Ok(()) => ControlFlow::Continue(()),
            Err(_) => ControlFlow::Break(()),
        }
    })?;
    Ok(printed?)
}

/// Forgets what the arguments name, all in one go; exit 1 names each argument that
/// matched nothing, since a typo must not pass for "done".
fn forget(
    ledger: &mut dyn Ledger,
    args: &[String],
    out: &mut Output,
) -> Result<ExitCode, LedgerCommandError> {
    let cwd = std::env::current_dir().map_err(LedgerCommandError::CurrentFolder)?;
    let selectors: Vec<Selector> = args.iter().map(|a| Selector::new(a, &cwd)).collect();
    let picked = forget::pick(&ledger.sources()?, &selectors);
    ledger.forget(&picked.keys)?;
    let mut code = ExitCode::Success;
    for (arg, n) in args.iter().zip(&picked.counts) {
        if *n == 0 {
            eprintln!("pixpipe: {arg}: no output in the ledger has this source md5, path or glob");
            code = ExitCode::SomeFailed;
        } else {
            out.line(format_args!("{arg}: forgot {n} output(s)"))?;
        }
    }
    Ok(code)
}

/// The page of everything delivered to each target (and what failed), from the ledger.
fn page(
    ledger: &dyn Ledger,
    file: &Path,
    pipeline: Option<String>,
    out: &mut Output,
) -> Result<(), LedgerCommandError> {
    let file = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
    let folder = file.parent().unwrap_or(Path::new(".")).to_path_buf();
    let mut entries = Vec::new();
    let mut counts: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut bytes = 0u64;
    let mut targets = Vec::new();
    ledger.outputs(None, &mut |r| {
        if !r.state.delivered() && r.state != ledger::OutputState::Failed {
            return ControlFlow::Continue(()); // pending: neither there nor failed, as far as the ledger knows
        }
        *counts.entry(r.state.as_str()).or_default() += 1;
        bytes += r.bytes.unwrap_or(0);
        if !targets.contains(&r.target) {
            targets.push(r.target.clone());
        }
        entries.push(Entry::from_row(&r, &folder, thumbnail_on_disk(&r)));
        ControlFlow::Continue(())
    })?;
    let head = Head {
        heading: "pixpipe ledger".into(),
        pipeline,
        targets,
        counts: counts
            .into_iter()
            .map(|(s, n)| (s.to_string(), n))
            .collect(),
        facts: vec![
            ("files".into(), entries.len().to_string()),
            ("bytes".into(), indicatif::HumanBytes(bytes).to_string()),
        ],
    };
    html::write_page(&file, &head, &entries).map_err(|source| LedgerCommandError::Page {
        path: file.clone(),
        source,
    })?;
    out.line(format_args!("{}: {} files", file.display(), entries.len()))?;
    Ok(())
}

/// A thumbnail of an output of a folder target that is still on disk: read and shrunk
/// again, since the ledger keeps no pixels. Anything else is shown by its links.
fn thumbnail_on_disk(r: &OutputRow) -> Option<Vec<u8>> {
    if !r.target.starts_with("dir:") || !r.state.delivered() {
        return None;
    }
    let bytes = std::fs::read(r.location.as_deref()?).ok()?;
    crate::transform::thumbnail_of_file(&bytes, THUMBNAIL_WIDTH).ok()
}
