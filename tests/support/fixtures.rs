//! Deterministic, self-built test fixtures for pixpipe's integration tests.
//!
//! Why build everything here instead of checking binary files into the repo:
//! every byte of every fixture is explained by code, so a test can state exactly
//! which metadata a file carries (and which hostile construct it contains), and
//! fixtures can be varied per test (byte order, odd strings, sizes) without
//! hunting for sample photos. Nothing here uses randomness, clocks or the file
//! system (except [`write_fixture`]), so the same call always yields the same bytes.
//!
//! Only `jpeg-encoder`, `image` and `std` are used. The EXIF/TIFF, XMP, IPTC,
//! PNG chunk and GIF structures are written by hand on purpose: the hostile
//! fixtures need to put bytes where no well-behaved encoder would.

// Each integration-test binary uses only some of these helpers.
#![allow(dead_code)]

use std::ops::Range;
use std::path::{Path, PathBuf};

use image::codecs::gif::{GifEncoder, Repeat};
use image::codecs::png::PngEncoder;
use image::{Delay, ExtendedColorType, Frame, ImageEncoder, RgbaImage};
use jpeg_encoder::{ColorType, Encoder};

/// JPEG quality used for every generated JPEG. At 90 and above jpeg-encoder
/// does not subsample chroma, which keeps the quadrant colours crisp.
pub const JPEG_QUALITY: u8 = 90;

/// Identifier that starts the payload of an EXIF APP1 segment.
pub const EXIF_APP1_HEADER: &[u8] = b"Exif\0\0";
/// Identifier that starts the payload of an XMP APP1 segment.
pub const XMP_APP1_HEADER: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";
/// Identifier that starts the payload of a Photoshop/IPTC APP13 segment.
pub const PHOTOSHOP_APP13_HEADER: &[u8] = b"Photoshop 3.0\0";
/// Largest payload a single JPEG marker segment can carry (length field is u16
/// and counts its own two bytes).
pub const MAX_SEGMENT_PAYLOAD: usize = 65533;

// ---------------------------------------------------------------------------
// Pixel content
// ---------------------------------------------------------------------------

/// The four colours painted by [`quadrant_rgb`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quadrant {
    Red,
    Green,
    Blue,
    White,
}

impl Quadrant {
    /// The exact RGB value written for this quadrant.
    pub fn rgb(self) -> [u8; 3] {
        match self {
            Quadrant::Red => [255, 0, 0],
            Quadrant::Green => [0, 255, 0],
            Quadrant::Blue => [0, 0, 255],
            Quadrant::White => [255, 255, 255],
        }
    }
}

/// Pixel content: a pattern whose orientation can be checked after rotation:
/// four quadrants of distinct saturated colours, top-left red (255,0,0),
/// top-right green (0,255,0), bottom-left blue (0,0,255), bottom-right white
/// (255,255,255), so a test can check where each quadrant lands after applying
/// EXIF orientation 1..8 (see [`expected_quadrants`] and [`sample_quadrants`]).
///
/// Column `x` is in the left half when `2*x < w`, row `y` in the top half when
/// `2*y < h`, so with odd sizes the middle column/row belongs to the left/top.
/// Use even sizes when a test cares about exact edges.
pub fn quadrant_rgb(w: u32, h: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(w as usize * h as usize * 3);
    for y in 0..h {
        let top = 2 * (y as u64) < h as u64;
        for x in 0..w {
            let left = 2 * (x as u64) < w as u64;
            let q = match (top, left) {
                (true, true) => Quadrant::Red,
                (true, false) => Quadrant::Green,
                (false, true) => Quadrant::Blue,
                (false, false) => Quadrant::White,
            };
            out.extend_from_slice(&q.rgb());
        }
    }
    out
}

/// RGBA variant of [`quadrant_rgb`] with a horizontal alpha ramp (255 at the
/// left edge down to about 64 at the right edge), so tests can tell whether
/// alpha survived a pipeline step while the colours still show orientation.
pub fn quadrant_rgba(w: u32, h: u32) -> Vec<u8> {
    let rgb = quadrant_rgb(w, h);
    let mut out = Vec::with_capacity(w as usize * h as usize * 4);
    for (i, px) in rgb.chunks_exact(3).enumerate() {
        let x = (i % w as usize) as u32;
        let alpha = 255 - 191 * x / (w - 1).max(1);
        out.extend_from_slice(px);
        out.push(alpha as u8);
    }
    out
}

/// Integer hash used for deterministic noise (an xorshift-multiply mixer).
fn mix32(mut v: u32) -> u32 {
    v ^= v >> 16;
    v = v.wrapping_mul(0x7feb_352d);
    v ^= v >> 15;
    v = v.wrapping_mul(0x846c_a68b);
    v ^= v >> 16;
    v
}

/// A smooth photo-like gradient with a little deterministic noise (for
/// size/quality tests). Smooth areas compress like photos do, and the noise
/// (about +-6 per channel) keeps encoders from producing unrealistically tiny
/// files. Different `seed`s give different noise and move a soft bright spot.
/// Integer-only arithmetic, so the bytes are identical on every platform.
pub fn photo_like_rgb(w: u32, h: u32, seed: u32) -> Vec<u8> {
    const ONE: i64 = 1024; // fixed-point 1.0
    const R2: i64 = 400 * 400; // squared radius of the bright spot
    let mut out = Vec::with_capacity(w as usize * h as usize * 3);
    let wd = (w as i64 - 1).max(1);
    let hd = (h as i64 - 1).max(1);
    let cx = 256 + (mix32(seed) % 512) as i64;
    let cy = 256 + (mix32(seed ^ 0x5555) % 512) as i64;
    for y in 0..h {
        let fy = y as i64 * ONE / hd;
        for x in 0..w {
            let fx = x as i64 * ONE / wd;
            let d2 = (fx - cx) * (fx - cx) + (fy - cy) * (fy - cy);
            let k = (R2 - d2).max(0);
            let glow = 90 * k / R2 * k / R2; // 0..=90, smooth falloff
            let base = [
                40 + 150 * fx / ONE + glow,
                60 + 110 * (ONE - fy) / ONE + glow * 4 / 5,
                90 + 80 * fy * (ONE - fx) / (ONE * ONE) + glow * 2 / 5,
            ];
            let n = mix32(x.wrapping_mul(0x9e37_79b9) ^ y.wrapping_mul(0x85eb_ca6b) ^ seed);
            for (c, b) in base.iter().enumerate() {
                let noise = ((n >> (8 * c)) & 0x0f) as i64 - 7; // -7..=8
                out.push((b + noise * 3 / 4).clamp(0, 255) as u8);
            }
        }
    }
    out
}

/// Width and height after applying EXIF `orientation` for display
/// (5..=8 swap the axes; anything else, including hostile 0 and 9, keeps them).
pub fn oriented_size(w: u32, h: u32, orientation: u16) -> (u32, u32) {
    match orientation {
        5..=8 => (h, w),
        _ => (w, h),
    }
}

