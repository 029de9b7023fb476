//! The process exit codes, one meaning each, so scripts and cron can act on them.

/// How a pixpipe process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// Every file reached a good state.
    Success,
    /// The run went through but some files failed; the report lists them.
    SomeFailed,
    /// Bad command line or pipeline file: nothing was done.
    BadConfig,
    /// The run could not go on (bad key, host gone, ledger unusable).
    Fatal,
    /// Stopped by Ctrl-C after recording what was finished.
    Interrupted,
    /// Standard output or error went away (`| head`): printing stopped, quietly, and
    /// what was finished is recorded. 128 + SIGPIPE, what a shell reports for a program
    /// a closed pipe ended.
    BrokenPipe,
}

impl ExitCode {
    pub fn code(self) -> i32 {
        match self {
            ExitCode::Success => 0,
            ExitCode::SomeFailed => 1,
            ExitCode::BadConfig => 2,
            ExitCode::Fatal => 3,
            ExitCode::Interrupted => 130,
            ExitCode::BrokenPipe => 141,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_documented() {
        let all = [
            ExitCode::Success,
            ExitCode::SomeFailed,
            ExitCode::BadConfig,
            ExitCode::Fatal,
            ExitCode::Interrupted,
            ExitCode::BrokenPipe,
        ];
        let codes: Vec<i32> = all.iter().map(|c| c.code()).collect();
        assert_eq!(codes, vec![0, 1, 2, 3, 130, 141]);
    }
}
