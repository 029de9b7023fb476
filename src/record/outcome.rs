//! How each file ended, and the counts of a run.

use std::path::Path;

use serde::Serialize;

/// How a file ended. Every file scanned ends in exactly one state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Written to the folder target.
    Written,
    /// Sent to the host.
    Uploaded,
    /// Already at the target (an earlier run, an earlier file of this run, or the host said so).
    Duplicate,
    /// Not a photo or video pixpipe handles, or left out on purpose.
    Skipped,
    /// Something went wrong; `reason` says what.
    Failed,
}

impl State {
    pub fn word(self) -> &'static str {
        match self {
            State::Written => "written",
            State::Uploaded => "uploaded",
            State::Duplicate => "duplicate",
            State::Skipped => "skipped",
            State::Failed => "failed",
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
    pub date_taken: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// The file with the same content that this run took first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicate_of: Option<String>,
    /// The answer may have been lost after the host stored the file.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub possibly_duplicated: bool,
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
            date_taken: None,
            warnings: Vec::new(),
            duplicate_of: None,
            possibly_duplicated: false,
        }
    }

    pub fn with_reason(path: &Path, state: State, reason: impl Into<String>) -> Outcome {
        let mut o = Outcome::new(path, state);
        o.reason = Some(reason.into());
        o
    }
}

/// Counts per state, and bytes in and out.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub written: u64,
    pub uploaded: u64,
    pub duplicate: u64,
    pub skipped: u64,
    pub failed: u64,
    pub source_bytes: u64,
    pub output_bytes: u64,
    pub possibly_duplicated: u64,
    /// Duplicates of another file of this run (the rest were at the target already).
    pub duplicate_in_run: u64,
    /// Bytes of the sources that are new to the target (what a plan would send).
    pub new_bytes: u64,
    pub interrupted: bool,
    /// Why the run stopped early, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fatal: Option<String>,
}

impl Summary {
    pub fn add(&mut self, o: &Outcome) {
        match o.state {
            State::Written => self.written += 1,
            State::Uploaded => self.uploaded += 1,
            State::Duplicate => self.duplicate += 1,
            State::Skipped => self.skipped += 1,
            State::Failed => self.failed += 1,
        }
        if matches!(o.state, State::Written | State::Uploaded) {
            self.source_bytes += o.source_bytes.unwrap_or(0);
            self.output_bytes += o.output_bytes.unwrap_or(0);
        }
        if o.possibly_duplicated {
            self.possibly_duplicated += 1;
        }
        if o.duplicate_of.is_some() {
            self.duplicate_in_run += 1;
        }
        if matches!(o.state, State::Written | State::Uploaded) {
            self.new_bytes += o.source_bytes.unwrap_or(0);
        }
    }

    /// One line for people: "3 uploaded, 2 already there, 1 failed".
    pub fn line(&self) -> String {
        let mut parts = Vec::new();
        if self.written > 0 {
            parts.push(format!("{} written", self.written));
        }
        if self.uploaded > 0 {
            parts.push(format!("{} uploaded", self.uploaded));
        }
        parts.push(format!("{} already there", self.duplicate));
        if self.skipped > 0 {
            parts.push(format!("{} skipped", self.skipped));
        }
        parts.push(format!("{} failed", self.failed));
        if self.possibly_duplicated > 0 {
            parts.push(format!("{} possibly duplicated", self.possibly_duplicated));
        }
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_counts_every_state() {
        let mut s = Summary::default();
        let all = [
            State::Written,
            State::Uploaded,
            State::Duplicate,
            State::Skipped,
            State::Failed,
        ];
        for st in all {
            s.add(&Outcome::new(Path::new("x"), st));
        }
        assert_eq!(
            s.line(),
            "1 written, 1 uploaded, 1 already there, 1 skipped, 1 failed"
        );
    }
}