/// Where the quadrants of [`quadrant_rgb`] must appear, as
/// `[top-left, top-right, bottom-left, bottom-right]`, after the image is
/// correctly displayed according to EXIF `orientation`. Values outside 1..=8
/// (hostile 0, 9, ...) are expected to be treated like 1 (no transform).
pub fn expected_quadrants(orientation: u16) -> [Quadrant; 4] {
    use Quadrant::*;
    match orientation {
        2 => [Green, Red, White, Blue], // mirror horizontally
        3 => [White, Blue, Green, Red], // rotate 180
        4 => [Blue, White, Red, Green], // mirror vertically
        5 => [Red, Blue, Green, White], // transpose
        6 => [Blue, Red, White, Green], // rotate 90 clockwise
        7 => [White, Green, Blue, Red], // transverse
        8 => [Green, White, Red, Blue], // rotate 90 counter-clockwise
        _ => [Red, Green, Blue, White],
    }
}

/// Reference implementation of "apply EXIF orientation for display" on packed
/// RGB, returning the new pixels and size. Lets a test compare pipeline output
/// against a known-correct transform of the same input.
pub fn apply_orientation(rgb: &[u8], w: u32, h: u32, orientation: u16) -> (Vec<u8>, u32, u32) {
    let (w, h) = (w as usize, h as usize);
    assert_eq!(rgb.len(), w * h * 3, "rgb buffer does not match {w}x{h}");
    let (ow, oh) = oriented_size(w as u32, h as u32, orientation);
    let (ow, oh) = (ow as usize, oh as usize);
    let mut out = vec![0u8; rgb.len()];
    for dy in 0..oh {
        for dx in 0..ow {
            // Source pixel shown at display position (dx, dy).
            let (sx, sy) = match orientation {
                2 => (w - 1 - dx, dy),
                3 => (w - 1 - dx, h - 1 - dy),
                4 => (dx, h - 1 - dy),
                5 => (dy, dx),
                6 => (dy, h - 1 - dx),
                7 => (w - 1 - dy, h - 1 - dx),
                8 => (w - 1 - dy, dx),
                _ => (dx, dy),
            };
            let s = (sy * w + sx) * 3;
            let d = (dy * ow + dx) * 3;
            out[d..d + 3].copy_from_slice(&rgb[s..s + 3]);
        }
    }
    (out, ow as u32, oh as u32)
}

/// Classify one pixel as a [`Quadrant`] colour if every channel is within 64
/// of it (JPEG round-trips move colours a little).
pub fn classify_pixel(px: [u8; 3]) -> Option<Quadrant> {
    use Quadrant::*;
    [Red, Green, Blue, White].into_iter().find(|q| {
        q.rgb()
            .iter()
            .zip(px.iter())
            .all(|(a, b)| (*a as i32 - *b as i32).abs() <= 64)
    })
}

/// Sample the centre of each quadrant of a decoded RGB image and classify it,
/// returning `[top-left, top-right, bottom-left, bottom-right]`. Compare with
/// [`expected_quadrants`]. `None` means the pixel matched none of the colours.
pub fn sample_quadrants(rgb: &[u8], w: u32, h: u32) -> [Option<Quadrant>; 4] {
    assert_eq!(
        rgb.len(),
        w as usize * h as usize * 3,
        "rgb buffer does not match {w}x{h}"
    );
    let at = |x: u32, y: u32| {
        let i = (y as usize * w as usize + x as usize) * 3;
        classify_pixel([rgb[i], rgb[i + 1], rgb[i + 2]])
    };
    let (x0, x1, y0, y1) = (w / 4, (3 * w) / 4, h / 4, (3 * h) / 4);
    [at(x0, y0), at(x1, y0), at(x0, y1), at(x1, y1)]
}

// ---------------------------------------------------------------------------
// Metadata description
// ---------------------------------------------------------------------------

/// Metadata to embed. Every field is optional; only set fields are written.
/// Strings are taken verbatim (no validation), so tests can pass malformed
/// dates, odd orientations or non-UTF-8 bytes on purpose.
#[derive(Debug, Default, Clone)]
pub struct Meta {
    /// EXIF 0x0112 SHORT in IFD0 (0 and 9 are allowed as hostile values).
    pub orientation: Option<u16>,
    /// EXIF 0x010E ASCII, raw bytes (a NUL terminator is appended), so tests can put UTF-8 or garbage in.
    pub image_description: Option<Vec<u8>>,
    /// EXIF 0x010F ASCII.
    pub make: Option<String>,
    /// EXIF 0x0110 ASCII.
    pub model: Option<String>,
    /// EXIF 0x9C9B BYTE, UTF-16LE + NUL terminator, in IFD0 (Windows "Title").
    pub xp_title: Option<String>,
    /// EXIF 0x9C9C BYTE, UTF-16LE + NUL terminator, in IFD0.
    pub xp_comment: Option<String>,
    /// EXIF 0x9C9E BYTE, UTF-16LE + NUL terminator, in IFD0 (Windows uses ';' between keywords).
    pub xp_keywords: Option<String>,
    /// Exif IFD 0x9003 ASCII, normally "YYYY:MM:DD HH:MM:SS" (any string, for malformed-date tests).
    pub date_time_original: Option<String>,
    /// Exif IFD 0x9011 ASCII, e.g. "+02:00".
    pub offset_time_original: Option<String>,
    /// Exif IFD 0x9004 ASCII.
    pub date_time_digitized: Option<String>,
    /// (latitude, longitude) in signed decimal degrees, written to the GPS IFD
    /// (0x8825 pointer) as GPSLatitudeRef/GPSLatitude/GPSLongitudeRef/GPSLongitude
    /// (degrees, minutes, seconds as RATIONALs; seconds with 1/10000 precision).
    pub gps: Option<(f64, f64)>,
    /// Write the TIFF structure "MM" (big endian) instead of "II".
    pub big_endian: bool,
    /// XMP dc:title rdf:Alt rdf:li xml:lang="x-default".
    pub xmp_title: Option<String>,
    /// XMP dc:description, likewise.
    pub xmp_description: Option<String>,
    /// XMP dc:subject rdf:Bag.
    pub xmp_subject: Vec<String>,
    /// XMP xmp:CreateDate and exif:DateTimeOriginal, e.g. "2019-05-06T07:08:09+02:00".
    pub xmp_create_date: Option<String>,
    /// IPTC 2:05 ObjectName inside APP13 "Photoshop 3.0\0" 8BIM resource 0x0404.
    pub iptc_object_name: Option<Vec<u8>>,
    /// IPTC 2:120 Caption/Abstract.
    pub iptc_caption: Option<Vec<u8>>,
    /// IPTC 2:25 Keywords (repeatable, one dataset each).
    pub iptc_keywords: Vec<Vec<u8>>,
    /// Add 1:90 CodedCharacterSet = ESC % G (declares the IPTC text UTF-8).
    pub iptc_utf8: bool,
}

impl Meta {
    /// True when at least one field that lives in EXIF is set.
    pub fn has_exif(&self) -> bool {
        self.has_ifd0() || self.has_exif_ifd() || self.gps.is_some()
    }

    fn has_ifd0(&self) -> bool {
        self.orientation.is_some()
            || self.image_description.is_some()
            || self.make.is_some()
            || self.model.is_some()
            || self.xp_title.is_some()
            || self.xp_comment.is_some()
            || self.xp_keywords.is_some()
    }

    fn has_exif_ifd(&self) -> bool {
        self.date_time_original.is_some()
            || self.offset_time_original.is_some()
            || self.date_time_digitized.is_some()
    }

    /// True when at least one XMP field is set.
    pub fn has_xmp(&self) -> bool {
        self.xmp_title.is_some()
            || self.xmp_description.is_some()
            || !self.xmp_subject.is_empty()
            || self.xmp_create_date.is_some()
    }

