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
pub use page::{Head, Pages, ROWS_PER_FILE};

use crate::i18n::Messages;

/// The page of one run, its parts written as they fill, its first file (with the
/// summary) when the run ends.
///
/// It keeps a few fields of each outcome, and its thumbnail (a few KB: 160 px wide,
/// JPEG q70), for two parts of the page at most (see [`Pages`]): about 16 MB for a
/// run of delivered photos, whatever the number of files.
pub struct HtmlPage {
    path: PathBuf,
    head: Head,
    pages: Option<Pages>,
    words: Messages,
}

impl HtmlPage {
    /// A page for `path`, about the pipeline `pipeline` delivering to `target` (a folder
    /// or the host's URL: never anything holding the key).
    pub fn new(path: &Path, pipeline: &Path, target: String, words: Messages) -> HtmlPage {
        let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        HtmlPage {
            pages: Some(Pages::new(&path, ROWS_PER_FILE)),
            path,
            head: Head {
                heading: "pixpipe run".into(),
                pipeline: Some(pipeline.display().to_string()),
                targets: vec![target],
                counts: Vec::new(),
                facts: Vec::new(),
            },
            words,
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
        let Some(pages) = self.pages.as_mut() else {
            return Ok(());
        };
        pages
            .push(entry, &self.head, &self.words)
            .map_err(|source| SinkError {
                path: self.path.clone(),
                source,
            })
    }

    fn finish(&mut self, summary: &Summary) -> Result<(), SinkError> {
        self.head.counts = State::ALL
            .iter()
            .map(|s| (s.word().to_string(), summary.count(*s)))
            .collect();
        self.head.facts = facts(summary, &self.words);
        let Some(pages) = self.pages.take() else {
            return Ok(());
        };
        match pages.finish(&self.head, &self.words) {
            Ok(_) => Ok(()),
            Err(source) => Err(SinkError {
                path: self.path.clone(),
                source,
            }),
        }
    }
}

/// Time, bytes and rate, as the summary line gives them.
fn facts(s: &Summary, m: &Messages) -> Vec<(String, String)> {
    let w = |id: &str| m.text(id, &[]);
    let files: u64 = State::ALL.iter().map(|st| s.count(*st)).sum();
    let secs = s.elapsed_seconds.max(0.001);
    let seconds = format!("{:.1}", s.elapsed_seconds);
    let rate = format!("{:.1}", files as f64 / secs);
    let mut facts = vec![
        (
            w("msg-page-time"),
            m.text("msg-page-seconds", &[("seconds", seconds)]),
        ),
        (
            w("msg-page-read"),
            indicatif::HumanBytes(s.bytes_read).to_string(),
        ),
        (
            w(if s.uploaded > 0 {
                "msg-page-sent"
            } else {
                "msg-page-written"
            }),
            indicatif::HumanBytes(s.bytes_sent).to_string(),
        ),
        (
            w("msg-page-rate"),
            m.text("msg-page-rate-value", &[("rate", rate)]),
        ),
    ];
    if s.possibly_duplicated > 0 {
        let n = s.possibly_duplicated.to_string();
        facts.push((w("msg-page-possibly-duplicated"), n));
    }
    if s.dry_run {
        facts.push((w("msg-page-dry-run"), w("msg-page-nothing-delivered")));
    }
    if let Some(why) = &s.fatal {
        facts.push((w("msg-page-stopped"), why.clone()));
    }
    facts
}
