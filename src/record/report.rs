//! The JSON Lines report: one line per file, written whole as it goes, so a crash
//! keeps every finished line and never half of one.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{Outcome, OutcomeSink, SinkError, Summary};

/// The report file.
pub struct ReportWriter {
    path: PathBuf,
    out: std::fs::File,
}

impl ReportWriter {
    pub fn create(path: &Path) -> Result<ReportWriter, SinkError> {
        let err = |source| SinkError {
            path: path.to_path_buf(),
            source,
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(err)?;
        }
        Ok(ReportWriter {
            path: path.to_path_buf(),
            out: std::fs::File::create(path).map_err(err)?,
        })
    }

    fn err(&self, source: std::io::Error) -> SinkError {
        SinkError {
            path: self.path.clone(),
            source,
        }
    }
}

impl OutcomeSink for ReportWriter {
    fn record(&mut self, o: &Outcome) -> Result<(), SinkError> {
        let mut line = serde_json::to_vec(o).map_err(|e| self.err(e.into()))?;
        line.push(b'\n');
        self.out.write_all(&line).map_err(|e| self.err(e))
    }

    fn finish(&mut self, _summary: &Summary) -> Result<(), SinkError> {
        self.out.sync_data().map_err(|e| self.err(e))
    }
}
