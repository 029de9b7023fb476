//! Retries, backoff and pacing for any target that talks to a remote host: the
//! target says what one try came to ([`Try`]), the [`Pacer`] decides whether and
//! when to try again. Tries are paced by a rate limit, transient failures backed off
//! with jitter, waits the host asks for honoured, and connections that cannot be
//! made go to the host's [`Breaker`] rather than to the file's retries (nothing was
//! sent), so every upload waits for a host that went away together.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::breaker::{Breaker, Verdict};
use crate::context::RunContext;
use crate::i18n::Localized;

/// What one try came to, in the target's terms.
pub enum Try<T> {
    /// The target's last word on this file (stored, refused, a duplicate…).
    Answered(T),
    /// A transient failure worth another try after a backoff; `maybe_sent` when the
    /// bytes may have reached the host before it failed.
    Again { why: Localized, maybe_sent: bool },
    /// The host asked to wait this long first (a flood limit, HTTP 429).
    Wait(Duration),
    /// No connection could be made: nothing was sent. The breaker decides.
    Unreachable(String),
    /// The run cannot go on (a connection that no wait will mend).
    Fatal(Localized),
}

/// The end of a file's tries.
pub enum Paced<T> {
    Answered(T),
    /// Tries are used up, or the host kept asking to wait.
    GaveUp(Localized),
    /// The run must stop; it is halted already.
    Fatal(Localized),
    /// Nothing of this file reached the host: the run stopped first.
    NotSent(Localized),
}

/// How tries go for one host.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Tries after the first.
    pub retries: u32,
    /// Tries per second at most.
    pub rate_limit: Option<f64>,
    /// How long tries wait together for a host that went away mid-run.
    pub outage_wait: Duration,
    /// Tries on the wire at once (`upload.concurrency`).
    pub concurrency: usize,
}

/// The longest single wait for a host that asks to wait.
const MAX_WAIT: Duration = Duration::from_secs(3600);
/// Waits a host may ask for per file, on top of the retries.
const MAX_WAITS: u32 = 20;

/// The pacing of one host, shared by its deliveries.
pub struct Pacer {
    policy: Policy,
    pace: Option<Duration>,
    next_slot: tokio::sync::Mutex<Instant>,
    breaker: Breaker,
    /// Upload slots: one is held from the start of a try until its answer is
    /// recorded, and let go while the file waits out a backoff or a wait the host
    /// asked for, so that the others go on uploading meanwhile.
    slots: Arc<Semaphore>,
    /// The first fatal answer halts the run here; no try starts after it.
    ctx: RunContext,
}

/// The end of a file's tries, whether an earlier try may have reached the host (it
/// may hold the file twice), and the upload slot of the last try when it ended with
/// one: the caller keeps it until the answer is recorded, so a kill repeats at most
/// `concurrency` answered files.
pub type Ran<T> = (Paced<T>, bool, Option<OwnedSemaphorePermit>);

impl Pacer {
    pub fn new(host: &str, policy: Policy, ctx: &RunContext) -> Pacer {
        Pacer {
            pace: policy.rate_limit.map(|r| Duration::from_secs_f64(1.0 / r)),
            breaker: Breaker::new(host, policy.outage_wait),
            next_slot: tokio::sync::Mutex::new(Instant::now()),
            slots: Arc::new(Semaphore::new(policy.concurrency.max(1))),
            policy,
            ctx: ctx.clone(),
        }
    }

