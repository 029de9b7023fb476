//! Command output on stdout, through one writer.
//!
//! Rust ignores SIGPIPE, so `println!` into a pipe whose reader has gone
//! (`pixpipe ledger list | head -1`) panics. Here a closed pipe is a quiet stop
//! instead: nothing more is printed, no message, and the process exits 141, the
//! status a shell shows for a program that a closed pipe ended.

use std::fmt::Display;
use std::io::{self, Write};

use crate::exit_codes::ExitCode;

/// Why printing stopped.
#[derive(Debug, thiserror::Error)]
pub enum PrintError {
    /// The reader went away: not worth a message.
    #[error("stdout was closed")]
    Closed,
    /// Anything else (a full disk behind a redirection): worth telling.
    #[error("cannot write to stdout: {0}")]
    Io(io::Error),
}

impl From<io::Error> for PrintError {
    fn from(e: io::Error) -> PrintError {
        if e.kind() == io::ErrorKind::BrokenPipe {
            PrintError::Closed
        } else {
            PrintError::Io(e)
        }
    }
}

impl PrintError {
    /// The exit code it means, after telling the user when there is something to tell.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            PrintError::Closed => ExitCode::BrokenPipe,
            PrintError::Io(_) => {
                eprintln!("pixpipe: {self}");
                ExitCode::Fatal
            }
        }
    }
}

/// `code` when everything was printed, else what the print error means.
pub fn finished(printed: Result<(), PrintError>, code: ExitCode) -> ExitCode {
    match printed {
        Ok(()) => code,
        Err(e) => e.exit_code(),
    }
}

/// Prints `bytes` whole and flushes them.
pub fn print(bytes: &[u8]) -> Result<(), PrintError> {
    let mut out = Output::stdout();
    out.bytes(bytes)?;
    out.finish()
}

/// Where command output goes. Each call takes stdout's lock only for its own write,
/// so a report that the run writes to stdout from another thread can share it.
pub struct Output<W: Write = io::Stdout> {
    out: W,
}

impl Output {
    pub fn stdout() -> Output {
        Output { out: io::stdout() }
    }
}

impl<W: Write> Output<W> {
    /// `text` and a newline.
    pub fn line(&mut self, text: impl Display) -> Result<(), PrintError> {
        writeln!(self.out, "{text}")?;
        Ok(())
    }

    /// `text` as it is (it brings its own newlines).
    pub fn text(&mut self, text: &str) -> Result<(), PrintError> {
        self.bytes(text.as_bytes())
    }

    pub fn bytes(&mut self, bytes: &[u8]) -> Result<(), PrintError> {
        self.out.write_all(bytes)?;
        Ok(())
    }

    /// Flushes, so a closed pipe or a full disk is noticed before the exit code is chosen.
    pub fn finish(mut self) -> Result<(), PrintError> {
        self.out.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that has gone away after `room` bytes.
    struct Pipe {
        room: usize,
        got: Vec<u8>,
    }

    impl Write for Pipe {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.got.len() + buf.len() > self.room {
                return Err(io::ErrorKind::BrokenPipe.into());
            }
            self.got.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_closed_pipe_is_a_quiet_stop_with_141() {
        let mut out = Output {
            out: Pipe {
                room: 6,
                got: Vec::new(),
            },
        };
        out.line("first").unwrap();
        let e = out.line("second").unwrap_err();
        assert!(matches!(e, PrintError::Closed), "{e:?}");
        assert_eq!(e.exit_code(), ExitCode::BrokenPipe);
        assert_eq!(out.out.got, b"first\n");
        assert_eq!(finished(Err(e), ExitCode::Success).code(), 141);
        assert_eq!(finished(Ok(()), ExitCode::SomeFailed), ExitCode::SomeFailed);
    }

    #[test]
    fn other_write_errors_are_not_a_closed_pipe() {
        let e = PrintError::from(io::Error::from(io::ErrorKind::StorageFull));
        assert!(matches!(e, PrintError::Io(_)));
    }
}