    /// True when at least one IPTC dataset is set (`iptc_utf8` alone does not count).
    pub fn has_iptc(&self) -> bool {
        self.iptc_object_name.is_some()
            || self.iptc_caption.is_some()
            || !self.iptc_keywords.is_empty()
    }
}

/// A realistic, fully populated [`Meta`] (all three metadata blocks, non-ASCII
/// text, GPS in the southern/western hemisphere so the Ref fields matter).
/// Handy as a "rich photo" starting point; tweak fields with struct update syntax.
pub fn rich_meta() -> Meta {
    Meta {
        orientation: Some(6),
        image_description: Some("Harbour at dusk".as_bytes().to_vec()),
        make: Some("PixCam".into()),
        model: Some("PX-100 Mark II".into()),
        xp_title: Some("Café 東京".into()),
        xp_comment: Some("Comment ünïcödé".into()),
        xp_keywords: Some("harbour;dusk;boats".into()),
        date_time_original: Some("2019:05:06 07:08:09".into()),
        offset_time_original: Some("+02:00".into()),
        date_time_digitized: Some("2019:05:06 07:08:10".into()),
        gps: Some((-33.856_784, -70.648_273)),
        big_endian: false,
        xmp_title: Some("Café 東京 <xmp>".into()),
        xmp_description: Some("Boats & lights".into()),
        xmp_subject: vec!["harbour".into(), "dusk".into(), "Ürlaub".into()],
        xmp_create_date: Some("2019-05-06T07:08:09+02:00".into()),
        iptc_object_name: Some("Hafen".as_bytes().to_vec()),
        iptc_caption: Some("Boote im Hafen, Dämmerung".as_bytes().to_vec()),
        iptc_keywords: vec![b"harbour".to_vec(), "Dämmerung".as_bytes().to_vec()],
        iptc_utf8: true,
    }
}

// ---------------------------------------------------------------------------
// TIFF / EXIF writer
// ---------------------------------------------------------------------------

/// TIFF field types used here.
pub mod tiff_type {
    pub const BYTE: u16 = 1;
    pub const ASCII: u16 = 2;
    pub const SHORT: u16 = 3;
    pub const LONG: u16 = 4;
    pub const RATIONAL: u16 = 5;
    pub const UNDEFINED: u16 = 7;
}

/// Byte order of a TIFF structure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Order {
    big: bool,
}

impl Order {
    fn u16(self, v: u16) -> [u8; 2] {
        if self.big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }
    fn u32(self, v: u32) -> [u8; 4] {
        if self.big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }
}

/// Value part of an IFD entry.
#[derive(Debug, Clone)]
enum Val {
    /// Encoded value bytes; stored inline when <= 4 bytes, otherwise out of
    /// line after the IFD with the offset written into the entry.
    Data(Vec<u8>),
    /// Write this u32 verbatim into the value/offset field, whatever the
    /// count and type claim (used to build hostile entries).
    RawOffset(u32),
}

#[derive(Debug, Clone)]
struct Entry {
    tag: u16,
    typ: u16,
    count: u32,
    val: Val,
}

impl Entry {
    fn ascii(tag: u16, bytes: &[u8]) -> Entry {
        let mut d = bytes.to_vec();
        d.push(0);
        Entry {
            tag,
            typ: tiff_type::ASCII,
            count: d.len() as u32,
            val: Val::Data(d),
        }
    }
    fn bytes(tag: u16, typ: u16, d: Vec<u8>) -> Entry {
        Entry {
            tag,
            typ,
            count: d.len() as u32,
            val: Val::Data(d),
        }
    }
    fn short(o: Order, tag: u16, v: u16) -> Entry {
        Entry {
            tag,
            typ: tiff_type::SHORT,
            count: 1,
            val: Val::Data(o.u16(v).to_vec()),
        }
    }
    fn long(o: Order, tag: u16, v: u32) -> Entry {
        Entry {
            tag,
            typ: tiff_type::LONG,
            count: 1,
            val: Val::Data(o.u32(v).to_vec()),
        }
    }
    fn rationals(o: Order, tag: u16, vals: &[(u32, u32)]) -> Entry {
        let mut d = Vec::with_capacity(vals.len() * 8);
        for &(n, den) in vals {
            d.extend_from_slice(&o.u32(n));
            d.extend_from_slice(&o.u32(den));
        }
        Entry {
            tag,
            typ: tiff_type::RATIONAL,
            count: vals.len() as u32,
            val: Val::Data(d),
        }
    }
    fn raw(tag: u16, typ: u16, count: u32, offset: u32) -> Entry {
        Entry {
            tag,
            typ,
            count,
            val: Val::RawOffset(offset),
        }
    }
    fn out_of_line_len(&self) -> usize {
        match &self.val {
            Val::Data(d) if d.len() > 4 => d.len() + (d.len() & 1),
            _ => 0,
        }
    }
}

/// Bytes an IFD with these entries occupies, including its out-of-line values.
fn ifd_len(entries: &[Entry]) -> usize {
    2 + 12 * entries.len() + 4 + entries.iter().map(Entry::out_of_line_len).sum::<usize>()
}

/// Append an IFD at the current end of `tiff` (which must be the TIFF block
/// itself, so `tiff.len()` is the IFD's offset). Entries are written in the
/// given order; out-of-line values follow the next-IFD field, each starting
/// on an even offset (TIFF "word" alignment).
fn write_ifd(tiff: &mut Vec<u8>, o: Order, entries: &[Entry], next: u32) {
    let start = tiff.len();
    assert!(start & 1 == 0, "IFD must start on a word boundary");
    let mut data_off = start + 2 + 12 * entries.len() + 4;
    let mut data = Vec::new();
    tiff.extend_from_slice(&o.u16(entries.len() as u16));
    for e in entries {
        tiff.extend_from_slice(&o.u16(e.tag));
        tiff.extend_from_slice(&o.u16(e.typ));
        tiff.extend_from_slice(&o.u32(e.count));
        match &e.val {
            Val::Data(d) if d.len() <= 4 => {
                let mut field = [0u8; 4];
                field[..d.len()].copy_from_slice(d);
                tiff.extend_from_slice(&field);
            }
            Val::Data(d) => {
                tiff.extend_from_slice(&o.u32(data_off as u32));
                data.extend_from_slice(d);
                if d.len() % 2 == 1 {
                    data.push(0);
                }
                data_off += d.len() + (d.len() & 1);
            }
            Val::RawOffset(v) => tiff.extend_from_slice(&o.u32(*v)),
        }
    }
    tiff.extend_from_slice(&o.u32(next));
    tiff.extend_from_slice(&data);
    debug_assert_eq!(tiff.len() - start, ifd_len(entries));
}

/// TIFF header: byte order mark, 42, offset of IFD0 (always 8 here).
fn tiff_header(o: Order) -> Vec<u8> {
    let mut t = Vec::new();
    t.extend_from_slice(if o.big { b"MM" } else { b"II" });
    t.extend_from_slice(&o.u16(42));
    t.extend_from_slice(&o.u32(8));
    t
}

fn utf16le_nul(s: &str) -> Vec<u8> {
    let mut d: Vec<u8> = s.encode_utf16().flat_map(u16::to_le_bytes).collect();
    d.extend_from_slice(&[0, 0]);
    d
}