    /// Runs `attempt` until it answers, retrying what is worth retrying.
    pub async fn run<T, F, Fut>(&self, mut attempt: F) -> Ran<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Try<T>>,
    {
        let mut tries = 0;
        let mut waits = 0;
        let mut maybe_sent = false;
        let mut last: Option<Localized> = None;
        loop {
            if let Some(why) = self.stopped() {
                return (self.not_sent(why, maybe_sent), maybe_sent, None);
            }
            if tries > self.policy.retries {
                let why = gave_up(tries, last.take());
                return (Paced::GaveUp(why), maybe_sent, None);
            }
            if !self.wait_until(self.breaker.next()).await || !self.take_slot().await {
                continue; // stopped while waiting: said at the top of the loop
            }
            let Ok(slot) = Arc::clone(&self.slots).acquire_owned().await else {
                continue; // never closed
            };
            if self.stopped().is_some() {
                continue; // stopped while waiting for the slot: said at the top
            }
            tries += 1;
            match attempt().await {
                Try::Answered(t) => {
                    self.breaker.answered();
                    return (Paced::Answered(t), maybe_sent, Some(slot));
                }
                Try::Again { why, maybe_sent: m } => {
                    self.breaker.answered();
                    maybe_sent |= m;
                    last = Some(why);
                    drop(slot);
                    self.wait_until(Instant::now() + backoff(tries)).await;
                }
                Try::Wait(d) if waits < MAX_WAITS => {
                    self.breaker.answered();
                    waits += 1;
                    tries -= 1;
                    let secs = ("seconds", d.as_secs().to_string());
                    last = Some(Localized::new("msg-host-asked-wait", &[secs]));
                    drop(slot);
                    self.wait_until(Instant::now() + d.min(MAX_WAIT)).await;
                }
                Try::Wait(d) => {
                    let secs = ("seconds", d.as_secs().to_string());
                    let why = Localized::new("msg-host-kept-asking", &[secs]);
                    return (Paced::GaveUp(why), maybe_sent, Some(slot));
                }
                Try::Unreachable(cause) => {
                    tries -= 1;
                    if let Verdict::GiveUp(why) = self.breaker.unreachable(&cause) {
                        self.ctx.halt_because(&why);
                        return (self.not_sent(why, maybe_sent), maybe_sent, Some(slot));
                    }
                    // Nothing was sent: the slot goes while the breaker decides.
                }
                Try::Fatal(why) => {
                    // Halted before the slot goes: no try starts after this answer.
                    self.ctx.halt_because(&why);
                    return (Paced::Fatal(why), maybe_sent, Some(slot));
                }
            }
        }
    }

    /// Why tries must not go on: Ctrl-C, or the run halted by another answer.
    fn stopped(&self) -> Option<Localized> {
        if let Some(why) = self.ctx.fatal() {
            return Some(why);
        }
        self.ctx
            .interrupted()
            .then(|| Localized::new("msg-run-stopped", &[]))
    }

    /// The end of a file that was not (or maybe not) sent.
    fn not_sent<T>(&self, why: Localized, maybe_sent: bool) -> Paced<T> {
        if maybe_sent {
            let why = Localized::new("msg-reason-maybe-reached", &[]).with("why", why);
            return Paced::GaveUp(why);
        }
        Paced::NotSent(why)
    }

    /// What the progress line says while the host is away.
    pub fn status(&self) -> Option<Localized> {
        self.breaker.status()
    }

    /// Sleeps until `at`, waking every 200 ms to see whether the run was stopped, so
    /// Ctrl-C is heard within a fraction of a second; false when it was stopped.
    async fn wait_until(&self, at: Instant) -> bool {
        loop {
            if self.stopped().is_some() {
                return false;
            }
            let now = Instant::now();
            if now >= at {
                return true;
            }
            tokio::time::sleep((at - now).min(Duration::from_millis(200))).await;
        }
    }

    /// Waits for this try's slot under the rate limit; false when stopped.
    async fn take_slot(&self) -> bool {
        let Some(step) = self.pace else { return true };
        let slot = {
            let mut next = self.next_slot.lock().await;
            let slot = (*next).max(Instant::now());
            *next = slot + step;
            slot
        };
        self.wait_until(slot).await
    }
}

fn gave_up(tries: u32, last: Option<Localized>) -> Localized {
    let gave_up = Localized::new("msg-reason-gave-up", &[("tries", tries.to_string())]);
    match last {
        Some(last) => gave_up.with("last", last),
        None => Localized::new(
            "msg-reason-gave-up",
            &[("tries", tries.to_string()), ("last", String::new())],
        ),
    }
}

