//! Text that reads the environment (`${NAME}`, `${NAME:-default}`), the secret API key,
//! and globs compiled where they are written.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

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
            return Err(serde::de::Error::custom("the API key is empty"));
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
    /// Only the variable's name is kept: the rest of the value may be a key written out.
    #[error("unclosed \"${{\" after `${{{0}`")]
    Unclosed(String),
    #[error("bad environment variable name {0:?}")]
    BadName(String),
    #[error("environment variable {0} is not set")]
    NotSet(String),
}

/// Replaces `${NAME}` with the variable's value and `${NAME:-default}` with the value, or
/// with `default` when the variable is unset or empty; `$$` stands for a literal `$`.
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
            let end = body.find('}').ok_or_else(|| {
                let name: String = body
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                EnvError::Unclosed(name)
            })?;
            let (name, default) = match body[..end].split_once(":-") {
                Some((name, default)) => (name, Some(default)),
                None => (&body[..end], None),
            };
            let valid =
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                return Err(EnvError::BadName(name.to_string()));
            }
            let value = match (lookup(name), default) {
                (Some(v), Some(d)) if v.is_empty() => d.to_string(),
                (Some(v), _) => v,
                (None, Some(d)) => d.to_string(),
                (None, None) => return Err(EnvError::NotSet(name.to_string())),
            };
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

/// Whether a value as written holds text of its own beyond `${NAME}` references: an API
/// key written out, or one given as a `${NAME:-default}` default.
pub fn has_literal_text(raw: &str) -> bool {
    let mut rest = raw.trim();
    while let Some(i) = rest.find("${") {
        if !rest[..i].trim().is_empty() {
            return true;
        }
        let Some(end) = rest[i..].find('}') else {
            return true;
        };
        let body = &rest[i + 2..i + end];
        if body
            .split_once(":-")
            .is_some_and(|(_, d)| !d.trim().is_empty())
        {
            return true;
        }
        rest = &rest[i + end + 1..];
    }
    !rest.trim().is_empty()
}
