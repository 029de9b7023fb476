//! No ledger at all, for `upload --no-ledger`: it knows nothing and keeps nothing,
//! and no file is opened, so nothing is written anywhere.

use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Arc;

use super::{
    FileRow, KnownDir, Ledger, LedgerError, LedgerReader, OutputKey, OutputRow, RunId, RunRow,
    SourceEntry, StatRow,
};

/// The ledger that records nothing: every file is new to it.
pub struct NoLedger;

impl LedgerReader for NoLedger {
    fn known_in_dir(&self, _dir: &Path, _target: &str) -> Result<KnownDir, LedgerError> {
        Ok(KnownDir::new())
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

    fn outputs(
        &self,
        _target: Option<&str>,
        _each: &mut dyn FnMut(OutputRow) -> ControlFlow<()>,
    ) -> Result<(), LedgerError> {
        Ok(())
    }

    fn stats(&self) -> Result<Vec<StatRow>, LedgerError> {
        Ok(Vec::new())
    }

    fn sources(&self) -> Result<Vec<SourceEntry>, LedgerError> {
        Ok(Vec::new())
    }

    fn forget(&mut self, _keys: &[OutputKey]) -> Result<usize, LedgerError> {
        Ok(0)
    }

    fn runs(&self) -> Result<Vec<RunRow>, LedgerError> {
        Ok(Vec::new())
    }

    fn import(&mut self, _runs: &[RunRow], _outputs: &[OutputRow]) -> Result<(), LedgerError> {
        Ok(())
    }
}
