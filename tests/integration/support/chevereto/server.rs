//! The running fake host: the [`Server`] handle tests hold (start, script faults, manage keys and
//! albums, read what was stored and asked), the state its threads share, and the accept loop.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::config::{Fault, ServerConfig};
use super::records::{RequestLog, StoredImage};
use super::serve::serve_connection;

/// The running fake host. Dropping it stops accepting, closes every connection (hung ones included)
/// and joins the threads.
pub struct Server {
    shared: Arc<Shared>,
    addr: SocketAddr,
    acceptor: Option<JoinHandle<()>>,
}

/// State shared by the handle and the connection threads.
pub(super) struct Shared {
    pub(super) cfg: ServerConfig,
    pub(super) base_url: String,
    stop: AtomicBool,
    next_conn: AtomicU64,
    state: Mutex<State>,
}

pub(super) struct State {
    /// key -> is admin
    pub(super) keys: HashMap<String, bool>,
    pub(super) revoked: HashSet<String>,
    /// key -> encoded album ids it owns
    pub(super) albums: HashMap<String, HashSet<String>>,
    pub(super) faults: VecDeque<Fault>,
    pub(super) default_fault: Fault,
    pub(super) images: Vec<StoredImage>,
    /// When each of `images` was stored (same index), for the flood windows.
    pub(super) stored_at: Vec<Instant>,
    pub(super) requests: Vec<RequestLog>,
    pub(super) counter: u64,
}

impl Shared {
    /// A poisoned lock only means a test thread panicked; the data is still usable.
    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Sleeps `total`, waking early when the server stops.
    pub(super) fn sleep(&self, total: Duration) {
        let end = Instant::now() + total;
        while !self.stopping() {
            let now = Instant::now();
            if now >= end {
                break;
            }
            thread::sleep((end - now).min(Duration::from_millis(20)));
        }
    }
}

impl Server {
    /// Binds `127.0.0.1:0` and starts serving on background threads.
    pub fn start(cfg: ServerConfig) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind fake chevereto server");
        let addr = listener.local_addr().expect("local addr");
        let mut keys = HashMap::new();
        for k in &cfg.api_keys {
            keys.insert(k.clone(), false);
        }
        for k in &cfg.admin_keys {
            keys.insert(k.clone(), true);
        }
        let shared = Arc::new(Shared {
            base_url: format!("http://{addr}"),
            cfg,
            stop: AtomicBool::new(false),
            next_conn: AtomicU64::new(1),
            state: Mutex::new(State {
                keys,
                revoked: HashSet::new(),
                albums: HashMap::new(),
                faults: VecDeque::new(),
                default_fault: Fault::None,
                images: Vec::new(),
                stored_at: Vec::new(),
                requests: Vec::new(),
                counter: 0,
            }),
        });
        let sh = shared.clone();
        let acceptor = thread::Builder::new()
            .name("chevereto-accept".into())
            .spawn(move || accept_loop(sh, listener))
            .expect("spawn acceptor");
        Server {
            shared,
            addr,
            acceptor: Some(acceptor),
        }
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// Queues faults: each incoming `POST /api/1/upload` (exact path, no query) takes the next one;
    /// when the queue is empty the default fault applies (normally [`Fault::None`]).
    pub fn push_faults(&self, faults: impl IntoIterator<Item = Fault>) {
        self.shared.lock().faults.extend(faults);
    }

    /// The fault applied when the queue is empty (e.g. `Hang` or `Status503` for "host down";
    /// `Fault::None` to recover).
    pub fn set_default_fault(&self, f: Fault) {
        self.shared.lock().default_fault = f;
    }

    /// Later requests with this key get code 100 "Invalid API key.".
    pub fn revoke_key(&self, key: &str) {
        self.shared.lock().revoked.insert(key.to_string());
    }

    /// Adds (or re-enables) a key at run time.
    pub fn add_key(&self, key: &str, admin: bool) {
        let mut st = self.shared.lock();
        st.revoked.remove(key);
        st.keys.insert(key.to_string(), admin);
    }

    /// Declares that the user of `key` owns the album with this encoded id; `album_id` of other albums
    /// is dropped silently.
    pub fn add_album(&self, key: &str, album_id: &str) {
        self.shared
            .lock()
            .albums
            .entry(key.to_string())
            .or_default()
            .insert(album_id.to_string());
    }

    /// Every image stored, in order (deleted ones included, with `deleted` set).
    pub fn stored(&self) -> Vec<StoredImage> {
        self.shared.lock().images.clone()
    }

    /// Every request seen, in the order they were answered (or given up).
    pub fn requests(&self) -> Vec<RequestLog> {
        self.shared.lock().requests.clone()
    }

    /// Only the upload calls (`POST /api/1/upload`) among [`Server::requests`].
    pub fn upload_requests(&self) -> Vec<RequestLog> {
        self.requests()
            .into_iter()
            .filter(|r| r.is_upload())
            .collect()
    }

    /// How many times each received-bytes md5 (`StoredImage::sent_md5`) was stored.
    pub fn store_count_by_sent_md5(&self) -> HashMap<String, usize> {
        let mut m = HashMap::new();
        for img in &self.shared.lock().images {
            *m.entry(img.sent_md5.clone()).or_insert(0) += 1;
        }
        m
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept() so the acceptor sees the stop flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(h) = self.acceptor.take() {
            let _ = h.join();
        }
    }
}

fn accept_loop(shared: Arc<Shared>, listener: TcpListener) {
    let mut conns: Vec<JoinHandle<()>> = Vec::new();
    for incoming in listener.incoming() {
        if shared.stopping() {
            break;
        }
        match incoming {
            Ok(stream) => {
                let id = shared.next_conn.fetch_add(1, Ordering::SeqCst);
                let sh = shared.clone();
                let spawned = thread::Builder::new()
                    .name(format!("chevereto-conn-{id}"))
                    .spawn(move || serve_connection(sh, stream));
                if let Ok(h) = spawned {
                    conns.push(h);
                }
                conns.retain(|h| !h.is_finished());
            }
            // E.g. EMFILE: back off instead of spinning.
            Err(_) => thread::sleep(Duration::from_millis(10)),
        }
    }
    for h in conns {
        let _ = h.join();
    }
}
