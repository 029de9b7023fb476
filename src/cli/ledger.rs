//! `pixpipe ledger stats|list|export|html|forget`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::args::{ExportFormat, LedgerAction};
use super::commands::load;
use super::render;
use crate::config::THUMBNAIL_WIDTH;
use crate::config::default_ledger_path;
use crate::exit_codes::ExitCode;
use crate::ledger::{self, Ledger, LedgerError, OutputRow};
use crate::record::html::{self, Entry, Head};

/// Why `ledger` could not do its work.
#[derive(Debug, thiserror::Error)]
enum ActError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
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
        Ok(()) => ExitCode::Success,
        Err(e) => {
            eprintln!("pixpipe: {e}");
            ExitCode::Fatal
        }
    }
}

fn act(path: &Path, action: LedgerAction, pipeline: Option<String>) -> Result<(), ActError> {
    let mut ledger = ledger::open(path)?;
    match action {
        LedgerAction::Stats => render::stats(&ledger.stats()?),
        LedgerAction::List => {
            ledger.outputs(None, &mut |r| println!("{}", render::list_line(&r)))?
        }
        LedgerAction::Export { format } => {
            let mut first = true;
            ledger.outputs(None, &mut |r| match format {
                ExportFormat::Jsonl => {
                    println!("{}", serde_json::to_string(&r).unwrap_or_default())
                }
                ExportFormat::Csv => {
                    if std::mem::take(&mut first) {
                        println!("{}", render::CSV_HEADER);
                    }
                    println!("{}", render::csv_line(&r));
                }
            })?
        }
        LedgerAction::Html { file } => page(ledger.as_ref(), &file, pipeline)?,
        LedgerAction::Forget { keys } => {
            for k in &keys {
                let n = ledger.forget(k)?;
                println!("{k}: forgot {n} output(s)");
            }
        }
    }
    Ok(())
}

/// The page of everything delivered to each target (and what failed), from the ledger.
fn page(ledger: &dyn Ledger, file: &Path, pipeline: Option<String>) -> Result<(), ActError> {
    let file = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
    let folder = file.parent().unwrap_or(Path::new(".")).to_path_buf();
    let mut entries = Vec::new();
    let mut counts: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut bytes = 0u64;
    let mut targets = Vec::new();
    ledger.outputs(None, &mut |r| {
        if !r.state.delivered() && r.state != ledger::OutputState::Failed {
            return; // pending: neither there nor failed, as far as the ledger knows
        }
        *counts.entry(r.state.as_str()).or_default() += 1;
        bytes += r.bytes.unwrap_or(0);
        if !targets.contains(&r.target) {
            targets.push(r.target.clone());
        }
        entries.push(Entry::from_row(&r, &folder, thumbnail_on_disk(&r)));
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
    html::write_page(&file, &head, &entries).map_err(|source| ActError::Page {
        path: file.clone(),
        source,
    })?;
    println!("{}: {} files", file.display(), entries.len());
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
