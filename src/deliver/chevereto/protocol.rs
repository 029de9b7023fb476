//! The Chevereto API v1.1 contract, as servers really behave: where to post,
//! what to check before sending, and what each answer means for the run.
//!
//! This module only reads; the transport lives in `client`, and the rules on
//! values (the endpoint, the expiration) are checked with the pipeline file, so
//! every rule here is a plain function with tests.

use std::time::Duration;

use serde::Serialize;

use crate::i18n::Localized;

/// What one upload answer means for the file and for the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The host stored the file.
    Stored(Stored),
    /// The host already had these bytes (codes 101, 102, 103); it returns no URL.
    Duplicate,
    /// Try again after this long (flood limit per minute or hour, HTTP 429).
    RetryAfter(Duration),
    /// A transient failure worth retrying with backoff (5xx, a body that is no answer).
    Transient(Localized),
    /// This file was refused; the others may still go.
    Rejected(Localized),
    /// The run cannot go on (bad key, uploads denied, wrong URL, host out of space, daily flood limit).
    Fatal(Localized),
}

/// The host's own words, wrapped in a message of pixpipe's that says what they mean.
fn said(id: &'static str, words: &str) -> Localized {
    Localized::new(id, &[("words", words.to_string())])
}

fn http(id: &'static str, status: u16) -> Localized {
    Localized::new(id, &[("status", status.to_string())])
}

/// What the host says about a stored file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Stored {
    pub url: Option<String>,
    pub viewer_url: Option<String>,
    pub short_url: Option<String>,
    pub delete_url: Option<String>,
    pub id: Option<String>,
    pub md5: Option<String>,
    pub size: Option<u64>,
    pub width: Option<u32>,
    pub height: Option<u32>,
}

/// Tags the server would drop without a word (over 32 characters, or holding `/` or `#`).
pub fn dropped_tags(tags: &[String]) -> Vec<&str> {
    tags.iter()
        .map(|t| t.trim())
        .filter(|t| t.chars().count() > 32 || t.contains('/') || t.contains('#'))
        .collect()
}

/// Reads a `format=json` answer; the body's `status_code` is checked as well as HTTP's.
pub fn read_json(http_status: u16, retry_after: Option<Duration>, body: &[u8]) -> Answer {
    if let Some(a) = transport_status(http_status, retry_after) {
        return a;
    }
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Answer::Transient(http("msg-http-not-json", http_status));
    };
    let status = v["status_code"].as_u64().unwrap_or(u64::from(http_status));
    if status == 200 && http_status == 200 {
        let image = &v["image"];
        let s = |k: &str| image[k].as_str().map(str::to_string);
        let n = |k: &str| {
            image[k]
                .as_u64()
                .or_else(|| image[k].as_str().and_then(|t| t.parse().ok()))
        };
        return Answer::Stored(Stored {
            url: s("url"),
            viewer_url: s("url_viewer"),
            short_url: s("url_short"),
            delete_url: s("delete_url"),
            id: s("id_encoded"),
            md5: s("md5"),
            size: n("size"),
            width: n("width").and_then(|w| u32::try_from(w).ok()),
            height: n("height").and_then(|h| u32::try_from(h).ok()),
        });
    }
    let code = v["error"]["code"].as_u64().unwrap_or(0);
    let message = v["error"]["message"].as_str().unwrap_or("").to_string();
    classify_error(code, &message)
}

/// Reads a `format=txt` answer: the URL on success, else the error message, both with HTTP 200.
pub fn read_txt(http_status: u16, retry_after: Option<Duration>, body: &[u8]) -> Answer {
    if let Some(a) = transport_status(http_status, retry_after) {
        return a;
    }
    let text = String::from_utf8_lossy(body).trim().to_string();
    if text.starts_with("http://") || text.starts_with("https://") {
        Answer::Stored(Stored {
            url: Some(text),
            ..Stored::default()
        })
    } else {
        classify_error(0, &text)
    }
}

/// Reads a `format=redirect` answer: 302 to the viewer path, errors as HTTP 200 text.
pub fn read_redirect(
    http_status: u16,
    location: Option<&str>,
    retry_after: Option<Duration>,
    body: &[u8],
) -> Answer {
    if (300..400).contains(&http_status) {
        return match location {
            Some(l) => Answer::Stored(Stored {
                viewer_url: Some(l.to_string()),
                ..Stored::default()
            }),
            None => Answer::Transient(http("msg-http-no-location", http_status)),
        };
    }
    if let Some(a) = transport_status(http_status, retry_after) {
        return a;
    }
    classify_error(0, String::from_utf8_lossy(body).trim())
}

