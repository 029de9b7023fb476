//! A database of its own for each PostgreSQL test, in the cluster that
//! `PIXPIPE_TEST_POSTGRES` names (`.ci/run` starts a private one on loopback). Without
//! that variable, the tests that need one say so and pass without checking anything.

use std::io::Write;

use postgres::{Client, NoTls};

/// A fresh database, dropped (with any connection left to it) at the end of the test.
pub struct TestDb {
    pub url: String,
    admin: String,
    name: String,
}

/// A new empty database for `test`, or `None` when no cluster is given.
pub fn database(test: &str) -> Option<TestDb> {
    let Ok(admin) = std::env::var("PIXPIPE_TEST_POSTGRES") else {
        // Straight to the file descriptor: the test harness captures `eprintln!` of a
        // passing test, and a skip must be seen.
        let _ = writeln!(
            std::io::stderr(),
            "{test}: skipped: no PostgreSQL to test against; set PIXPIPE_TEST_POSTGRES to a \
             loopback cluster's URL, e.g. postgres://postgres@127.0.0.1:55432/postgres \
             (`.ci/postgres start DIR` makes one)"
        );
        return None;
    };
    let name = format!("pixpipe_{test}_{}", std::process::id());
    let mut c = Client::connect(&admin, NoTls).expect("connect to PIXPIPE_TEST_POSTGRES");
    // One statement per call: neither may run inside the implicit transaction of a batch.
    c.execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"), &[])
        .expect("drop an old test database");
    c.execute(&format!("CREATE DATABASE {name}"), &[])
        .expect("create a test database");
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    Some(TestDb {
        url: format!("{base}/{name}"),
        admin,
        name,
    })
}

impl TestDb {
    /// A connection to this database, to look at what the workers wrote.
    pub fn client(&self) -> Client {
        Client::connect(&self.url, NoTls).expect("connect to the test database")
    }

    /// One number from a query.
    pub fn count(&self, sql: &str) -> i64 {
        self.client().query_one(sql, &[]).expect(sql).get(0)
    }

    /// One number from a query, or `None` while the tables do not exist yet.
    pub fn peek(&self, sql: &str) -> Option<i64> {
        self.client().query_one(sql, &[]).ok().map(|r| r.get(0))
    }

    /// Drops every connection to this database, as a restart of the server would.
    pub fn drop_connections(&self) -> u64 {
        let mut c = Client::connect(&self.admin, NoTls).expect("connect as admin");
        c.query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
            &[&self.name],
        )
        .expect("terminate connections")
        .len() as u64
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Ok(mut c) = Client::connect(&self.admin, NoTls) {
            let _ = c.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}
