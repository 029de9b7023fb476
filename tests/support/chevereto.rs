//! A fake Chevereto image host (API v1.1) for pixpipe's integration tests.
//!
//! The server follows the Chevereto API v1.1 upload contract as real Chevereto 4 servers behave, including the surprising parts (301 on a trailing slash or a query string, HTTP 200 errors
//! in `txt`/`redirect` formats, silent drops of bad optional fields, the EXIF-Orientation re-encode that
//! changes the stored md5). It is deliberately a plain HTTP/1.1 server over `std::net`, with one thread
//! per connection and no async runtime, so that tests can start it anywhere, inspect what it received,
//! and script transport faults (resets, hangs, lost answers) that a real framework would hide.
//!
//! Use from an integration test:
//! ```ignore
//! mod support;
//! use support::chevereto::{Fault, Server, ServerConfig};
//! let server = Server::start(ServerConfig::default());
//! let url = format!("{}/api/1/upload", server.base_url());
//! // ... run pixpipe against `server.base_url()` with key ServerConfig::default().api_keys[0] ...
//! assert_eq!(server.stored().len(), 1);
//! ```
//!
//! Choices where the contract is silent (kept close to what Chevereto's PHP does):
//! - Errors are checked in the contract's order: key (100), URL (110/120), denied (401), source (130),
//!   flood (130), base64 (120), URL source (403), size (400), file type (400), duplicates (101),
//!   width (610), duplicates after processing (102/103).
//! - Admin keys skip the flood limit as well as the duplicate check.
//! - `GET /api/1/upload?...` takes its parameters from the query (that is how base64-over-GET reaches
//!   the 130 refusal); a query string on any other method gets the 301.
//! - Multipart as PHP parses it: only `filename="..."` makes a part a file (RFC 5987 `filename*` is
//!   ignored, so such a `source` part is a text field and fails as base64), the name is not
//!   percent-decoded, backslash escapes in quoted values are undone, and the path is stripped.
//! - Processing is simulated on md5s only: no pixel is decoded or written. A resize, the EXIF
//!   re-encode and the BMP->PNG conversion give a stored md5 that differs from the md5 of the bytes sent.
//! - URL sources are never fetched: a 1x1 PNG placeholder is stored.
//!
//! Dependencies: std, `md-5` and `base64` only (both are pixpipe dependencies, so any integration test
//! can include this file). JSON is written by hand because the contract fixes the key order and the
//! escaping (`\/`, `\uXXXX`), which serde_json does not reproduce.

#![allow(dead_code)]

use std::collections::{HashMap, HashSet, VecDeque};
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use md5::{Digest, Md5};

// ------------------------------------------------------------------------------------------------
// Public configuration and records
// ------------------------------------------------------------------------------------------------

/// The key that `ServerConfig::default()` accepts (a plain user key, not an admin).
pub const DEFAULT_API_KEY: &str = "chv_test_FAKEKEY0123456789";

/// How the fake host is set up. Build it with `ServerConfig { .., ..Default::default() }`.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Valid user keys (non-admin).
    pub api_keys: Vec<String>,
    /// Valid admin keys. Admins skip the duplicate check and the flood limit, may upload from URLs
    /// (when `url_upload_enabled`) and may use `use_file_date`.
    pub admin_keys: Vec<String>,
    /// Whether the host allows `source=<http(s) URL>` (admins only, as on real servers).
    pub url_upload_enabled: bool,
    /// Flood limit: at most this many stored uploads in any 60 s (non-admin keys).
    pub flood_per_minute: Option<u32>,
    /// Flood limit per hour (non-admin keys).
    pub flood_per_hour: Option<u32>,
    /// Flood limit per day (non-admin keys).
    pub flood_per_day: Option<u32>,
    /// Largest accepted file, in bytes; larger gives code 400 "File too big".
    pub max_bytes: u64,
    /// Whether non-admin keys get code 101/102/103 "Duplicated upload" for bytes already stored.
    pub duplicate_check: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            api_keys: vec![DEFAULT_API_KEY.to_string()],
            admin_keys: Vec::new(),
            url_upload_enabled: false,
            flood_per_minute: None,
            flood_per_hour: None,
            flood_per_day: None,
            max_bytes: 100 * 1024 * 1024,
            duplicate_check: true,
        }
    }
}

/// A scripted misbehaviour for one `POST /api/1/upload` request (see [`Server::push_faults`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Behave normally.
    None,
    /// Answer HTTP 500 without processing (as a crashed PHP worker would).
    Status500,
    /// Answer HTTP 502 without processing (proxy in front of a dead backend).
    Status502,
    /// Answer HTTP 503 without processing (maintenance / overloaded).
    Status503,
    /// Answer HTTP 429 with `Retry-After: <secs>` without processing (rate-limiting proxy).
    TooManyRequests { retry_after_secs: u64 },
    /// Read only part of the request body, then reset the connection without answering.
    ResetMidBody,
    /// Process and answer normally, but only after this delay.
    Slow { delay_ms: u64 },
    /// Read the request, then never answer; the socket stays open until the server stops.
    Hang,
    /// Process and store the upload, then close the connection without sending any response byte:
    /// the client cannot know that the upload landed (the reason clients keep a ledger).
    LoseAnswerAfterStore,
    /// Answer a Chevereto error with this code and message (in the requested `format`) without
    /// processing, e.g. `{ code: 104, message: "No space left on storage" }`.
    Error { code: u32, message: String },
    /// Store the upload but answer without any URL field, as a host does while an upload waits for
    /// moderation (the contract says URL fields can be absent).
    PendingModeration,
}

/// How the `source` of a stored upload was given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceKind {
    /// A multipart file part named `source`.
    File,
    /// A base64 text field.
    Base64,
    /// An `http(s)://` URL text field (nothing is fetched; a 1x1 PNG placeholder is stored).
    Url,
}

/// One upload that the server stored.
#[derive(Clone, Debug)]
pub struct StoredImage {
    /// Public id, as in `/image/<id_encoded>`.
    pub id_encoded: String,
    /// md5 of the file as stored (after the server's processing), i.e. `image.md5` in the answer.
    pub md5: String,
    /// md5 of the bytes exactly as received.
    pub sent_md5: String,
    /// md5 before a server-side resize (`image.source_md5`); `None` without a resize.
    pub source_md5: Option<String>,
    /// The bytes exactly as received (for a URL source: the placeholder PNG).
    pub bytes: Vec<u8>,
    /// The file name as the server saw it (multipart `filename`, path stripped, not percent-decoded).
    pub original_filename: String,
    /// MIME type as stored (from the bytes, not from the part header; BMP is stored as PNG).
    pub mime: String,
    /// Extension as stored (`jpg`, `png`, `mp4`, ...).
    pub extension: String,
    /// The `title` field as the server kept it (dropped if empty or "0", cut to 100 chars).
    pub title: Option<String>,
    /// The `description` field as the server kept it.
    pub description: Option<String>,
    /// The title the image ends up with (`image.title`): the field, else IPTC ObjectName of a JPEG
    /// (non-ASCII removed), else the file name without extension with `-`/`_` runs made spaces.
    pub effective_title: String,
    /// The description the image ends up with: the field, else EXIF ImageDescription (non-ASCII removed).
    pub effective_description: Option<String>,
    /// Tags kept after trimming, deduping and the silent drops.
    pub tags: Vec<String>,
    /// Album id, only if the key owns that album (see [`Server::add_album`]).
    pub album_id: Option<String>,
    /// `category_id` as sent (not validated).
    pub category_id: Option<String>,
    /// `nsfw=1`.
    pub nsfw: bool,
    /// Expiration in seconds after clamping; 0 when no expiration was asked.
    pub expiration_secs: u64,
    /// The `width` field as parsed, if any (even when ignored).
    pub width_param: Option<u32>,
    /// Stored width and height (after a resize); 0 when unknown (AVIF, video).
    pub width: u32,
    pub height: u32,
    /// The file part had a `video/*` content type.
    pub is_video: bool,
    /// The API key that uploaded it.
    pub key_used: String,
    /// Whether the key was an admin key.
    pub by_admin: bool,
    /// How the source was given.
    pub source_kind: SourceKind,
    /// The URL for a URL source.
    pub source_url: Option<String>,
    /// `use_file_date=1` sent by an admin (ignored for other keys).
    pub use_file_date: bool,
    /// `image.url` as answered.
    pub url: String,
    /// `image.delete_url` as answered.
    pub delete_url: String,
    /// Deleted through its `delete_url` since.
    pub deleted: bool,
    /// Upload time, Unix seconds (`image.date_gmt`; `expiration_date_gmt` counts from it).
    pub uploaded_at: u64,
}

/// A multipart file part as received (content not kept here; see [`StoredImage::bytes`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilePartLog {
    pub name: String,
    pub filename: String,
    pub content_type: Option<String>,
    pub len: usize,
    /// The raw `Content-Disposition` header of the part, to check how the client encoded names.
    pub content_disposition: String,
}