/// Signed decimal degrees -> (reference letter, [deg, min, sec] rationals).
fn gps_dms(v: f64, pos: u8, neg: u8) -> (u8, [(u32, u32); 3]) {
    let r = if v < 0.0 { neg } else { pos };
    // Work in 1/10000 arc-seconds to avoid 59.99999 -> 60 rounding artefacts.
    let total = (v.abs() * 3600.0 * 10000.0).round() as u64;
    let deg = total / (3600 * 10000);
    let rem = total % (3600 * 10000);
    let min = rem / (60 * 10000);
    let sec = rem % (60 * 10000);
    (r, [(deg as u32, 1), (min as u32, 1), (sec as u32, 10000)])
}

/// Build the bare TIFF block (what follows "Exif\0\0" in JPEG, and the whole
/// content of a PNG eXIf chunk) for `meta`, or None without EXIF fields.
///
/// Layout: header, IFD0 at 8, then Exif IFD, then GPS IFD, each followed by
/// its own out-of-line values. IFD0's next-IFD offset is 0 (no thumbnail).
/// The Exif IFD also gets ExifVersion "0232" as real cameras write it.
pub fn exif_tiff(meta: &Meta) -> Option<Vec<u8>> {
    if !meta.has_exif() {
        return None;
    }
    let o = Order {
        big: meta.big_endian,
    };

    let mut exif_ifd = Vec::new();
    if meta.has_exif_ifd() {
        exif_ifd.push(Entry::bytes(0x9000, tiff_type::UNDEFINED, b"0232".to_vec()));
        if let Some(s) = &meta.date_time_original {
            exif_ifd.push(Entry::ascii(0x9003, s.as_bytes()));
        }
        if let Some(s) = &meta.date_time_digitized {
            exif_ifd.push(Entry::ascii(0x9004, s.as_bytes()));
        }
        if let Some(s) = &meta.offset_time_original {
            exif_ifd.push(Entry::ascii(0x9011, s.as_bytes()));
        }
    }

    let mut gps_ifd = Vec::new();
    if let Some((lat, lon)) = meta.gps {
        let (lat_ref, lat_dms) = gps_dms(lat, b'N', b'S');
        let (lon_ref, lon_dms) = gps_dms(lon, b'E', b'W');
        gps_ifd.push(Entry::bytes(0x0000, tiff_type::BYTE, vec![2, 3, 0, 0]));
        gps_ifd.push(Entry::ascii(0x0001, &[lat_ref]));
        gps_ifd.push(Entry::rationals(o, 0x0002, &lat_dms));
        gps_ifd.push(Entry::ascii(0x0003, &[lon_ref]));
        gps_ifd.push(Entry::rationals(o, 0x0004, &lon_dms));
    }

    let mut ifd0 = Vec::new();
    if let Some(d) = &meta.image_description {
        ifd0.push(Entry::ascii(0x010E, d));
    }
    if let Some(s) = &meta.make {
        ifd0.push(Entry::ascii(0x010F, s.as_bytes()));
    }
    if let Some(s) = &meta.model {
        ifd0.push(Entry::ascii(0x0110, s.as_bytes()));
    }
    if let Some(v) = meta.orientation {
        ifd0.push(Entry::short(o, 0x0112, v));
    }
    // Pointer placeholders; real offsets are filled in once sizes are known
    // (a LONG pointer is always inline, so the IFD size does not change).
    if !exif_ifd.is_empty() {
        ifd0.push(Entry::long(o, 0x8769, 0));
    }
    if !gps_ifd.is_empty() {
        ifd0.push(Entry::long(o, 0x8825, 0));
    }
    if let Some(s) = &meta.xp_title {
        ifd0.push(Entry::bytes(0x9C9B, tiff_type::BYTE, utf16le_nul(s)));
    }
    if let Some(s) = &meta.xp_comment {
        ifd0.push(Entry::bytes(0x9C9C, tiff_type::BYTE, utf16le_nul(s)));
    }
    if let Some(s) = &meta.xp_keywords {
        ifd0.push(Entry::bytes(0x9C9E, tiff_type::BYTE, utf16le_nul(s)));
    }

    let ifd0_off = 8usize;
    let exif_off = ifd0_off + ifd_len(&ifd0);
    let gps_off = exif_off
        + if exif_ifd.is_empty() {
            0
        } else {
            ifd_len(&exif_ifd)
        };
    for e in ifd0.iter_mut() {
        match e.tag {
            0x8769 => e.val = Val::Data(o.u32(exif_off as u32).to_vec()),
            0x8825 => e.val = Val::Data(o.u32(gps_off as u32).to_vec()),
            _ => {}
        }
    }
    // TIFF requires entries sorted by tag.
    ifd0.sort_by_key(|e| e.tag);
    exif_ifd.sort_by_key(|e| e.tag);
    gps_ifd.sort_by_key(|e| e.tag);

    let mut tiff = tiff_header(o);
    write_ifd(&mut tiff, o, &ifd0, 0);
    if !exif_ifd.is_empty() {
        debug_assert_eq!(tiff.len(), exif_off);
        write_ifd(&mut tiff, o, &exif_ifd, 0);
    }
    if !gps_ifd.is_empty() {
        debug_assert_eq!(tiff.len(), gps_off);
        write_ifd(&mut tiff, o, &gps_ifd, 0);
    }
    Some(tiff)
}

/// The EXIF APP1 payload ("Exif\0\0" + TIFF) for `meta`, or None when no EXIF
/// field is set. Offsets are correct (values > 4 bytes stored out of line,
/// word-aligned), IFD0 -> Exif IFD (0x8769) and IFD0 -> GPS IFD (0x8825).
pub fn exif_app1(meta: &Meta) -> Option<Vec<u8>> {
    exif_tiff(meta).map(|t| [EXIF_APP1_HEADER, &t].concat())
}

/// Like [`exif_app1`] but never None: without EXIF fields it returns a
/// structurally valid EXIF block whose IFD0 has zero entries.
pub fn exif_app1_or_empty(meta: &Meta) -> Vec<u8> {
    exif_app1(meta).unwrap_or_else(|| {
        let o = Order {
            big: meta.big_endian,
        };
        let mut t = tiff_header(o);
        write_ifd(&mut t, o, &[], 0);
        [EXIF_APP1_HEADER, &t].concat()
    })
}

// ---------------------------------------------------------------------------
// XMP
// ---------------------------------------------------------------------------

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            _ => out.push(c),
        }
    }
    out
}

