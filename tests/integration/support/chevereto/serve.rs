//! One connection's requests, each on its way to an answer: read in full, the scripted [`Fault`]
//! applied, redirects for non-canonical URLs, the API call or a page for a stored image, and the
//! request log written as it is answered.

use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use super::config::Fault;
use super::form::{Params, parse_form, parse_urlencoded};
use super::http::{Conn, Framing, Gone, Head, POLL, framing, reason, response, set_linger_zero};
use super::records::{FilePartLog, RequestLog, StoredImage};
use super::responses::{Format, render_error, render_success};
use super::server::Shared;
use super::upload::{Flags, process_upload};

pub(super) fn serve_connection(shared: Arc<Shared>, stream: TcpStream) {
    let _ = stream.set_read_timeout(Some(POLL));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(10)));
    let _ = stream.set_nodelay(true);
    let mut conn = Conn {
        stream,
        buf: Vec::new(),
        shared,
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
        method: head.method.clone(),
        path: head.path.clone(),
        query: head.query.clone(),
        headers: head.headers.clone(),
        fields: Vec::new(),
        files: Vec::new(),
        body_len: 0,
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
        method: head.map(|h| h.method.clone()).unwrap_or_default(),
        path: head.map(|h| h.path.clone()).unwrap_or_default(),
        query: head.and_then(|h| h.query.clone()),
        headers: head.map(|h| h.headers.clone()).unwrap_or_default(),
        fields: Vec::new(),
        files: Vec::new(),
        body_len: 0,
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