/// One HTTP request as the server saw it, with how it was answered.
#[derive(Clone, Debug)]
pub struct RequestLog {
    /// Which TCP connection carried it (numbered from 1), to check keep-alive reuse.
    pub connection_id: u64,
    pub method: String,
    /// Path without the query string.
    pub path: String,
    /// Query string without `?`, if the target had one.
    pub query: Option<String>,
    /// Headers, names lower-cased, in order.
    pub headers: Vec<(String, String)>,
    /// Text form fields (multipart text parts, url-encoded body, and for GET the query), in order.
    pub fields: Vec<(String, String)>,
    /// Multipart file parts (parts with a `filename` parameter).
    pub files: Vec<FilePartLog>,
    /// Body length as read (for `ResetMidBody`: the part read before the reset).
    pub body_len: usize,
    /// The fault applied, if this request took one (`Fault::None` is not recorded).
    pub fault: Option<Fault>,
    /// HTTP status answered; `None` when nothing was answered (reset, hang, lost answer).
    pub status: Option<u16>,
    /// Chevereto error code, whatever the format (also for txt/redirect, where no JSON is sent).
    pub error_code: Option<u32>,
    /// Chevereto error message.
    pub error_message: Option<String>,
    /// `id_encoded` of the image stored by this request.
    pub stored_id: Option<String>,
}

impl RequestLog {
    /// First header with this (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Last text field with this name (PHP keeps the last one too).
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether this is an upload call (`POST /api/1/upload`, no query).
    pub fn is_upload(&self) -> bool {
        self.method == "POST" && self.path == "/api/1/upload" && self.query.is_none()
    }
}

// ------------------------------------------------------------------------------------------------
// Server handle
// ------------------------------------------------------------------------------------------------

/// The running fake host. Dropping it stops accepting, closes every connection (hung ones included)
/// and joins the threads.
pub struct Server {
    shared: Arc<Shared>,
    addr: SocketAddr,
    acceptor: Option<JoinHandle<()>>,
}

/// State shared by the handle and the connection threads.
struct Shared {
    cfg: ServerConfig,
    base_url: String,
    stop: AtomicBool,
    next_conn: AtomicU64,
    state: Mutex<State>,
}

struct State {
    /// key -> is admin
    keys: HashMap<String, bool>,
    revoked: HashSet<String>,
    denied: HashSet<String>,
    /// key -> encoded album ids it owns
    albums: HashMap<String, HashSet<String>>,
    faults: VecDeque<Fault>,
    default_fault: Fault,
    images: Vec<StoredImage>,
    /// When each of `images` was stored (same index), for the flood windows.
    stored_at: Vec<Instant>,
    requests: Vec<RequestLog>,
    counter: u64,
}

impl Shared {
    /// A poisoned lock only means a test thread panicked; the data is still usable.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Sleeps `total`, waking early when the server stops.
    fn sleep(&self, total: Duration) {
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
                denied: HashSet::new(),
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

    /// `http://127.0.0.1:PORT/api/1/upload`, the one endpoint.
    pub fn upload_url(&self) -> String {
        format!("{}/api/1/upload", self.shared.base_url)
    }

    /// The socket address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Queues faults: each incoming `POST /api/1/upload` (exact path, no query) takes the next one;
    /// when the queue is empty the default fault applies (normally [`Fault::None`]).
    pub fn push_faults(&self, faults: impl IntoIterator<Item = Fault>) {
        self.shared.lock().faults.extend(faults);
    }

    /// Faults still queued.
    pub fn pending_faults(&self) -> usize {
        self.shared.lock().faults.len()
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

    /// Later uploads with this key get code 401 "Request denied" (uploads disabled for the user).
    pub fn deny_uploads(&self, key: &str) {
        self.shared.lock().denied.insert(key.to_string());
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

    /// How many times each stored md5 (`StoredImage::md5`) was stored.
    pub fn store_count_by_md5(&self) -> HashMap<String, usize> {
        let mut m = HashMap::new();
        for img in &self.shared.lock().images {
            *m.entry(img.md5.clone()).or_insert(0) += 1;
        }
        m
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
                    .spawn(move || serve_connection(sh, stream, id));
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

// ------------------------------------------------------------------------------------------------
// HTTP/1.1 connection handling
// ------------------------------------------------------------------------------------------------

/// Largest request head accepted.
const MAX_HEAD: usize = 64 * 1024;
/// Reads poll the stop flag this often.
const POLL: Duration = Duration::from_millis(50);

/// Why a connection stopped delivering bytes.
#[derive(Debug)]
enum Gone {
    /// Peer closed, an I/O error, or the server is stopping.
    Closed,
    /// The request is not valid HTTP (answer 400 and close).
    Malformed(&'static str),
    /// The declared body is over the hard cap (answer 413 and close, as a proxy would).
    TooLarge,
}

struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    shared: Arc<Shared>,
    id: u64,
}

/// A parsed request head.
struct Head {
    method: String,
    path: String,
    query: Option<String>,
    version: String,
    headers: Vec<(String, String)>,
}

impl Head {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn keep_alive(&self) -> bool {
        let conn = self.header("connection").unwrap_or("").to_ascii_lowercase();
        if self.version == "HTTP/1.0" {
            conn.contains("keep-alive")
        } else {
            !conn.contains("close")
        }
    }
}

/// How the body is framed.
enum Framing {
    None,
    Length(u64),
    Chunked,
}

impl Conn {
    /// Reads more bytes into `buf`, polling the stop flag while the peer is quiet.
    fn fill(&mut self) -> Result<(), Gone> {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            if self.shared.stopping() {
                return Err(Gone::Closed);
            }
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err(Gone::Closed),
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return Ok(());
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) =>
                {
                    continue;
                }
                Err(_) => return Err(Gone::Closed),
            }
        }
    }

    /// Reads one request head. `Ok(None)` on a clean close between requests.
    fn read_head(&mut self) -> Result<Option<Head>, Gone> {
        loop {
            // Tolerate stray CRLFs between requests (RFC 9112 2.2).
            while self.buf.starts_with(b"\r\n") {
                self.buf.drain(..2);
            }
            if let Some(end) = find(&self.buf, b"\r\n\r\n") {
                let raw: Vec<u8> = self.buf.drain(..end + 4).collect();
                return parse_head(&raw[..end]).map(Some);
            }
            if self.buf.len() > MAX_HEAD {
                return Err(Gone::Malformed("request head too large"));
            }
            match self.fill() {
                Ok(()) => {}
                Err(Gone::Closed) if self.buf.is_empty() => return Ok(None),
                Err(e) => return Err(e),
            }
        }
    }

    fn read_exact_body(&mut self, n: usize) -> Result<Vec<u8>, Gone> {
        while self.buf.len() < n {
            self.fill()?;
        }
        Ok(self.buf.drain(..n).collect())
    }

    fn read_line(&mut self) -> Result<Vec<u8>, Gone> {
        loop {
            if let Some(i) = find(&self.buf, b"\r\n") {
                let line: Vec<u8> = self.buf.drain(..i + 2).take(i).collect();
                return Ok(line);
            }
            if self.buf.len() > 8 * 1024 {
                return Err(Gone::Malformed("chunk line too long"));
            }
            self.fill()?;
        }
    }

    fn read_chunked_body(&mut self, cap: u64) -> Result<Vec<u8>, Gone> {
        let mut body = Vec::new();
        loop {
            let line = self.read_line()?;
            let line = String::from_utf8_lossy(&line);
            let size_txt = line.split(';').next().unwrap_or("").trim();
            let size =
                u64::from_str_radix(size_txt, 16).map_err(|_| Gone::Malformed("bad chunk size"))?;
            if size == 0 {
                // Trailer fields until the empty line.
                loop {
                    if self.read_line()?.is_empty() {
                        return Ok(body);
                    }
                }
            }
            if body.len() as u64 + size > cap {
                return Err(Gone::TooLarge);
            }
            let data = self.read_exact_body(size as usize + 2)?;
            if &data[size as usize..] != b"\r\n" {
                return Err(Gone::Malformed("chunk not followed by CRLF"));
            }
            body.extend_from_slice(&data[..size as usize]);
        }
    }

    fn write_all(&mut self, bytes: &[u8]) -> bool {
        self.stream
            .write_all(bytes)
            .and_then(|_| self.stream.flush())
            .is_ok()
    }
}

fn parse_head(raw: &[u8]) -> Result<Head, Gone> {
    let text = String::from_utf8_lossy(raw);
    let mut lines = text.split("\r\n");
    let request_line = lines.next().unwrap_or("");
    let mut parts = request_line.split(' ');
    let (method, target, version) = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(m), Some(t), Some(v), None) if !m.is_empty() && !t.is_empty() => (m, t, v),
        _ => return Err(Gone::Malformed("bad request line")),
    };
    if !method.bytes().all(|b| b.is_ascii_uppercase()) || !target.starts_with('/') {
        return Err(Gone::Malformed("bad request line"));
    }
    if version != "HTTP/1.1" && version != "HTTP/1.0" {
        return Err(Gone::Malformed("unsupported HTTP version"));
    }
    let mut headers = Vec::new();
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            return Err(Gone::Malformed("bad header line"));
        };
        if name.is_empty() || name.bytes().any(|b| b <= b' ' || b >= 0x7f) {
            return Err(Gone::Malformed("bad header name"));
        }
        headers.push((name.to_ascii_lowercase(), value.trim().to_string()));
    }
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), Some(q.to_string())),
        None => (target.to_string(), None),
    };
    Ok(Head {
        method: method.to_string(),
        path,
        query,
        version: version.to_string(),
        headers,
    })
}