/// The XMP packet (UTF-8 XML, with `<?xpacket?>` wrapper) for `meta`, or None
/// without XMP fields. Text is XML-escaped, so `<`, `&` survive round-trips.
pub fn xmp_packet(meta: &Meta) -> Option<String> {
    if !meta.has_xmp() {
        return None;
    }
    let mut body = String::new();
    if let Some(t) = &meta.xmp_title {
        body.push_str(&format!(
            "   <dc:title>\n    <rdf:Alt>\n     <rdf:li xml:lang=\"x-default\">{}</rdf:li>\n    </rdf:Alt>\n   </dc:title>\n",
            xml_escape(t)
        ));
    }
    if let Some(t) = &meta.xmp_description {
        body.push_str(&format!(
            "   <dc:description>\n    <rdf:Alt>\n     <rdf:li xml:lang=\"x-default\">{}</rdf:li>\n    </rdf:Alt>\n   </dc:description>\n",
            xml_escape(t)
        ));
    }
    if !meta.xmp_subject.is_empty() {
        body.push_str("   <dc:subject>\n    <rdf:Bag>\n");
        for s in &meta.xmp_subject {
            body.push_str(&format!("     <rdf:li>{}</rdf:li>\n", xml_escape(s)));
        }
        body.push_str("    </rdf:Bag>\n   </dc:subject>\n");
    }
    if let Some(d) = &meta.xmp_create_date {
        let d = xml_escape(d);
        body.push_str(&format!("   <xmp:CreateDate>{d}</xmp:CreateDate>\n"));
        body.push_str(&format!(
            "   <exif:DateTimeOriginal>{d}</exif:DateTimeOriginal>\n"
        ));
    }
    Some(format!(
        "<?xpacket begin=\"\u{feff}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n\
         <x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n \
         <rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n  \
         <rdf:Description rdf:about=\"\"\n    \
         xmlns:dc=\"http://purl.org/dc/elements/1.1/\"\n    \
         xmlns:xmp=\"http://ns.adobe.com/xap/1.0/\"\n    \
         xmlns:exif=\"http://ns.adobe.com/exif/1.0/\">\n\
         {body}  \
         </rdf:Description>\n \
         </rdf:RDF>\n\
         </x:xmpmeta>\n\
         <?xpacket end=\"w\"?>"
    ))
}

/// The XMP APP1 payload ("http://ns.adobe.com/xap/1.0/\0" + packet), or None
/// when no XMP field is set.
pub fn xmp_app1(meta: &Meta) -> Option<Vec<u8>> {
    xmp_packet(meta).map(|p| [XMP_APP1_HEADER, p.as_bytes()].concat())
}

// ---------------------------------------------------------------------------
// IPTC
// ---------------------------------------------------------------------------

/// One IPTC-IIM dataset: 0x1C, record, dataset, length, data. Lengths above
/// 32767 use the IIM extended-length form (0x8004 + u32).
fn iptc_dataset(out: &mut Vec<u8>, record: u8, dataset: u8, data: &[u8]) {
    out.extend_from_slice(&[0x1C, record, dataset]);
    if data.len() <= 0x7FFF {
        out.extend_from_slice(&(data.len() as u16).to_be_bytes());
    } else {
        out.extend_from_slice(&0x8004u16.to_be_bytes());
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    }
    out.extend_from_slice(data);
}

/// The raw IPTC-IIM stream for `meta` (what goes inside 8BIM resource 0x0404),
/// or None without IPTC datasets. Datasets are in record/dataset order:
/// 1:90 (if `iptc_utf8`), 2:00 RecordVersion=4, 2:05, 2:25..., 2:120.
pub fn iptc_iim(meta: &Meta) -> Option<Vec<u8>> {
    if !meta.has_iptc() {
        return None;
    }
    let mut iim = Vec::new();
    if meta.iptc_utf8 {
        iptc_dataset(&mut iim, 1, 90, b"\x1b%G");
    }
    iptc_dataset(&mut iim, 2, 0, &[0, 4]);
    if let Some(n) = &meta.iptc_object_name {
        iptc_dataset(&mut iim, 2, 5, n);
    }
    for k in &meta.iptc_keywords {
        iptc_dataset(&mut iim, 2, 25, k);
    }
    if let Some(c) = &meta.iptc_caption {
        iptc_dataset(&mut iim, 2, 120, c);
    }
    Some(iim)
}

/// A Photoshop image resource block: "8BIM", id, empty Pascal name (padded
/// to even), u32 size, data padded to even length.
pub fn photoshop_resource(id: u16, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 13);
    out.extend_from_slice(b"8BIM");
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(data);
    if data.len() % 2 == 1 {
        out.push(0);
    }
    out
}

/// The APP13 payload ("Photoshop 3.0\0" + 8BIM resource 0x0404 holding the
/// IPTC-IIM stream), or None when no IPTC dataset is set.
pub fn iptc_app13(meta: &Meta) -> Option<Vec<u8>> {
    iptc_iim(meta).map(|iim| [PHOTOSHOP_APP13_HEADER, &photoshop_resource(0x0404, &iim)].concat())
}

// ---------------------------------------------------------------------------
// JPEG
// ---------------------------------------------------------------------------

fn jpeg_dims(w: u32, h: u32) -> (u16, u16) {
    assert!(
        w > 0 && h > 0,
        "JPEG dimensions must be non-zero, got {w}x{h}"
    );
    let w16 = u16::try_from(w).unwrap_or_else(|_| panic!("JPEG width {w} exceeds 65535"));
    let h16 = u16::try_from(h).unwrap_or_else(|_| panic!("JPEG height {h} exceeds 65535"));
    (w16, h16)
}

/// A baseline JPEG (quality 90, no chroma subsampling) of packed RGB, without
/// any metadata besides the encoder's JFIF APP0.
pub fn jpeg_rgb(w: u32, h: u32, rgb: &[u8]) -> Vec<u8> {
    let (w16, h16) = jpeg_dims(w, h);
    assert_eq!(
        rgb.len(),
        w as usize * h as usize * 3,
        "rgb buffer does not match {w}x{h}"
    );
    let mut out = Vec::new();
    Encoder::new(&mut out, JPEG_QUALITY)
        .encode(rgb, w16, h16, ColorType::Rgb)
        .expect("jpeg-encoder failed");
    out
}

