//! What the host's own rules make of two values: the expiration it would silently turn
//! into five minutes, and the upload endpoint it would redirect (losing the body).

use serde::{Deserialize, Deserializer, Serialize};

/// An expiration the host will understand (it silently turns anything else into five minutes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Expiration(pub String);

impl<'de> Deserialize<'de> for Expiration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = match serde_json::Value::deserialize(d)? {
            serde_json::Value::String(s) => s,
            serde_json::Value::Number(n) => n.to_string(),
            other => {
                return Err(serde::de::Error::custom(format!(
                    "expiration must be a duration, not {other}"
                )));
            }
        };
        Expiration::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// An expiration the host would not take as meant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpirationError {
    #[error("expiration {0:?} is too large")]
    TooLarge(String),
    #[error(
        "expiration {0} s is outside the host's range of 300 s (5 minutes) to 31536000 s (1 year)"
    )]
    OutOfRange(u64),
    #[error(
        "expiration {0:?} is not seconds or an ISO-8601 duration like PT5M, PT1H, P3D, P1W, P1M, P1Y (the host would silently use 5 minutes)"
    )]
    NotADuration(String),
}

impl Expiration {
    /// Validates an expiration before sending: the server silently turns garbage
    /// into five minutes. Accepts seconds (`3600`) or the ISO-8601 durations the
    /// server knows (`PT5M`, `PT1H`, `P3D`, `P1W`, `P1M`, `P1Y`).
    pub fn parse(s: &str) -> Result<Expiration, ExpirationError> {
        let s = s.trim();
        if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) {
            let secs: u64 = s
                .parse()
                .map_err(|_| ExpirationError::TooLarge(s.to_string()))?;
            if !(300..=31_536_000).contains(&secs) {
                return Err(ExpirationError::OutOfRange(secs));
            }
            return Ok(Expiration(s.to_string()));
        }
        let digits = |d: &str| !d.is_empty() && d.chars().all(|c| c.is_ascii_digit());
        let valid = match s.strip_prefix("PT") {
            Some(n) => n.strip_suffix(['M', 'H']).is_some_and(digits),
            None => s
                .strip_prefix('P')
                .and_then(|n| n.strip_suffix(['D', 'W', 'M', 'Y']))
                .is_some_and(digits),
        };
        if valid {
            Ok(Expiration(s.to_string()))
        } else {
            Err(ExpirationError::NotADuration(s.to_string()))
        }
    }
}

/// The upload endpoint of a host: exactly `{base}/api/1/upload`, no query, no trailing
/// slash (either makes the server redirect and lose the body). Checked once, when the
/// plan is made, so nothing downstream checks it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadEndpoint(String);

/// A base URL that cannot carry uploads, or would carry the key in clear text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    #[error("target.chevereto.url must not have a query or fragment: {0}")]
    QueryOrFragment(String),
    #[error("target.chevereto.url must start with https:// : {0}")]
    NoScheme(String),
    #[error("target.chevereto.url has no host: {0}")]
    NoHost(String),
    #[error(
        "refusing to send the API key over plain http:// to {0}; use https:// or set target.chevereto.allow_insecure_http: true"
    )]
    InsecureHttp(String),
    #[error("target.chevereto.url: unsupported scheme {0}://")]
    Scheme(String),
}

impl UploadEndpoint {
    /// Plain `http://` is refused for hosts other than loopback unless `allow_insecure`
    /// is set, since the key would travel in clear text.
    pub fn new(base: &str, allow_insecure: bool) -> Result<UploadEndpoint, EndpointError> {
        let base = base.trim().trim_end_matches('/');
        if base.contains('?') || base.contains('#') {
            return Err(EndpointError::QueryOrFragment(base.to_string()));
        }
        let (scheme, rest) = base
            .split_once("://")
            .ok_or_else(|| EndpointError::NoScheme(base.to_string()))?;
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
            return Err(EndpointError::NoHost(base.to_string()));
        }
        match scheme {
            "https" => {}
            "http" if allow_insecure || is_loopback(hostname) => {}
            "http" => return Err(EndpointError::InsecureHttp(hostname.to_string())),
            other => return Err(EndpointError::Scheme(other.to_string())),
        }
        Ok(UploadEndpoint(format!("{base}/api/1/upload")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The scheme, host and port, to make the host's relative answers absolute.
    pub fn origin(&self) -> &str {
        let base = self.0.trim_end_matches("/api/1/upload");
        let end = base
            .find("://")
            .map(|i| i + 3)
            .and_then(|i| base[i..].find('/').map(|j| i + j));
        end.map_or(base, |e| &base[..e])
    }
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host == "::1"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}
