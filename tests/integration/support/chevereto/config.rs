//! What a test sets up: the host's configuration ([`ServerConfig`], with the default key) and the
//! scripted misbehaviours ([`Fault`]) it plays on upload calls.

/// The key that `ServerConfig::default()` accepts (a plain user key, not an admin).
pub const DEFAULT_API_KEY: &str = "chv_test_FAKEKEY0123456789";

/// How the fake host is set up. Build it with `ServerConfig { .., ..Default::default() }`.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Valid user keys (non-admin).
    pub api_keys: Vec<String>,
    /// Valid admin keys. Admins skip the duplicate check and the flood limit, and may upload from
    /// URLs (when `url_upload_enabled`).
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
    /// Store the upload but answer without any URL field, as a host does while an upload waits for
    /// moderation (the contract says URL fields can be absent).
    PendingModeration,
}
