//! This process as a worker of a shared ledger: who it is, and the heartbeat that
//! keeps its claims. A claim holds while its worker's lease runs; the heartbeat
//! extends the lease, so a worker that dies (or loses the database for longer
//! than the lease) lets its claims go, and other workers take them.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

use super::conn::Conn;

/// This worker: host name + process id + start time, unique across machines and restarts.
pub struct Me {
    pub id: String,
    pub host: String,
    pub pid: i64,
    pub lease: Duration,
    /// Set once this worker is in the workers table (a run that records); before,
    /// and in plans and dry runs, it claims nothing.
    registered: AtomicBool,
}

impl Me {
    pub fn new(lease: Duration) -> Me {
        let host = crate::process::host_name();
        let pid = i64::from(std::process::id());
        let started = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
        Me {
            id: format!("{host}:{pid}:{started}"),
            host,
            pid,
            lease,
            registered: AtomicBool::new(false),
        }
    }

    pub fn registered(&self) -> bool {
        self.registered.load(Ordering::SeqCst)
    }

    pub fn set_registered(&self) {
        self.registered.store(true, Ordering::SeqCst);
    }

    /// The lease in seconds, as the SQL takes it.
    pub fn lease_seconds(&self) -> f64 {
        self.lease.as_secs_f64()
    }
}

/// The heartbeat's thread; stopped (and waited for) when dropped.
pub struct Heartbeat {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Heartbeat {
    /// Extends the lease four times per lease, on a connection of its own, so that a
    /// slow commit on the writer never lets the lease run out.
    pub fn start(conn: Conn, id: String, lease: Duration) -> Heartbeat {
        let (stop, stopped) = mpsc::channel::<()>();
        let every = (lease / 4).max(Duration::from_millis(200));
        let seconds = lease.as_secs_f64();
        let thread = std::thread::Builder::new()
            .name("pixpipe-heartbeat".into())
            .spawn(move || {
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                    let id = id.clone();
                    // A beat that cannot get through is given up for the next one.
                    let _ = conn.call_within(every, move |c| {
                        c.execute(
                            "UPDATE pixpipe.workers SET heartbeat_at = now(),
                                 lease_until = now() + make_interval(secs => $2)
                             WHERE id = $1",
                            &[&id, &seconds],
                        )
                    });
                }
            })
            .ok();
        Heartbeat {
            stop: Some(stop),
            thread,
        }
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
