//! What the user sees while a run goes on: a progress bar on a terminal,
//! plain lines otherwise, and a line for every file that failed.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::outcome::state_words;
use super::{Outcome, OutcomeSink, SinkError, State, Summary};
use crate::config::Verbosity;
use crate::context::RunContext;
use crate::i18n::Messages;

/// Progress in files and bytes, on stderr.
pub struct Progress {
    bar: Option<ProgressBar>,
    /// Told when stderr goes away, so the run stops taking files.
    ctx: RunContext,
    verbosity: Verbosity,
    found: u64,
    done: u64,
    bytes: u64,
    started: Instant,
    last_line: Instant,
    last_status: Option<Instant>,
    /// The words people read, in their language.
    words: Messages,
    /// Whether the files go to a host (the uploader's words) or to a folder.
    uploads: bool,
}

impl Progress {
    pub fn new(verbosity: Verbosity, ctx: &RunContext, words: Messages, uploads: bool) -> Progress {
        let bar = (verbosity != Verbosity::Quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} files  {msg}  eta {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            if uploads {
                bar.set_message(words.text("msg-queued", &[]));
            }
            bar
        });
        Progress {
            bar,
            ctx: ctx.clone(),
            verbosity,
            found: 0,
            done: 0,
            bytes: 0,
            started: Instant::now(),
            last_line: Instant::now(),
            last_status: None,
            words,
            uploads,
        }
    }

    /// Prints a line without tearing the bar. Once stderr is closed (`2>&1 | head`),
    /// nothing more is printed and the run is told to stop: a closed pipe is no error.
    pub fn println(&self, line: &str) {
        if self.ctx.output_closed() {
            return;
        }
        let print = || writeln!(std::io::stderr(), "{line}");
        let written = match &self.bar {
            Some(b) => b.suspend(print),
            None => print(),
        };
        if written.is_err() {
            self.ctx.close_output();
        }
    }

    /// Bytes read and files per second, for the bar.
    fn rate(&self) -> String {
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        self.words.text(
            "msg-rate",
            &[
                ("read", indicatif::HumanBytes(self.bytes).to_string()),
                ("rate", format!("{:.1}", self.done as f64 / secs)),
            ],
        )
    }

    /// The progress line without a bar: files done of found, bytes read, the rate; for
    /// uploads, in the uploader's words.
    fn progress_line(&self) -> String {
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        let percent = (self.done * 100).checked_div(self.found).unwrap_or(0);
        let id = if self.uploads {
            "msg-progress-upload"
        } else {
            "msg-progress"
        };
        self.words.text(
            id,
            &[
                ("done", self.done.to_string()),
                ("found", self.found.to_string()),
                ("percent", percent.to_string()),
                ("read", indicatif::HumanBytes(self.bytes).to_string()),
                ("rate", format!("{:.1}", self.done as f64 / secs)),
            ],
        )
    }

    /// The line about one file, when one is said.
    fn file_line(&self, o: &Outcome) -> Option<String> {
        let w = &self.words;
        let path = ("path", o.path.clone());
        match o.state {
            State::Failed => {
                let reason = o
                    .reason_in(w)
                    .unwrap_or_else(|| w.text("msg-unknown-error", &[]));
                Some(w.text("msg-file-failed", &[path, ("reason", reason)]))
            }
            _ if self.verbosity == Verbosity::Verbose => {
                let state = ("state", state_words(o.state, w));
                Some(match o.reason_in(w) {
                    Some(r) => w.text("msg-file-state-why", &[path, state, ("reason", r)]),
                    None => w.text("msg-file-state", &[path, state]),
                })
            }
            _ => None,
        }
    }
}

impl OutcomeSink for Progress {
    /// The scan has found `n` files so far.
    fn found(&mut self, n: u64) {
        self.found = n.max(self.done + 1);
        if let Some(b) = &self.bar {
            b.set_length(self.found);
        }
    }

    /// A file reached its final state.
    fn record(&mut self, o: &Outcome) -> Result<(), SinkError> {
        self.done += 1;
        self.bytes += o.source_bytes.unwrap_or(0);
        let line = self.file_line(o).map(|l| format!("pixpipe: {l}"));
        if let Some(line) = line
            && (self.verbosity != Verbosity::Quiet || o.state == State::Failed)
        {
            self.println(&line);
        }
        match &self.bar {
            Some(b) => {
                b.set_position(self.done);
                b.set_message(self.rate());
            }
            None => {
                if self.verbosity != Verbosity::Quiet
                    && self.last_line.elapsed() >= Duration::from_secs(5)
                {
                    self.last_line = Instant::now();
                    self.println(&format!("pixpipe: {}", self.progress_line()));
                }
            }
        }
        Ok(())
    }

    /// Shown in the bar, or as a line every few seconds without one.
    fn status(&mut self, line: &str) {
        match &self.bar {
            Some(b) => b.set_message(line.to_string()),
            None if self.verbosity == Verbosity::Quiet => {}
            None => {
                if self
                    .last_status
                    .is_none_or(|t| t.elapsed() >= Duration::from_secs(5))
                {
                    self.last_status = Some(Instant::now());
                    self.println(&format!("pixpipe: {line}"));
                }
            }
        }
    }

    fn finish(&mut self, _summary: &Summary) -> Result<(), SinkError> {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
        Ok(())
    }
}
