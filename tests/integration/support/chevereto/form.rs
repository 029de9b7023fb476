//! Form bodies as PHP parses them: `multipart/form-data` (only `filename="..."` makes a file part)
//! and `application/x-www-form-urlencoded`, into [`Params`] with PHP's last-one-wins lookups.

use super::find;
use super::http::Head;

pub(super) struct FilePart {
    pub(super) name: String,
    pub(super) filename: String,
    pub(super) content_type: Option<String>,
    pub(super) data: Vec<u8>,
    pub(super) content_disposition: String,
}

#[derive(Default)]
pub(super) struct Params {
    pub(super) fields: Vec<(String, String)>,
    pub(super) files: Vec<FilePart>,
}

impl Params {
    /// Last text field with this name, as PHP's `$_POST`/`$_REQUEST` keeps the last one.
    pub(super) fn raw(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The field as Chevereto's API sees it: empty strings and "0" are dropped first.
    pub(super) fn opt(&self, name: &str) -> Option<&str> {
        self.raw(name).filter(|v| !v.is_empty() && *v != "0")
    }

    pub(super) fn file(&self, name: &str) -> Option<&FilePart> {
        self.files.iter().rev().find(|f| f.name == name)
    }
}

pub(super) fn parse_form(head: &Head, body: &[u8]) -> Result<Params, &'static str> {
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
pub(super) fn parse_urlencoded(body: &[u8]) -> Vec<(String, String)> {
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
