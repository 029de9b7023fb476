//! `pixpipe ledger stats|list|export|html|forget`.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use super::args::{ExportFormat, LedgerAction};
use super::commands::config_error;
use super::commands::load;
use super::forget::{self, Selector};
use super::output::{Output, PrintError};
use super::render;
use crate::config::LedgerPlace;
use crate::config::{self, THUMBNAIL_WIDTH, default_ledger_place};
use crate::exit_codes::ExitCode;
use crate::i18n::Messages;
use crate::ledger::{self, History, LedgerError, OutputRow};
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
    #[error("ledger copy: {0}")]
    Copy(String),
    #[error("cannot write the page {path}: {source}")]
    Page {
        path: PathBuf,
        source: std::io::Error,
    },
}

pub fn command(
    ledger: Option<String>,
    pipeline: Option<PathBuf>,
    action: LedgerAction,
    lang: crate::i18n::Lang,
) -> ExitCode {
    if let LedgerAction::Copy { from, to } = &action {
        return report(copy(from, to));
    }
    let pipeline_name = pipeline.as_ref().map(|p| p.display().to_string());
    // `--ledger` and `--pipeline` exclude each other (the arguments say so), and a
    // pipeline file's place is read as a run reads it.
    let place = match (ledger, pipeline) {
        (Some(l), _) => match LedgerPlace::from_arg(&l) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("pixpipe: --ledger: {e}");
                return ExitCode::BadConfig;
            }
        },
        (None, Some(p)) => {
            match load(&p, lang).and_then(|lp| {
                config::ledger_place(&lp)
                    .map(|(place, _key)| place)
                    .map_err(|e| config_error(&e, lang))
            }) {
                Ok(place) => place,
                Err(code) => return code,
            }
        }
        (None, None) => default_ledger_place(),
    };
    if !place.exists() {
        eprintln!("pixpipe: no ledger at {place}");
        return ExitCode::BadConfig;
    }
    report(act(&place, action, pipeline_name, &Messages::new(lang)))
}

/// The exit code of a ledger command, saying why it stopped when it did.
fn report(result: Result<ExitCode, LedgerCommandError>) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(LedgerCommandError::Print(e)) => e.exit_code(),
        Err(e) => {
            eprintln!("pixpipe: {e}");
            ExitCode::Fatal
        }
    }
}

fn act(
    place: &LedgerPlace,
    action: LedgerAction,
    pipeline: Option<String>,
    m: &Messages,
) -> Result<ExitCode, LedgerCommandError> {
    let mut ledger = ledger::open_history(place)?;
    let mut out = Output::stdout();
    let code = match action {
        LedgerAction::Stats { json } => {
            out.text(&render::stats(&ledger.stats()?, json))?;
            let workers = ledger.workers()?;
            if !json && !workers.is_empty() {
                out.text(&render::workers(&workers, false))?;
            }
            ExitCode::Success
        }
        LedgerAction::Workers { json } => {
            out.text(&render::workers(&ledger.workers()?, json))?;
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
            page(ledger.as_ref(), &file, pipeline, &mut out, m)?;
            ExitCode::Success
        }
        LedgerAction::Forget { keys } => forget(ledger.as_mut(), &keys, &mut out)?,
        LedgerAction::Copy { .. } => unreachable!("handled before a ledger is opened"),
    };
    out.finish()?;
    Ok(code)
}