/// Encode one marker segment: 0xFF, marker, u16 length (payload + 2), payload.
/// Panics if the payload is too big for one segment.
pub fn jpeg_segment(marker: u8, payload: &[u8]) -> Vec<u8> {
    assert!(
        payload.len() <= MAX_SEGMENT_PAYLOAD,
        "segment 0xFF{marker:02X} payload of {} bytes exceeds {MAX_SEGMENT_PAYLOAD}",
        payload.len()
    );
    let mut out = Vec::with_capacity(payload.len() + 4);
    out.extend_from_slice(&[0xFF, marker]);
    out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// Insert marker segments `(marker, payload)` right after SOI, in order.
/// The encoder's JFIF APP0 then follows them (Exif readers expect APP1 first;
/// JFIF readers accept APP0 later).
pub fn insert_after_soi(jpeg: &[u8], segments: &[(u8, Vec<u8>)]) -> Vec<u8> {
    assert!(jpeg.starts_with(&[0xFF, 0xD8]), "not a JPEG (no SOI)");
    let mut out =
        Vec::with_capacity(jpeg.len() + segments.iter().map(|s| s.1.len() + 4).sum::<usize>());
    out.extend_from_slice(&jpeg[..2]);
    for (marker, payload) in segments {
        out.extend_from_slice(&jpeg_segment(*marker, payload));
    }
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// The metadata segments of `meta` as `(marker, payload)`: APP1 Exif, APP1
/// XMP, APP13 (each only when set).
pub fn meta_segments(meta: &Meta) -> Vec<(u8, Vec<u8>)> {
    let mut segs = Vec::new();
    if let Some(p) = exif_app1(meta) {
        segs.push((0xE1, p));
    }
    if let Some(p) = xmp_app1(meta) {
        segs.push((0xE1, p));
    }
    if let Some(p) = iptc_app13(meta) {
        segs.push((0xED, p));
    }
    segs
}

/// A baseline JPEG (quality 90) of `rgb` with the metadata segments inserted
/// right after SOI, in the order APP1 Exif, APP1 XMP, APP13 (then the
/// encoder's JFIF APP0). Panics if a segment would exceed 65533 bytes.
pub fn jpeg_with_meta(w: u32, h: u32, rgb: &[u8], meta: &Meta) -> Vec<u8> {
    insert_after_soi(&jpeg_rgb(w, h, rgb), &meta_segments(meta))
}

/// A parsed JPEG marker segment (see [`jpeg_segments`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JpegSegment {
    /// Marker code (the byte after 0xFF), e.g. 0xE1 for APP1.
    pub marker: u8,
    /// Offset of the 0xFF byte in the file.
    pub offset: usize,
    /// Payload range in the file (after the length field); empty for
    /// stand-alone markers.
    pub payload: Range<usize>,
}

/// Walk the marker segments from SOI up to and including SOS (or EOI), so
/// tests can check what a fixture, or pixpipe's output, contains. Stops
/// quietly at the first malformed or truncated segment.
pub fn jpeg_segments(jpeg: &[u8]) -> Vec<JpegSegment> {
    let mut segs = Vec::new();
    if !jpeg.starts_with(&[0xFF, 0xD8]) {
        return segs;
    }
    segs.push(JpegSegment {
        marker: 0xD8,
        offset: 0,
        payload: 2..2,
    });
    let mut i = 2;
    while i + 1 < jpeg.len() {
        if jpeg[i] != 0xFF {
            break;
        }
        let start = i;
        while i < jpeg.len() && jpeg[i] == 0xFF {
            i += 1; // fill bytes
        }
        let Some(&marker) = jpeg.get(i) else { break };
        i += 1;
        if marker == 0x01 || (0xD0..=0xD7).contains(&marker) {
            segs.push(JpegSegment {
                marker,
                offset: start,
                payload: i..i,
            });
            continue;
        }
        if marker == 0xD9 {
            segs.push(JpegSegment {
                marker,
                offset: start,
                payload: i..i,
            });
            break;
        }
        if i + 2 > jpeg.len() {
            break;
        }
        let len = u16::from_be_bytes([jpeg[i], jpeg[i + 1]]) as usize;
        if len < 2 || i + len > jpeg.len() {
            break;
        }
        segs.push(JpegSegment {
            marker,
            offset: start,
            payload: i + 2..i + len,
        });
        i += len;
        if marker == 0xDA {
            break;
        }
    }
    segs
}

/// Payloads of all APP1 segments that start with "Exif\0\0", in file order
/// (including the header), e.g. to check how many EXIF blocks an output has.
pub fn jpeg_exif_payloads(jpeg: &[u8]) -> Vec<Vec<u8>> {
    jpeg_segments(jpeg)
        .into_iter()
        .filter(|s| s.marker == 0xE1 && jpeg[s.payload.clone()].starts_with(EXIF_APP1_HEADER))
        .map(|s| jpeg[s.payload].to_vec())
        .collect()
}

// ---------------------------------------------------------------------------
// PNG
// ---------------------------------------------------------------------------

const PNG_SIGNATURE: &[u8; 8] = b"\x89PNG\r\n\x1a\n";

const fn crc32_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut n = 0;
    while n < 256 {
        let mut c = n as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[n] = c;
        n += 1;
    }
    table
}

static CRC32_TABLE: [u32; 256] = crc32_table();

/// CRC-32 (ISO-HDLC, as used by PNG chunks and zlib/gzip).
pub fn crc32(data: &[u8]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for &b in data {
        c = CRC32_TABLE[((c ^ b as u32) & 0xFF) as usize] ^ (c >> 8);
    }
    c ^ 0xFFFF_FFFF
}

/// Adler-32 checksum (trailer of a zlib stream).
pub fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + x as u32) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}

/// One PNG chunk: u32 length, type, data, CRC over type + data.
pub fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 12);
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc_in = Vec::with_capacity(data.len() + 4);
    crc_in.extend_from_slice(kind);
    crc_in.extend_from_slice(data);
    out.extend_from_slice(&crc32(&crc_in).to_be_bytes());
    out
}

/// A parsed PNG chunk (see [`png_chunks`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PngChunk {
    pub kind: [u8; 4],
    /// Offset of the chunk's length field in the file.
    pub offset: usize,
    /// Data range in the file.
    pub data: Range<usize>,
    /// Whether the stored CRC matches the computed one.
    pub crc_ok: bool,
}

/// Walk the chunks of a PNG (stops quietly at truncation or after IEND).
pub fn png_chunks(png: &[u8]) -> Vec<PngChunk> {
    let mut out = Vec::new();
    if !png.starts_with(PNG_SIGNATURE) {
        return out;
    }
    let mut i = 8;
    while i + 12 <= png.len() {
        let len = u32::from_be_bytes(png[i..i + 4].try_into().unwrap()) as usize;
        let Some(end) = (i + 8).checked_add(len) else {
            break;
        };
        if end + 4 > png.len() {
            break;
        }
        let kind: [u8; 4] = png[i + 4..i + 8].try_into().unwrap();
        let stored = u32::from_be_bytes(png[end..end + 4].try_into().unwrap());
        out.push(PngChunk {
            kind,
            offset: i,
            data: i + 8..end,
            crc_ok: crc32(&png[i + 4..end]) == stored,
        });
        i = end + 4;
        if &kind == b"IEND" {
            break;
        }
    }
    out
}

/// Insert already-encoded chunks right before the first IDAT.
pub fn png_insert_before_idat(png: &[u8], chunks: &[Vec<u8>]) -> Vec<u8> {
    let idat = png_chunks(png)
        .into_iter()
        .find(|c| &c.kind == b"IDAT")
        .expect("PNG has no IDAT chunk");
    let mut out = Vec::with_capacity(png.len() + chunks.iter().map(Vec::len).sum::<usize>());
    out.extend_from_slice(&png[..idat.offset]);
    for c in chunks {
        out.extend_from_slice(c);
    }
    out.extend_from_slice(&png[idat.offset..]);
    out
}

fn png_encode(w: u32, h: u32, pixels: &[u8], color: ExtendedColorType) -> Vec<u8> {
    let mut out = Vec::new();
    PngEncoder::new(&mut out)
        .write_image(pixels, w, h, color)
        .expect("PNG encoding failed");
    out
}

/// PNG RGBA 8-bit (with alpha) via the image crate.
pub fn png_rgba(w: u32, h: u32, rgba: &[u8]) -> Vec<u8> {
    png_encode(w, h, rgba, ExtendedColorType::Rgba8)
}

/// PNG RGB 8-bit via the image crate, no metadata.
pub fn png_rgb(w: u32, h: u32, rgb: &[u8]) -> Vec<u8> {
    png_encode(w, h, rgb, ExtendedColorType::Rgb8)
}

/// iTXt chunk data with keyword "XML:com.adobe.xmp", uncompressed, empty
/// language and translated keyword (the layout Adobe tools write).
pub fn xmp_itxt_data(packet: &str) -> Vec<u8> {
    let mut d = Vec::with_capacity(packet.len() + 24);
    d.extend_from_slice(b"XML:com.adobe.xmp\0");
    d.extend_from_slice(&[0, 0]); // compression flag, method
    d.push(0); // language tag ""
    d.push(0); // translated keyword ""
    d.extend_from_slice(packet.as_bytes());
    d
}