fn framing(head: &Head) -> Result<Framing, Gone> {
    if let Some(te) = head.header("transfer-encoding") {
        let last = te
            .rsplit(',')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if last == "chunked" {
            return Ok(Framing::Chunked);
        }
        return Err(Gone::Malformed("unsupported transfer-encoding"));
    }
    let mut len: Option<u64> = None;
    for (k, v) in &head.headers {
        if k == "content-length" {
            let n: u64 = v
                .parse()
                .map_err(|_| Gone::Malformed("bad content-length"))?;
            if len.is_some_and(|l| l != n) {
                return Err(Gone::Malformed("conflicting content-length"));
            }
            len = Some(n);
        }
    }
    Ok(match len {
        Some(0) | None => Framing::None,
        Some(n) => Framing::Length(n),
    })
}

/// Builds a complete response.
fn response(
    status: u16,
    extra: &[(&str, String)],
    content_type: Option<&str>,
    body: &[u8],
    close: bool,
) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {} {}\r\n", status, reason(status));
    out.push_str("Server: fake-chevereto\r\n");
    if let Some(ct) = content_type {
        out.push_str(&format!("Content-Type: {ct}\r\n"));
    }
    for (k, v) in extra {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str(&format!("Content-Length: {}\r\n", body.len()));
    out.push_str(if close {
        "Connection: close\r\n\r\n"
    } else {
        "Connection: keep-alive\r\n\r\n"
    });
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        400 => "Bad Request",
        404 => "Not Found",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

/// Makes the kernel answer the close with RST instead of FIN (SO_LINGER with a zero timeout), so the
/// client sees "connection reset". std has no stable API for it, hence the one libc call; where the
/// constants are not known, closing with unread data still makes Linux send RST most of the time.
#[cfg(all(
    target_os = "linux",
    any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        target_arch = "x86",
        target_arch = "arm",
        target_arch = "riscv64"
    )
))]
fn set_linger_zero(stream: &TcpStream) {
    use std::os::fd::AsRawFd;
    #[repr(C)]
    struct Linger {
        l_onoff: i32,
        l_linger: i32,
    }
    unsafe extern "C" {
        fn setsockopt(
            fd: i32,
            level: i32,
            name: i32,
            value: *const std::ffi::c_void,
            len: u32,
        ) -> i32;
    }
    const SOL_SOCKET: i32 = 1;
    const SO_LINGER: i32 = 13;
    let l = Linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: valid fd owned by `stream`, pointer and length describe a live `struct linger`.
    unsafe {
        setsockopt(
            stream.as_raw_fd(),
            SOL_SOCKET,
            SO_LINGER,
            &l as *const Linger as *const std::ffi::c_void,
            std::mem::size_of::<Linger>() as u32,
        );
    }
}

#[cfg(not(all(
    target_os = "linux",
    any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        target_arch = "x86",
        target_arch = "arm",
        target_arch = "riscv64"
    )
)))]
fn set_linger_zero(_stream: &TcpStream) {}

fn serve_connection(shared: Arc<Shared>, stream: TcpStream, id: u64) {
    let _ = stream.set_read_timeout(Some(POLL));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(10)));
    let _ = stream.set_nodelay(true);
    let mut conn = Conn {
        stream,
        buf: Vec::new(),
        shared,
        id,
    };
    // A bug here must not take the test process down with an abort or leave the peer waiting:
    // the socket is dropped (closed) when the closure unwinds.
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        while serve_one(&mut conn) {}
        let _ = conn.stream.shutdown(Shutdown::Both);
    }));
}

/// One request, read in full and parsed, on its way to an answer.
struct Request {
    head: Head,
    params: Params,
    /// The fault this request took (upload calls only).
    fault: Option<Fault>,
    /// Keep the connection open after answering.
    keep: bool,
    log: RequestLog,
}

/// Serves one request; returns whether the connection stays open for another.
fn serve_one(conn: &mut Conn) -> bool {
    let Some(mut req) = read_request(conn) else {
        return false;
    };
    if let Some(keep_open) = apply_fault(conn, &mut req) {
        return keep_open;
    }
    route(conn, req)
}

/// Reads the head, takes the fault of an upload call, reads and parses the body. `None` when the
/// connection is done (closed, reset by a fault, or answered 400/413).
fn read_request(conn: &mut Conn) -> Option<Request> {
    let head = match conn.read_head() {
        Ok(Some(h)) => h,
        Ok(None) | Err(Gone::Closed) => return None,
        Err(e) => {
            bad_request(conn, None, e);
            return None;
        }
    };
    // Hard cap on bodies, well above max_bytes so that "File too big" stays the server's own answer.
    let cap = conn
        .shared
        .cfg
        .max_bytes
        .saturating_mul(2)
        .saturating_add(16 << 20);
    let framing = match framing(&head) {
        Ok(Framing::Length(n)) if n > cap => Err(Gone::TooLarge),
        other => other,
    };
    let framing = match framing {
        Ok(f) => f,
        Err(e) => {
            bad_request(conn, Some(&head), e);
            return None;
        }
    };

    let is_upload_call =
        head.method == "POST" && head.path == "/api/1/upload" && head.query.is_none();
    let fault = if is_upload_call {
        let mut st = conn.shared.lock();
        let f = st
            .faults
            .pop_front()
            .unwrap_or_else(|| st.default_fault.clone());
        if f == Fault::None { None } else { Some(f) }
    } else {
        None
    };

    let has_body = !matches!(framing, Framing::None);
    let expects_continue = head
        .header("expect")
        .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"));
    if has_body && expects_continue && !conn.write_all(b"HTTP/1.1 100 Continue\r\n\r\n") {
        return None;
    }

    let mut log = RequestLog {
        connection_id: conn.id,
        method: head.method.clone(),
        path: head.path.clone(),
        query: head.query.clone(),
        headers: head.headers.clone(),
        fields: Vec::new(),
        files: Vec::new(),
        body_len: 0,
        fault: fault.clone(),
        status: None,
        error_code: None,
        error_message: None,
        stored_id: None,
    };

    if fault == Some(Fault::ResetMidBody) {
        // Read some of the body (at least one byte, about half when the length is known), then reset.
        let want = match framing {
            Framing::Length(n) => (n / 2).max(1) as usize,
            Framing::Chunked => 1,
            Framing::None => 0,
        };
        while conn.buf.len() < want {
            if conn.fill().is_err() {
                break;
            }
        }
        log.body_len = conn.buf.len().min(want);
        record(&conn.shared, log);
        set_linger_zero(&conn.stream);
        return None;
    }

    let body = match framing {
        Framing::None => Ok(Vec::new()),
        Framing::Length(n) => conn.read_exact_body(n as usize),
        Framing::Chunked => conn.read_chunked_body(cap),
    };
    let body = match body {
        Ok(b) => b,
        Err(Gone::Closed) => {
            record(&conn.shared, log);
            return None;
        }
        Err(e) => {
            bad_request(conn, Some(&head), e);
            return None;
        }
    };
    log.body_len = body.len();

    // Parse the form for every request so the log shows what was sent, even to wrong URLs; a broken
    // form sent to the API is a client bug worth a loud 400.
    let mut params = match parse_form(&head, &body) {
        Ok(p) => p,
        Err(_) if head.path.starts_with("/api/") => {
            bad_request(conn, Some(&head), Gone::Malformed("malformed form body"));
            return None;
        }
        Err(_) => Params::default(),
    };
    // GET takes its parameters from the query string (base64 is then refused, as the contract says).
    if head.method == "GET"
        && let Some(q) = &head.query
    {
        let mut fields = parse_urlencoded(q.as_bytes());
        fields.append(&mut params.fields);
        params.fields = fields;
    }
    log.fields = params.fields.clone();
    log.files = params
        .files
        .iter()
        .map(|f| FilePartLog {
            name: f.name.clone(),
            filename: f.filename.clone(),
            content_type: f.content_type.clone(),
            len: f.data.len(),
            content_disposition: f.content_disposition.clone(),
        })
        .collect();
    let keep = head.keep_alive();
    Some(Request {
        head,
        params,
        fault,
        keep,
        log,
    })
}

