//! The Chevereto API v1.1 contract, as servers really behave: where to post,
//! what to check before sending, and what each answer means for the run.
//!
//! This module only builds and reads; the transport lives with the uploader,
//! so every rule here is a plain function with tests.

use std::time::Duration;

use serde::Serialize;

/// What one upload answer means for the file and for the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The host stored the file.
    Stored(Stored),
    /// The host already had these bytes (codes 101, 102, 103); it returns no URL.
    Duplicate,
    /// Try again after this long (flood limit per minute or hour, HTTP 429).
    RetryAfter(Duration),
    /// A transient failure worth retrying with backoff (5xx, a lost connection).
    Transient(String),
    /// This file was refused; the others may still go.
    Rejected(String),
    /// The run cannot go on (bad key, uploads denied, wrong URL, host out of space, daily flood limit).
    Fatal(String),
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

/// The upload endpoint for a base URL: exactly `{base}/api/1/upload`, no query, no
/// trailing slash (either makes the server redirect and lose the body). Plain `http://`
/// is refused for hosts other than loopback unless `allow_insecure` is set, since the
/// key would travel in clear text.
pub fn endpoint(base: &str, allow_insecure: bool) -> Result<String, String> {
    let base = base.trim().trim_end_matches('/');
    if base.contains('?') || base.contains('#') {
        return Err(format!(
            "target.chevereto.url must not have a query or fragment: {base}"
        ));
    }
    let (scheme, rest) = base
        .split_once("://")
        .ok_or_else(|| format!("target.chevereto.url must start with https:// : {base}"))?;
    let host = rest
        .split('/')
        .next()
        .unwrap_or("")
        .rsplit('@')
        .next()
        .unwrap_or("");
    let hostname = if host.starts_with('[') {
        host.split(']').next().map(|h| &h[1..]).unwrap_or("")
    } else {
        host.split(':').next().unwrap_or("")
    };
    if hostname.is_empty() {
        return Err(format!("target.chevereto.url has no host: {base}"));
    }
    match scheme {
        "https" => {}
        "http" if allow_insecure || is_loopback(hostname) => {}
        "http" => {
            return Err(format!(
                "refusing to send the API key over plain http:// to {hostname}; use https:// or set target.chevereto.allow_insecure_http: true"
            ));
        }
        other => {
            return Err(format!(
                "target.chevereto.url: unsupported scheme {other}://"
            ));
        }
    }
    Ok(format!("{base}/api/1/upload"))
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host == "::1"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Validates an expiration before sending: the server silently turns garbage
/// into five minutes. Accepts seconds (`3600`) or the ISO-8601 durations the
/// server knows (`PT5M`, `PT1H`, `P3D`, `P1W`, `P1M`, `P1Y`).
pub fn check_expiration(s: &str) -> Result<String, String> {
    let s = s.trim();
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) {
        let secs: u64 = s
            .parse()
            .map_err(|_| format!("expiration {s:?} is too large"))?;
        if !(300..=31_536_000).contains(&secs) {
            return Err(format!(
                "expiration {secs} s is outside the host's range of 300 s (5 minutes) to 31536000 s (1 year)"
            ));
        }
        return Ok(s.to_string());
    }
    let valid = match s.strip_prefix("PT") {
        Some(n) => n
            .strip_suffix(['M', 'H'])
            .is_some_and(|d| !d.is_empty() && d.chars().all(|c| c.is_ascii_digit())),
        None => s
            .strip_prefix('P')
            .and_then(|n| n.strip_suffix(['D', 'W', 'M', 'Y']))
            .is_some_and(|d| !d.is_empty() && d.chars().all(|c| c.is_ascii_digit())),
    };
    if valid {
        Ok(s.to_string())
    } else {
        Err(format!(
            "expiration {s:?} is not seconds or an ISO-8601 duration like PT5M, PT1H, P3D, P1W, P1M, P1Y (the host would silently use 5 minutes)"
        ))
    }
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
        return Answer::Transient(format!("HTTP {http_status} with a body that is not JSON"));
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
            None => Answer::Transient(format!("HTTP {http_status} without a Location")),
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
        413 => Some(Answer::Rejected(
            "the host (or a proxy before it) refused a body this large (HTTP 413)".into(),
        )),
        500..=599 => Some(Answer::Transient(format!("HTTP {status} from the host"))),
        301 | 302 | 303 | 307 | 308 => Some(Answer::Fatal(format!(
            "the host redirected the upload (HTTP {status}); check target.chevereto.url"
        ))),
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
            Answer::Fatal(format!(
                "{msg}: the host's upload limit is reached; run again later"
            ))
        };
    }
    if code == 100 || lower.contains("api key") || lower.contains("no key provided") {
        return Answer::Fatal(format!("{msg} (check target.chevereto.api_key)"));
    }
    if lower.contains("invalid api version") || lower.contains("invalid api action") {
        return Answer::Fatal(format!("{msg} (check target.chevereto.url)"));
    }
    if code == 401 || lower.contains("request denied") {
        return Answer::Fatal(format!("{msg}: uploads are disabled for this key or site"));
    }
    if matches!(code, 104 | 900) || lower.contains("no space left") || lower.contains("no storage")
    {
        return Answer::Fatal(format!("{msg}: the host cannot store files"));
    }
    Answer::Rejected(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_is_exact_and_refuses_clear_text_keys() {
        assert_eq!(
            endpoint("https://img.example.invalid/", false).unwrap(),
            "https://img.example.invalid/api/1/upload"
        );
        assert_eq!(
            endpoint("http://127.0.0.1:8080", false).unwrap(),
            "http://127.0.0.1:8080/api/1/upload"
        );
        assert!(endpoint("http://localhost", false).is_ok());
        assert!(
            endpoint("http://img.example.invalid", false)
                .unwrap_err()
                .contains("allow_insecure_http")
        );
        assert!(endpoint("http://img.example.invalid", true).is_ok());
        assert!(endpoint("https://img.example.invalid/?x=1", false).is_err());
        assert!(endpoint("ftp://img.example.invalid", false).is_err());
        assert!(endpoint("http://127.0.0.1.evil.invalid", false).is_err());
    }

    #[test]
    fn expiration_is_checked_before_sending() {
        for ok in ["PT5M", "PT1H", "P3D", "P1W", "P1M", "P1Y", "3600", "300"] {
            assert!(check_expiration(ok).is_ok(), "{ok}");
        }
        for bad in [
            "5 minutes",
            "pt5m",
            "P",
            "PT",
            "P1H",
            "299",
            "99999999999",
            "",
            "P1.5D",
        ] {
            assert!(check_expiration(bad).is_err(), "{bad}");
        }
    }

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
