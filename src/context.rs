//! The stop signals of one run. Every stage of a run and its Ctrl-C handler hold
//! a clone of the same [`RunContext`]; another run in the same process has its own,
//! so two runs never see each other's stop.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::i18n::Localized;

#[derive(Debug, Default)]
struct Flags {
    interrupted: AtomicBool,
    halted: AtomicBool,
    output_closed: AtomicBool,
    /// Why the run cannot go on, when a target said so (a revoked key, a full host).
    fatal: Mutex<Option<Localized>>,
}

/// Shared by the stages of one run.
#[derive(Debug, Clone, Default)]
pub struct RunContext {
    flags: Arc<Flags>,
}

impl RunContext {
    pub fn new() -> RunContext {
        RunContext::default()
    }

    /// Ctrl-C: stop taking new files, finish what is in flight, record it.
    pub fn interrupt(&self) {
        self.flags.interrupted.store(true, Ordering::Relaxed);
    }

    /// The run cannot go on (a fatal answer from the host, a ledger failure).
    pub fn halt(&self) {
        self.flags.halted.store(true, Ordering::Relaxed);
    }

    /// [`halt`](Self::halt), keeping the first reason given.
    pub fn halt_because(&self, why: &Localized) {
        let mut fatal = self.flags.fatal.lock().unwrap_or_else(|p| p.into_inner());
        fatal.get_or_insert_with(|| why.clone());
        self.halt();
    }

    /// Standard output or error went away (`| head`): finish quietly, record what is done.
    pub fn close_output(&self) {
        self.flags.output_closed.store(true, Ordering::Relaxed);
    }

    pub fn output_closed(&self) -> bool {
        self.flags.output_closed.load(Ordering::Relaxed)
    }

    pub fn interrupted(&self) -> bool {
        self.flags.interrupted.load(Ordering::Relaxed)
    }

    /// Whether new files should still be taken.
    pub fn stopping(&self) -> bool {
        self.interrupted() || self.output_closed() || self.flags.halted.load(Ordering::Relaxed)
    }

    /// The reason given to [`halt_because`](Self::halt_because), if any.
    pub fn fatal(&self) -> Option<Localized> {
        self.flags
            .fatal
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_do_not_share_their_stop() {
        let a = RunContext::new();
        let b = RunContext::new();
        let a2 = a.clone();
        a2.interrupt();
        assert!(a.interrupted() && a.stopping());
        assert!(!b.stopping());
        let said = |w: &str| Localized::new("msg-reason-as-said", &[("words", w.to_string())]);
        b.halt_because(&said("first"));
        b.halt_because(&said("second"));
        assert_eq!(b.fatal().map(|f| f.english()).as_deref(), Some("first"));
        assert!(b.stopping() && !b.interrupted());
        assert_eq!(a.fatal(), None);
    }
}
