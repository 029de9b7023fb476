//! How each file ended, and the counts of a run.

use std::path::Path;

use serde::Serialize;

use crate::i18n::{Localized, Messages, english};
use crate::media::Sources;

/// How a file ended. Every file scanned ends in exactly one state, and each state
/// has one spelling: the report, the summary, `plan`, `--json`, the ledger and the
/// exports all use [`State::word`] (the summary prints it with spaces).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Written to the folder target.
    Written,
    /// Sent to the host.
    Uploaded,
    /// At the target already: delivered by an earlier run, or the host said it had it.
    AlreadyThere,
    /// The same content as another file of this run, which was taken instead.
    Duplicate,
    /// Not a photo or video pixpipe handles, or left out on purpose.
    Skipped,
    /// Something went wrong with this file; `reason` says what.
    Failed,
    /// Never tried: the run stopped first (the host unreachable, Ctrl-C); a re-run takes it.
    NotStarted,
}

impl State {
    pub const ALL: [State; 7] = [
        State::Written,
        State::Uploaded,
        State::AlreadyThere,
        State::Duplicate,
        State::Skipped,
        State::Failed,
        State::NotStarted,
    ];

    /// The state's one spelling.
    pub fn word(self) -> &'static str {
        match self {
            State::Written => "written",
            State::Uploaded => "uploaded",
            State::AlreadyThere => "already_there",
            State::Duplicate => "duplicate",
            State::Skipped => "skipped",
            State::Failed => "failed",
            State::NotStarted => "not_started",
        }
    }
}

/// One line of the report.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub path: String,
    pub state: State,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The reason as a message, for the sinks people read (the report keeps `reason`).
    #[serde(skip)]
    pub why: Option<Localized>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_md5: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_md5: Option<String>,
    /// Output file or URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub viewer_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delete_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_taken: Option<String>,
    /// Where the title, description, keywords and date came from.
    #[serde(skip_serializing_if = "Sources::is_empty")]
    pub sources: Sources,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// The file with the same content that this run took first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicate_of: Option<String>,
    /// Bytes read from disk for this file (0 when the quick check answered without reading).
    #[serde(skip)]
    pub bytes_read: u64,
    /// The answer may have been lost after the host stored the file.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub possibly_duplicated: bool,
    /// A small JPEG of the output, for the HTML page only (never in the JSON report).
    #[serde(skip)]
    pub thumbnail: Option<Vec<u8>>,
}

impl Outcome {
    pub fn new(path: &Path, state: State) -> Outcome {
        Outcome {
            path: path.display().to_string(),
            state,
            reason: None,
            format: None,
            source_md5: None,
            output_md5: None,
            output: None,
            viewer_url: None,
            delete_url: None,
            width: None,
            height: None,
            source_bytes: None,
            output_bytes: None,
            title: None,
            description: None,
            tags: Vec::new(),
            date_taken: None,
            sources: Sources::default(),
            warnings: Vec::new(),
            duplicate_of: None,
            bytes_read: 0,
            possibly_duplicated: false,
            thumbnail: None,
            why: None,
        }
    }

    pub fn with_reason(path: &Path, state: State, reason: impl Into<String>) -> Outcome {
        let mut o = Outcome::new(path, state);
        o.reason = Some(reason.into());
        o
    }

    /// An outcome whose reason is a message: English in the report, and each person's
    /// language where people read it.
    pub fn said(path: &Path, state: State, why: Localized) -> Outcome {
        let mut o = Outcome::with_reason(path, state, why.english());
        o.why = Some(why);
        o
    }

    /// The reason in the words of `m` (as written, when it is no message of pixpipe's).
    pub fn reason_in(&self, m: &Messages) -> Option<String> {
        match &self.why {
            Some(why) => Some(m.render(why)),
            None => self.reason.clone(),
        }
    }
}

/// Counts per state, and bytes and time, as the summary and `--json` give them.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub written: u64,
    pub uploaded: u64,
    pub already_there: u64,
    pub duplicate: u64,
    pub skipped: u64,
    pub failed: u64,
    pub not_started: u64,
    pub possibly_duplicated: u64,
    /// Files other workers of a shared ledger held: read and delivered by them.
    pub elsewhere: u64,
    /// Bytes of the sources read (files found unchanged by the quick check are not read).
    pub bytes_read: u64,
    /// Bytes written or sent.
    pub bytes_sent: u64,
    /// Bytes of the sources that are new to the target (what a plan would send).
    pub new_bytes: u64,
    pub elapsed_seconds: f64,
    /// Nothing was delivered or recorded: the counts say what a run would do.
    pub dry_run: bool,
    pub interrupted: bool,
    /// Why the run stopped early, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fatal: Option<String>,
    /// The same, as a message, for the people who read it in their language.
    #[serde(skip)]
    pub fatal_why: Option<Localized>,
    /// Standard output or error went away (a closed pipe): the run stopped quietly.
    #[serde(skip)]
    pub output_closed: bool,
}

