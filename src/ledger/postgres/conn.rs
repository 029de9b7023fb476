//! One database connection on a thread of its own.
//!
//! The ledger's interface is synchronous and is called from inside the upload
//! target's async runtime, where the blocking client (which runs a runtime of its
//! own) must not be driven. So each connection lives on its own thread and takes
//! its work through a channel. The thread also rides out a database restart:
//! work that fails because the connection broke is tried again on a new one, for
//! up to [`PATIENCE`]; every piece of work is written so that doing it twice is
//! the same as doing it once.

use std::collections::HashMap;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use postgres::error::SqlState;
use postgres::types::ToSql;
use postgres::{Client, Row, Statement};

use super::connect::Connector;
use super::error::{PgError, kind, other, unreachable};
use crate::ledger::LedgerErrorKind;

/// How long work waits for a database that went away before the run gives up on it.
pub const PATIENCE: Duration = Duration::from_secs(600);

type Job = Box<dyn FnOnce(&mut Link) + Send>;

/// A connection's thread and the way to hand it work.
pub struct Conn {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

/// What the thread owns: how to connect, and the connection when there is one.
pub struct Link {
    connector: Connector,
    client: Option<Client>,
    /// Statements prepared on this connection (the server parses each SQL text once).
    prepared: HashMap<String, Statement>,
    shown: String,
}

/// The connection as work sees it: statements are prepared once and kept.
pub struct Db<'a> {
    client: &'a mut Client,
    prepared: &'a mut HashMap<String, Statement>,
}

type Params<'p> = &'p [&'p (dyn ToSql + Sync)];

impl Db<'_> {
    fn statement(&mut self, sql: &str) -> Result<Statement, postgres::Error> {
        if let Some(s) = self.prepared.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql)?;
        self.prepared.insert(sql.to_string(), s.clone());
        Ok(s)
    }

    pub fn execute(&mut self, sql: &str, params: Params<'_>) -> Result<u64, postgres::Error> {
        let s = self.statement(sql)?;
        self.client.execute(&s, params)
    }

    pub fn query(&mut self, sql: &str, params: Params<'_>) -> Result<Vec<Row>, postgres::Error> {
        let s = self.statement(sql)?;
        self.client.query(&s, params)
    }

    pub fn query_opt(
        &mut self,
        sql: &str,
        params: Params<'_>,
    ) -> Result<Option<Row>, postgres::Error> {
        let s = self.statement(sql)?;
        self.client.query_opt(&s, params)
    }

    pub fn query_one(&mut self, sql: &str, params: Params<'_>) -> Result<Row, postgres::Error> {
        let s = self.statement(sql)?;
        self.client.query_one(&s, params)
    }

    /// The plain client, for the rare work that needs a transaction.
    pub fn client(&mut self) -> &mut Client {
        self.client
    }
}

impl Conn {
    /// Connects at once, so that a database that cannot be reached is said at the start.
    pub fn open(connector: &Connector, shown: &str) -> Result<Conn, LedgerErrorKind> {
        let client = connector.connect().map_err(|e| unreachable(shown, e))?;
        let mut link = Link {
            connector: connector.clone(),
            client: Some(client),
            prepared: HashMap::new(),
            shown: shown.to_string(),
        };
        let (tx, rx) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("pixpipe-ledger".into())
            .spawn(move || {
                for job in rx {
                    job(&mut link);
                }
            })
            .map_err(|e| other(PgError::Thread(e)))?;
        Ok(Conn {
            jobs: Some(tx),
            thread: Some(thread),
        })
    }

    /// Runs `work` on the connection, again on a new one if the connection broke
    /// (for up to `patience`), and gives its result.
    pub fn call_within<R: Send + 'static>(
        &self,
        patience: Duration,
        work: impl FnMut(&mut Db<'_>) -> Result<R, postgres::Error> + Send + 'static,
    ) -> Result<R, LedgerErrorKind> {
        let (tx, rx) = mpsc::sync_channel(1);
        let job: Job = Box::new(move |link: &mut Link| {
            let _ = tx.send(link.run(patience, work));
        });
        let sent = self.jobs.as_ref().map(|j| j.send(job));
        match sent {
            Some(Ok(())) => rx.recv().unwrap_or_else(|_| Err(gone())),
            _ => Err(gone()),
        }
    }

    /// [`Conn::call_within`] with the usual patience.
    pub fn call<R: Send + 'static>(
        &self,
        work: impl FnMut(&mut Db<'_>) -> Result<R, postgres::Error> + Send + 'static,
    ) -> Result<R, LedgerErrorKind> {
        self.call_within(PATIENCE, work)
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        drop(self.jobs.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn gone() -> LedgerErrorKind {
    other(PgError::ThreadStopped)
}

impl Link {
    fn run<R>(
        &mut self,
        patience: Duration,
        mut work: impl FnMut(&mut Db<'_>) -> Result<R, postgres::Error>,
    ) -> Result<R, LedgerErrorKind> {
        let deadline = Instant::now() + patience;
        let mut pause = Duration::from_millis(100);
        loop {
            let result = match self.db() {
                Ok(mut db) => work(&mut db),
                Err(e) => Err(e),
            };
            let e = match result {
                Ok(r) => return Ok(r),
                Err(e) => e,
            };
            if self.client.as_ref().is_some_and(Client::is_closed) || is_connect_error(&e) {
                self.client = None;
                self.prepared.clear();
            }
            if !worth_retrying(&e) || Instant::now() + pause > deadline {
                return Err(match self.client {
                    None => unreachable(&self.shown, e),
                    Some(_) => kind(e),
                });
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_secs(3));
        }
    }

    fn db(&mut self) -> Result<Db<'_>, postgres::Error> {
        if self.client.is_none() {
            self.client = Some(self.connector.connect()?);
        }
        Ok(Db {
            client: self.client.as_mut().expect("connected above"),
            prepared: &mut self.prepared,
        })
    }
}

/// A broken connection, a server starting or stopping, or a lost race between
/// workers: the same work may well succeed when tried again.
fn worth_retrying(e: &postgres::Error) -> bool {
    if e.is_closed() || is_connect_error(e) {
        return true;
    }
    match e.code() {
        Some(code) => {
            *code == SqlState::T_R_DEADLOCK_DETECTED
                || *code == SqlState::T_R_SERIALIZATION_FAILURE
                || *code == SqlState::ADMIN_SHUTDOWN
                || *code == SqlState::CRASH_SHUTDOWN
                || *code == SqlState::CANNOT_CONNECT_NOW
                || code.code().starts_with("08")
        }
        None => e.as_db_error().is_none(),
    }
}

fn is_connect_error(e: &postgres::Error) -> bool {
    e.as_db_error().is_none() && e.code().is_none() && !e.is_closed() && {
        let s = e.to_string();
        s.starts_with("error connecting") || s.contains("error communicating")
    }
}