/// Faults that answer (or not) without processing. `Some(keep_open)` when the request is done;
/// `None` to go on with normal processing (after the delay of `Slow`).
fn apply_fault(conn: &mut Conn, req: &mut Request) -> Option<bool> {
    let close = !req.keep;
    let resp = match req.fault.as_ref()? {
        f @ (Fault::Status500 | Fault::Status502 | Fault::Status503) => {
            let status = match f {
                Fault::Status500 => 500,
                Fault::Status502 => 502,
                _ => 503,
            };
            let body = format!(
                "<html><body><h1>{} {}</h1></body></html>",
                status,
                reason(status)
            );
            response(status, &[], Some("text/html"), body.as_bytes(), close)
        }
        Fault::TooManyRequests { retry_after_secs } => {
            let extra = [("Retry-After", retry_after_secs.to_string())];
            let body = b"<html><body><h1>429 Too Many Requests</h1></body></html>";
            response(429, &extra, Some("text/html"), body, close)
        }
        Fault::Hang => {
            record(&conn.shared, req.log.clone());
            while !conn.shared.stopping() {
                thread::sleep(Duration::from_millis(20));
            }
            return Some(false);
        }
        Fault::Error { code, message } => {
            let e = ApiError {
                code: *code,
                message: message.clone(),
            };
            req.log.error_code = Some(e.code);
            req.log.error_message = Some(e.message.clone());
            render_error(Format::from_params(&req.params), &e, close)
        }
        Fault::Slow { delay_ms } => {
            conn.shared.sleep(Duration::from_millis(*delay_ms));
            if conn.shared.stopping() {
                record(&conn.shared, req.log.clone());
                return Some(false);
            }
            return None;
        }
        Fault::None
        | Fault::ResetMidBody
        | Fault::LoseAnswerAfterStore
        | Fault::PendingModeration => return None,
    };
    Some(answer(conn, req.log.clone(), resp, req.keep))
}

/// Normal processing: redirects, the API, and the few pages a host serves for stored images.
fn route(conn: &mut Conn, req: Request) -> bool {
    let Request {
        head,
        params,
        fault,
        keep,
        mut log,
    } = req;
    let close = !keep;
    let base = conn.shared.base_url.clone();

    // A trailing slash, or a query string on the upload call: redirect to the canonical URL and
    // process nothing. A client that follows it loses its POST body (a 301 turns POST into GET).
    if head.path.len() > 1 && head.path.ends_with('/') {
        let loc = format!("{}{}", base, head.path.trim_end_matches('/'));
        let loc = if loc == base { format!("{base}/") } else { loc };
        return answer(conn, log, redirect_301(&loc, close), keep);
    }
    if head.path == "/api/1/upload" && head.query.is_some() && head.method != "GET" {
        return answer(
            conn,
            log,
            redirect_301(&format!("{base}/api/1/upload"), close),
            keep,
        );
    }

    let segments: Vec<&str> = head.path.trim_start_matches('/').split('/').collect();
    let resp = match segments.as_slice() {
        ["api", version, action] => {
            let format = Format::from_params(&params);
            let flags = Flags {
                is_get: head.method == "GET",
                pending: fault == Some(Fault::PendingModeration),
            };
            let resp = match process_upload(&conn.shared, &head, &params, version, action, flags) {
                Ok(img) => {
                    log.stored_id = Some(img.id_encoded.clone());
                    render_success(format, &img, &base, flags.pending, close)
                }
                Err(e) => {
                    log.error_code = Some(e.code);
                    log.error_message = Some(e.message.clone());
                    render_error(format, &e, close)
                }
            };
            if fault == Some(Fault::LoseAnswerAfterStore) {
                record(&conn.shared, log);
                let _ = conn.stream.shutdown(Shutdown::Both);
                return false;
            }
            resp
        }
        [..] if head.method == "GET" => serve_page(&conn.shared, &segments, close),
        _ => not_found(close),
    };
    answer(conn, log, resp, keep)
}

/// `GET /images/<file>` (the stored bytes), `/image/<id>` (viewer), `/delete/image/<id>/<hash>`
/// (deletes on a plain GET and answers 301, as real hosts do).
fn serve_page(shared: &Shared, segments: &[&str], close: bool) -> Vec<u8> {
    let base = &shared.base_url;
    let mut st = shared.lock();
    match segments {
        ["images", file] => {
            let hit = st.images.iter().find(|i| {
                !i.deleted && (i.url.ends_with(&format!("/{file}")) || thumb_or_medium_of(i, file))
            });
            match hit {
                Some(img) => response(200, &[], Some(&img.mime), &img.bytes, close),
                None => not_found(close),
            }
        }
        ["image", id] if st.images.iter().any(|i| !i.deleted && i.id_encoded == *id) => {
            let html = format!("<html><body><h1>Image {id}</h1></body></html>");
            response(
                200,
                &[],
                Some("text/html; charset=UTF-8"),
                html.as_bytes(),
                close,
            )
        }
        ["delete", "image", id, hash] => {
            let target = format!("{base}/delete/image/{id}/{hash}");
            match st
                .images
                .iter_mut()
                .find(|i| !i.deleted && i.delete_url == target)
            {
                Some(img) => {
                    img.deleted = true;
                    redirect_301(&format!("{base}/"), close)
                }
                None => not_found(close),
            }
        }
        _ => not_found(close),
    }
}

fn thumb_or_medium_of(img: &StoredImage, file: &str) -> bool {
    file == format!("{}.th.{}", img.id_encoded, img.extension)
        || file == format!("{}.md.{}", img.id_encoded, img.extension)
}

fn redirect_301(location: &str, close: bool) -> Vec<u8> {
    let body = format!("<html><body>Moved to <a href=\"{location}\">{location}</a></body></html>");
    response(
        301,
        &[("Location", location.to_string())],
        Some("text/html; charset=UTF-8"),
        body.as_bytes(),
        close,
    )
}

fn not_found(close: bool) -> Vec<u8> {
    response(
        404,
        &[],
        Some("text/html; charset=UTF-8"),
        b"<html><body><h1>404 Not Found</h1></body></html>",
        close,
    )
}

/// Records the request with the status of `resp`, then sends it.
fn answer(conn: &mut Conn, mut log: RequestLog, resp: Vec<u8>, keep: bool) -> bool {
    log.status = status_of(&resp);
    record(&conn.shared, log);
    conn.write_all(&resp) && keep
}

fn status_of(resp: &[u8]) -> Option<u16> {
    std::str::from_utf8(resp.get(9..12)?).ok()?.parse().ok()
}

fn record(shared: &Shared, log: RequestLog) {
    shared.lock().requests.push(log);
}

/// Answers 400 (or 413) to a request that cannot be parsed, and closes.
fn bad_request(conn: &mut Conn, head: Option<&Head>, why: Gone) {
    let (status, msg) = match why {
        Gone::TooLarge => (413u16, "Payload Too Large"),
        Gone::Malformed(m) => (400, m),
        Gone::Closed => return,
    };
    let log = RequestLog {
        connection_id: conn.id,
        method: head.map(|h| h.method.clone()).unwrap_or_default(),
        path: head.map(|h| h.path.clone()).unwrap_or_default(),
        query: head.and_then(|h| h.query.clone()),
        headers: head.map(|h| h.headers.clone()).unwrap_or_default(),
        fields: Vec::new(),
        files: Vec::new(),
        body_len: 0,
        fault: None,
        status: None,
        error_code: None,
        error_message: Some(msg.to_string()),
        stored_id: None,
    };
    answer(
        conn,
        log,
        response(status, &[], Some("text/plain"), msg.as_bytes(), true),
        false,
    );
    let _ = conn.stream.shutdown(Shutdown::Write);
}

// ------------------------------------------------------------------------------------------------
// Form bodies
// ------------------------------------------------------------------------------------------------

struct FilePart {
    name: String,
    filename: String,
    content_type: Option<String>,
    data: Vec<u8>,
    content_disposition: String,
}

#[derive(Default)]
struct Params {
    fields: Vec<(String, String)>,
    files: Vec<FilePart>,
}

impl Params {
    /// Last text field with this name, as PHP's `$_POST`/`$_REQUEST` keeps the last one.
    fn raw(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The field as Chevereto's API sees it: empty strings and "0" are dropped first.
    fn opt(&self, name: &str) -> Option<&str> {
        self.raw(name).filter(|v| !v.is_empty() && *v != "0")
    }

    fn file(&self, name: &str) -> Option<&FilePart> {
        self.files.iter().rev().find(|f| f.name == name)
    }
}

fn parse_form(head: &Head, body: &[u8]) -> Result<Params, &'static str> {
    let ct = head.header("content-type").unwrap_or("");
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if mime == "multipart/form-data" {
        let boundary = header_params(ct)
            .into_iter()
            .find(|(k, _)| k == "boundary")
            .map(|(_, v)| v)
            .filter(|b| !b.is_empty())
            .ok_or("multipart without boundary")?;
        parse_multipart(body, &boundary)
    } else if mime == "application/x-www-form-urlencoded" {
        Ok(Params {
            fields: parse_urlencoded(body),
            files: Vec::new(),
        })
    } else {
        Ok(Params::default())
    }
}

