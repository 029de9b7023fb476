//! One try of one upload: the request (multipart form, the key in a header or a
//! field), the answer read by the contract in `protocol`, and a connection that
//! could not be made told apart from one that failed after the bytes left. Retries,
//! pacing and the breaker are the [`Pacer`](crate::deliver::pacer)'s.

use std::time::Duration;

use base64::Engine as _;

use super::protocol::{self, Answer};
use crate::config::{AnswerFormat, Auth, CheveretoPlan, SourceMode};
use crate::deliver::pacer::Try;
use crate::i18n::Localized;

/// What to send for one file.
pub struct UploadRequest<'a> {
    pub source: Source<'a>,
    pub title: String,
    pub description: String,
    pub tags: Vec<String>,
    pub album_id: Option<String>,
}

/// The `source` of an upload.
pub enum Source<'a> {
    /// The output's bytes, borrowed: each try copies them into its own body.
    File {
        bytes: &'a [u8],
        name: String,
        mime: String,
    },
    /// A remote image the host fetches itself.
    Url(String),
    /// No source at all: the host checks the key and answers `Empty upload source`.
    Nothing,
}

/// A configured client for one host.
pub struct Uploader {
    client: reqwest::Client,
    target: CheveretoPlan,
    /// `host:port`, for messages.
    host: String,
}

impl Uploader {
    pub fn new(target: &CheveretoPlan) -> Result<Uploader, reqwest::Error> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(target.timeout)
            .connect_timeout(Duration::from_secs(15))
            .user_agent(concat!("pixpipe/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Uploader {
            client,
            host: host_of(target.endpoint.origin()),
            target: target.clone(),
        })
    }

    /// `host:port` of the endpoint.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Sends one request and says what it came to.
    pub async fn try_once(&self, req: &UploadRequest<'_>) -> Try<Answer> {
        match self.attempt(req).await {
            Ok(Answer::Transient(why)) => Try::Again {
                why,
                maybe_sent: false,
            },
            Ok(Answer::RetryAfter(d)) => Try::Wait(d),
            Ok(answer) => Try::Answered(answer),
            Err(e) if e.is_connect() => match connect_failure(&e, &self.host) {
                ConnectFailure::Unreachable(cause) => Try::Unreachable(cause),
                ConnectFailure::Fatal(why) => Try::Fatal(why),
            },
            // A request that failed after connecting may have been stored.
            Err(e) => Try::Again {
                why: describe(&e),
                maybe_sent: true,
            },
        }
    }

    async fn attempt(&self, req: &UploadRequest<'_>) -> Result<Answer, reqwest::Error> {
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

    fn form(&self, req: &UploadRequest<'_>) -> Result<reqwest::multipart::Form, reqwest::Error> {
        use reqwest::multipart::{Form, Part};
        let t = &self.target;
        let mut form = Form::new();
        if t.auth == Auth::Field {
            form = form.text("key", t.api_key.expose().to_string());
        }
        form = match (&req.source, t.source) {
            (Source::Url(url), _) => form.text("source", url.clone()),
            (Source::Nothing, _) => form,
            (Source::File { bytes, .. }, SourceMode::Base64) => form.text(
                "source",
                base64::engine::general_purpose::STANDARD.encode(bytes),
            ),
            (Source::File { bytes, name, mime }, SourceMode::File) => form.part(
                "source",
                Part::bytes(bytes.to_vec())
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
    Fatal(Localized),
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
        let host = ("host", host.to_string());
        return ConnectFailure::Fatal(Localized::new("msg-tls-plain-port", &[host]));
    }
    if all.contains("certificate") || all.contains("unknownissuer") {
        let args = [("host", host.to_string()), ("cause", last)];
        return ConnectFailure::Fatal(Localized::new("msg-tls-untrusted", &args));
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
fn describe(e: &reqwest::Error) -> Localized {
    let id = if e.is_timeout() {
        "msg-net-timed-out"
    } else {
        "msg-net-lost"
    };
    let mut cause = String::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        cause = s.to_string();
        source = s.source();
    }
    let cause = if cause.is_empty() {
        cause
    } else {
        format!(": {cause}")
    };
    Localized::new(id, &[("cause", cause)])
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
            ConnectFailure::Fatal(w) if w.english().contains("plain HTTP, not HTTPS")
        ));
        assert!(matches!(
            words(&["client error (Connect)", "invalid peer certificate: UnknownIssuer"]),
            ConnectFailure::Fatal(w) if w.english().contains("not trusted")
        ));
        assert!(matches!(
            words(&["client error (Connect)", "dns error", "failed to lookup address information"]),
            ConnectFailure::Unreachable(w) if w.contains("does not resolve")
        ));
        assert_eq!(host_of("https://h.invalid:8443"), "h.invalid:8443");
    }
}
