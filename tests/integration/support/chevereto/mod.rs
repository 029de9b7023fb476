//! A fake Chevereto image host (API v1.1) for pixpipe's integration tests.
//!
//! The server follows the Chevereto API v1.1 upload contract as real Chevereto 4 servers behave, including the surprising parts (301 on a trailing slash or a query string, HTTP 200 errors
//! in `txt`/`redirect` formats, silent drops of bad optional fields, the EXIF-Orientation re-encode that
//! changes the stored md5). It is deliberately a plain HTTP/1.1 server over `std::net`, with one thread
//! per connection and no async runtime, so that tests can start it anywhere, inspect what it received,
//! and script transport faults (resets, hangs, lost answers) that a real framework would hide.
//!
//! Use from a test module:
//! ```ignore
//! use crate::support::chevereto::{Fault, Server, ServerConfig};
//! let server = Server::start(ServerConfig::default());
//! let url = format!("{}/api/1/upload", server.base_url());
//! // ... run pixpipe against `server.base_url()` with key ServerConfig::default().api_keys[0] ...
//! assert_eq!(server.stored().len(), 1);
//! ```
//!
//! Choices where the contract is silent (kept close to what Chevereto's PHP does):
//! - Errors are checked in the contract's order: key (100), URL (110/120), source (130),
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
//! Dependencies: std, `md-5` and `base64` only (a dev-dependency and a dependency of pixpipe, so the
//! test binary has both). JSON is written by hand because the contract fixes the key order and the
//! escaping (`\/`, `\uXXXX`), which serde_json does not reproduce.
//!
//! The files:
//! - [`config`] and [`records`]: what a test sets up ([`ServerConfig`], [`Fault`]) and reads back
//!   (stored images, the request log);
//! - [`server`]: the [`Server`] handle, its shared state and the accept loop;
//! - [`http`]: HTTP/1.1 on one connection (heads, bodies, framing, raw responses);
//! - [`serve`]: one request's way through: faults, redirects, routing, pages, the log;
//! - [`form`]: multipart and url-encoded bodies as PHP parses them;
//! - [`upload`]: the upload call's checks, in the contract's order, and the store;
//! - [`sniff`]: what the host reads from a file (type, size, EXIF Orientation, IPTC title);
//! - [`responses`]: the answers in `json`, `txt` and `redirect` formats, JSON written by hand.

mod config;
mod form;
mod http;
mod records;
mod responses;
mod serve;
mod server;
mod sniff;
mod upload;

pub use config::{DEFAULT_API_KEY, Fault, ServerConfig};
pub use server::Server;

/// First position of `needle` in `hay` (the parsers' one byte search).
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}
