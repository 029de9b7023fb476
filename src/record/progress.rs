//! What the user sees while a run goes on: a progress bar on a terminal,
//! plain lines otherwise, and a line for every file that failed.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{Outcome, OutcomeSink, SinkError, State, Summary};
use crate::config::Verbosity;
use crate::context::RunContext;

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
}

impl Progress {
    pub fn new(verbosity: Verbosity, ctx: &RunContext) -> Progress {
        let bar = (verbosity != Verbosity::Quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} files  {msg}  eta {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
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

    fn rate(&self) -> String {
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        format!(
            "{} read, {:.1} files/s",
            indicatif::HumanBytes(self.bytes),
            self.done as f64 / secs
        )
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
        let line = match o.state {
            State::Failed => Some(format!(
                "pixpipe: {}: failed: {}",
                o.path,
                o.reason.as_deref().unwrap_or("unknown error")
            )),
            _ if self.verbosity == Verbosity::Verbose => Some(format!(
                "pixpipe: {}: {}{}",
                o.path,
                o.state.words(),
                o.reason
                    .as_deref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            )),
            _ => None,
        };
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
                    self.println(&format!(
                        "pixpipe: {}/{} files, {}",
                        self.done,
                        self.found,
                        self.rate()
                    ));
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