/// Copies every run and output row into an empty ledger, then checks that both count
/// the same files and bytes per target and state. The quick-check cache is not copied:
/// a first run on the new ledger reads each file once more, and sends nothing again.
fn copy(from: &str, to: &str) -> Result<ExitCode, LedgerCommandError> {
    let (from, to) = (
        LedgerPlace::from_arg(from)
            .map_err(|e| LedgerCommandError::Copy(format!("--from: {e}")))?,
        LedgerPlace::from_arg(to).map_err(|e| LedgerCommandError::Copy(format!("--to: {e}")))?,
    );
    if !from.exists() {
        return Err(LedgerCommandError::Copy(format!("no ledger at {from}")));
    }
    let source = ledger::open_history(&from)?;
    let mut dest = ledger::open_history(&to)?;
    let held: u64 = dest.stats()?.iter().map(|r| r.files).sum();
    if held > 0 {
        return Err(LedgerCommandError::Copy(format!(
            "{to} already holds {held} outputs: copy into an empty ledger"
        )));
    }
    dest.import(&source.runs()?, &[])?;
    let mut batch = Vec::new();
    let mut failed = Ok(());
    source.outputs(None, &mut |row| {
        batch.push(row);
        if batch.len() >= 500 {
            failed = dest.import(&[], &std::mem::take(&mut batch));
        }
        if failed.is_ok() {
            ControlFlow::Continue(())
        } else {
            ControlFlow::Break(())
        }
    })?;
    failed?;
    dest.import(&[], &batch)?;
    let (before, after) = (source.stats()?, dest.stats()?);
    let mut out = Output::stdout();
    out.text(&render::stats(&after, false))?;
    let counts = |rows: &[ledger::StatRow]| {
        rows.iter()
            .map(|r| ((r.target.clone(), r.state.as_str()), (r.files, r.bytes)))
            .collect::<BTreeMap<_, _>>()
    };
    if counts(&before) != counts(&after) {
        return Err(LedgerCommandError::Copy(format!(
            "the counts of {to} differ from those of {from} after the copy"
        )));
    }
    let files: u64 = after.iter().map(|r| r.files).sum();
    out.line(format_args!(
        "copied {files} outputs from {from} to {to}; the counts agree"
    ))?;
    out.finish()?;
    Ok(ExitCode::Success)
}

/// Every output row as JSON Lines, or as CSV under its header.
fn export(
    ledger: &dyn History,
    out: &mut Output,
    format: ExportFormat,
) -> Result<(), LedgerCommandError> {
    match format {
        ExportFormat::Jsonl => print_rows(ledger, out, |r| Some(render::json_line(r))),
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
    ledger: &dyn History,
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
    ledger: &mut dyn History,
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
    ledger: &dyn History,
    file: &Path,
    pipeline: Option<String>,
    out: &mut Output,
    m: &Messages,
) -> Result<(), LedgerCommandError> {
    let file = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
    let folder = file.parent().unwrap_or(Path::new(".")).to_path_buf();
    let mut counts: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut bytes = 0u64;
    let mut rows = 0u64;
    // The rows go out to the page's files as they come, so memory holds two files'
    // rows whatever the ledger's size; the summary, known last, heads the first file.
    let mut pages = html::Pages::new(&file, html::ROWS_PER_FILE);
    let mut head = Head {
        heading: "pixpipe ledger".into(),
        pipeline,
        ..Head::default()
    };
    let mut written = Ok(());
    ledger.outputs(None, &mut |r| {
        if !r.state.delivered() && r.state != ledger::OutputState::Failed {
            return ControlFlow::Continue(()); // pending: neither there nor failed, as far as the ledger knows
        }
        *counts.entry(r.state.as_str()).or_default() += 1;
        bytes += r.bytes.unwrap_or(0);
        rows += 1;
        if !head.targets.contains(&r.target) {
            head.targets.push(r.target.clone());
        }
        written = pages.push(
            Entry::from_row(&r, &folder, thumbnail_on_disk(&r)),
            &head,
            m,
        );
        match written {
            Ok(()) => ControlFlow::Continue(()),
            Err(_) => ControlFlow::Break(()),
        }
    })?;
    head.counts = counts
        .into_iter()
        .map(|(s, n)| (s.to_string(), n))
        .collect();
    head.facts = vec![
        (m.text("msg-page-files", &[]), rows.to_string()),
        (
            m.text("msg-page-bytes", &[]),
            indicatif::HumanBytes(bytes).to_string(),
        ),
    ];
    let page_err = |source| LedgerCommandError::Page {
        path: file.clone(),
        source,
    };
    written.map_err(page_err)?;
    let parts = pages.finish(&head, m).map_err(page_err)?;
    out.line(format_args!(
        "{}: {rows} files in {parts} part(s)",
        file.display()
    ))?;
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