/// Parameters after the first `;` of a header value, keys lower-cased, quoted values unescaped
/// (`\x` becomes `x`, as PHP's multipart parser does).
fn header_params(value: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let chars: Vec<char> = value.chars().collect();
    let mut i = match chars.iter().position(|&c| c == ';') {
        Some(p) => p + 1,
        None => return out,
    };
    while i < chars.len() {
        while i < chars.len() && (chars[i] == ';' || chars[i].is_whitespace()) {
            i += 1;
        }
        let start = i;
        while i < chars.len() && chars[i] != '=' && chars[i] != ';' {
            i += 1;
        }
        let key: String = chars[start..i]
            .iter()
            .collect::<String>()
            .trim()
            .to_ascii_lowercase();
        if i >= chars.len() || chars[i] == ';' {
            if !key.is_empty() {
                out.push((key, String::new()));
            }
            continue;
        }
        i += 1; // '='
        while i < chars.len() && chars[i] == ' ' {
            i += 1;
        }
        let mut val = String::new();
        if i < chars.len() && chars[i] == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' && i + 1 < chars.len() {
                    i += 1;
                }
                val.push(chars[i]);
                i += 1;
            }
            i += 1; // closing quote
        } else {
            while i < chars.len() && chars[i] != ';' {
                val.push(chars[i]);
                i += 1;
            }
            val = val.trim().to_string();
        }
        out.push((key, val));
    }
    out
}

/// Splits a `multipart/form-data` body. A part with a `filename` parameter is a file (PHP's
/// `$_FILES`), any other part a text field. `filename*` (RFC 5987) is NOT a file name: RFC 7578
/// forbids it and PHP ignores it, so such a part arrives as a text field on a real server.
fn parse_multipart(body: &[u8], boundary: &str) -> Result<Params, &'static str> {
    let delim = [b"--".as_slice(), boundary.as_bytes()].concat();
    let close = [b"\r\n".as_slice(), &delim].concat();
    let mut params = Params::default();
    let mut pos = if body.starts_with(&delim) {
        0
    } else {
        find(body, &close).ok_or("multipart: no boundary")? + 2
    };
    loop {
        pos += delim.len();
        let rest = body.get(pos..).ok_or("multipart: truncated")?;
        if rest.starts_with(b"--") {
            return Ok(params);
        }
        // Transport padding, then CRLF.
        let pad = rest
            .iter()
            .take_while(|&&b| b == b' ' || b == b'\t')
            .count();
        if !rest[pad..].starts_with(b"\r\n") {
            return Err("multipart: bad delimiter line");
        }
        pos += pad + 2;
        let rest = &body[pos..];
        let (headers_raw, content_start) = if rest.starts_with(b"\r\n") {
            (&rest[..0], pos + 2)
        } else {
            let end = find(rest, b"\r\n\r\n").ok_or("multipart: part headers not terminated")?;
            (&rest[..end], pos + end + 4)
        };
        let end = find(&body[content_start..], &close)
            .ok_or("multipart: missing closing boundary")?
            + content_start;
        let data = &body[content_start..end];
        pos = end + 2;

        let headers_txt = String::from_utf8_lossy(headers_raw);
        let mut disposition = None;
        let mut content_type = None;
        for line in headers_txt.split("\r\n") {
            if let Some((k, v)) = line.split_once(':') {
                match k.trim().to_ascii_lowercase().as_str() {
                    "content-disposition" => disposition = Some(v.trim().to_string()),
                    "content-type" => content_type = Some(v.trim().to_string()),
                    _ => {}
                }
            }
        }
        let Some(disposition) = disposition else {
            continue;
        };
        let dparams = header_params(&disposition);
        let get = |k: &str| {
            dparams
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
        };
        let Some(name) = get("name") else { continue };
        match get("filename") {
            Some(filename) => {
                // PHP keeps only the last path component, and treats an empty name as "no file".
                if filename.is_empty() {
                    continue;
                }
                let base = filename
                    .rsplit(['/', '\\'])
                    .next()
                    .unwrap_or("")
                    .to_string();
                params.files.push(FilePart {
                    name,
                    filename: base,
                    content_type,
                    data: data.to_vec(),
                    content_disposition: disposition.clone(),
                });
            }
            None => params
                .fields
                .push((name, String::from_utf8_lossy(data).into_owned())),
        }
    }
}

