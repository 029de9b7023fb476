//! The value types of the pipeline file. Each checks itself while it is read, so a
//! bad value is reported at its own line and column, in words.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The schema version, accepted only when it is one this build understands.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Version(pub u32);

impl<'de> Deserialize<'de> for Version {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = u32::deserialize(d)?;
        if v == 1 {
            Ok(Version(v))
        } else {
            Err(serde::de::Error::custom(format!(
                "version: unsupported pipeline version {v} (this pixpipe reads version 1)"
            )))
        }
    }
}

/// A resize width: 1 ..= 65535 pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Width(pub u32);

impl<'de> Deserialize<'de> for Width {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = i64::deserialize(d)?;
        if (1..=65535).contains(&v) {
            Ok(Width(v as u32))
        } else {
            Err(serde::de::Error::custom(format!(
                "width must be between 1 and 65535 pixels, not {v}"
            )))
        }
    }
}

/// The resampling filter, from fastest to sharpest.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Filter {
    Nearest,
    Box,
    Bilinear,
    Hamming,
    CatmullRom,
    Mitchell,
    Gaussian,
    #[default]
    Lanczos3,
}

/// Whether JPEGs may be shrunk by the decoder (much faster, visually the same).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DecodeMode {
    #[default]
    Scaled,
    Full,
}

/// Enums whose one spelling is their serde name: the pipeline file, the command line,
/// the JSON and the tables all say `catmull-rom`, never `CatmullRom`.
macro_rules! named {
    ($ty:ident { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];
            pub const NAMES: &'static [&'static str] = &[$($name),+];

            /// The name as the pipeline file and the command line spell it.
            pub fn name(self) -> &'static str {
                match self { $($ty::$variant => $name),+ }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }

        impl FromStr for $ty {
            type Err = UnknownName;
            fn from_str(s: &str) -> Result<Self, UnknownName> {
                $ty::ALL.iter().copied().find(|v| v.name() == s).ok_or_else(|| UnknownName {
                    given: s.to_string(),
                    known: $ty::NAMES.join(", "),
                })
            }
        }
    };
}

/// A name that is none of an enum's spellings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{given:?} is not one of {known}")]
pub struct UnknownName {
    pub given: String,
    pub known: String,
}

named!(Filter {
    Nearest => "nearest",
    Box => "box",
    Bilinear => "bilinear",
    Hamming => "hamming",
    CatmullRom => "catmull-rom",
    Mitchell => "mitchell",
    Gaussian => "gaussian",
    Lanczos3 => "lanczos3",
});

named!(DecodeMode {
    Scaled => "scaled",
    Full => "full",
});

/// The output format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OutputFormat {
    #[default]
    Jpeg,
    Png,
    Webp,
    /// The source's own format (JPEG, PNG or WebP; others become JPEG).
    Keep,
}

/// A JPEG quality, 1 ..= 100.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Quality(pub u8);

impl<'de> Deserialize<'de> for Quality {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = i64::deserialize(d)?;
        if (1..=100).contains(&v) {
            Ok(Quality(v as u8))
        } else {
            Err(serde::de::Error::custom(format!(
                "quality must be between 1 and 100, not {v}"
            )))
        }
    }
}

/// An sRGB colour written `#rrggbb`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(pub [u8; 3]);

impl Default for Rgb {
    fn default() -> Self {
        Rgb([255, 255, 255])
    }
}

impl Rgb {
    fn parse(s: &str) -> Option<Rgb> {
        let hex = s.strip_prefix('#')?;
        if hex.len() != 6 || !hex.is_ascii() {
            return None;
        }
        let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
        Some(Rgb([byte(0)?, byte(2)?, byte(4)?]))
    }
}

impl<'de> Deserialize<'de> for Rgb {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Rgb::parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format!("colour must look like \"#ffffff\", not {s:?}"))
        })
    }
}

impl Serialize for Rgb {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let [r, g, b] = self.0;
        s.serialize_str(&format!("#{r:02x}{g:02x}{b:02x}"))
    }
}

/// A positive number of seconds (fractions allowed).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Seconds(pub f64);

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = f64::deserialize(d)?;
        if v.is_finite() && v > 0.0 && v <= 86_400.0 {
            Ok(Seconds(v))
        } else {
            Err(serde::de::Error::custom(format!(
                "must be between 0 and 86400 seconds, not {v}"
            )))
        }
    }
}

