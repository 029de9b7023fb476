//! From a URL to a connection, the way libpq users expect: the password from the URL,
//! else `PGPASSWORD`, else the password file (`PGPASSFILE` or `~/.pgpass`); TLS by
//! rustls when the URL asks for it (`sslmode=require`), with the system's roots.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use postgres::config::{Host, SslMode};
use postgres::{Client, Config, NoTls};
use tokio_postgres_rustls::MakeRustlsConnect;

/// Why a URL gives no way to connect.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(transparent)]
    Url(postgres::Error),
    #[error("cannot set up TLS: {0}")]
    Tls(#[source] rustls::Error),
}

/// How to reach the database, ready to connect again after a restart.
#[derive(Clone)]
pub struct Connector {
    config: Config,
    tls: Option<MakeRustlsConnect>,
}

impl Connector {
    /// Reads the URL and the environment once.
    pub fn new(url: &str) -> Result<Connector, ConnectError> {
        let mut config = Config::from_str(url).map_err(ConnectError::Url)?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(5));
        }
        if config.get_user().is_none()
            && let Ok(user) = std::env::var("PGUSER").or_else(|_| std::env::var("USER"))
        {
            config.user(&user);
        }
        if config.get_dbname().is_none()
            && let Ok(db) = std::env::var("PGDATABASE")
        {
            config.dbname(&db);
        }
        if config.get_password().is_none()
            && let Some(pw) = std::env::var("PGPASSWORD")
                .ok()
                .or_else(|| password_from_file(&config))
        {
            config.password(pw);
        }
        config.application_name("pixpipe");
        let tls = match config.get_ssl_mode() {
            SslMode::Require => Some(rustls_connector()?),
            // Without `sslmode=require`, the connection is plain, as the URL says.
            _ => {
                config.ssl_mode(SslMode::Disable);
                None
            }
        };
        Ok(Connector { config, tls })
    }

    pub fn connect(&self) -> Result<Client, postgres::Error> {
        match &self.tls {
            Some(tls) => self.config.connect(tls.clone()),
            None => self.config.connect(NoTls),
        }
    }
}

fn rustls_connector() -> Result<MakeRustlsConnect, ConnectError> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(ConnectError::Tls)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

/// The password for this host, port, database and user from the password file, whose
/// lines are `host:port:database:user:password` with `*` for any and `\` escapes.
fn password_from_file(config: &Config) -> Option<String> {
    let file = std::env::var_os("PGPASSFILE")
        .map(PathBuf::from)
        .or_else(|| dirs::home_dir().map(|h| h.join(".pgpass")))?;
    let text = std::fs::read_to_string(file).ok()?;
    let host = match config.get_hosts().first()? {
        Host::Tcp(h) => h.clone(),
        #[cfg(unix)]
        Host::Unix(p) => p.display().to_string(),
    };
    let port = config
        .get_ports()
        .first()
        .copied()
        .unwrap_or(5432)
        .to_string();
    let db = config.get_dbname().unwrap_or("").to_string();
    let user = config.get_user().unwrap_or("").to_string();
    let wanted = [host, port, db, user];
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .find_map(|line| {
            let fields = split_pgpass(line);
            let [h, p, d, u, pw] = <[String; 5]>::try_from(fields).ok()?;
            let fits = [h, p, d, u]
                .iter()
                .zip(&wanted)
                .all(|(f, w)| f == "*" || f == w || (f == "localhost" && w == "127.0.0.1"));
            fits.then_some(pw)
        })
}

/// A password-file line's fields: `:` separates, `\` escapes the next character.
fn split_pgpass(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => fields.last_mut().unwrap().extend(chars.next()),
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => fields.last_mut().unwrap().push(c),
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_file_lines_split_on_unescaped_colons() {
        assert_eq!(
            split_pgpass(r"db.lan:5432:*:ann:pa\:ss\\word"),
            vec!["db.lan", "5432", "*", "ann", r"pa:ss\word"]
        );
        assert_eq!(split_pgpass("a:b:c").len(), 3);
    }
}