/// `a=b&c=d` with `+` as space and `%XX` escapes (a bad escape is kept literally, as PHP does).
fn parse_urlencoded(body: &[u8]) -> Vec<(String, String)> {
    body.split(|&b| b == b'&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = match pair.iter().position(|&b| b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &pair[..0]),
            };
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &[u8]) -> String {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < s.len()
                && hex_val(s[i + 1]).is_some()
                && hex_val(s[i + 2]).is_some() =>
            {
                out.push(hex_val(s[i + 1]).unwrap_or(0) * 16 + hex_val(s[i + 2]).unwrap_or(0));
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_val(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

// ------------------------------------------------------------------------------------------------
// The upload call
// ------------------------------------------------------------------------------------------------

/// A Chevereto API error (`error.code`, `error.message`).
#[derive(Debug, Clone)]
struct ApiError {
    code: u32,
    message: String,
}

fn err(code: u32, message: impl Into<String>) -> ApiError {
    ApiError {
        code,
        message: message.into(),
    }
}

#[derive(Clone, Copy)]
struct Flags {
    is_get: bool,
    pending: bool,
}

/// What the `source` parameter turned out to be.
enum Source<'a> {
    File(&'a FilePart),
    Url(String),
    Base64(&'a str),
}

/// The checks of `app/legacy/routes/api.php`, in the contract's order, then the store.
/// The state lock is held throughout so that the duplicate and flood checks and the store are atomic.
fn process_upload(
    shared: &Shared,
    head: &Head,
    params: &Params,
    version: &str,
    action: &str,
    flags: Flags,
) -> Result<StoredImage, ApiError> {
    let cfg = &shared.cfg;
    // 100: the header wins over the field.
    let key = head
        .header("x-api-key")
        .filter(|k| !k.is_empty())
        .or_else(|| params.raw("key").filter(|k| !k.is_empty()))
        .ok_or_else(|| err(100, "No key provided"))?
        .to_string();
    let mut st = shared.lock();
    let admin = match st.keys.get(&key) {
        Some(&admin) if !st.revoked.contains(&key) => admin,
        _ => return Err(err(100, "Invalid API key.")),
    };
    // 110 / 120: the URL.
    if version != "1" {
        return Err(err(110, "Invalid API version"));
    }
    if action != "upload" {
        return Err(err(120, "Invalid API action"));
    }
    if st.denied.contains(&key) {
        return Err(err(401, "Request denied"));
    }

    // 130: the source. A file part wins over a text field of the same name.
    let source = if let Some(f) = params.file("source") {
        Source::File(f)
    } else {
        match params.opt("source") {
            None => return Err(err(130, "Empty upload source")),
            Some(s) if is_http_url(s) => Source::Url(s.trim().to_string()),
            Some(s) => Source::Base64(s),
        }
    };
    if flags.is_get && matches!(source, Source::Base64(_)) {
        return Err(err(
            130,
            "Upload using base64 source must be done using POST method.",
        ));
    }

    // 130: flood (admins are exempt).
    if !admin {
        check_flood(cfg, &st.stored_at)?;
    }

    // 120 / 403: resolve the bytes.
    let (bytes, original_filename, part_type, source_kind, source_url): (
        Vec<u8>,
        String,
        Option<String>,
        SourceKind,
        Option<String>,
    ) = match &source {
        Source::File(f) => (
            f.data.clone(),
            f.filename.clone(),
            f.content_type.clone(),
            SourceKind::File,
            None,
        ),
        Source::Url(u) => {
            if !(cfg.url_upload_enabled && admin) {
                return Err(err(403, "URL uploading is disabled"));
            }
            let name = u
                .split(['?', '#'])
                .next()
                .unwrap_or("")
                .rsplit('/')
                .next()
                .unwrap_or("")
                .to_string();
            let name = if name.is_empty() {
                "image.png".to_string()
            } else {
                name
            };
            (
                PLACEHOLDER_PNG.to_vec(),
                name,
                None,
                SourceKind::Url,
                Some(u.clone()),
            )
        }
        Source::Base64(text) => {
            let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(compact.as_bytes())
                .ok()
                .filter(|d| !d.is_empty())
                .ok_or_else(|| err(120, "Invalid base64 string"))?;
            (decoded, String::new(), None, SourceKind::Base64, None)
        }
    };

    // 400: size, then the kind of file.
    if bytes.len() as u64 > cfg.max_bytes {
        return Err(err(400, "File too big"));
    }
    let is_video = part_type
        .as_deref()
        .is_some_and(|t| t.trim().to_ascii_lowercase().starts_with("video/"));
    let kind = if is_video {
        sniff_video(&bytes)
    } else {
        sniff_image(&bytes)
    };
    let Some(kind) = kind else {
        return Err(err(400, "Invalid image"));
    };
    let info = if is_video {
        ImageInfo::default()
    } else {
        image_info(&bytes, kind)
    };

    // md5 of what the server stores. A JPEG with an EXIF Orientation tag is re-encoded (rotated) and a
    // BMP converted to PNG, so their stored md5 differs from the md5 of the bytes sent.
    let sent_md5 = md5_hex(&bytes);
    let processed_md5 = if kind == Kind::Jpeg && info.has_orientation {
        md5_hex(&[bytes.as_slice(), b"reencoded"].concat())
    } else if kind == Kind::Bmp {
        md5_hex(&[bytes.as_slice(), b"bmp->png"].concat())
    } else {
        sent_md5.clone()
    };

    let check_dups = cfg.duplicate_check && !admin;
    let live_md5 = |md5: &str, st: &State| st.images.iter().any(|i| !i.deleted && i.md5 == md5);
    // 101: raw bytes already stored.
    if check_dups && live_md5(&sent_md5, &st) {
        return Err(err(101, "Duplicated upload"));
    }

    // 610: width (ignored for video and animations; skipped when the width is unknown).
    let width_param = params
        .opt("width")
        .and_then(|w| w.trim().parse::<u32>().ok())
        .filter(|&w| w > 0);
    let (mut width, mut height) = (info.width, info.height);
    let mut md5 = processed_md5.clone();
    let mut source_md5 = None;
    if let Some(w) = width_param
        && !is_video
        && !info.animated
        && info.width > 0
        && source_kind != SourceKind::Url
    {
        if w > info.width {
            return Err(err(
                610,
                "Target width is greater than the original image width",
            ));
        }
        if w < info.width {
            height = ((info.height as u64 * w as u64 + info.width as u64 / 2) / info.width as u64)
                .max(1) as u32;
            width = w;
            source_md5 = Some(processed_md5.clone());
            md5 = md5_hex(&[processed_md5.as_bytes(), format!(":resized:{w}").as_bytes()].concat());
        }
    }
    // 102 / 103: the same file after processing, or the same file before a resize.
    if check_dups && md5 != sent_md5 && live_md5(&md5, &st) {
        return Err(err(102, "Duplicated upload"));
    }
    if check_dups
        && let Some(src) = &source_md5
        && st
            .images
            .iter()
            .any(|i| !i.deleted && i.source_md5.as_deref() == Some(src.as_str()))
    {
        return Err(err(103, "Duplicated upload"));
    }

    // Optional fields (silently dropped or clamped, never an error).
    let title = params
        .opt("title")
        .map(|t| t.chars().take(100).collect::<String>());
    let description = params.opt("description").map(str::to_string);
    let tags = params.opt("tags").map(parse_tags).unwrap_or_default();
    let album_id = params
        .opt("album_id")
        .filter(|a| st.albums.get(&key).is_some_and(|set| set.contains(*a)))
        .map(str::to_string);
    let category_id = params.opt("category_id").map(str::to_string);
    let nsfw = params.opt("nsfw") == Some("1");
    let expiration_secs = params.opt("expiration").map(parse_expiration).unwrap_or(0);
    let use_file_date = admin && params.opt("use_file_date") == Some("1");

    let (extension, mime) = kind.ext_mime();
    st.counter += 1;
    let id = encode_id(st.counter);
    let original_filename = if original_filename.is_empty() {
        format!("{id}.{extension}")
    } else {
        original_filename
    };
    let effective_title = match &title {
        Some(t) => t.clone(),
        None => info
            .iptc_title
            .clone()
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| title_from_filename(&original_filename))
            .chars()
            .take(100)
            .collect(),
    };
    let effective_description = description
        .clone()
        .or_else(|| info.exif_description.clone().filter(|d| !d.is_empty()));
    let base = &shared.base_url;
    let delete_hash: String = md5_hex(format!("delete:{id}:{}", st.counter).as_bytes())
        .chars()
        .take(16)
        .collect();
    let img = StoredImage {
        url: format!("{base}/images/{id}.{extension}"),
        delete_url: format!("{base}/delete/image/{id}/{delete_hash}"),
        id_encoded: id,
        md5,
        sent_md5,
        source_md5,
        bytes,
        original_filename,
        mime: mime.to_string(),
        extension: extension.to_string(),
        title,
        description,
        effective_title,
        effective_description,
        tags,
        album_id,
        category_id,
        nsfw,
        expiration_secs,
        width_param,
        width,
        height,
        is_video,
        key_used: key,
        by_admin: admin,
        source_kind,
        source_url,
        use_file_date,
        deleted: false,
        uploaded_at: now_unix(),
    };
    st.images.push(img.clone());
    st.stored_at.push(Instant::now());
    Ok(img)
}

fn is_http_url(s: &str) -> bool {
    let l = s.trim_start().to_ascii_lowercase();
    l.starts_with("http://") || l.starts_with("https://")
}

/// Flood windows, checked shortest first; the message names the window.
fn check_flood(cfg: &ServerConfig, stored_at: &[Instant]) -> Result<(), ApiError> {
    let now = Instant::now();
    let windows = [
        (cfg.flood_per_minute, 60u64, "minute"),
        (cfg.flood_per_hour, 3600, "hour"),
        (cfg.flood_per_day, 86400, "day"),
    ];
    for (limit, secs, label) in windows {
        let Some(limit) = limit else { continue };
        let recent = stored_at
            .iter()
            .filter(|t| now.saturating_duration_since(**t) < Duration::from_secs(secs))
            .count();
        if recent >= limit as usize {
            return Err(err(
                130,
                format!("Flooding detected. You can only upload {limit} images per {label}"),
            ));
        }
    }
    Ok(())
}

/// Comma separated, trimmed, deduped (first wins); a tag over 32 characters or holding `/` or `#` is
/// dropped silently.
fn parse_tags(raw: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in raw.split(',') {
        let t = t.trim();
        if t.is_empty() || t.chars().count() > 32 || t.contains('/') || t.contains('#') {
            continue;
        }
        if !out.iter().any(|o| o == t) {
            out.push(t.to_string());
        }
    }
    out
}

const MIN_EXPIRATION: u64 = 300;
const MAX_EXPIRATION: u64 = 31_536_000;

/// Seconds as digits, or an upper-case ISO-8601 duration (`PT5M`, `PT1H`, `P3D`, `P1W`, `P1M`, `P1Y`,
/// combinations such as `P1DT2H`), clamped to 5 min .. 1 year. Anything else silently becomes 5 min.
fn parse_expiration(raw: &str) -> u64 {
    let secs = if !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit()) {
        Some(raw.bytes().fold(0u64, |acc, b| {
            acc.saturating_mul(10).saturating_add((b - b'0') as u64)
        }))
    } else {
        parse_iso_duration(raw)
    };
    secs.unwrap_or(MIN_EXPIRATION)
        .clamp(MIN_EXPIRATION, MAX_EXPIRATION)
}

fn parse_iso_duration(s: &str) -> Option<u64> {
    let rest = s.strip_prefix('P')?;
    let mut total = 0u64;
    let mut in_time = false;
    let mut num: Option<u64> = None;
    let mut any = false;
    let mut last_rank = 0u8; // designators must come in order
    for c in rest.chars() {
        match c {
            '0'..='9' => {
                let d = c as u64 - '0' as u64;
                num = Some(num.unwrap_or(0).saturating_mul(10).saturating_add(d));
            }
            'T' if !in_time && num.is_none() => in_time = true,
            _ => {
                let n = num.take()?;
                let (rank, unit) = match (in_time, c) {
                    (false, 'Y') => (1, 365 * 86400),
                    (false, 'M') => (2, 30 * 86400),
                    (false, 'W') => (3, 7 * 86400),
                    (false, 'D') => (4, 86400),
                    (true, 'H') => (5, 3600),
                    (true, 'M') => (6, 60),
                    (true, 'S') => (7, 1),
                    _ => return None,
                };
                if rank <= last_rank {
                    return None;
                }
                last_rank = rank;
                total = total.saturating_add(n.saturating_mul(unit));
                any = true;
            }
        }
    }
    if num.is_some() || !any || (in_time && last_rank < 5) {
        return None;
    }
    Some(total)
}

/// `my-holiday__photo.jpg` -> `my holiday photo`.
fn title_from_filename(name: &str) -> String {
    let stem = match name.rfind('.') {
        Some(i) if i > 0 => &name[..i],
        _ => name,
    };
    let mut out = String::new();
    let mut in_run = false;
    for c in stem.chars() {
        if c == '-' || c == '_' {
            if !in_run {
                out.push(' ');
            }
            in_run = true;
        } else {
            out.push(c);
            in_run = false;
        }
    }
    out
}

/// Short, unique, URL-safe ids that look like Chevereto's (`aZ3kQ9`): the counter scrambled by an odd
/// multiplier modulo 2^32 (a bijection, so never a collision) written in base 62.
fn encode_id(n: u64) -> String {
    const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut v = (n.wrapping_mul(2_654_435_761) ^ 0x5bd1_e995) & 0xffff_ffff;
    let mut out = Vec::new();
    for _ in 0..6 {
        out.push(ALPHABET[(v % 62) as usize]);
        v /= 62;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

fn md5_hex(data: &[u8]) -> String {
    let digest = Md5::digest(data);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

// ------------------------------------------------------------------------------------------------
// File sniffing: signatures, dimensions, EXIF Orientation / ImageDescription, IPTC ObjectName
// ------------------------------------------------------------------------------------------------

/// A 1x1 transparent PNG, stored for URL sources (nothing is fetched).
const PLACEHOLDER_PNG: [u8; 68] = [
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0b, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x60, 0x00, 0x02, 0x00,
    0x00, 0x05, 0x00, 0x01, 0x7a, 0x5e, 0xab, 0x3f, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44,
    0xae, 0x42, 0x60, 0x82,
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Jpeg,
    Png,
    Gif,
    Webp,
    Bmp,
    Avif,
    Mp4,
    Mov,
    Webm,
}

impl Kind {
    /// Extension and MIME as stored (BMP is converted to PNG by the server).
    fn ext_mime(self) -> (&'static str, &'static str) {
        match self {
            Kind::Jpeg => ("jpg", "image/jpeg"),
            Kind::Png | Kind::Bmp => ("png", "image/png"),
            Kind::Gif => ("gif", "image/gif"),
            Kind::Webp => ("webp", "image/webp"),
            Kind::Avif => ("avif", "image/avif"),
            Kind::Mp4 => ("mp4", "video/mp4"),
            Kind::Mov => ("mov", "video/quicktime"),
            Kind::Webm => ("webm", "video/webm"),
        }
    }
}

/// The ISO-BMFF `ftyp` brands (major and compatible), if the file starts with an `ftyp` box.
fn ftyp_brands(b: &[u8]) -> Option<Vec<[u8; 4]>> {
    if b.get(4..8)? != b"ftyp" {
        return None;
    }
    let size = u32::from_be_bytes(b.get(0..4)?.try_into().ok()?) as usize;
    let end = size.clamp(16, 256).min(b.len());
    let mut brands = vec![b.get(8..12)?.try_into().ok()?];
    let mut i = 16;
    while i + 4 <= end {
        brands.push(b[i..i + 4].try_into().ok()?);
        i += 4;
    }
    Some(brands)
}

fn sniff_image(b: &[u8]) -> Option<Kind> {
    if b.starts_with(&[0xff, 0xd8, 0xff]) {
        Some(Kind::Jpeg)
    } else if b.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(Kind::Png)
    } else if b.starts_with(b"GIF87a") || b.starts_with(b"GIF89a") {
        Some(Kind::Gif)
    } else if b.len() >= 12 && &b[0..4] == b"RIFF" && &b[8..12] == b"WEBP" {
        Some(Kind::Webp)
    } else if b.starts_with(b"BM") && b.len() >= 26 {
        Some(Kind::Bmp)
    } else if ftyp_brands(b)?
        .iter()
        .any(|br| br == b"avif" || br == b"avis")
    {
        // HEIC also has `ftyp` but other brands: not accepted.
        Some(Kind::Avif)
    } else {
        None
    }
}

fn sniff_video(b: &[u8]) -> Option<Kind> {
    if b.starts_with(&[0x1a, 0x45, 0xdf, 0xa3]) {
        return Some(Kind::Webm);
    }
    let brands = ftyp_brands(b)?;
    if brands
        .iter()
        .any(|br| br == b"avif" || br == b"avis" || br == b"heic" || br == b"mif1")
    {
        return None;
    }
    Some(if brands[0] == *b"qt  " {
        Kind::Mov
    } else {
        Kind::Mp4
    })
}

/// What the server reads from an image's headers. Zero width means unknown.
#[derive(Default, Debug)]
struct ImageInfo {
    width: u32,
    height: u32,
    animated: bool,
    has_orientation: bool,
    exif_description: Option<String>,
    iptc_title: Option<String>,
}

fn be16(b: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(i..i + 2)?.try_into().ok()?))
}
fn be32(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(i..i + 4)?.try_into().ok()?))
}
fn le16(b: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(i..i + 2)?.try_into().ok()?))
}
fn le32(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(i..i + 4)?.try_into().ok()?))
}