/// Where the key goes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Auth {
    #[default]
    Header,
    Field,
}

/// How the file's bytes travel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceMode {
    #[default]
    File,
    Base64,
}

/// The `format` parameter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AnswerFormat {
    #[default]
    Json,
    Txt,
    Redirect,
}

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

/// Worker threads: at least one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Jobs(pub usize);

impl<'de> Deserialize<'de> for Jobs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = i64::deserialize(d)?;
        if (1..=1024).contains(&v) {
            Ok(Jobs(v as usize))
        } else {
            Err(serde::de::Error::custom(format!(
                "jobs must be between 1 and 1024, not {v}"
            )))
        }
    }
}

/// A string whose `${NAME}` parts are read from the environment when the file is loaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Text(pub String);

impl Text {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        interpolate_env(&raw, |name| std::env::var(name).ok())
            .map(Text)
            .map_err(serde::de::Error::custom)
    }
}

/// A secret string (the API key): never shown, logged or serialized.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: String) -> Secret {
        Secret(s)
    }
    /// The key's bytes, for the one place that must send them.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("***")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let Text(s) = Text::deserialize(d)?;
        if s.trim().is_empty() {
            return Err(serde::de::Error::custom("api_key is empty"));
        }
        Ok(Secret(s))
    }
}

/// A glob, compiled when the file is loaded so that a bad pattern is reported where it was written.
#[derive(Debug, Clone)]
pub struct Glob(pub globset::Glob);

impl<'de> Deserialize<'de> for Glob {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let Text(s) = Text::deserialize(d)?;
        globset::GlobBuilder::new(&s)
            .literal_separator(true)
            .build()
            .map(Glob)
            .map_err(|e| serde::de::Error::custom(format!("bad glob {s:?}: {}", e.kind())))
    }
}

impl Serialize for Glob {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.glob())
    }
}

/// A `${...}` that cannot be replaced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvError {
    #[error("unclosed \"${{\" in {0:?}")]
    Unclosed(String),
    #[error("bad environment variable name {0:?}")]
    BadName(String),
    #[error("environment variable {0} is not set")]
    NotSet(String),
}

/// Replaces `${NAME}` with the variable's value; `$$` stands for a literal `$`.
pub fn interpolate_env(
    raw: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<String, EnvError> {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(body) = after.strip_prefix('{') {
            let end = body
                .find('}')
                .ok_or_else(|| EnvError::Unclosed(raw.to_string()))?;
            let name = &body[..end];
            let valid =
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                return Err(EnvError::BadName(name.to_string()));
            }
            let value = lookup(name).ok_or_else(|| EnvError::NotSet(name.to_string()))?;
            out.push_str(&value);
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_is_exact_and_refuses_clear_text_keys() {
        assert_eq!(
            UploadEndpoint::new("https://img.example.invalid/", false)
                .unwrap()
                .as_str(),
            "https://img.example.invalid/api/1/upload"
        );
        assert_eq!(
            UploadEndpoint::new("http://127.0.0.1:8080", false)
                .unwrap()
                .as_str(),
            "http://127.0.0.1:8080/api/1/upload"
        );
        assert!(UploadEndpoint::new("http://localhost", false).is_ok());
        assert!(
            UploadEndpoint::new("http://img.example.invalid", false)
                .unwrap_err()
                .to_string()
                .contains("allow_insecure_http")
        );
        assert!(UploadEndpoint::new("http://img.example.invalid", true).is_ok());
        assert!(UploadEndpoint::new("https://img.example.invalid/?x=1", false).is_err());
        assert!(UploadEndpoint::new("ftp://img.example.invalid", false).is_err());
        assert!(UploadEndpoint::new("http://127.0.0.1.evil.invalid", false).is_err());
    }

    #[test]
    fn expiration_is_checked_before_sending() {
        for ok in ["PT5M", "PT1H", "P3D", "P1W", "P1M", "P1Y", "3600", "300"] {
            assert!(Expiration::parse(ok).is_ok(), "{ok}");
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
            assert!(Expiration::parse(bad).is_err(), "{bad}");
        }
    }
}
