//! The JSON Lines report: one line per file, written whole as it goes, so a crash
//! keeps every finished line and never half of one. `--report -` writes it to stdout,
//! for a pipe into `jq` or another program.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{Outcome, OutcomeSink, SinkError, Summary};

/// What the report is called in messages when it goes to stdout.
pub const STDOUT_NAME: &str = "the report on stdout";

/// Where the report goes.
enum Out {
    File(std::fs::File),
    Stdout(std::io::Stdout),
}

/// The report file, or stdout.
pub struct ReportWriter {
    path: PathBuf,
    out: Out,
}

impl ReportWriter {
    /// Whether `path` asks for stdout (`-`, as for most tools).
    pub fn is_stdout(path: &Path) -> bool {
        path == Path::new("-")
    }

    pub fn create(path: &Path) -> Result<ReportWriter, SinkError> {
        if ReportWriter::is_stdout(path) {
            return Ok(ReportWriter {
                path: PathBuf::from(STDOUT_NAME),
                out: Out::Stdout(std::io::stdout()),
            });
        }
        let err = |source| SinkError {
            path: path.to_path_buf(),
            source,
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(err)?;
        }
        Ok(ReportWriter {
            path: path.to_path_buf(),
            out: Out::File(std::fs::File::create(path).map_err(err)?),
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
        let written = match &mut self.out {
            Out::File(f) => f.write_all(&line),
            // Flushed line by line, so whoever reads the pipe sees each file as it ends.
            Out::Stdout(s) => {
                let mut s = s.lock();
                s.write_all(&line).and_then(|()| s.flush())
            }
        };
        written.map_err(|e| self.err(e))
    }

    fn finish(&mut self, _summary: &Summary) -> Result<(), SinkError> {
        let done = match &mut self.out {
            Out::File(f) => f.sync_data(),
            Out::Stdout(s) => s.flush(),
        };
        done.map_err(|e| self.err(e))
    }
}
