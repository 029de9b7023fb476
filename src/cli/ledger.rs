//! `pixpipe ledger stats|list|export|forget`.

use std::path::PathBuf;

use super::args::{ExportFormat, LedgerAction};
use super::commands::load;
use super::render;
use crate::config::default_ledger_path;
use crate::exit_codes::ExitCode;
use crate::ledger::{self, LedgerError};

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
        Ok(()) => ExitCode::Success,
        Err(e) => {
            eprintln!("pixpipe: {e}");
            ExitCode::Fatal
        }
    }
}

fn act(path: &std::path::Path, action: LedgerAction) -> Result<(), LedgerError> {
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
        LedgerAction::Forget { keys } => {
            for k in &keys {
                let n = ledger.forget(k)?;
                println!("{k}: forgot {n} output(s)");
            }
        }
    }
    Ok(())
}