/// Exponential backoff with full jitter: up to 1, 2, 4 ... 60 seconds.
pub fn backoff(attempt: u32) -> Duration {
    let cap_ms = 500u64.saturating_mul(1 << attempt.min(7)).min(60_000);
    Duration::from_millis(cap_ms / 2 + fastrand::u64(0..=cap_ms / 2))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn backoff_grows_and_is_capped() {
        for a in 1..20 {
            assert!(backoff(a) <= Duration::from_secs(60));
        }
        assert!(backoff(1) <= Duration::from_secs(1));
        assert!(backoff(6) >= Duration::from_secs(8));
    }

    fn pacer(retries: u32, ctx: &RunContext) -> Pacer {
        let policy = Policy {
            retries,
            rate_limit: None,
            outage_wait: Duration::from_secs(600),
            concurrency: 1,
        };
        Pacer::new("h:1", policy, ctx)
    }

    fn block_on<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn transient_failures_are_retried_then_given_up_with_the_last_cause() {
        let ctx = RunContext::new();
        let p = pacer(1, &ctx);
        let tries = Cell::new(0);
        let (end, maybe_sent, _) = block_on(p.run(|| {
            tries.set(tries.get() + 1);
            async {
                Try::<()>::Again {
                    why: Localized::new("msg-http-status", &[("status", "503".into())]),
                    maybe_sent: true,
                }
            }
        }));
        assert_eq!(tries.get(), 2, "one try and one retry");
        assert!(maybe_sent);
        match end {
            Paced::GaveUp(why) => {
                let said = why.english();
                assert!(said.contains("gave up after 2 attempts"), "{said}");
                assert!(said.contains("HTTP 503"), "{said}");
            }
            _ => panic!("expected to give up"),
        }
    }

    #[test]
    fn an_answer_ends_the_tries_and_a_fatal_one_halts_the_run() {
        let ctx = RunContext::new();
        let p = pacer(5, &ctx);
        let (end, _, _) = block_on(p.run(|| async { Try::Answered(7) }));
        assert!(matches!(end, Paced::Answered(7)));
        let (end, _, _) = block_on(p.run(|| async {
            Try::<()>::Fatal(Localized::new(
                "msg-reason-as-said",
                &[("words", "no".into())],
            ))
        }));
        assert!(matches!(end, Paced::Fatal(_)));
        assert_eq!(ctx.fatal().map(|f| f.english()).as_deref(), Some("no"));
        let (end, _, _) = block_on(p.run(|| async { Try::Answered(1) }));
        assert!(
            matches!(end, Paced::NotSent(_)),
            "nothing starts once the run is halted"
        );
    }

    #[test]
    fn a_slot_is_held_until_the_answer_is_recorded_and_let_go_while_backing_off() {
        let ctx = RunContext::new();
        let p = pacer(1, &ctx); // one slot
        let order = std::cell::RefCell::new(Vec::new());
        let a_tries = Cell::new(0);
        let a = p.run(|| {
            a_tries.set(a_tries.get() + 1);
            order.borrow_mut().push(format!("a{}", a_tries.get()));
            let again = a_tries.get() == 1;
            async move {
                if again {
                    Try::Again {
                        why: Localized::new("msg-http-status", &[("status", "503".into())]),
                        maybe_sent: false,
                    }
                } else {
                    Try::Answered("a")
                }
            }
        });
        let b = p.run(|| {
            order.borrow_mut().push("b1".to_string());
            async { Try::Answered("b") }
        });
        let slots = Arc::clone(&p.slots);
        let recorded = async {
            let b = b.await;
            assert!(b.2.is_some(), "b answered with its slot");
            assert_eq!(slots.available_permits(), 0, "held until recorded");
            drop(b);
            assert_eq!(slots.available_permits(), 1, "let go once recorded");
        };
        let (a, ()) = block_on(async { tokio::join!(a, recorded) });
        assert!(matches!(a.0, Paced::Answered("a")) && a.2.is_some());
        assert_eq!(
            *order.borrow(),
            ["a1", "b1", "a2"],
            "b goes while a waits out its backoff"
        );
    }
}
