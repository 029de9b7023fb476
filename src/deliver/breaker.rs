//! One breaker per host. When the host cannot be reached, every upload waits on it
//! together instead of each file backing off on its own: a host that never answered
//! this run gets a short probe, then the run stops ("cannot reach HOST"); a host that
//! goes away mid-run pauses all uploads until it answers again, for at most
//! `upload.outage_wait`.

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use crate::i18n::Localized;

/// How long a host that has not answered yet is probed before the run gives up.
const STARTUP_PROBE: Duration = Duration::from_secs(3);
/// Pause between tries while the host is away: 1 s at first, doubling up to this.
const MAX_PAUSE: Duration = Duration::from_secs(20);

/// What the breaker says about the next request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Try it (now, or at the instant given).
    TryAt(Instant),
    /// The host is gone for this run: stop, with this reason.
    GiveUp(Localized),
}

#[derive(Debug, Default)]
struct State {
    /// The host has answered at least once in this run.
    answered: bool,
    /// When the current run of failures began (monotonic, and wall clock for people).
    down_since: Option<(Instant, SystemTime)>,
    failures: u32,
    next_try: Option<Instant>,
    last_cause: String,
}

/// The state of one host, shared by its uploads.
pub struct Breaker {
    host: String,
    outage_wait: Duration,
    state: Mutex<State>,
}

impl Breaker {
    pub fn new(host: &str, outage_wait: Duration) -> Breaker {
        Breaker {
            host: host.to_string(),
            outage_wait,
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// When the next request may go (the host is answering: at once).
    pub fn next(&self) -> Instant {
        self.state().next_try.unwrap_or_else(Instant::now)
    }

    /// The host answered (any HTTP answer): uploads go on.
    pub fn answered(&self) {
        let mut s = self.state();
        s.answered = true;
        s.down_since = None;
        s.failures = 0;
        s.next_try = None;
    }

    /// A connection could not be made (nothing was sent); `cause` in words.
    pub fn unreachable(&self, cause: &str) -> Verdict {
        let mut s = self.state();
        let now = Instant::now();
        let (since, _) = *s.down_since.get_or_insert((now, SystemTime::now()));
        s.failures += 1;
        s.last_cause = cause.to_string();
        let down_for = now.duration_since(since);
        if !s.answered && down_for >= STARTUP_PROBE {
            return Verdict::GiveUp(Localized::new(
                "msg-host-cannot-reach",
                &[("host", self.host.clone()), ("cause", cause.to_string())],
            ));
        }
        if s.answered && down_for >= self.outage_wait {
            return Verdict::GiveUp(Localized::new(
                "msg-host-outage-over",
                &[
                    ("host", self.host.clone()),
                    ("seconds", down_for.as_secs().to_string()),
                    ("cause", cause.to_string()),
                ],
            ));
        }
        let pause = if s.answered {
            Duration::from_secs(1 << s.failures.min(5)).min(MAX_PAUSE)
        } else {
            Duration::from_millis(500)
        };
        let at = s.next_try.filter(|t| *t > now).unwrap_or(now + pause);
        s.next_try = Some(at);
        Verdict::TryAt(at)
    }

    /// For the progress line while the host is away: "HOST unreachable since 12:03:10,
    /// next try in 20 s".
    pub fn status(&self) -> Option<Localized> {
        let s = self.state();
        let (_, since) = s.down_since?;
        let local: chrono::DateTime<chrono::Local> = since.into();
        let next = s
            .next_try
            .map(|t| t.saturating_duration_since(Instant::now()).as_secs())
            .unwrap_or(0);
        Some(Localized::new(
            "msg-host-away",
            &[
                ("host", self.host.clone()),
                ("since", local.format("%H:%M:%S").to_string()),
                ("cause", s.last_cause.clone()),
                ("next", next.to_string()),
            ],
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_never_reached_is_given_up_after_a_short_probe() {
        let b = Breaker::new("h:1", Duration::from_secs(600));
        assert!(matches!(
            b.unreachable("connection refused"),
            Verdict::TryAt(_)
        ));
        assert!(
            b.status()
                .unwrap()
                .english()
                .contains("h:1 unreachable since")
        );
        // Pretend the probe has lasted long enough.
        b.state().down_since = Some((Instant::now() - STARTUP_PROBE, SystemTime::now()));
        match b.unreachable("connection refused") {
            Verdict::GiveUp(why) => {
                assert_eq!(why.english(), "cannot reach h:1: connection refused")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_outage_mid_run_pauses_until_the_host_answers_or_the_wait_is_over() {
        let b = Breaker::new("h:1", Duration::from_secs(600));
        b.answered();
        b.state().down_since = Some((Instant::now() - STARTUP_PROBE, SystemTime::now()));
        let Verdict::TryAt(at) = b.unreachable("connection refused") else {
            panic!("a host that answered before is waited for")
        };
        assert!(at > Instant::now());
        assert_eq!(b.next(), at, "every upload waits for the same instant");
        b.answered();
        assert!(b.status().is_none());
        b.state().down_since = Some((Instant::now() - Duration::from_secs(601), SystemTime::now()));
        assert!(
            matches!(b.unreachable("refused"), Verdict::GiveUp(w) if w.english().contains("outage_wait"))
        );
    }
}