/// PNG RGB with an eXIf chunk (bare TIFF, no "Exif\0\0" prefix, as the PNG
/// extension specifies) and, when XMP fields are set, an iTXt
/// "XML:com.adobe.xmp" chunk, both before the first IDAT. IPTC fields are
/// ignored: PNG has no standard IPTC container.
pub fn png_with_meta(w: u32, h: u32, rgb: &[u8], meta: &Meta) -> Vec<u8> {
    let png = png_rgb(w, h, rgb);
    let mut chunks = Vec::new();
    if let Some(t) = exif_tiff(meta) {
        chunks.push(png_chunk(b"eXIf", &t));
    }
    if let Some(p) = xmp_packet(meta) {
        chunks.push(png_chunk(b"iTXt", &xmp_itxt_data(&p)));
    }
    if chunks.is_empty() {
        png
    } else {
        png_insert_before_idat(&png, &chunks)
    }
}

// ---------------------------------------------------------------------------
// GIF
// ---------------------------------------------------------------------------

/// An animated GIF (infinite loop, 100 ms per frame) with `frames` frames,
/// each a different solid colour with a bar whose position moves per frame,
/// for pass-through tests. Encoded by the image crate.
pub fn animated_gif(w: u16, h: u16, frames: usize) -> Vec<u8> {
    assert!(
        frames >= 1 && w > 0 && h > 0,
        "need at least one non-empty frame"
    );
    const COLOURS: [[u8; 3]; 6] = [
        [200, 30, 30],
        [30, 200, 30],
        [30, 30, 200],
        [200, 200, 30],
        [30, 200, 200],
        [200, 30, 200],
    ];
    let mut out = Vec::new();
    {
        let mut enc = GifEncoder::new(&mut out);
        enc.set_repeat(Repeat::Infinite).expect("set_repeat");
        for i in 0..frames {
            let c = COLOURS[i % COLOURS.len()];
            let bar_x = (i as u32 * 3) % w as u32;
            let img = RgbaImage::from_fn(w as u32, h as u32, |x, _| {
                if x == bar_x {
                    image::Rgba([255, 255, 255, 255])
                } else {
                    image::Rgba([c[0], c[1], c[2], 255])
                }
            });
            enc.encode_frame(Frame::from_parts(
                img,
                0,
                0,
                Delay::from_numer_denom_ms(100, 1),
            ))
            .expect("GIF frame encoding failed");
        }
        // Dropping the encoder writes the GIF trailer.
    }
    out
}

/// LZW-encode palette indices for GIF without compression: with minimum
/// code size 2 (3-bit codes) a Clear code is emitted before every pair of
/// pixels, so the code table never grows and no decoder ambiguity about code
/// width changes can arise. Returns the data sub-blocks incl. terminator.
fn gif_lzw_uncompressed(indices: &[u8]) -> Vec<u8> {
    const CLEAR: u32 = 4;
    const EOI: u32 = 5;
    let mut codes = Vec::new();
    for pair in indices.chunks(2) {
        codes.push(CLEAR);
        codes.extend(pair.iter().map(|&p| {
            assert!(p < 4, "palette index out of range");
            p as u32
        }));
    }
    codes.push(EOI);
    let mut bytes = Vec::new();
    let (mut acc, mut nbits) = (0u32, 0u32);
    for code in codes {
        acc |= code << nbits;
        nbits += 3;
        while nbits >= 8 {
            bytes.push(acc as u8);
            acc >>= 8;
            nbits -= 8;
        }
    }
    if nbits > 0 {
        bytes.push(acc as u8);
    }
    let mut out = Vec::new();
    for block in bytes.chunks(255) {
        out.push(block.len() as u8);
        out.extend_from_slice(block);
    }
    out.push(0);
    out
}

/// A hand-written single-frame GIF89a: logical screen `screen_w`x`screen_h`,
/// one `frame_w`x`frame_h` frame at (0,0) with a 4-entry palette (black, red,
/// green, blue) showing a diagonal stripe pattern. Exposed so tests can
/// decode a small variant of the bomb to prove the encoding is valid.
pub fn gif_single_frame(screen_w: u16, screen_h: u16, frame_w: u16, frame_h: u16) -> Vec<u8> {
    let mut g = Vec::new();
    g.extend_from_slice(b"GIF89a");
    g.extend_from_slice(&screen_w.to_le_bytes());
    g.extend_from_slice(&screen_h.to_le_bytes());
    g.push(0x80 | 0x01); // global colour table, 2^(1+1) = 4 entries
    g.push(0); // background colour index
    g.push(0); // pixel aspect ratio
    g.extend_from_slice(&[0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255]);
    g.push(0x2C); // image descriptor
    g.extend_from_slice(&0u16.to_le_bytes());
    g.extend_from_slice(&0u16.to_le_bytes());
    g.extend_from_slice(&frame_w.to_le_bytes());
    g.extend_from_slice(&frame_h.to_le_bytes());
    g.push(0); // no local colour table, not interlaced
    g.push(2); // LZW minimum code size
    let indices: Vec<u8> = (0..frame_h as u32)
        .flat_map(|y| (0..frame_w as u32).map(move |x| ((x + y) % 4) as u8))
        .collect();
    g.extend_from_slice(&gif_lzw_uncompressed(&indices));
    g.push(0x3B); // trailer
    g
}

// ---------------------------------------------------------------------------
// Hostile files
// ---------------------------------------------------------------------------

/// The photo + metadata used by several hostile builders (128x96, rich_meta).
fn base_photo_jpeg() -> Vec<u8> {
    jpeg_with_meta(128, 96, &photo_like_rgb(128, 96, 7), &rich_meta())
}

/// A small clean JPEG (32x32 quadrants, no metadata) to hang hostile segments on.
fn small_jpeg() -> Vec<u8> {
    jpeg_rgb(32, 32, &quadrant_rgb(32, 32))
}

/// A valid 128x96 JPEG with full metadata (see [`rich_meta`]) cut at 60% of
/// its length. The metadata segments are intact; the cut falls inside the
/// entropy-coded scan data, so there is no EOI and the pixels are incomplete.
/// Note: image 0.25 (zune-jpeg) decodes such files *without error*, filling
/// the missing rows, so do not assume decoding fails; check for EOI instead.
pub fn truncated_jpeg() -> Vec<u8> {
    let mut j = base_photo_jpeg();
    let cut = j.len() * 6 / 10;
    j.truncate(cut);
    j
}

/// Wrap a bare TIFF block as EXIF APP1 in a small valid JPEG.
fn jpeg_with_raw_tiff(tiff: &[u8]) -> Vec<u8> {
    insert_after_soi(&small_jpeg(), &[(0xE1, [EXIF_APP1_HEADER, tiff].concat())])
}

/// EXIF offset of the Exif IFD inside [`exif_ifd_loop_jpeg`]'s TIFF block.
pub const LOOP_EXIF_IFD_OFFSET: u32 = 8 + 2 + 12 * 2 + 4;

