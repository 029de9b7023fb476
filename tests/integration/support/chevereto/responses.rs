//! The answers of the upload call: `json` (HTTP 200 / 400, the contract's key order, PHP's
//! escaping), `txt` and `redirect` (errors as HTTP 200 with the plain message). The JSON is written
//! by hand because serde_json neither keeps the key order nor escapes `/` and non-ASCII as PHP does.

use super::form::Params;
use super::http::response;
use super::records::StoredImage;
use super::upload::ApiError;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Format {
    Json,
    Txt,
    Redirect,
}

impl Format {
    /// `json` is the default, also for unknown values.
    pub(super) fn from_params(p: &Params) -> Format {
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

pub(super) fn render_success(
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
            // The real host answers `format=txt` as HTML, though the body is plain text.
            response(
                200,
                &[],
                Some("text/html; charset=UTF-8"),
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
pub(super) fn render_error(format: Format, e: &ApiError, close: bool) -> Vec<u8> {
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
            Some("text/html; charset=UTF-8"),
            e.message.as_bytes(),
            close,
        ),
    }
}
