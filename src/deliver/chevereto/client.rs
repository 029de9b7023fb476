//! Sends files to a Chevereto host: one request per file, retried with
//! exponential backoff and jitter on transient failures, paced by a rate
//! limit, and stopped for good by the first answer that says the run cannot
//! go on (a bad key must not be hammered).

use std::time::{Duration, Instant};

use base64::Engine as _;

use super::breaker::{Breaker, Verdict};
use super::protocol::{self, Answer};
use crate::config::{AnswerFormat, Auth, CheveretoPlan, SourceMode};
use crate::context::RunContext;

/// What to send for one file.
pub struct UploadRequest {
    pub source: Source,
    pub title: String,
    pub description: String,
    pub tags: Vec<String>,
    pub album_id: Option<String>,
}

/// The `source` of an upload.
pub enum Source {
    File {
        bytes: Vec<u8>,
        name: String,
        mime: String,
    },
    /// A remote image the host fetches itself.
    Url(String),
}

/// The final word on one file, after any retries.
#[derive(Debug)]
pub struct UploadResult {
    pub answer: Answer,
    /// A request failed after its body may have reached the host, then another was sent:
    /// the host may hold the file twice.
    pub possibly_duplicated: bool,
}

/// The longest single wait for a flood limit or `Retry-After`.
const MAX_WAIT: Duration = Duration::from_secs(3600);
/// Waits for flood limits and 429s allowed per file, on top of the retries.
const MAX_WAITS: u32 = 20;

/// A configured client for one host.
pub struct Uploader {
    client: reqwest::Client,
    target: CheveretoPlan,
    pace: Option<Duration>,
    next_slot: tokio::sync::Mutex<Instant>,
    /// The first fatal answer halts the run here; no request starts after it.
    ctx: RunContext,
    /// `host:port`, for messages.
    host: String,
    breaker: Breaker,
}

