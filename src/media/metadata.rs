//! Title, description, keywords, date taken and orientation of a photo,
//! chosen from its EXIF, XMP and IPTC blocks in a fixed order of trust.

use chrono::{FixedOffset, NaiveDate, NaiveDateTime, NaiveTime};
use exif::{In, Tag, Value};
use serde::Serialize;

use super::container::{Blocks, VideoCreated};
use super::xmp;

/// Where a value was found, so users can see why a title is what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    XmpTitle,
    IptcObjectName,
    IptcCaption,
    IptcKeywords,
    ExifXpComment,
    ExifXpKeywords,
    /// An XMP sidecar beside the photo.
    XmpSidecar,
    /// The Google Takeout JSON beside the photo.
    Takeout,
    ExifXpTitle,
    ExifImageDescription,
    FileName,
    ExifDateTimeOriginal,
    ExifDateTimeDigitized,
    Xmp,
    /// A PNG `Title` text chunk.
    PngText,
    /// A video's QuickTime/MP4 creation time.
    Quicktime,
    FileMtime,
}

/// A value's name as the report and the pipeline file spell it (its serde name).
fn spelt<T: Serialize>(v: T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

impl Origin {
    /// As the pipeline file spells it: `file_name`.
    pub fn name(self) -> String {
        spelt(self)
    }
}

impl Source {
    /// As the report spells it: `xmp_sidecar`.
    pub fn name(self) -> String {
        spelt(self)
    }

    /// The kind of place the value came from, as `metadata.precedence` names them.
    pub fn origin(self) -> Origin {
        match self {
            Source::XmpSidecar => Origin::Sidecar,
            Source::Takeout => Origin::Takeout,
            Source::FileName => Origin::FileName,
            Source::FileMtime => Origin::FileTime,
            _ => Origin::Embedded,
        }
    }
}

/// Where a value may come from: the places `metadata.precedence` orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// An XMP sidecar (`photo.xmp`, `photo.jpg.xmp`).
    Sidecar,
    /// Google Takeout's JSON.
    Takeout,
    /// The photo's own EXIF, XMP, IPTC or text chunks.
    Embedded,
    /// The file's name (a title from its stem, a date it spells).
    FileName,
    /// When the file was last changed.
    FileTime,
}

/// A date and time as the camera wrote it, with its UTC offset when known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateTaken {
    pub local: NaiveDateTime,
    pub offset: Option<FixedOffset>,
    pub source: Source,
}

impl DateTaken {
    /// ISO 8601: `2021-03-04T10:11:12+01:00`, or without offset when the camera gave none.
    pub fn iso8601(&self) -> String {
        let base = self.local.format("%Y-%m-%dT%H:%M:%S").to_string();
        match self.offset {
            Some(o) => format!("{base}{o}"),
            None => base,
        }
    }
}

/// Where each field of a photo came from, as the report and the page show it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Sources {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<Source>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<Source>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keywords: Option<Source>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<Source>,
}

impl Sources {
    pub fn is_empty(&self) -> bool {
        *self == Sources::default()
    }
}

impl PhotoMeta {
    /// Where its title, description, keywords and date came from.
    pub fn sources(&self) -> Sources {
        Sources {
            title: self.title.as_ref().map(|(_, s)| *s),
            description: self.description_source,
            keywords: self.keywords_source.filter(|_| !self.keywords.is_empty()),
            date: self.date_taken.map(|d| d.source),
        }
    }
}

/// What pixpipe reads from a photo's metadata.
#[derive(Debug, Clone, Default)]
pub struct PhotoMeta {
    pub title: Option<(String, Source)>,
    pub description: Option<String>,
    pub description_source: Option<Source>,
    pub keywords: Vec<String>,
    pub keywords_source: Option<Source>,
    pub date_taken: Option<DateTaken>,
    /// EXIF orientation 1..=8 (1 when absent or out of range).
    pub orientation: u8,
    pub make: Option<String>,
    pub model: Option<String>,
    pub has_gps: bool,
    /// Where the photo was taken, from Takeout's JSON, when the photo has no GPS of its own.
    pub place: Option<super::beside::Place>,
    /// The title of the Takeout album the photo is in.
    pub album: Option<String>,
    /// Problems met while reading metadata; the photo is still usable.
    pub warnings: Vec<String>,
}