fn image_info(b: &[u8], kind: Kind) -> ImageInfo {
    let mut info = ImageInfo::default();
    match kind {
        Kind::Jpeg => jpeg_info(b, &mut info),
        Kind::Png => {
            if b.get(12..16) == Some(b"IHDR") {
                info.width = be32(b, 16).unwrap_or(0);
                info.height = be32(b, 20).unwrap_or(0);
            }
            // APNG: an acTL chunk before the image data.
            let mut i = 8;
            while let (Some(len), Some(ty)) = (be32(b, i), b.get(i + 4..i + 8)) {
                if ty == b"acTL" {
                    info.animated = true;
                }
                if ty == b"IDAT" || ty == b"IEND" {
                    break;
                }
                i = i.saturating_add(12).saturating_add(len as usize);
            }
        }
        Kind::Gif => {
            info.width = le16(b, 6).unwrap_or(0) as u32;
            info.height = le16(b, 8).unwrap_or(0) as u32;
            info.animated = find(b, b"NETSCAPE2.0").is_some() || find(b, b"ANIMEXTS1.0").is_some();
        }
        Kind::Webp => match b.get(12..16) {
            Some(b"VP8 ") if b.get(23..26) == Some(&[0x9d, 0x01, 0x2a]) => {
                info.width = (le16(b, 26).unwrap_or(0) & 0x3fff) as u32;
                info.height = (le16(b, 28).unwrap_or(0) & 0x3fff) as u32;
            }
            Some(b"VP8L") if b.get(20) == Some(&0x2f) => {
                if let Some(v) = le32(b, 21) {
                    info.width = (v & 0x3fff) + 1;
                    info.height = ((v >> 14) & 0x3fff) + 1;
                }
            }
            Some(b"VP8X") => {
                info.animated = b.get(20).is_some_and(|f| f & 0x02 != 0);
                if let (Some(w), Some(h)) = (b.get(24..27), b.get(27..30)) {
                    info.width = u32::from_le_bytes([w[0], w[1], w[2], 0]) + 1;
                    info.height = u32::from_le_bytes([h[0], h[1], h[2], 0]) + 1;
                }
            }
            _ => {}
        },
        Kind::Bmp => {
            info.width = le32(b, 18).map(|w| (w as i32).unsigned_abs()).unwrap_or(0);
            info.height = le32(b, 22).map(|h| (h as i32).unsigned_abs()).unwrap_or(0);
        }
        Kind::Avif | Kind::Mp4 | Kind::Mov | Kind::Webm => {}
    }
    info
}

/// Walks the JPEG marker segments up to the scan: SOF0/1/2 give the size, APP1 "Exif" the TIFF
/// block, APP13 "Photoshop 3.0" the IPTC block. Every read is bounds-checked: garbage just ends the walk.
fn jpeg_info(b: &[u8], info: &mut ImageInfo) {
    let mut i = 2;
    loop {
        // Markers may be preceded by fill bytes 0xFF.
        if b.get(i) != Some(&0xff) {
            return;
        }
        while b.get(i) == Some(&0xff) {
            i += 1;
        }
        let Some(&marker) = b.get(i) else { return };
        i += 1;
        match marker {
            0xd8 | 0x01 | 0xd0..=0xd7 => continue,
            0xd9 | 0xda => return,
            _ => {}
        }
        let Some(len) = be16(b, i) else { return };
        let len = len as usize;
        if len < 2 {
            return;
        }
        let Some(seg) = b.get(i + 2..i + len) else {
            return;
        };
        match marker {
            0xc0..=0xc2 if info.width == 0 => {
                info.height = be16(seg, 1).unwrap_or(0) as u32;
                info.width = be16(seg, 3).unwrap_or(0) as u32;
            }
            0xe1 if seg.starts_with(b"Exif\0\0") => read_exif(&seg[6..], info),
            0xed if seg.starts_with(b"Photoshop 3.0\0") => read_iptc(&seg[14..], info),
            _ => {}
        }
        i += len;
    }
}

/// Reads IFD0 of an EXIF TIFF block: Orientation (0x0112) and ImageDescription (0x010E), both byte orders.
fn read_exif(tiff: &[u8], info: &mut ImageInfo) {
    let le = match tiff.get(0..4) {
        Some([0x49, 0x49, 0x2a, 0x00]) => true,
        Some([0x4d, 0x4d, 0x00, 0x2a]) => false,
        _ => return,
    };
    let u16_at = |i: usize| if le { le16(tiff, i) } else { be16(tiff, i) };
    let u32_at = |i: usize| if le { le32(tiff, i) } else { be32(tiff, i) };
    let Some(ifd) = u32_at(4) else { return };
    let ifd = ifd as usize;
    let Some(count) = u16_at(ifd) else { return };
    for n in 0..count as usize {
        let e = ifd + 2 + n * 12;
        let (Some(tag), Some(typ), Some(cnt)) = (u16_at(e), u16_at(e + 2), u32_at(e + 4)) else {
            return;
        };
        match tag {
            0x0112 => info.has_orientation = true,
            0x010e if typ == 2 => {
                let cnt = cnt as usize;
                let data = if cnt <= 4 {
                    tiff.get(e + 8..e + 8 + cnt)
                } else {
                    u32_at(e + 8)
                        .and_then(|off| tiff.get(off as usize..(off as usize).checked_add(cnt)?))
                };
                if let Some(d) = data {
                    info.exif_description = Some(ascii_only(d));
                }
            }
            _ => {}
        }
    }
}

