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

/// An album, by its id or by its URL: users find the URL in their browser, and the
/// id is its last part (`https://host/album/Harbour.DM` → `DM`; an album without a
/// name in its URL, `…/album/DM`, too).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct AlbumRef(pub String);

/// A URL that names no album.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an album URL (like https://host/album/Name.ID) nor an album id")]
pub struct AlbumRefError(pub String);

impl AlbumRef {
    pub fn parse(s: &str) -> Result<AlbumRef, AlbumRefError> {
        let s = s.trim();
        let bad = || AlbumRefError(s.to_string());
        let Some((_, rest)) = s.split_once("://") else {
            let id_like = !s.is_empty() && !s.contains(['/', '?', '#', ' ']);
            return id_like.then(|| AlbumRef(s.to_string())).ok_or_else(bad);
        };
        let path = rest.split(['?', '#']).next().unwrap_or("");
        let segments: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        let at = segments
            .iter()
            .rposition(|p| *p == "album" || *p == "a")
            .ok_or_else(bad)?;
        let last = segments.get(at + 1).ok_or_else(bad)?;
        let id = last.rsplit('.').next().unwrap_or(last);
        let id_chars = id.chars().all(|c| c.is_ascii_alphanumeric());
        (!id.is_empty() && id_chars && segments.len() == at + 2)
            .then(|| AlbumRef(id.to_string()))
            .ok_or_else(bad)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for AlbumRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = super::Scalar::deserialize(d)?;
        let text = s.text().ok_or_else(|| {
            serde::de::Error::custom(format!("an album is its id or its URL, not {}", s.shown()))
        })?;
        AlbumRef::parse(&text).map_err(serde::de::Error::custom)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn albums_by_id_or_url() {
        let id = |s: &str| AlbumRef::parse(s).map(|a| a.0);
        assert_eq!(id("DM").unwrap(), "DM");
        assert_eq!(id("https://h.invalid/album/Harbour.DM").unwrap(), "DM");
        assert_eq!(
            id("https://h.invalid/album/Harbour.at.dawn.DM/").unwrap(),
            "DM"
        );
        assert_eq!(
            id("http://127.0.0.1:8099/album/DM?sort=date_desc").unwrap(),
            "DM"
        );
        assert_eq!(id("https://h.invalid/sub/a/Xy1").unwrap(), "Xy1");
        assert!(id("https://h.invalid/image/photo.abc").is_err());
        assert!(id("https://h.invalid/album/").is_err());
        assert!(id("https://h.invalid/album/x/embeds").is_err());
        assert!(id("a b").is_err());
    }
}