impl Summary {
    pub fn add(&mut self, o: &Outcome) {
        *self.count_mut(o.state) += 1;
        if matches!(o.state, State::Written | State::Uploaded) {
            self.bytes_sent += o.output_bytes.unwrap_or(0);
            self.new_bytes += o.source_bytes.unwrap_or(0);
        }
        self.bytes_read += o.bytes_read;
        if o.possibly_duplicated {
            self.possibly_duplicated += 1;
        }
    }

    fn count_mut(&mut self, state: State) -> &mut u64 {
        match state {
            State::Written => &mut self.written,
            State::Uploaded => &mut self.uploaded,
            State::AlreadyThere => &mut self.already_there,
            State::Duplicate => &mut self.duplicate,
            State::Skipped => &mut self.skipped,
            State::Failed => &mut self.failed,
            State::NotStarted => &mut self.not_started,
        }
    }

    pub fn count(&self, state: State) -> u64 {
        match state {
            State::Written => self.written,
            State::Uploaded => self.uploaded,
            State::AlreadyThere => self.already_there,
            State::Duplicate => self.duplicate,
            State::Skipped => self.skipped,
            State::Failed => self.failed,
            State::NotStarted => self.not_started,
        }
    }

    /// One line for people, in the spirit of an uploader: "3 uploaded, 2 already there,
    /// 1 failed in 4.2 s: 12.0 MiB read, 1.1 MiB sent, 1.4 files/s". States with no file
    /// are left out, except `failed`, which is always said.
    pub fn line(&self) -> String {
        self.line_in(english())
    }

    /// [`Summary::line`] in the words of `m`.
    pub fn line_in(&self, m: &Messages) -> String {
        let n = |v: u64| [("n", v.to_string())];
        let mut parts = Vec::new();
        for state in State::ALL {
            let count = self.count(state);
            if count > 0 || state == State::Failed {
                parts.push(match state {
                    State::Written if self.dry_run => m.text("msg-would-write", &n(count)),
                    State::Uploaded if self.dry_run => m.text("msg-would-upload", &n(count)),
                    other => m.text(state_count_id(other), &n(count)),
                });
            }
        }
        if self.possibly_duplicated > 0 {
            parts.push(m.text("msg-possibly-duplicated", &n(self.possibly_duplicated)));
        }
        if self.elsewhere > 0 {
            parts.push(m.text("msg-files-left-to-others", &n(self.elsewhere)));
        }
        let files: u64 = State::ALL.iter().map(|s| self.count(*s)).sum();
        let secs = self.elapsed_seconds.max(0.001);
        let verb = if self.uploaded > 0 {
            "msg-verb-sent"
        } else {
            "msg-verb-written"
        };
        m.text(
            "msg-summary",
            &[
                ("counts", parts.join(&m.text("msg-list-separator", &[]))),
                ("seconds", format!("{:.1}", self.elapsed_seconds)),
                ("read", indicatif::HumanBytes(self.bytes_read).to_string()),
                ("sent", indicatif::HumanBytes(self.bytes_sent).to_string()),
                ("verb", m.text(verb, &[])),
                ("rate", format!("{:.1}", files as f64 / secs)),
            ],
        )
    }
}

/// The message of "N in this state", for the summary.
fn state_count_id(state: State) -> &'static str {
    match state {
        State::Written => "msg-state-written",
        State::Uploaded => "msg-state-uploaded",
        State::AlreadyThere => "msg-state-already_there",
        State::Duplicate => "msg-state-duplicate",
        State::Skipped => "msg-state-skipped",
        State::Failed => "msg-state-failed",
        State::NotStarted => "msg-state-not_started",
    }
}

/// The state's word for people, in the words of `m`.
pub fn state_words(state: State, m: &Messages) -> String {
    let id = match state {
        State::Written => "msg-word-written",
        State::Uploaded => "msg-word-uploaded",
        State::AlreadyThere => "msg-word-already_there",
        State::Duplicate => "msg-word-duplicate",
        State::Skipped => "msg-word-skipped",
        State::Failed => "msg-word-failed",
        State::NotStarted => "msg-word-not_started",
    };
    m.text(id, &[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_counts_every_state_with_its_one_spelling() {
        let mut s = Summary::default();
        for st in State::ALL {
            s.add(&Outcome::new(Path::new("x"), st));
            let serde_name = serde_json::to_value(st).unwrap();
            assert_eq!(serde_name.as_str(), Some(st.word()));
        }
        let line = s.line();
        assert!(
            line.starts_with(
                "1 written, 1 uploaded, 1 already there, 1 duplicate, 1 skipped, 1 failed, 1 not started in "
            ),
            "{line}"
        );
        let json = serde_json::to_value(&s).unwrap();
        for st in State::ALL {
            assert_eq!(json[st.word()], 1, "{json}");
        }
    }

    #[test]
    fn a_dry_run_says_what_would_happen() {
        let mut s = Summary {
            dry_run: true,
            ..Summary::default()
        };
        s.add(&Outcome::new(Path::new("x"), State::Uploaded));
        assert!(
            s.line().starts_with("would upload 1, 0 failed"),
            "{}",
            s.line()
        );
    }
}
