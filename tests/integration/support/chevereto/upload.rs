//! The upload call (`POST /api/1/upload`): the checks of Chevereto's `api.php` in the contract's
//! order (key, URL, source, flood, base64, URL source, size, type, duplicates, width), the silent
//! drops and clamps of optional fields, the simulated processing (on md5s only) and the store.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use md5::{Digest, Md5};

use super::config::ServerConfig;
use super::form::{FilePart, Params};
use super::http::Head;
use super::records::StoredImage;
use super::server::{Shared, State};
use super::sniff::{ImageInfo, Kind, PLACEHOLDER_PNG, image_info, sniff_image, sniff_video};

/// A Chevereto API error (`error.code`, `error.message`).
#[derive(Debug, Clone)]
pub(super) struct ApiError {
    pub(super) code: u32,
    pub(super) message: String,
}

fn err(code: u32, message: impl Into<String>) -> ApiError {
    ApiError {
        code,
        message: message.into(),
    }
}

#[derive(Clone, Copy)]
pub(super) struct Flags {
    pub(super) is_get: bool,
    pub(super) pending: bool,
}

/// How the `source` of an upload was given.
#[derive(Clone, Debug, PartialEq, Eq)]
enum SourceKind {
    /// A multipart file part named `source`.
    File,
    /// A base64 text field.
    Base64,
    /// An `http(s)://` URL text field (nothing is fetched; a 1x1 PNG placeholder is stored).
    Url,
}

/// What the `source` parameter turned out to be.
enum Source<'a> {
    File(&'a FilePart),
    Url(String),
    Base64(&'a str),
}

/// The checks of `app/legacy/routes/api.php`, in the contract's order, then the store.
/// The state lock is held throughout so that the duplicate and flood checks and the store are atomic.
pub(super) fn process_upload(
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
        url: format!(
            "{base}/images/{}.{id}.{extension}",
            stored_stem(&original_filename)
        ),
        stored_name: format!("{}.{extension}", stored_stem(&original_filename)),
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
        width,
        height,
        is_video,
        source_url,
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
/// The stem the host stores a file under, as a real 4.2.5 makes it: accents dropped
/// (`Été` → `Ete`), whitespace runs made `-`, dashes trimmed from the ends, then every
/// character but ASCII letters, digits, `_`, `.` and `-` removed; nothing left is `-`
/// (`港口.jpg` is stored as `-.jpg`, `日出 2019.jpg` as `-2019.jpg`).
fn stored_stem(name: &str) -> String {
    let stem = match name.rfind('.') {
        Some(i) if i > 0 => &name[..i],
        _ => name,
    };
    let mut dashed = String::new();
    for c in stem.chars().map(unaccent) {
        if !c.is_whitespace() {
            dashed.push(c);
        } else if !dashed.ends_with(' ') {
            dashed.push(' ');
        }
    }
    let kept: String = dashed
        .replace(' ', "-")
        .trim_matches('-')
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        .collect();
    if kept.is_empty() {
        "-".to_string()
    } else {
        kept
    }
}

/// The Latin letters with accents that photo names hold most, without them.
fn unaccent(c: char) -> char {
    const FROM: &str = "ÀÁÂÃÄÅàáâãäåÈÉÊËèéêëÌÍÎÏìíîïÒÓÔÕÖòóôõöÙÚÛÜùúûüÇçÑñÝýÿ";
    const TO: &str = "AAAAAAaaaaaaEEEEeeeeIIIIiiiiOOOOOoooooUUUUuuuuCcNnYyy";
    FROM.chars()
        .position(|f| f == c)
        .and_then(|i| TO.chars().nth(i))
        .unwrap_or(c)
}

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

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
