//! No ledger at all, for `upload --no-ledger`: it knows nothing and keeps nothing,
//! and no file is opened, so nothing is written anywhere. It has no [`super::History`]:
//! there is nothing to look into.

use std::path::Path;
use std::sync::Arc;

use super::{FileRow, KnownDir, Ledger, LedgerError, LedgerReader, OutputKey, OutputRow, RunId};

/// The ledger that records nothing: every file is new to it.
pub struct NoLedger;

impl LedgerReader for NoLedger {
    fn known_in_dir(&self, _dir: &Path, _target: &str) -> Result<KnownDir, LedgerError> {
        Ok(KnownDir::default())
    }

    fn lookup(&self, _target: &str, _source_md5: &str) -> Result<Option<OutputRow>, LedgerError> {
        Ok(None)
    }
}

impl Ledger for NoLedger {
    fn reader(&self) -> Result<Arc<dyn LedgerReader>, LedgerError> {
        Ok(Arc::new(NoLedger))
    }

    fn begin_run(&mut self, _pipeline: &str, _target: &str) -> Result<RunId, LedgerError> {
        Ok(RunId(0))
    }

    fn commit(
        &mut self,
        _files: &[FileRow],
        _outputs: &[OutputRow],
        _run: RunId,
    ) -> Result<Vec<OutputKey>, LedgerError> {
        Ok(Vec::new())
    }

    fn clear_pending(&mut self, _target: &str, _source_md5: &str) -> Result<(), LedgerError> {
        Ok(())
    }

    fn finish_run(&mut self, _run: RunId, _summary: &str) -> Result<(), LedgerError> {
        Ok(())
    }
}