impl Uploader {
    pub fn new(target: &CheveretoPlan, ctx: &RunContext) -> Result<Uploader, reqwest::Error> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(target.timeout)
            .connect_timeout(Duration::from_secs(15))
            .user_agent(concat!("pixpipe/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let host = host_of(target.endpoint.origin());
        Ok(Uploader {
            client,
            breaker: Breaker::new(&host, target.outage_wait),
            host,
            target: target.clone(),
            pace: target.rate_limit.map(|r| Duration::from_secs_f64(1.0 / r)),
            next_slot: tokio::sync::Mutex::new(Instant::now()),
            ctx: ctx.clone(),
        })
    }

    /// Sends one file, retrying what is worth retrying. Connections that cannot be made
    /// go to the host's breaker, not to the file's retries: nothing was sent.
    pub async fn send(&self, req: &UploadRequest) -> UploadResult {
        let mut attempts = 0;
        let mut waits = 0;
        let mut possibly_duplicated = false;
        let mut last_error = String::new();
        loop {
            if let Some(why) = self.stopped() {
                return self.not_sent(why, possibly_duplicated);
            }
            if attempts > self.target.retries {
                let why = format!("gave up after {attempts} attempts: {last_error}");
                return result(Answer::Rejected(why), possibly_duplicated);
            }
            if !self.wait_until(self.breaker.next()).await || !self.pace().await {
                continue; // stopped while waiting: said at the top of the loop
            }
            attempts += 1;
            let answer = match self.attempt(req).await {
                Ok(a) => {
                    self.breaker.answered();
                    a
                }
                Err(e) if e.is_connect() => {
                    attempts -= 1;
                    match self.unreachable(&e) {
                        Some(why) => return self.not_sent(why, possibly_duplicated),
                        None => continue,
                    }
                }
                Err(e) => {
                    // A request that failed after connecting may have been stored.
                    possibly_duplicated = true;
                    Answer::Transient(describe(&e))
                }
            };
            match answer {
                Answer::Transient(why) => {
                    last_error = why;
                    self.wait_until(Instant::now() + backoff(attempts)).await;
                }
                Answer::RetryAfter(d) if waits < MAX_WAITS => {
                    waits += 1;
                    attempts -= 1;
                    last_error = format!("asked to wait {} s", d.as_secs());
                    self.wait_until(Instant::now() + d.min(MAX_WAIT)).await;
                }
                Answer::RetryAfter(d) => {
                    let why = format!("the host kept asking to wait ({} s)", d.as_secs());
                    return result(Answer::Rejected(why), possibly_duplicated);
                }
                Answer::Fatal(why) => {
                    self.ctx.halt_because(&why);
                    return result(Answer::Fatal(why), possibly_duplicated);
                }
                answer => return result(answer, possibly_duplicated),
            }
        }
    }

    /// Why this upload must not go on: Ctrl-C, or the run halted by another answer.
    fn stopped(&self) -> Option<String> {
        if let Some(why) = self.ctx.fatal() {
            return Some(why);
        }
        self.ctx
            .interrupted()
            .then(|| "the run was stopped".to_string())
    }

    /// The end of a file that was not (or maybe not) sent.
    fn not_sent(&self, why: String, possibly_duplicated: bool) -> UploadResult {
        if possibly_duplicated {
            let why = format!("{why}; an earlier try may have reached the host");
            return result(Answer::Rejected(why), true);
        }
        result(Answer::NotSent(why), false)
    }

    /// A connection that could not be made: the breaker decides. `Some` is the reason
    /// to give up (the run is halted with it); `None`, try again when the breaker says.
    fn unreachable(&self, e: &reqwest::Error) -> Option<String> {
        let why = match connect_failure(e, &self.host) {
            ConnectFailure::Fatal(why) => why,
            ConnectFailure::Unreachable(cause) => match self.breaker.unreachable(&cause) {
                Verdict::TryAt(_) => return None,
                Verdict::GiveUp(why) => why,
            },
        };
        self.ctx.halt_because(&why);
        Some(why)
    }

    /// What the progress line says while the host is away.
    pub fn status(&self) -> Option<String> {
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

    /// Waits for this request's slot under the rate limit; false when stopped.
    async fn pace(&self) -> bool {
        let Some(step) = self.pace else { return true };
        let wait_until = {
            let mut next = self.next_slot.lock().await;
            let now = Instant::now();
            let slot = (*next).max(now);
            *next = slot + step;
            slot
        };
        self.wait_until(wait_until).await
    }

    async fn attempt(&self, req: &UploadRequest) -> Result<Answer, reqwest::Error> {
        let form = self.form(req)?;
        let mut request = self
            .client
            .post(self.target.endpoint.as_str())
            .multipart(form);
        if self.target.auth == Auth::Header {
            request = request.header("X-API-Key", self.target.api_key.expose());
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = response.bytes().await?;
        Ok(match self.target.format {
            AnswerFormat::Json => protocol::read_json(status, retry_after, &body),
            AnswerFormat::Txt => protocol::read_txt(status, retry_after, &body),
            AnswerFormat::Redirect => {
                let absolute = location.map(|l| self.absolute(&l));
                protocol::read_redirect(status, absolute.as_deref(), retry_after, &body)
            }
        })
    }

    /// A relative `Location` (the viewer path) made absolute against the host's base URL.
    fn absolute(&self, location: &str) -> String {
        if location.starts_with("http://") || location.starts_with("https://") {
            return location.to_string();
        }
        format!("{}{location}", self.target.endpoint.origin())
    }

    fn form(&self, req: &UploadRequest) -> Result<reqwest::multipart::Form, reqwest::Error> {
        use reqwest::multipart::{Form, Part};
        let t = &self.target;
        let mut form = Form::new();
        if t.auth == Auth::Field {
            form = form.text("key", t.api_key.expose().to_string());
        }
        form = match (&req.source, t.source) {
            (Source::Url(url), _) => form.text("source", url.clone()),
            (Source::File { bytes, .. }, SourceMode::Base64) => form.text(
                "source",
                base64::engine::general_purpose::STANDARD.encode(bytes),
            ),
            (Source::File { bytes, name, mime }, SourceMode::File) => form.part(
                "source",
                Part::bytes(bytes.clone())
                    .file_name(name.clone())
                    .mime_str(mime)?,
            ),
        };
        let format = match t.format {
            AnswerFormat::Json => "json",
            AnswerFormat::Txt => "txt",
            AnswerFormat::Redirect => "redirect",
        };
        form = form.text("format", format);
        let mut put = |name: &'static str, value: String| {
            // The host drops empty strings and "0"; not sending them is the same and clearer.
            if !value.is_empty() && value != "0" {
                form = std::mem::take(&mut form).text(name, value);
            }
        };
        if t.send_metadata {
            put("title", req.title.clone());
            put("description", req.description.clone());
            put("tags", req.tags.join(","));
        }
        if let Some(a) = &req.album_id {
            put("album_id", a.clone());
        }
        if let Some(c) = t.category_id {
            put("category_id", c.to_string());
        }
        if let Some(w) = t.width {
            put("width", w.to_string());
        }
        if let Some(e) = &t.expiration {
            put("expiration", e.0.clone());
        }
        if t.nsfw {
            put("nsfw", "1".into());
        }
        if t.use_file_date {
            put("use_file_date", "1".into());
        }
        Ok(form)
    }
}

/// Exponential backoff with full jitter: up to 1, 2, 4 ... 60 seconds.
pub fn backoff(attempt: u32) -> Duration {
    let cap_ms = 500u64.saturating_mul(1 << attempt.min(7)).min(60_000);
    Duration::from_millis(cap_ms / 2 + fastrand::u64(0..=cap_ms / 2))
}

fn result(answer: Answer, possibly_duplicated: bool) -> UploadResult {
    UploadResult {
        answer,
        possibly_duplicated,
    }
}

/// `host:port` of an origin (`https://h:8443` → `h:8443`).
fn host_of(origin: &str) -> String {
    origin
        .split_once("://")
        .map_or(origin, |(_, h)| h)
        .to_string()
}

/// A connection that could not be made, in words.
#[derive(Debug, PartialEq, Eq)]
enum ConnectFailure {
    /// Worth waiting for (refused, unreachable, a name that does not resolve yet).
    Unreachable(String),
    /// Waiting will not help (TLS against a plain-HTTP port, an untrusted certificate).
    Fatal(String),
}

fn connect_failure(e: &reqwest::Error, host: &str) -> ConnectFailure {
    let mut causes = Vec::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        causes.push(s.to_string());
        source = s.source();
    }
    classify_connect(&causes, host)
}

/// The words for a connection failure, from its chain of causes (innermost last).
fn classify_connect(causes: &[String], host: &str) -> ConnectFailure {
    let all = causes.join(": ").to_lowercase();
    let last = causes
        .last()
        .cloned()
        .unwrap_or_else(|| "could not connect".into());
    if all.contains("invalidcontenttype") || all.contains("corrupt message") {
        return ConnectFailure::Fatal(format!(
            "TLS handshake with {host} failed: the port answers in plain HTTP, not HTTPS (check the scheme and port of target.chevereto.url)"
        ));
    }
    if all.contains("certificate") || all.contains("unknownissuer") {
        return ConnectFailure::Fatal(format!(
            "the TLS certificate of {host} is not trusted: {last}"
        ));
    }
    if all.contains("dns error") || all.contains("failed to lookup address") {
        return ConnectFailure::Unreachable(format!("its name does not resolve ({last})"));
    }
    if all.contains("connection refused") {
        return ConnectFailure::Unreachable("connection refused".into());
    }
    ConnectFailure::Unreachable(last)
}

/// A transport error in words, without the request (which could carry the key in a field).
fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "connection lost"
    };
    let mut cause = String::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        cause = s.to_string();
        source = s.source();
    }
    if cause.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}: {cause}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_failures_in_words() {
        let words = |causes: &[&str]| {
            let causes: Vec<String> = causes.iter().map(|c| c.to_string()).collect();
            classify_connect(&causes, "h:443")
        };
        assert_eq!(
            words(&[
                "client error (Connect)",
                "tcp connect error",
                "Connection refused (os error 111)"
            ]),
            ConnectFailure::Unreachable("connection refused".into())
        );
        assert!(matches!(
            words(&["client error (Connect)", "received corrupt message of type InvalidContentType"]),
            ConnectFailure::Fatal(w) if w.contains("plain HTTP, not HTTPS")
        ));
        assert!(matches!(
            words(&["client error (Connect)", "invalid peer certificate: UnknownIssuer"]),
            ConnectFailure::Fatal(w) if w.contains("not trusted")
        ));
        assert!(matches!(
            words(&["client error (Connect)", "dns error", "failed to lookup address information"]),
            ConnectFailure::Unreachable(w) if w.contains("does not resolve")
        ));
        assert_eq!(host_of("https://h.invalid:8443"), "h.invalid:8443");
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        for a in 1..20 {
            let d = backoff(a);
            assert!(d <= Duration::from_secs(60));
        }
        assert!(backoff(1) <= Duration::from_secs(1));
        assert!(backoff(6) >= Duration::from_secs(8));
    }
}