/// Finds IPTC dataset 2:05 (ObjectName) in the Photoshop resource 0x0404 of APP13.
fn read_iptc(irb: &[u8], info: &mut ImageInfo) {
    let mut i = 0;
    while irb.get(i..i + 4) == Some(b"8BIM") {
        let Some(id) = be16(irb, i + 4) else { return };
        let Some(&name_len) = irb.get(i + 6) else {
            return;
        };
        // Pascal name, padded so that length byte + name is even.
        let mut p = i + 7 + name_len as usize;
        if (name_len as usize + 1) % 2 == 1 {
            p += 1;
        }
        let Some(size) = be32(irb, p) else { return };
        let start = p + 4;
        let Some(data) = irb.get(start..start.saturating_add(size as usize)) else {
            return;
        };
        if id == 0x0404 {
            let mut j = 0;
            while data.get(j) == Some(&0x1c) {
                let (Some(&rec), Some(&ds), Some(len)) =
                    (data.get(j + 1), data.get(j + 2), be16(data, j + 3))
                else {
                    return;
                };
                let Some(val) = data.get(j + 5..j + 5 + len as usize) else {
                    return;
                };
                if rec == 2 && ds == 5 {
                    info.iptc_title = Some(ascii_only(val));
                }
                j += 5 + len as usize;
            }
        }
        i = start + size as usize + (size as usize % 2);
    }
}

/// Chevereto removes every non-ASCII character from metadata it reads ("Café" becomes "Caf").
fn ascii_only(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw)
        .chars()
        .filter(|c| c.is_ascii() && *c != '\0')
        .collect::<String>()
        .trim()
        .to_string()
}

// ------------------------------------------------------------------------------------------------
// Responses: formats and JSON
// ------------------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Txt,
    Redirect,
}

impl Format {
    /// `json` is the default, also for unknown values.
    fn from_params(p: &Params) -> Format {
        match p.raw("format") {
            Some("txt") => Format::Txt,
            Some("redirect") => Format::Redirect,
            _ => Format::Json,
        }
    }
}

/// A tiny JSON tree whose objects keep insertion order (serde_json's map sorts keys without the
/// `preserve_order` feature, and the contract fixes the key order).
enum J {
    Null,
    Int(i64),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(&'static str, J)>),
}

fn s(v: impl Into<String>) -> J {
    J::Str(v.into())
}

impl J {
    /// Compact JSON as PHP's `json_encode` writes it: `/` escaped as `\/`, non-ASCII as `\uXXXX`.
    fn write(&self, out: &mut String) {
        match self {
            J::Null => out.push_str("null"),
            J::Int(n) => out.push_str(&n.to_string()),
            J::Str(v) => write_json_str(v, out),
            J::Arr(items) => {
                out.push('[');
                for (n, item) in items.iter().enumerate() {
                    if n > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
            J::Obj(fields) => {
                out.push('{');
                for (n, (k, v)) in fields.iter().enumerate() {
                    if n > 0 {
                        out.push(',');
                    }
                    write_json_str(k, out);
                    out.push(':');
                    v.write(out);
                }
                out.push('}');
            }
        }
    }

    fn render(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }
}

fn write_json_str(v: &str, out: &mut String) {
    out.push('"');
    for c in v.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '/' => out.push_str("\\/"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || !c.is_ascii() => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{:04x}", u));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `YYYY-MM-DD HH:MM:SS` for a Unix time (proleptic Gregorian, UTC).
fn format_datetime(unix: u64) -> String {
    let days = (unix / 86400) as i64;
    let rem = unix % 86400;
    // Civil date from days since 1970-01-01 (era-based arithmetic over 400-year cycles).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + if month <= 2 { 1 } else { 0 };
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        year,
        month,
        day,
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The `image` object of a success answer, keys in the contract's order.
fn image_json(img: &StoredImage, base: &str, pending: bool) -> J {
    let now = img.uploaded_at;
    let date = format_datetime(now);
    let id = &img.id_encoded;
    let ext = &img.extension;
    let with_url = |mut fields: Vec<(&'static str, J)>, key: &'static str, url: String| {
        if !pending {
            fields.push((key, s(url)));
        }
        fields
    };
    let sub = |suffix: &str, w: u32, h: u32| -> J {
        let name = format!("{id}.{suffix}");
        let fields = vec![
            ("filename", s(format!("{name}.{ext}"))),
            ("name", s(name.clone())),
            ("mime", s(img.mime.clone())),
            ("extension", s(ext.clone())),
            ("width", J::Int(w as i64)),
            ("height", J::Int(h as i64)),
            ("size", J::Int(img.bytes.len() as i64)),
        ];
        J::Obj(with_url(
            fields,
            "url",
            format!("{base}/images/{name}.{ext}"),
        ))
    };
    let (tw, th) = (img.width.min(160), img.height.min(160));
    let (mw, mh) = if img.width > 500 {
        (
            500,
            ((img.height as u64 * 500) / img.width.max(1) as u64) as u32,
        )
    } else {
        (img.width, img.height)
    };

    let mut f: Vec<(&'static str, J)> = vec![
        ("name", s(id.clone())),
        ("extension", s(ext.clone())),
        ("size", J::Int(img.bytes.len() as i64)),
        ("width", J::Int(img.width as i64)),
        ("height", J::Int(img.height as i64)),
        ("date", s(date.clone())),
        ("date_gmt", s(date)),
        ("title", s(img.effective_title.clone())),
        (
            "description",
            img.effective_description.clone().map(s).unwrap_or(J::Null),
        ),
        (
            "tags",
            J::Arr(img.tags.iter().map(|t| s(t.clone())).collect()),
        ),
        ("nsfw", J::Int(img.nsfw as i64)),
        ("md5", s(img.md5.clone())),
        (
            "source_md5",
            img.source_md5.clone().map(s).unwrap_or(J::Null),
        ),
        ("original_filename", s(img.original_filename.clone())),
        ("id_encoded", s(id.clone())),
        ("filename", s(format!("{id}.{ext}"))),
        ("mime", s(img.mime.clone())),
    ];
    if !pending {
        f.push(("url", s(img.url.clone())));
        f.push(("url_viewer", s(format!("{base}/image/{id}"))));
        f.push(("url_short", s(format!("{base}/image/{id}"))));
        f.push(("display_url", s(format!("{base}/images/{id}.md.{ext}"))));
        f.push(("delete_url", s(img.delete_url.clone())));
    }
    let expiration = if img.expiration_secs > 0 {
        s(format_datetime(now + img.expiration_secs))
    } else {
        J::Null
    };
    f.push(("expiration_date_gmt", expiration));
    f.push(("thumb", sub("th", tw, th)));
    f.push(("medium", sub("md", mw, mh)));
    if img.is_video {
        f.push(("frame", sub("fr", img.width, img.height)));
        f.push(("duration", J::Int(0)));
        f.push(("type", s("video")));
    }
    J::Obj(f)
}

fn render_success(
    format: Format,
    img: &StoredImage,
    base: &str,
    pending: bool,
    close: bool,
) -> Vec<u8> {
    match format {
        Format::Json => {
            let doc = J::Obj(vec![
                ("status_code", J::Int(200)),
                (
                    "success",
                    J::Obj(vec![("message", s("file uploaded")), ("code", J::Int(200))]),
                ),
                ("image", image_json(img, base, pending)),
                ("status_txt", s("OK")),
            ]);
            response(
                200,
                &[],
                Some("application/json; charset=UTF-8"),
                doc.render().as_bytes(),
                close,
            )
        }
        Format::Txt => {
            let body = if pending {
                String::new()
            } else {
                img.url.clone()
            };
            response(
                200,
                &[],
                Some("text/plain; charset=UTF-8"),
                body.as_bytes(),
                close,
            )
        }
        Format::Redirect => {
            let loc = format!("/image/{}", img.id_encoded);
            response(302, &[("Location", loc)], None, b"", close)
        }
    }
}

/// JSON errors are HTTP 400; txt and redirect errors are HTTP 200 with the plain message.
fn render_error(format: Format, e: &ApiError, close: bool) -> Vec<u8> {
    match format {
        Format::Json => {
            let doc = J::Obj(vec![
                ("status_code", J::Int(400)),
                (
                    "error",
                    J::Obj(vec![
                        ("message", s(e.message.clone())),
                        ("code", J::Int(e.code as i64)),
                    ]),
                ),
                ("status_txt", s("Bad Request")),
            ]);
            response(
                400,
                &[],
                Some("application/json; charset=UTF-8"),
                doc.render().as_bytes(),
                close,
            )
        }
        Format::Txt | Format::Redirect => response(
            200,
            &[],
            Some("text/plain; charset=UTF-8"),
            e.message.as_bytes(),
            close,
        ),
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}