/// Statuses that say something about the transport, not the file.
fn transport_status(status: u16, retry_after: Option<Duration>) -> Option<Answer> {
    match status {
        429 => Some(Answer::RetryAfter(
            retry_after.unwrap_or(Duration::from_secs(30)),
        )),
        413 => Some(Answer::Rejected(http("msg-http-413", status))),
        500..=599 => Some(Answer::Transient(http("msg-http-status", status))),
        301 | 302 | 303 | 307 | 308 => Some(Answer::Fatal(http("msg-host-redirected", status))),
        _ => None,
    }
}

/// The meaning of an error code and message, per the contract's table.
pub fn classify_error(code: u64, message: &str) -> Answer {
    let lower = message.to_lowercase();
    let msg = if message.is_empty() {
        format!("error code {code}")
    } else {
        message.to_string()
    };
    if lower.contains("duplicated upload") || matches!(code, 101..=103) {
        return Answer::Duplicate;
    }
    if lower.contains("flooding detected") {
        return if lower.contains("per minute") {
            Answer::RetryAfter(Duration::from_secs(60))
        } else if lower.contains("per hour") {
            Answer::RetryAfter(Duration::from_secs(3600))
        } else {
            Answer::Fatal(said("msg-host-limit", &msg))
        };
    }
    if code == 100 || lower.contains("api key") || lower.contains("no key provided") {
        return Answer::Fatal(said("msg-host-bad-key", &msg));
    }
    if lower.contains("invalid api version") || lower.contains("invalid api action") {
        return Answer::Fatal(said("msg-host-bad-url", &msg));
    }
    if code == 401 || lower.contains("request denied") {
        return Answer::Fatal(said("msg-host-denied", &msg));
    }
    if matches!(code, 104 | 900) || lower.contains("no space left") || lower.contains("no storage")
    {
        return Answer::Fatal(said("msg-host-no-storage", &msg));
    }
    Answer::Rejected(said("msg-host-said", &msg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_the_server_would_drop() {
        let tags = vec!["ok".to_string(), "a/b".into(), "#x".into(), "x".repeat(33)];
        assert_eq!(dropped_tags(&tags).len(), 3);
    }

    #[test]
    fn json_answers() {
        let ok = br#"{"status_code":200,"success":{"message":"file uploaded","code":200},"image":{"url":"https:\/\/h\/i.jpg","url_viewer":"https:\/\/h\/image\/a","id_encoded":"a","md5":"abc","size":"10","width":5,"height":4,"delete_url":"https:\/\/h\/d"},"status_txt":"OK"}"#;
        match read_json(200, None, ok) {
            Answer::Stored(s) => {
                assert_eq!(s.url.as_deref(), Some("https://h/i.jpg"));
                assert_eq!(s.size, Some(10));
                assert_eq!(s.width, Some(5));
                assert_eq!(s.md5.as_deref(), Some("abc"));
            }
            other => panic!("{other:?}"),
        }
        let err = |code: u32, msg: &str| {
            let body = format!(
                r#"{{"status_code":400,"error":{{"message":"{msg}","code":{code}}},"status_txt":"Bad Request"}}"#
            );
            read_json(400, None, body.as_bytes())
        };
        assert_eq!(err(101, "Duplicated upload"), Answer::Duplicate);
        assert_eq!(err(103, "Duplicated upload"), Answer::Duplicate);
        assert!(matches!(err(100, "Invalid API key."), Answer::Fatal(_)));
        assert!(matches!(err(401, "Request denied"), Answer::Fatal(_)));
        assert!(matches!(err(900, "No storage available"), Answer::Fatal(_)));
        assert_eq!(
            err(
                130,
                "Flooding detected. You can only upload 50 images per minute"
            ),
            Answer::RetryAfter(Duration::from_secs(60))
        );
        assert!(matches!(
            err(
                130,
                "Flooding detected. You can only upload 1000 images per day"
            ),
            Answer::Fatal(_)
        ));
        assert!(matches!(err(400, "Invalid image"), Answer::Rejected(_)));
        assert!(matches!(
            err(130, "Empty upload source"),
            Answer::Rejected(_)
        ));
        assert!(matches!(
            read_json(503, None, b"<html>"),
            Answer::Transient(_)
        ));
        assert_eq!(
            read_json(429, Some(Duration::from_secs(7)), b""),
            Answer::RetryAfter(Duration::from_secs(7))
        );
    }

    #[test]
    fn txt_and_redirect_answers_tell_urls_from_messages() {
        assert!(matches!(
            read_txt(200, None, b"https://h/i.jpg"),
            Answer::Stored(_)
        ));
        assert!(matches!(
            read_txt(200, None, b"Invalid API key."),
            Answer::Fatal(_)
        ));
        assert_eq!(read_txt(200, None, b"Duplicated upload"), Answer::Duplicate);
        match read_redirect(302, Some("/image/abc"), None, b"") {
            Answer::Stored(s) => assert_eq!(s.viewer_url.as_deref(), Some("/image/abc")),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            read_redirect(200, None, None, b"Invalid image"),
            Answer::Rejected(_)
        ));
    }
}