/// A JPEG whose EXIF (little endian) loops: IFD0 (Orientation=6, ExifIFD
/// pointer) has its next-IFD offset pointing back to IFD0 itself (8), and the
/// Exif IFD (DateTimeOriginal) contains a 0x8769 Exif-IFD pointer to its own
/// offset ([`LOOP_EXIF_IFD_OFFSET`]). A naive walker never terminates.
pub fn exif_ifd_loop_jpeg() -> Vec<u8> {
    let o = Order { big: false };
    let ifd0 = vec![
        Entry::short(o, 0x0112, 6),
        Entry::long(o, 0x8769, LOOP_EXIF_IFD_OFFSET),
    ];
    let exif = vec![
        Entry::ascii(0x9003, b"2019:05:06 07:08:09"),
        Entry::long(o, 0x8769, LOOP_EXIF_IFD_OFFSET),
    ];
    let mut t = tiff_header(o);
    write_ifd(&mut t, o, &ifd0, 8);
    assert_eq!(t.len() as u32, LOOP_EXIF_IFD_OFFSET);
    write_ifd(&mut t, o, &exif, 0);
    jpeg_with_raw_tiff(&t)
}

/// A JPEG whose EXIF (little endian) IFD0 has, in tag order:
/// - 0x010E ImageDescription ASCII count 32 with value offset 0x7FFF_FF00,
///   far past the end of the ~100-byte TIFF block;
/// - 0x010F Make ASCII count 0x7FFF_FFFF with an in-range offset (62, the
///   filler after IFD0), so offset + count runs far past the block;
/// - 0x0112 Orientation SHORT = 3, a valid entry a lenient parser can keep;
/// - 0x9C9B XPTitle BYTE count 0x7FFF_FFFF with offset 0xFFFF_FFF0.
pub fn exif_offset_past_end_jpeg() -> Vec<u8> {
    let o = Order { big: false };
    let ifd0 = vec![
        Entry::raw(0x010E, tiff_type::ASCII, 32, 0x7FFF_FF00),
        Entry::raw(0x010F, tiff_type::ASCII, 0x7FFF_FFFF, 62),
        Entry::short(o, 0x0112, 3),
        Entry::raw(0x9C9B, tiff_type::BYTE, 0x7FFF_FFFF, 0xFFFF_FFF0),
    ];
    let mut t = tiff_header(o);
    write_ifd(&mut t, o, &ifd0, 0);
    // A little trailing filler so offset 62 lies inside the block.
    assert_eq!(t.len(), 62);
    t.extend_from_slice(b"PixCam\0\0");
    jpeg_with_raw_tiff(&t)
}

/// Width and height declared by [`png_bomb_header`].
pub const PNG_BOMB_SIZE: u32 = 100_000;

/// A PNG whose IHDR declares 100000x100000 RGBA 8-bit (valid CRCs on every
/// chunk), followed by a tiny IDAT (a valid zlib stream holding only the
/// first 64 bytes of row 0) and IEND. Decoding fully would need 40 GB, so a
/// correct consumer must refuse based on the header.
pub fn png_bomb_header() -> Vec<u8> {
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&PNG_BOMB_SIZE.to_be_bytes());
    ihdr.extend_from_slice(&PNG_BOMB_SIZE.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]); // depth 8, RGBA, deflate, adaptive, no interlace
    let raw = [0u8; 64]; // filter byte 0 + 63 bytes of transparent black
    let mut z = vec![0x78, 0x01]; // zlib header, no preset dictionary
    z.push(0x01); // final stored block
    z.extend_from_slice(&(raw.len() as u16).to_le_bytes());
    z.extend_from_slice(&(!(raw.len() as u16)).to_le_bytes());
    z.extend_from_slice(&raw);
    z.extend_from_slice(&adler32(&raw).to_be_bytes());
    let mut png = PNG_SIGNATURE.to_vec();
    png.extend_from_slice(&png_chunk(b"IHDR", &ihdr));
    png.extend_from_slice(&png_chunk(b"IDAT", &z));
    png.extend_from_slice(&png_chunk(b"IEND", &[]));
    png
}

/// A GIF whose logical screen is 65535x65535 with one small (8x8) frame:
/// compositing onto the full canvas would need about 17 GB of RGBA.
pub fn gif_bomb_header() -> Vec<u8> {
    gif_single_frame(u16::MAX, u16::MAX, 8, 8)
}

/// Plain UTF-8 text (a test names the file .jpg to check content sniffing).
pub fn text_as_jpg() -> Vec<u8> {
    b"This is not a JPEG.\nIt is plain text that someone saved as photo.jpg.\n\
      pixpipe should reject it by content, not trust the extension.\n"
        .to_vec()
}

/// Size of the junk appended by [`jpeg_with_trailing_garbage`].
pub const TRAILING_GARBAGE_LEN: usize = 10 * 1024;

/// Deterministic pseudo-random bytes (LCG), for junk payloads.
pub fn junk_bytes(len: usize, seed: u32) -> Vec<u8> {
    let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(0x1234_5678);
    (0..len)
        .map(|_| {
            s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (s >> 24) as u8
        })
        .collect()
}

/// A valid 32x32 JPEG (with EXIF orientation 1) followed by exactly
/// [`TRAILING_GARBAGE_LEN`] bytes of junk after EOI.
pub fn jpeg_with_trailing_garbage() -> Vec<u8> {
    let meta = Meta {
        orientation: Some(1),
        ..Meta::default()
    };
    let mut j = jpeg_with_meta(32, 32, &quadrant_rgb(32, 32), &meta);
    j.extend_from_slice(&junk_bytes(TRAILING_GARBAGE_LEN, 1));
    j
}

/// A 32x32 JPEG with two EXIF APP1 segments right after SOI: first from
/// `first`, then from `second` (only their EXIF fields are used; a Meta
/// without EXIF fields yields an EXIF block with an empty IFD0).
pub fn jpeg_with_two_exif_segments(first: &Meta, second: &Meta) -> Vec<u8> {
    insert_after_soi(
        &small_jpeg(),
        &[
            (0xE1, exif_app1_or_empty(first)),
            (0xE1, exif_app1_or_empty(second)),
        ],
    )
}

/// A 32x32 JPEG with COM segments right after SOI whose payloads total
/// `comment_len` bytes (each <= 65533 bytes; none when `comment_len` is 0).
/// The text is a repeating ASCII pattern.
pub fn jpeg_with_big_comment(comment_len: usize) -> Vec<u8> {
    let pattern = b"pixpipe comment padding 0123456789 ";
    let text: Vec<u8> = pattern.iter().copied().cycle().take(comment_len).collect();
    let segs: Vec<(u8, Vec<u8>)> = text
        .chunks(MAX_SEGMENT_PAYLOAD)
        .map(|c| (0xFE, c.to_vec()))
        .collect();
    insert_after_soi(&small_jpeg(), &segs)
}

/// A 32x32 JPEG with an APP1 XMP header followed by bytes that are not XML
/// (binary junk, a stray '<', invalid UTF-8 and a NUL).
pub fn xmp_not_xml_jpeg() -> Vec<u8> {
    let mut payload = XMP_APP1_HEADER.to_vec();
    payload.extend_from_slice(b"<<not xml at all \xff\xfe\xc3\x28 \0 ");
    payload.extend_from_slice(&junk_bytes(200, 2));
    insert_after_soi(&small_jpeg(), &[(0xE1, payload)])
}

// ---------------------------------------------------------------------------
// Files on disk
// ---------------------------------------------------------------------------

/// Write `bytes` to `dir/name` (creating `dir`), returning the path. Panics
/// on I/O errors, which in a test is the desired failure.
pub fn write_fixture(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    path
}
