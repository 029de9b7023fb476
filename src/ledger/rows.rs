//! The rows a ledger holds, as every backend gives and takes them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{LedgerErrorKind, now_iso};

/// The state of a (target, source) pair in the ledger, in the report's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputState {
    /// Written to a folder, at its location.
    Written,
    /// Stored by the host, with its URLs.
    Uploaded,
    /// The host said it already had these bytes (no location known).
    AlreadyThere,
    /// The last try failed; the row keeps the reason, and a re-run tries again.
    Failed,
    /// Sent, but the run stopped before the answer came: may or may not be on the host.
    Pending,
}

impl OutputState {
    pub const ALL: [OutputState; 5] = [
        OutputState::Written,
        OutputState::Uploaded,
        OutputState::AlreadyThere,
        OutputState::Failed,
        OutputState::Pending,
    ];

    /// The one spelling: the database, the JSON, the CSV and the tables all use it.
    pub fn as_str(self) -> &'static str {
        match self {
            OutputState::Written => "written",
            OutputState::Uploaded => "uploaded",
            OutputState::AlreadyThere => "already_there",
            OutputState::Failed => "failed",
            OutputState::Pending => "pending",
        }
    }

    /// Reads a stored state; an unknown one is an error, never a guess.
    pub fn parse(s: &str) -> Result<OutputState, LedgerErrorKind> {
        OutputState::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| LedgerErrorKind::UnknownState(s.to_string()))
    }

    /// Whether the target holds the file (as far as the ledger knows).
    pub fn delivered(self) -> bool {
        matches!(
            self,
            OutputState::Written | OutputState::Uploaded | OutputState::AlreadyThere
        )
    }
}

impl std::fmt::Display for OutputState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One row of `outputs`: what one source became at one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputRow {
    pub target: String,
    pub source_md5: String,
    pub state: OutputState,
    pub source_path: String,
    pub output_md5: Option<String>,
    pub location: Option<String>,
    /// What the target answered beyond `location`, by name (`viewer_url`, `short_url`,
    /// `delete_url`, `id`, `md5` for a Chevereto host): kept as the target said it, so
    /// that a new target's answers need no new columns in any backend.
    pub answer: BTreeMap<String, String>,
    pub bytes: Option<u64>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub title: Option<String>,
    /// Why the last try failed (`failed` rows).
    pub reason: Option<String>,
    pub at: String,
}

impl OutputRow {
    /// Which row this is.
    pub fn key(&self) -> OutputKey {
        OutputKey {
            target: self.target.clone(),
            source_md5: self.source_md5.clone(),
        }
    }

    /// A row in `state` with nothing known yet but its keys, stamped now.
    pub fn new(target: &str, source_md5: &str, state: OutputState) -> OutputRow {
        OutputRow {
            target: target.to_string(),
            source_md5: source_md5.to_string(),
            state,
            source_path: String::new(),
            output_md5: None,
            location: None,
            answer: BTreeMap::new(),
            bytes: None,
            width: None,
            height: None,
            title: None,
            reason: None,
            at: now_iso(),
        }
    }

    /// One of the target's answers, by name (see [`OutputRow::answer`]).
    pub fn answer(&self, name: &str) -> Option<&str> {
        self.answer.get(name).map(String::as_str)
    }

    /// The answers as stored: a JSON object, or nothing when the target said nothing more.
    pub fn answer_json(&self) -> Option<String> {
        (!self.answer.is_empty())
            .then(|| serde_json::to_string(&self.answer).expect("a map of strings is JSON"))
    }

    /// The answers from their stored form; an empty column is no answer.
    pub fn answer_from_json(
        text: Option<&str>,
    ) -> Result<BTreeMap<String, String>, LedgerErrorKind> {
        match text {
            None | Some("") => Ok(BTreeMap::new()),
            Some(t) => serde_json::from_str(t).map_err(|source| LedgerErrorKind::Answer {
                text: t.to_string(),
                source,
            }),
        }
    }
}

/// A quick-check row: a file as it was when its md5 was computed.
#[derive(Debug, Clone)]
pub struct FileRow {
    pub path: PathBuf,
    pub size: u64,
    pub mtime_ns: i64,
    pub source_md5: String,
    /// The stamp of the sidecars beside it (empty when none): a changed sidecar
    /// makes a changed file for the quick check.
    pub beside: String,
}

/// A file of one folder as the ledger knows it, with its output at one target if any.
#[derive(Debug, Clone)]
pub struct KnownFile {
    pub size: u64,
    pub mtime_ns: i64,
    pub source_md5: String,
    /// Its sidecars' stamp; `None` for a row written before stamps were kept, which
    /// matches any (upgrading does not make a whole archive be read again).
    pub beside: Option<String>,
    /// What its content became at the asked target, when it went there.
    pub output: Option<KnownOutput>,
}

