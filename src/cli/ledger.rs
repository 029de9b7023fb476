//! `pixpipe ledger stats|list|export|forget`.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use super::args::{ExportFormat, LedgerAction};
use super::commands::load;
use super::forget::{self, Selector};
use super::output::{Output, PrintError};
use super::render;
use crate::config::default_ledger_path;
use crate::exit_codes::ExitCode;
use crate::ledger::{self, Ledger, LedgerError, OutputRow};

/// Why a `pixpipe ledger` command stopped.
#[derive(Debug, thiserror::Error)]
enum LedgerCommandError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Print(#[from] PrintError),
    #[error("cannot tell the current folder, which relative paths start from: {0}")]
    CurrentFolder(std::io::Error),
}

pub fn command(
    ledger: Option<PathBuf>,
    pipeline: Option<PathBuf>,
    action: LedgerAction,
) -> ExitCode {
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
    match act(&path, action) {
        Ok(code) => code,
        Err(LedgerCommandError::Print(e)) => e.exit_code(),
        Err(e) => {
            eprintln!("pixpipe: {e}");
            ExitCode::Fatal
        }
    }
}

fn act(path: &Path, action: LedgerAction) -> Result<ExitCode, LedgerCommandError> {
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
