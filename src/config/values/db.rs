//! The shared ledger's address: a PostgreSQL URL, which may hold a password, so it is
//! kept like a secret and shown without one.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use serde::{Deserialize, Deserializer};

use super::Text;

/// `postgres://user@host:port/db[?sslmode=…]`, checked where it is written.
#[derive(Clone, PartialEq, Eq)]
pub struct DbUrl(String);

/// A URL that is not a PostgreSQL connection URL pixpipe can use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DbUrlError {
    #[error("expected a URL like postgres://user@host:5432/db, got {0:?}")]
    Scheme(String),
    #[error("{0} is not a usable PostgreSQL URL: {1}")]
    Unreadable(String, String),
    #[error("{0} names no host")]
    NoHost(String),
}

impl DbUrl {
    pub fn parse(raw: &str) -> Result<DbUrl, DbUrlError> {
        let url = DbUrl(raw.trim().to_string());
        if !(url.0.starts_with("postgres://") || url.0.starts_with("postgresql://")) {
            return Err(DbUrlError::Scheme(url.shown()));
        }
        let config = postgres::Config::from_str(&url.0)
            .map_err(|e| DbUrlError::Unreadable(url.shown(), e.to_string()))?;
        if config.get_hosts().is_empty() {
            return Err(DbUrlError::NoHost(url.shown()));
        }
        Ok(url)
    }

    /// The URL with its password, for the one place that connects.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The URL as people may see it: any password replaced by `***`.
    pub fn shown(&self) -> String {
        let Some((scheme, rest)) = self.0.split_once("://") else {
            return "postgres://***".into();
        };
        let (authority, tail) = match rest.find(['/', '?']) {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        let authority = match authority.rsplit_once('@') {
            Some((user, host)) => match user.split_once(':') {
                Some((name, _password)) => format!("{name}:***@{host}"),
                None => format!("{user}@{host}"),
            },
            None => authority.to_string(),
        };
        // A password may also come as a query parameter.
        let tail = match tail.split_once('?') {
            Some((path, query)) => {
                let kept: Vec<String> = query
                    .split('&')
                    .map(|kv| match kv.split_once('=') {
                        Some(("password", _)) => "password=***".to_string(),
                        _ => kv.to_string(),
                    })
                    .collect();
                format!("{path}?{}", kept.join("&"))
            }
            None => tail.to_string(),
        };
        format!("{scheme}://{authority}{tail}")
    }
}

impl fmt::Debug for DbUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown())
    }
}

impl fmt::Display for DbUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown())
    }
}

impl<'de> Deserialize<'de> for DbUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let Text(raw) = Text::deserialize(d)?;
        DbUrl::parse(&raw).map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for DbUrl {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.shown())
    }
}

/// Where the ledger lives: one SQLite file, or a PostgreSQL database that several
/// workers share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LedgerPlace {
    File(PathBuf),
    Postgres(DbUrl),
}

impl LedgerPlace {
    /// A ledger named on the command line: a `postgres://` URL, or else a file.
    pub fn from_arg(arg: &str) -> Result<LedgerPlace, DbUrlError> {
        if arg.starts_with("postgres://") || arg.starts_with("postgresql://") {
            return DbUrl::parse(arg).map(LedgerPlace::Postgres);
        }
        Ok(LedgerPlace::File(PathBuf::from(arg)))
    }

    /// Whether the ledger is there already (a database is asked when it is opened).
    pub fn exists(&self) -> bool {
        match self {
            LedgerPlace::File(p) => p.exists(),
            LedgerPlace::Postgres(_) => true,
        }
    }
}

impl std::fmt::Display for LedgerPlace {
    /// For people: the file, or the URL without its password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LedgerPlace::File(p) => write!(f, "{}", p.display()),
            LedgerPlace::Postgres(u) => write!(f, "{u}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_never_shown_and_bad_urls_are_named() {
        let u = DbUrl::parse("postgres://ann:s3cret@db.example:5433/photos").unwrap();
        assert_eq!(u.shown(), "postgres://ann:***@db.example:5433/photos");
        assert_eq!(format!("{u:?} {u}").matches("s3cret").count(), 0);
        let q = DbUrl::parse("postgresql://ann@h/db?sslmode=require&password=pw").unwrap();
        assert_eq!(
            q.shown(),
            "postgresql://ann@h/db?sslmode=require&password=***"
        );
        assert!(matches!(
            DbUrl::parse("mysql://h/db"),
            Err(DbUrlError::Scheme(_))
        ));
        let e = DbUrl::parse("postgres://ann:pw@h:notaport/db").unwrap_err();
        assert!(!e.to_string().contains(":pw@"), "{e}");
    }

    #[test]
    fn a_url_names_a_database_and_anything_else_a_file() {
        assert!(matches!(
            LedgerPlace::from_arg("postgresql://ann@h/db"),
            Ok(LedgerPlace::Postgres(_))
        ));
        assert_eq!(
            LedgerPlace::from_arg("postgres.sqlite").unwrap(),
            LedgerPlace::File("postgres.sqlite".into())
        );
        assert!(LedgerPlace::from_arg("postgres://").is_err());
    }
}
