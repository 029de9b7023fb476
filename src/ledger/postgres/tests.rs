//! The claim protocol, step by step against a real server, where the integration tests
//! can only reach the same states by timing processes. They need the cluster that
//! `PIXPIPE_TEST_POSTGRES` names (`.ci/run` starts one); without it they say so and
//! check nothing.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ::postgres::{Client, NoTls};

use crate::config::{DbUrl, LedgerPlace};
use crate::ledger::{ContentClaim, Ledger, OutputRow, OutputState, Sharing, open};

/// A database of its own, dropped at the end.
struct Scratch {
    admin: String,
    name: String,
    url: String,
}

impl Scratch {
    fn new(test: &str) -> Option<Scratch> {
        let Ok(admin) = std::env::var("PIXPIPE_TEST_POSTGRES") else {
            let _ = writeln!(
                std::io::stderr(),
                "{test}: skipped: no PostgreSQL to test against (PIXPIPE_TEST_POSTGRES)"
            );
            return None;
        };
        let name = format!("pixpipe_unit_{test}_{}", std::process::id());
        let mut c = Client::connect(&admin, NoTls).expect("connect as admin");
        c.execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"), &[])
            .expect("drop");
        c.execute(&format!("CREATE DATABASE {name}"), &[])
            .expect("create");
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
        let url = format!("{base}/{name}");
        Some(Scratch { admin, name, url })
    }

    fn worker(&self) -> Box<dyn Ledger> {
        // Worker ids carry their start time to the millisecond.
        std::thread::sleep(Duration::from_millis(5));
        let place = LedgerPlace::Postgres(DbUrl::parse(&self.url).expect("url"));
        let sharing = Sharing {
            roots: vec![PathBuf::from("/archive")],
            lease: Duration::from_secs(120),
        };
        open(&place, sharing).expect("open the ledger")
    }

    fn sql(&self, q: &str) -> Vec<::postgres::Row> {
        Client::connect(&self.url, NoTls)
            .expect("connect")
            .query(q, &[])
            .expect(q)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Ok(mut c) = Client::connect(&self.admin, NoTls) {
            let _ = c.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

fn row(md5: &str, state: OutputState, location: &str) -> OutputRow {
    let mut r = OutputRow::new("host", md5, state);
    r.source_path = format!("/archive/{md5}.jpg");
    r.location = Some(location.into());
    r
}

fn claim(l: &dyn Ledger, md5: &str) -> bool {
    let reader = l.reader().expect("reader");
    let got = reader
        .claim_content("host", md5, Path::new("/archive/a.jpg"))
        .expect("claim");
    matches!(got, ContentClaim::Mine(_))
}

/// A stalled worker whose lease ran out sees its files taken over and finished by
/// another; when its own answers come back at last, it must not record over the
/// finished rows, whether the new owner still runs or has gone.
#[test]
fn a_late_answer_never_records_over_the_worker_that_took_the_file_over() {
    let Some(db) = Scratch::new("late_answer") else {
        return;
    };
    let (first, second) = ("0".repeat(32), "1".repeat(32));
    let mut a = db.worker();
    let run_a = a.begin_run("p.yaml", "host").expect("run");
    for md5 in [&first, &second] {
        assert!(claim(a.as_ref(), md5));
        let lost = a.commit(&[], &[row(md5, OutputState::Pending, "")], run_a);
        assert!(lost.expect("pending").is_empty());
    }
    // A stalls past its lease.
    db.sql("UPDATE pixpipe.workers SET lease_until = now() - interval '1 second'");
    let mut b = db.worker();
    let run_b = b.begin_run("p.yaml", "host").expect("run");
    for md5 in [&first, &second] {
        assert!(
            claim(b.as_ref(), md5),
            "a dead worker's claims go to the next that asks"
        );
        b.commit(&[], &[row(md5, OutputState::Pending, "")], run_b)
            .expect("pending");
        let lost = b.commit(&[], &[row(md5, OutputState::Uploaded, "https://b/")], run_b);
        assert!(lost.expect("final").is_empty(), "B owns the file");
    }
    // A wakes up with its first answer, its heartbeat not yet back, while B runs.
    let lost = a.commit(
        &[],
        &[row(&first, OutputState::Uploaded, "https://a/")],
        run_a,
    );
    assert_eq!(lost.expect("late final").len(), 1, "refused while B runs");
    // B has gone (its lease let go), then A's second answer comes.
    drop(b);
    let lost = a.commit(
        &[],
        &[row(&second, OutputState::Uploaded, "https://a/")],
        run_a,
    );
    assert_eq!(
        lost.expect("later final").len(),
        1,
        "refused after B has gone"
    );
    for r in db.sql("SELECT location, state FROM pixpipe.outputs") {
        assert_eq!(
            (r.get::<_, String>(0), r.get::<_, String>(1)),
            ("https://b/".into(), "uploaded".into())
        );
    }
    // A worker's own pending row is still its own to finish.
    let third = "2".repeat(32);
    assert!(claim(a.as_ref(), &third));
    a.commit(&[], &[row(&third, OutputState::Pending, "")], run_a)
        .expect("pending");
    let lost = a.commit(
        &[],
        &[row(&third, OutputState::Uploaded, "https://a/")],
        run_a,
    );
    assert!(lost.expect("own final").is_empty());
}
