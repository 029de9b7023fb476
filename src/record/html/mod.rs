//! The HTML page of a run: one self-contained file (styles, script, thumbnails and
//! icons inline, nothing fetched) that shows the summary and every file with where it
//! went or why not.
//!
//! [`HtmlPage`] is an [`OutcomeSink`]; `page` writes the file, and `pixpipe ledger html`
//! uses the same writer with rows from the ledger.

mod entry;
mod page;

use std::path::{Path, PathBuf};

use super::{Outcome, OutcomeSink, SinkError, State, Summary};

pub use entry::Entry;
pub use page::{Head, write_page};

/// The page of one run, written when the run ends.
///
/// It keeps a few fields of each outcome, and its thumbnail (a few KB: 160 px wide,
/// JPEG q70), until `finish`: its memory grows with the files of the run (about 8 KB a
/// delivered photo, a few hundred bytes for any other file), never with their pixels.
pub struct HtmlPage {
    path: PathBuf,
    head: Head,
    entries: Vec<Entry>,
}

impl HtmlPage {
    /// A page for `path`, about the pipeline `pipeline` delivering to `target` (a folder
    /// or the host's URL: never anything holding the key).
    pub fn new(path: &Path, pipeline: &Path, target: String) -> HtmlPage {
        let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        HtmlPage {
            path,
            head: Head {
                heading: "pixpipe run".into(),
                pipeline: Some(pipeline.display().to_string()),
                targets: vec![target],
                counts: Vec::new(),
                facts: Vec::new(),
            },
            entries: Vec::new(),
        }
    }

    /// The page's folder, which links to outputs in a folder are relative to.
    fn folder(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }
}

impl OutcomeSink for HtmlPage {
    fn record(&mut self, o: &Outcome) -> Result<(), SinkError> {
        let entry = Entry::from_outcome(o, self.folder());
        self.entries.push(entry);
        Ok(())
    }

    fn finish(&mut self, summary: &Summary) -> Result<(), SinkError> {
        self.head.counts = State::ALL
            .iter()
            .map(|s| (s.word().to_string(), summary.count(*s)))
            .collect();
        self.head.facts = facts(summary);
        write_page(&self.path, &self.head, &self.entries).map_err(|source| SinkError {
            path: self.path.clone(),
            source,
        })
    }
}

/// Time, bytes and rate, as the summary line gives them.
fn facts(s: &Summary) -> Vec<(String, String)> {
    let files: u64 = State::ALL.iter().map(|st| s.count(*st)).sum();
    let secs = s.elapsed_seconds.max(0.001);
    let mut facts = vec![
        ("time".to_string(), format!("{:.1} s", s.elapsed_seconds)),
        (
            "bytes read".to_string(),
            indicatif::HumanBytes(s.bytes_read).to_string(),
        ),
        (
            if s.uploaded > 0 {
                "bytes sent"
            } else {
                "bytes written"
            }
            .to_string(),
            indicatif::HumanBytes(s.bytes_sent).to_string(),
        ),
        (
            "rate".to_string(),
            format!("{:.1} files/s", files as f64 / secs),
        ),
    ];
    if s.possibly_duplicated > 0 {
        let n = s.possibly_duplicated.to_string();
        facts.push(("possibly duplicated".to_string(), n));
    }
    if s.dry_run {
        facts.push(("dry run".to_string(), "nothing was delivered".to_string()));
    }
    if let Some(why) = &s.fatal {
        facts.push(("stopped".to_string(), why.clone()));
    }
    facts
}
