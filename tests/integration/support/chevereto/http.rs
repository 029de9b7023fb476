//! HTTP/1.1 on one connection: reading request heads and bodies (length or chunked, with
//! `Expect: 100-continue`), polling the stop flag while the peer is quiet, building raw responses,
//! and closing with a reset when a fault asks for one.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use super::find;
use super::server::Shared;

/// Largest request head accepted.
const MAX_HEAD: usize = 64 * 1024;
/// Reads poll the stop flag this often.
pub(super) const POLL: Duration = Duration::from_millis(50);

/// Why a connection stopped delivering bytes.
#[derive(Debug)]
pub(super) enum Gone {
    /// Peer closed, an I/O error, or the server is stopping.
    Closed,
    /// The request is not valid HTTP (answer 400 and close).
    Malformed(&'static str),
    /// The declared body is over the hard cap (answer 413 and close, as a proxy would).
    TooLarge,
}

pub(super) struct Conn {
    pub(super) stream: TcpStream,
    pub(super) buf: Vec<u8>,
    pub(super) shared: Arc<Shared>,
}

/// A parsed request head.
pub(super) struct Head {
    pub(super) method: String,
    pub(super) path: String,
    pub(super) query: Option<String>,
    version: String,
    pub(super) headers: Vec<(String, String)>,
}

impl Head {
    pub(super) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub(super) fn keep_alive(&self) -> bool {
        let conn = self.header("connection").unwrap_or("").to_ascii_lowercase();
        if self.version == "HTTP/1.0" {
            conn.contains("keep-alive")
        } else {
            !conn.contains("close")
        }
    }
}

/// How the body is framed.
pub(super) enum Framing {
    None,
    Length(u64),
    Chunked,
}

impl Conn {
    /// Reads more bytes into `buf`, polling the stop flag while the peer is quiet.
    pub(super) fn fill(&mut self) -> Result<(), Gone> {
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
    pub(super) fn read_head(&mut self) -> Result<Option<Head>, Gone> {
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

    pub(super) fn read_exact_body(&mut self, n: usize) -> Result<Vec<u8>, Gone> {
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

    pub(super) fn read_chunked_body(&mut self, cap: u64) -> Result<Vec<u8>, Gone> {
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

    pub(super) fn write_all(&mut self, bytes: &[u8]) -> bool {
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

pub(super) fn framing(head: &Head) -> Result<Framing, Gone> {
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
pub(super) fn response(
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

pub(super) fn reason(status: u16) -> &'static str {
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
pub(super) fn set_linger_zero(stream: &TcpStream) {
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
pub(super) fn set_linger_zero(_stream: &TcpStream) {}