/// Reads the metadata blocks of one file; never fails, only warns.
pub fn read(blocks: &Blocks<'_>) -> PhotoMeta {
    let mut meta = PhotoMeta {
        orientation: 1,
        ..PhotoMeta::default()
    };
    let exif = blocks
        .exif
        .as_deref()
        .and_then(|b| read_exif(b, &mut meta.warnings));
    let mut xmp = blocks.xmp.as_deref().map(xmp::parse).unwrap_or_default();
    if let Some(more) = blocks.xmp_extended.as_deref().map(xmp::parse) {
        xmp.fill_from(more);
    }
    let iptc = blocks.iptc.as_deref().map(parse_iptc).unwrap_or_default();

    let e = |tag: Tag, ifd: In| exif.as_ref().and_then(|x| x.get_field(tag, ifd));
    let exif_text = |tag: Tag| e(tag, In::PRIMARY).and_then(|f| ascii_text(&f.value));
    let xp_text =
        |num: u16| e(Tag(exif::Context::Tiff, num), In::PRIMARY).and_then(|f| utf16_text(&f.value));

    meta.title = meaningful(xmp.title.clone())
        .map(|t| (t, Source::XmpTitle))
        .or_else(|| meaningful(iptc.object_name.clone()).map(|t| (t, Source::IptcObjectName)))
        .or_else(|| meaningful(xp_text(0x9C9B)).map(|t| (t, Source::ExifXpTitle)))
        .or_else(|| {
            meaningful(exif_text(Tag::ImageDescription)).map(|t| (t, Source::ExifImageDescription))
        })
        .or_else(|| meaningful(blocks.text_title.clone()).map(|t| (t, Source::PngText)));
    let description = [
        (xmp.description.clone(), Source::Xmp),
        (iptc.caption.clone(), Source::IptcCaption),
        (
            exif_text(Tag::ImageDescription),
            Source::ExifImageDescription,
        ),
        (xp_text(0x9C9C), Source::ExifXpComment),
        (blocks.text_description.clone(), Source::PngText),
    ]
    .into_iter()
    .find_map(|(d, source)| meaningful(d).map(|d| (d, source)))
    .filter(|(d, _)| meta.title.as_ref().is_none_or(|(t, _)| t != d));
    (meta.description, meta.description_source) = description.unzip();

    let xp_keywords = xp_text(0x9C9E)
        .map(|k| {
            k.split(';')
                .map(|s| s.trim().to_string())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let keyword_sources = [
        (&xmp.subjects, Source::Xmp),
        (&iptc.keywords, Source::IptcKeywords),
        (&xp_keywords, Source::ExifXpKeywords),
    ];
    meta.keywords_source = keyword_sources
        .iter()
        .find(|(k, _)| k.iter().any(|k| meaningful(Some(k.clone())).is_some()))
        .map(|(_, s)| *s);
    meta.keywords = dedupe_nonempty(
        keyword_sources
            .iter()
            .flat_map(|(k, _)| k.iter().cloned())
            .collect(),
    );

    // A date tag is looked for where the standard puts it, then in IFD0, where some
    // software writes it; one that is there but no date is said, not used.
    let any_ifd = |tag: Tag| {
        e(tag, In::PRIMARY).or_else(|| e(Tag(exif::Context::Tiff, tag.number()), In::PRIMARY))
    };
    let mut bad_dates = Vec::new();
    let mut dated = |tag: Tag, offset_tag: Tag, source: Source| {
        let text = any_ifd(tag).and_then(|f| ascii_text(&f.value))?;
        let Some(local) = parse_exif_datetime(&text) else {
            if !text.trim().is_empty() {
                bad_dates.push(format!(
                    "EXIF {tag} {:?} is not a possible date; not used",
                    text.trim()
                ));
            }
            return None;
        };
        let offset = any_ifd(offset_tag)
            .and_then(|f| ascii_text(&f.value))
            .and_then(|o| parse_offset(&o));
        Some(DateTaken {
            local,
            offset,
            source,
        })
    };
    let original = dated(
        Tag::DateTimeOriginal,
        Tag::OffsetTimeOriginal,
        Source::ExifDateTimeOriginal,
    );
    let digitized = dated(
        Tag::DateTimeDigitized,
        Tag::OffsetTimeDigitized,
        Source::ExifDateTimeDigitized,
    );
    meta.date_taken = original
        .or(digitized)
        .or_else(|| xmp.date.as_deref().and_then(parse_xmp_date))
        .or_else(|| blocks.video_created.as_ref().and_then(video_date));
    meta.warnings.extend(bad_dates);

    if let Some(f) = e(Tag::Orientation, In::PRIMARY) {
        match f.value.get_uint(0) {
            Some(v @ 1..=8) => meta.orientation = v as u8,
            other => meta.warnings.push(format!(
                "EXIF orientation {} is not 1-8; treated as 1",
                other.map_or("(unreadable)".to_string(), |v| v.to_string())
            )),
        }
    }
    meta.make = exif_text(Tag::Make);
    meta.model = exif_text(Tag::Model);
    meta.has_gps = exif.as_ref().is_some_and(|x| {
        x.fields()
            .any(|f| f.ifd_num == In::PRIMARY && f.tag.context() == exif::Context::Gps)
    });
    meta
}

/// Parses a TIFF/EXIF block, keeping what could be read when part of it is broken.
pub fn read_exif(tiff: &[u8], warnings: &mut Vec<String>) -> Option<exif::Exif> {
    let mut reader = exif::Reader::new();
    reader.continue_on_error(true);
    match reader.read_raw(tiff.to_vec()) {
        Ok(x) => Some(x),
        Err(e) => match e.distill_partial_result(|errs| {
            if let Some(first) = errs.first() {
                warnings.push(format!("EXIF partly unreadable: {first}"));
            }
        }) {
            Ok(x) => Some(x),
            Err(e) => {
                warnings.push(format!("EXIF unreadable: {e}"));
                None
            }
        },
    }
}

/// Text that says something: not blank, not a camera's default caption.
pub fn meaningful(s: Option<String>) -> Option<String> {
    let s = s?;
    let t = s
        .trim_matches(|c: char| c.is_whitespace() || c == '\0')
        .to_string();
    if t.is_empty() || is_boilerplate(&t) || t.chars().all(|c| c == '?' || c.is_control()) {
        None
    } else {
        Some(t)
    }
}

/// Captions that cameras write into every photo.
fn is_boilerplate(t: &str) -> bool {
    const BOILERPLATE: &[&str] = &[
        "OLYMPUS DIGITAL CAMERA",
        "SONY DSC",
        "DIGITAL CAMERA",
        "KONICA MINOLTA DIGITAL CAMERA",
        "MINOLTA DIGITAL CAMERA",
        "SAMSUNG DIGITAL CAMERA",
        "PENTAX DIGITAL CAMERA",
        "LEICA DIGITAL CAMERA",
        "KODAK DIGITAL STILL CAMERA",
        "EASYSHARE",
        "EXIF_JPEG_PICTURE",
        "DEFAULT",
        "DCIM",
        "CAMERA",
        "PICTURE",
        "IMAGE",
        "UNTITLED",
        "SAMSUNG",
        "VIVITAR",
    ];
    let upper = t.to_uppercase();
    BOILERPLATE.iter().any(|b| upper == *b)
}

pub fn dedupe_nonempty(items: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    items
        .into_iter()
        .filter_map(|k| meaningful(Some(k)))
        .filter(|k| seen.insert(k.to_lowercase()))
        .collect()
}

/// An EXIF ASCII value; many writers put UTF-8 there, old ones Latin-1.
fn ascii_text(v: &Value) -> Option<String> {
    match v {
        Value::Ascii(parts) => {
            let bytes: Vec<u8> = parts.first()?.clone();
            Some(bytes_to_text(&bytes))
        }
        Value::Byte(b) | Value::Undefined(b, _) => Some(bytes_to_text(b)),
        _ => None,
    }
}

/// Decodes bytes as UTF-8, falling back to Latin-1, cut at the first NUL.
pub fn bytes_to_text(b: &[u8]) -> String {
    let b = b.split(|c| *c == 0).next().unwrap_or(&[]);
    match std::str::from_utf8(b) {
        Ok(s) => s.to_string(),
        Err(_) => b.iter().map(|&c| c as char).collect(),
    }
}

/// The Windows XP* tags hold UTF-16LE in a BYTE array.
fn utf16_text(v: &Value) -> Option<String> {
    let bytes = match v {
        Value::Byte(b) | Value::Undefined(b, _) => b,
        _ => return None,
    };
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .take_while(|u| *u != 0)
        .collect();
    Some(String::from_utf16_lossy(&units))
}

/// `2021:03:04 10:11:12` (also with `-` separators and fractional seconds).
pub fn parse_exif_datetime(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim().trim_end_matches('\0');
    let main = s.get(..19)?;
    let normalized: String = main
        .char_indices()
        .map(|(i, c)| {
            if (i == 4 || i == 7) && c == '-' {
                ':'
            } else {
                c
            }
        })
        .collect();
    let dt = NaiveDateTime::parse_from_str(&normalized, "%Y:%m:%d %H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(&normalized, "%Y:%m:%dT%H:%M:%S"))
        .ok()?;
    // Year 0 and the far future are placeholders, not dates.
    (1800..=2200)
        .contains(&chrono::Datelike::year(&dt))
        .then_some(dt)
}

/// `+02:00` / `-0530` / `Z`.
pub fn parse_offset(s: &str) -> Option<FixedOffset> {
    let s = s.trim().trim_end_matches('\0');
    if s == "Z" {
        return FixedOffset::east_opt(0);
    }
    let sign = match s.chars().next()? {
        '+' => 1,
        '-' => -1,
        _ => return None,
    };
    let digits: String = s[1..].chars().filter(|c| *c != ':').collect();
    if digits.len() != 4 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let h: i32 = digits[..2].parse().ok()?;
    let m: i32 = digits[2..].parse().ok()?;
    if h > 14 || m > 59 {
        return None;
    }
    FixedOffset::east_opt(sign * (h * 3600 + m * 60))
}

/// An XMP date: `2019-05-06T07:08:09+02:00`, `2019-05-06T07:08`, `2019-05-06`, ...
/// A video's creation time: Apple's text keeps the local time and offset; the movie
/// header's is UTC.
fn video_date(v: &VideoCreated) -> Option<DateTaken> {
    match v {
        VideoCreated::Text(t) => parse_xmp_date(t).map(|d| DateTaken {
            source: Source::Quicktime,
            ..d
        }),
        VideoCreated::Since1904(s) => {
            const FROM_1904_TO_1970: i64 = 2_082_844_800;
            let unix = i64::try_from(*s).ok()? - FROM_1904_TO_1970;
            let utc = chrono::DateTime::from_timestamp(unix, 0)?;
            (1970..=2200)
                .contains(&chrono::Datelike::year(&utc))
                .then(|| DateTaken {
                    local: utc.naive_utc(),
                    offset: FixedOffset::east_opt(0),
                    source: Source::Quicktime,
                })
        }
    }
}

pub fn parse_xmp_date(s: &str) -> Option<DateTaken> {
    let s = s.trim();
    let (date_part, time_part) = s.split_once('T').unwrap_or((s, ""));
    let date = NaiveDate::parse_from_str(date_part, "%Y-%m-%d").ok()?;
    if !(1800..=2200).contains(&chrono::Datelike::year(&date)) {
        return None;
    }
    let split_at = time_part.find(['+', '-', 'Z']).unwrap_or(time_part.len());
    let (clock, zone) = time_part.split_at(split_at);
    let clock = clock.split('.').next().unwrap_or("");
    let time = match clock.len() {
        0 => NaiveTime::MIN,
        5 => NaiveTime::parse_from_str(clock, "%H:%M").ok()?,
        _ => NaiveTime::parse_from_str(clock, "%H:%M:%S").ok()?,
    };
    Some(DateTaken {
        local: date.and_time(time),
        offset: parse_offset(zone),
        source: Source::Xmp,
    })
}

/// The IPTC-IIM datasets pixpipe reads.
#[derive(Debug, Default, Clone)]
pub struct Iptc {
    pub object_name: Option<String>,
    pub caption: Option<String>,
    pub keywords: Vec<String>,
}

/// One IPTC-IIM dataset: record, dataset number, value.
pub type Dataset<'a> = (u8, u8, &'a [u8]);

/// The datasets of IIM records, up to the first that does not parse.
pub fn iim_datasets(b: &[u8]) -> Vec<Dataset<'_>> {
    let mut raw = Vec::new();
    let mut pos = 0;
    while pos + 5 <= b.len() && b[pos] == 0x1C {
        let (rec, ds) = (b[pos + 1], b[pos + 2]);
        let len = u16::from_be_bytes([b[pos + 3], b[pos + 4]]) as usize;
        if len & 0x8000 != 0 {
            break; // extended lengths are never used for text
        }
        let Some(data) = b.get(pos + 5..pos + 5 + len) else {
            break;
        };
        raw.push((rec, ds, data));
        pos += 5 + len;
    }
    raw
}

/// Whether the records declare their text UTF-8 (dataset 1:90, `ESC % G`).
pub fn iim_utf8_declared(datasets: &[Dataset<'_>]) -> bool {
    datasets
        .iter()
        .any(|(r, d, v)| *r == 1 && *d == 90 && v.starts_with(b"\x1b%G"))
}

/// Reads IPTC-IIM records; the text is UTF-8 when declared or valid, else Latin-1.
pub fn parse_iptc(b: &[u8]) -> Iptc {
    let raw = iim_datasets(b);
    let utf8_declared = iim_utf8_declared(&raw);
    let text = |v: &[u8]| -> String {
        if utf8_declared {
            String::from_utf8_lossy(v).into_owned()
        } else {
            bytes_to_text(v)
        }
    };
    let mut out = Iptc::default();
    for (rec, ds, v) in raw {
        match (rec, ds) {
            (2, 5) if out.object_name.is_none() => out.object_name = Some(text(v)),
            (2, 120) if out.caption.is_none() => out.caption = Some(text(v)),
            (2, 25) => out.keywords.push(text(v)),
            _ => {}
        }
    }
    out
}

/// The title made from a file name: `IMG_2041-beach--day` becomes `IMG 2041 beach day`.
pub fn title_from_stem(stem: &str) -> String {
    let mut out = String::with_capacity(stem.len());
    let mut pending_space = false;
    for c in stem.chars() {
        if c == '-' || c == '_' || c.is_whitespace() {
            pending_space = !out.is_empty();
        } else {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    /// A TIFF whose IFD0 holds one ASCII tag.
    fn tiff_with_ascii(tag: u16, text: &str) -> Vec<u8> {
        let mut value = text.as_bytes().to_vec();
        value.push(0);
        let mut b = b"II*\0\x08\0\0\0\x01\0".to_vec();
        b.extend(tag.to_le_bytes());
        b.extend(2u16.to_le_bytes());
        b.extend((value.len() as u32).to_le_bytes());
        b.extend((8u32 + 2 + 12 + 4).to_le_bytes());
        b.extend([0, 0, 0, 0]);
        b.extend(value);
        b
    }

    #[test]
    fn a_date_in_ifd0_is_read_and_an_impossible_one_is_said() {
        let good = tiff_with_ascii(0x9003, "2020:02:03 04:05:06");
        let meta = read(&Blocks {
            exif: Some(good.as_slice().into()),
            ..Blocks::default()
        });
        let d = meta.date_taken.expect("DateTimeOriginal in IFD0");
        assert_eq!(d.iso8601(), "2020-02-03T04:05:06");
        for bad in ["2021:13:45 25:61:00", "0000:00:00 00:00:00"] {
            let tiff = tiff_with_ascii(0x9003, bad);
            let meta = read(&Blocks {
                exif: Some(tiff.as_slice().into()),
                ..Blocks::default()
            });
            assert!(meta.date_taken.is_none());
            let w = meta.warnings.join("\n");
            assert!(w.contains("DateTimeOriginal") && w.contains(bad), "{w}");
        }
    }

    use super::*;

    #[test]
    fn boilerplate_and_blank_are_empty() {
        assert_eq!(meaningful(Some("  OLYMPUS DIGITAL CAMERA ".into())), None);
        assert_eq!(meaningful(Some("sony dsc".into())), None);
        assert_eq!(meaningful(Some(" \0\0".into())), None);
        assert_eq!(
            meaningful(Some(" Harbour ".into())).as_deref(),
            Some("Harbour")
        );
    }

    #[test]
    fn exif_dates() {
        let d = parse_exif_datetime("2021:03:04 10:11:12").unwrap();
        assert_eq!(d.to_string(), "2021-03-04 10:11:12");
        assert!(parse_exif_datetime("0000:00:00 00:00:00").is_none());
        assert!(parse_exif_datetime("    :  :     :  :  ").is_none());
        assert!(parse_exif_datetime("2021:13:40 10:11:12").is_none());
        assert!(parse_exif_datetime("2021").is_none());
        assert_eq!(parse_offset("+05:30").unwrap().local_minus_utc(), 19800);
        assert!(parse_offset("+99:00").is_none());
    }

    #[test]
    fn xmp_dates() {
        let d = parse_xmp_date("2019-05-06T07:08:09+02:00").unwrap();
        assert_eq!(
            DateTaken {
                source: Source::Xmp,
                ..d
            }
            .iso8601(),
            "2019-05-06T07:08:09+02:00"
        );
        assert_eq!(
            parse_xmp_date("2019-05-06").unwrap().iso8601(),
            "2019-05-06T00:00:00"
        );
        assert!(parse_xmp_date("yesterday").is_none());
    }

    #[test]
    fn iptc_encodings() {
        let rec = |ds: u8, v: &[u8]| {
            let mut r = vec![0x1C, 2, ds];
            r.extend_from_slice(&(v.len() as u16).to_be_bytes());
            r.extend_from_slice(v);
            r
        };
        let latin1 = rec(5, b"Caf\xe9");
        assert_eq!(parse_iptc(&latin1).object_name.as_deref(), Some("Café"));
        let mut utf8 = vec![0x1C, 1, 90, 0, 3, 0x1b, b'%', b'G'];
        utf8.extend(rec(5, "東京".as_bytes()));
        utf8.extend(rec(25, b"a"));
        utf8.extend(rec(25, b"b"));
        let i = parse_iptc(&utf8);
        assert_eq!(i.object_name.as_deref(), Some("東京"));
        assert_eq!(i.keywords, vec!["a", "b"]);
        assert!(
            parse_iptc(&[0x1C, 2, 5, 0xff, 0xff, 1])
                .object_name
                .is_none()
        );
    }

    #[test]
    fn stem_titles() {
        assert_eq!(title_from_stem("IMG_2041-beach--day"), "IMG 2041 beach day");
        assert_eq!(title_from_stem("__x__"), "x");
    }
}