/// What the quick check needs of an output row: whether the file is there, where,
/// and the answers a report shows. A re-run reads one per file of the archive, so
/// it carries none of the row's other columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownOutput {
    pub state: OutputState,
    pub location: Option<String>,
    pub output_md5: Option<String>,
    /// See [`OutputRow::answer`].
    pub answer: BTreeMap<String, String>,
}

impl KnownOutput {
    /// One of the target's answers, by name.
    pub fn answer(&self, name: &str) -> Option<&str> {
        self.answer.get(name).map(String::as_str)
    }
}

impl From<OutputRow> for KnownOutput {
    fn from(row: OutputRow) -> KnownOutput {
        KnownOutput {
            state: row.state,
            location: row.location,
            output_md5: row.output_md5,
            answer: row.answer,
        }
    }
}

/// The known files of one folder, by their full path's bytes. A re-run fills one
/// per folder and asks it once per file, so it hashes with foldhash, not SipHash:
/// its keys come from the ledger and the walk, not from anyone who could pick them.
pub type KnownDir = foldhash::HashMap<Vec<u8>, KnownFile>;

/// A run's row in the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunId(pub i64);

/// Files and bytes per target and state.
#[derive(Debug, Clone, Serialize)]
pub struct StatRow {
    pub target: String,
    pub state: OutputState,
    pub files: u64,
    pub bytes: u64,
}

/// Which output row: one source's content at one target.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OutputKey {
    pub target: String,
    pub source_md5: String,
}

/// An output's keys with the path its source had, so outputs can be picked by path or glob.
#[derive(Debug, Clone)]
pub struct SourceEntry {
    pub key: OutputKey,
    pub source_path: String,
}

/// A file a worker would read, as the walk saw it.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    pub path: &'a Path,
    pub size: u64,
    pub mtime_ns: i64,
    pub beside: &'a str,
}

/// What a worker may do with a source md5 it asked for.
#[derive(Debug, Clone)]
pub enum ContentClaim {
    /// This worker has it (or it is delivered already): go on with what the ledger holds of it.
    Mine(Option<Box<OutputRow>>),
    /// Another live worker has it, for the path given.
    Held { worker: String, path: String },
}

/// A worker of a shared ledger, as `ledger stats` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct WorkerRow {
    /// Host name, process id and start time: unique across machines and restarts.
    pub id: String,
    pub host: String,
    pub pid: i64,
    pub started_at: String,
    pub heartbeat_at: String,
    /// Its claims hold until then; past it, other workers may take them.
    pub lease_until: String,
    pub live: bool,
    pub finished: bool,
    /// Paths it holds now.
    pub claims: u64,
    /// Outputs it recorded, and their rate over its life.
    pub outputs: u64,
    pub files_per_second: f64,
}

/// A run's row, for `ledger copy`.
#[derive(Debug, Clone)]
pub struct RunRow {
    pub started_at: String,
    pub finished_at: Option<String>,
    pub pipeline: Option<String>,
    pub target: String,
    pub summary: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_go_through_their_stored_form() {
        let mut row = OutputRow::new("t", "m", OutputState::Uploaded);
        assert_eq!(row.answer_json(), None);
        assert!(OutputRow::answer_from_json(None).unwrap().is_empty());
        row.answer
            .insert("viewer_url".into(), "https://h/image/a".into());
        let text = row.answer_json().unwrap();
        assert_eq!(text, r#"{"viewer_url":"https://h/image/a"}"#);
        let back = OutputRow::answer_from_json(Some(&text)).unwrap();
        assert_eq!(back, row.answer);
        assert_eq!(row.answer("viewer_url"), Some("https://h/image/a"));
        assert_eq!(row.answer("short_url"), None);
        let e = OutputRow::answer_from_json(Some("[1]")).unwrap_err();
        assert!(e.to_string().contains("[1]"), "{e}");
    }

    #[test]
    fn states_have_one_spelling_and_unknown_ones_are_errors() {
        for st in OutputState::ALL {
            let serde_name = serde_json::to_value(st).unwrap();
            assert_eq!(serde_name.as_str(), Some(st.as_str()));
            assert_eq!(st.to_string(), st.as_str());
            assert_eq!(OutputState::parse(st.as_str()).unwrap(), st);
        }
        assert!(OutputState::parse("hostduplicate").is_err());
        assert!(OutputState::parse("done").is_err(), "a version 2 word");
        assert!(OutputState::parse("").is_err());
    }
}
