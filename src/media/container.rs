//! Finds the metadata blocks inside an image file without decoding it: one walker
//! per container, which the format families (`media::family`) call for their formats.
//!
//! Each walker is bounds-checked at every step and gives up quietly on
//! nonsense: a broken metadata block must never cost the user the photo.

use std::borrow::Cow;

use super::tiff::{u16_at, u32_at};

/// The raw metadata blocks of one file; each is optional and unparsed.
#[derive(Debug, Default, Clone)]
pub struct Blocks<'a> {
    /// A TIFF structure ("II*\0" or "MM\0*" first), as kamadak-exif reads it.
    /// Borrowed from the file where it lies in one piece, owned where the container
    /// splits it (HEIF extents).
    pub exif: Option<Cow<'a, [u8]>>,
    pub xmp: Option<Cow<'a, [u8]>>,
    /// JPEG's ExtendedXMP, reassembled: what did not fit beside the main packet.
    pub xmp_extended: Option<Vec<u8>>,
    /// IPTC-IIM records (from a Photoshop 8BIM 0x0404 resource, a TIFF tag or a JPEG's
    /// AFCP trailer). Owned where the container encodes them (PNG's hex raw profiles).
    pub iptc: Option<Cow<'a, [u8]>>,
    /// The ICC profile, reassembled from its chunks.
    pub icc: Option<Vec<u8>>,
    /// More than one frame: pixpipe passes such files through unchanged.
    pub animated: bool,
    /// PNG text chunks `Title` and `Description` (tEXt or uncompressed iTXt).
    pub text_title: Option<String>,
    pub text_description: Option<String>,
    /// When a video was made: QuickTime's `com.apple.quicktime.creationdate` (local
    /// time with its offset), else the movie header's creation time (UTC).
    pub video_created: Option<VideoCreated>,
}

/// A video's creation time as its container states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VideoCreated {
    /// ISO 8601 text, as Apple writes it (`2021-05-06T07:08:09+0200`).
    Text(String),
    /// Seconds since 1904-01-01 UTC (`mvhd`).
    Since1904(u64),
}

/// A TIFF's blocks: the file is its own EXIF structure, and scanning software keeps
/// captions in two tags of its first directory (XMP 700, IPTC 33723, or IPTC inside
/// Photoshop's resources, 34377), not in EXIF.
pub fn tiff_blocks(bytes: &[u8]) -> Blocks<'_> {
    Blocks {
        exif: Some(bytes.into()),
        xmp: tiff_ifd0_value(bytes, 700).map(Cow::Borrowed),
        iptc: tiff_ifd0_value(bytes, 33723)
            .or_else(|| tiff_ifd0_value(bytes, 34377).and_then(photoshop_iptc))
            .map(Cow::Borrowed),
        ..Blocks::default()
    }
}

/// The bytes of a tag of a TIFF's first directory (XMP is tag 700, IPTC 33723).
fn tiff_ifd0_value(b: &[u8], wanted: u16) -> Option<&[u8]> {
    super::tiff::Ifd0::read(b)?.value(wanted)
}

const EXIF_PREFIX: &[u8] = b"Exif\0\0";
const XMP_PREFIX: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";
const PHOTOSHOP_PREFIX: &[u8] = b"Photoshop 3.0\0";
const ICC_PREFIX: &[u8] = b"ICC_PROFILE\0";
const XMP_EXTENSION_PREFIX: &[u8] = b"http://ns.adobe.com/xmp/extension/\0";

/// The chunks of one ExtendedXMP packet: each APP1 carries a 32-character GUID, the full
/// length and its offset; the chunks of the first GUID seen are placed, others ignored.
#[derive(Default)]
struct ExtendedXmp {
    guid: Option<[u8; 32]>,
    data: Vec<u8>,
    filled: usize,
}

impl ExtendedXmp {
    /// At most this much is reassembled: XMP is text, not a place for megabytes.
    const LIMIT: usize = 16 << 20;

    fn add(&mut self, chunk: &[u8]) {
        let (Some(guid), Some(total), Some(offset)) = (
            chunk.get(..32).and_then(|g| <[u8; 32]>::try_from(g).ok()),
            chunk
                .get(32..36)
                .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize),
            chunk
                .get(36..40)
                .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize),
        ) else {
            return;
        };
        if total > Self::LIMIT || *self.guid.get_or_insert(guid) != guid {
            return;
        }
        self.data.resize(total, 0);
        let part = &chunk[40..];
        if let Some(dest) = offset
            .checked_add(part.len())
            .and_then(|end| self.data.get_mut(offset..end))
        {
            dest.copy_from_slice(part);
            self.filled += part.len();
        }
    }

    fn packet(self) -> Option<Vec<u8>> {
        (self.guid.is_some() && self.filled >= self.data.len()).then_some(self.data)
    }
}

pub fn jpeg_blocks(b: &[u8]) -> Blocks<'_> {
    let mut out = Blocks::default();
    let mut icc_chunks: Vec<(u8, &[u8])> = Vec::new();
    let mut extended = ExtendedXmp::default();
    for (marker, payload) in jpeg_segments(b) {
        match marker {
            0xE1 if payload.starts_with(XMP_EXTENSION_PREFIX) => {
                extended.add(&payload[XMP_EXTENSION_PREFIX.len()..]);
            }
            0xE1 if out.exif.is_none() && payload.starts_with(EXIF_PREFIX) => {
                out.exif = Some(payload[EXIF_PREFIX.len()..].into());
            }
            0xE1 if out.xmp.is_none() && payload.starts_with(XMP_PREFIX) => {
                out.xmp = Some(payload[XMP_PREFIX.len()..].into());
            }
            0xED if out.iptc.is_none() && payload.starts_with(PHOTOSHOP_PREFIX) => {
                out.iptc = photoshop_iptc(&payload[PHOTOSHOP_PREFIX.len()..]).map(Cow::Borrowed);
            }
            0xE2 if payload.starts_with(ICC_PREFIX) && payload.len() > ICC_PREFIX.len() + 2 => {
                let seq = payload[ICC_PREFIX.len()];
                icc_chunks.push((seq, &payload[ICC_PREFIX.len() + 2..]));
            }
            _ => {}
        }
    }
    out.xmp_extended = extended.packet();
    if out.iptc.is_none() {
        out.iptc = afcp_iptc(b).map(Cow::Borrowed);
    }
    if !icc_chunks.is_empty() {
        icc_chunks.sort_by_key(|c| c.0);
        out.icc = Some(
            icc_chunks
                .iter()
                .flat_map(|c| c.1.iter().copied())
                .collect(),
        );
    }
    out
}

/// The marker and payload of each JPEG segment before the image data.
pub fn jpeg_segments(b: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    let mut pos = 2usize;
    std::iter::from_fn(move || {
        loop {
            // Skip fill bytes; a segment starts with 0xFF followed by a marker.
            while pos < b.len() && b[pos] == 0xFF && b.get(pos + 1) == Some(&0xFF) {
                pos += 1;
            }
            if pos + 4 > b.len() || b[pos] != 0xFF {
                return None;
            }
            let marker = b[pos + 1];
            if marker == 0xD8 || (0xD0..=0xD7).contains(&marker) || marker == 0x01 {
                pos += 2;
                continue;
            }
            if marker == 0xDA || marker == 0xD9 {
                return None;
            }
            let len = u16::from_be_bytes([b[pos + 2], b[pos + 3]]) as usize;
            if len < 2 || pos + 2 + len > b.len() {
                return None;
            }
            let payload = &b[pos + 4..pos + 2 + len];
            pos += 2 + len;
            return Some((marker, payload));
        }
    })
}

/// The size a JPEG's frame header (SOFn) declares. Read here rather than by a decoder's
/// header parser, which may refuse codings libjpeg-turbo decodes (arithmetic, 12-bit
/// headers it then names precisely).
pub fn jpeg_frame_size(b: &[u8]) -> Option<(u32, u32)> {
    jpeg_segments(b).find_map(|(marker, p)| {
        let sof = matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if !sof || p.len() < 5 {
            return None;
        }
        let h = u32::from(u16::from_be_bytes([p[1], p[2]]));
        let w = u32::from(u16::from_be_bytes([p[3], p[4]]));
        Some((w, h))
    })
}

/// The offset of the first SOS marker, found by walking the segments (a byte search
/// could stop inside an EXIF thumbnail, which is a JPEG of its own).
pub fn jpeg_scan_offset(b: &[u8]) -> Option<usize> {
    let mut pos = 2usize;
    loop {
        while pos + 1 < b.len() && b[pos] == 0xFF && b[pos + 1] == 0xFF {
            pos += 1;
        }
        if pos + 4 > b.len() || b[pos] != 0xFF {
            return None;
        }
        let marker = b[pos + 1];
        if marker == 0xDA {
            return Some(pos);
        }
        if marker == 0xD8 || (0xD0..=0xD7).contains(&marker) || marker == 0x01 {
            pos += 2;
            continue;
        }
        let len = u16::from_be_bytes([b[pos + 2], b[pos + 3]]) as usize;
        if len < 2 {
            return None;
        }
        pos += 2 + len;
    }
}

/// The IPTC-IIM records of an AFCP trailer ("AXS File Concatenation Protocol"), which
/// some newsroom and archive software appends after a JPEG's EOI instead of writing
/// APP13; exiftool reads it, so pixpipe must not lose those captions.
///
/// Layout (byte order big-endian after `AXS!`, little-endian after `AXS*`):
/// the file's last 12 bytes are the mark, the header's absolute offset (u32) and a
/// checksum; the header is the same mark, a version (u16), an entry count (u16) and a
/// checksum, followed by entries of a tag (`IPTC`, `Nail`, `PrVw`, `TEXT`), a size
/// (u32) and an absolute offset (u32). Only the trailer's own pointers are followed:
/// exiftool scans from EOI for a header whose offsets went stale when the file was
/// edited, but that means reading the whole entropy-coded image, and a stale trailer
/// is better left unread than misread.
fn afcp_iptc(file: &[u8]) -> Option<&[u8]> {
    let afcp = Afcp::locate(file)?;
    let data = afcp.entry(b"IPTC")?;
    iim_records(data)
}

/// A located AFCP trailer: the file before its 12-byte end record, and its directory.
struct Afcp<'a> {
    body: &'a [u8],
    directory: &'a [u8],
    big_endian: bool,
}

impl<'a> Afcp<'a> {
    const RECORD: usize = 12;

    /// Reads the end record, then the header and directory it points at; every
    /// pointer must land inside the file before the end record.
    fn locate(file: &'a [u8]) -> Option<Self> {
        let body = file.get(..file.len().checked_sub(Self::RECORD)?)?;
        let end = &file[body.len()..];
        let mark = &end[..4];
        let big_endian = match mark {
            b"AXS!" => true,
            b"AXS*" => false,
            _ => return None,
        };
        let header_at = u32_at(end, !big_endian, 4)? as usize;
        let header = body.get(header_at..header_at.checked_add(Self::RECORD)?)?;
        if &header[..4] != mark {
            return None;
        }
        let count = usize::from(u16_at(header, !big_endian, 6)?);
        let dir_at = header_at + Self::RECORD;
        let directory = body.get(dir_at..dir_at.checked_add(count * Self::RECORD)?)?;
        Some(Afcp {
            body,
            directory,
            big_endian,
        })
    }

    /// The data of the first entry tagged `tag`; an entry pointing outside the file is
    /// a broken trailer and yields nothing.
    fn entry(&self, tag: &[u8; 4]) -> Option<&'a [u8]> {
        let e = self
            .directory
            .chunks_exact(Self::RECORD)
            .find(|e| &e[..4] == tag)?;
        let size = u32_at(e, !self.big_endian, 4)? as usize;
        let at = u32_at(e, !self.big_endian, 8)? as usize;
        self.body.get(at..at.checked_add(size)?)
    }
}

/// IPTC-IIM records from a block that software fills either with the records
/// themselves (tag marker 0x1C first) or with Photoshop image resources holding them
/// (ImageMagick's "iptc" profile is either, its "8bim" profile the latter), at times
/// still behind APP13's "Photoshop 3.0" signature. AFCP's IPTC entry goes through here
/// too: accepting both shapes costs nothing.
fn iim_records(b: &[u8]) -> Option<&[u8]> {
    let b = b.strip_prefix(PHOTOSHOP_PREFIX).unwrap_or(b);
    match b.first()? {
        0x1C => Some(b),
        _ => photoshop_iptc(b),
    }
}

/// Finds the IPTC resource (id 0x0404) among Photoshop image resources.
fn photoshop_iptc(mut b: &[u8]) -> Option<&[u8]> {
    while b.len() >= 12 && b.starts_with(b"8BIM") {
        let id = u16::from_be_bytes([b[4], b[5]]);
        // Pascal string name, padded to an even total length.
        let name_len = b[6] as usize;
        let name_total = (1 + name_len + 1) & !1;
        let size_at = 6 + name_total;
        let size_bytes = b.get(size_at..size_at + 4)?;
        let size = u32::from_be_bytes(size_bytes.try_into().ok()?) as usize;
        let data_at = size_at + 4;
        let data = b.get(data_at..data_at.checked_add(size)?)?;
        if id == 0x0404 {
            return Some(data);
        }
        let next = data_at + size + (size & 1);
        b = b.get(next..)?;
    }
    None
}

pub fn png_blocks(b: &[u8]) -> Blocks<'_> {
    let mut out = Blocks::default();
    let mut pos = 8usize;
    while pos + 12 <= b.len() {
        let len = u32::from_be_bytes([b[pos], b[pos + 1], b[pos + 2], b[pos + 3]]) as usize;
        let kind = &b[pos + 4..pos + 8];
        let Some(data) = b.get(pos + 8..(pos + 8).saturating_add(len)) else {
            break;
        };
        match kind {
            b"eXIf" => out.exif = Some(data.into()),
            b"iTXt" if data.starts_with(b"XML:com.adobe.xmp\0") => {
                out.xmp = itxt_uncompressed_text(data).map(Cow::Borrowed);
            }
            b"acTL" => out.animated = true,
            b"tEXt" | b"iTXt" | b"zTXt" => png_text(kind, data, &mut out),
            b"IEND" => break,
            _ => {}
        }
        pos = pos + 12 + len;
    }
    out
}

/// A PNG text chunk pixpipe uses: `Title`, `Description`, and the EXIF, XMP and IPTC
/// that ImageMagick and exiftool store as "Raw profile type exif|xmp|iptc|8bim" (hex,
/// in tEXt or zTXt).
fn png_text<'a>(kind: &[u8], data: &'a [u8], out: &mut Blocks<'a>) {
    let Some(key_end) = data.iter().position(|&c| c == 0) else {
        return;
    };
    let key = &data[..key_end];
    let latin1 = |b: &[u8]| b.iter().map(|&c| c as char).collect::<String>();
    let text: Cow<'a, str> = match kind {
        b"iTXt" => match itxt_text(data) {
            Some(Cow::Borrowed(t)) => String::from_utf8_lossy(t),
            Some(Cow::Owned(t)) => String::from_utf8_lossy(&t).into_owned().into(),
            None => return,
        },
        // zTXt: one byte of method (0, zlib), then the compressed Latin-1 text.
        b"zTXt" => match data.get(key_end + 2..).and_then(inflate) {
            Some(t) => latin1(&t).into(),
            None => return,
        },
        _ => latin1(&data[key_end + 1..]).into(),
    };
    match key {
        b"Title" if out.text_title.is_none() => out.text_title = Some(text.into_owned()),
        b"Description" if out.text_description.is_none() => {
            out.text_description = Some(text.into_owned())
        }
        b"Raw profile type exif" | b"Raw profile type APP1" if out.exif.is_none() => {
            if let Some(bytes) = raw_profile(&text) {
                let tiff = bytes.strip_prefix(EXIF_PREFIX).unwrap_or(&bytes).to_vec();
                out.exif = Some(Cow::Owned(tiff));
            }
        }
        b"Raw profile type xmp" if out.xmp.is_none() => {
            out.xmp = raw_profile(&text).map(Cow::Owned);
        }
        b"Raw profile type iptc" | b"Raw profile type 8bim" if out.iptc.is_none() => {
            out.iptc = raw_profile(&text)
                .and_then(|bytes| iim_records(&bytes).map(<[u8]>::to_vec))
                .map(Cow::Owned);
        }
        _ => {}
    }
}

/// The bytes of an ImageMagick raw profile: "\nname\n   length\nhex digits over lines".
fn raw_profile(text: &str) -> Option<Vec<u8>> {
    let mut lines = text.trim_start_matches('\n').splitn(3, '\n');
    let _name = lines.next()?;
    let len: usize = lines.next()?.trim().parse().ok()?;
    let digits: Vec<u8> = lines
        .next()?
        .bytes()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    if digits.len() < len.checked_mul(2)? {
        return None;
    }
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    digits[..len * 2]
        .chunks_exact(2)
        .map(|p| Some(hex(p[0])? << 4 | hex(p[1])?))
        .collect()
}

/// The text of an uncompressed iTXt chunk (XMP is never compressed in practice).
fn itxt_uncompressed_text(data: &[u8]) -> Option<&[u8]> {
    match itxt_text(data)? {
        Cow::Borrowed(t) => Some(t),
        Cow::Owned(_) => None,
    }
}

/// The text of an iTXt chunk, inflated when it is compressed.
fn itxt_text(data: &[u8]) -> Option<Cow<'_, [u8]>> {
    let key_end = data.iter().position(|&c| c == 0)?;
    let compressed = *data.get(key_end + 1)?;
    let rest = data.get(key_end + 3..)?;
    let lang_end = rest.iter().position(|&c| c == 0)?;
    let rest = &rest[lang_end + 1..];
    let tkey_end = rest.iter().position(|&c| c == 0)?;
    let text = &rest[tkey_end + 1..];
    if compressed == 0 {
        Some(Cow::Borrowed(text))
    } else {
        inflate(text).map(Cow::Owned)
    }
}

/// zlib data inflated, at most 16 MiB of it: a text chunk is no place for a bomb.
fn inflate(data: &[u8]) -> Option<Vec<u8>> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::ZlibDecoder::new(data)
        .take(16 << 20)
        .read_to_end(&mut out)
        .ok()?;
    Some(out)
}

pub fn webp_blocks(b: &[u8]) -> Blocks<'_> {
    let mut out = Blocks::default();
    let mut pos = 12usize;
    while pos + 8 <= b.len() {
        let kind = &b[pos..pos + 4];
        let len = u32::from_le_bytes([b[pos + 4], b[pos + 5], b[pos + 6], b[pos + 7]]) as usize;
        let Some(data) = b.get(pos + 8..(pos + 8).saturating_add(len)) else {
            break;
        };
        match kind {
            b"EXIF" => out.exif = Some(data.strip_prefix(EXIF_PREFIX).unwrap_or(data).into()),
            b"XMP " => out.xmp = Some(data.into()),
            b"ICCP" => out.icc = Some(data.to_vec()),
            b"VP8X" => out.animated = data.first().is_some_and(|f| f & 0x02 != 0),
            b"ANIM" => out.animated = true,
            _ => {}
        }
        pos = pos + 8 + len + (len & 1);
    }
    out
}

/// Counts a GIF's frames, stopping at `limit`: enough to tell a still from an animation.
pub fn gif_frame_count(b: &[u8], limit: usize) -> usize {
    let Some(&flags) = b.get(10) else { return 0 };
    let mut pos = 13usize;
    if flags & 0x80 != 0 {
        pos += 3 * (1usize << ((flags & 0x07) + 1));
    }
    let mut frames = 0;
    while let Some(&block) = b.get(pos) {
        match block {
            0x2C => {
                frames += 1;
                if frames >= limit {
                    return frames;
                }
                let Some(&lflags) = b.get(pos + 9) else {
                    return frames;
                };
                pos += 10;
                if lflags & 0x80 != 0 {
                    pos += 3 * (1usize << ((lflags & 0x07) + 1));
                }
                pos += 1; // LZW minimum code size
                pos = skip_sub_blocks(b, pos);
            }
            0x21 => pos = skip_sub_blocks(b, pos + 2),
            _ => return frames,
        }
    }
    frames
}

fn skip_sub_blocks(b: &[u8], mut pos: usize) -> usize {
    while let Some(&n) = b.get(pos) {
        pos += 1 + n as usize;
        if n == 0 {
            break;
        }
    }
    pos
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_frame_header_gives_a_jpegs_size_whatever_its_coding() {
        // DHT (C4) is no frame header; SOF10 (progressive, arithmetic) is.
        let jpeg = [
            vec![0xFF, 0xD8],
            segment(0xC4, &[0; 20]),
            segment(0xCA, &[8, 0x01, 0x2C, 0x02, 0x58, 3]),
            vec![0xFF, 0xDA, 0, 2],
        ]
        .concat();
        assert_eq!(jpeg_frame_size(&jpeg), Some((600, 300)));
        assert_eq!(jpeg_frame_size(&jpeg[..10]), None);
    }

    #[test]
    fn extended_xmp_is_reassembled_from_its_chunks_in_any_order() {
        let packet = b"<x:xmpmeta><dc:title><rdf:Alt><rdf:li xml:lang=\"x-default\">Long story</rdf:li></rdf:Alt></dc:title></x:xmpmeta>";
        let guid = [b'A'; 32];
        let chunk = |offset: usize, part: &[u8]| {
            let mut p = XMP_EXTENSION_PREFIX.to_vec();
            p.extend_from_slice(&guid);
            p.extend_from_slice(&(packet.len() as u32).to_be_bytes());
            p.extend_from_slice(&(offset as u32).to_be_bytes());
            p.extend_from_slice(part);
            segment(0xE1, &p)
        };
        let (a, b) = packet.split_at(40);
        let jpeg = [
            vec![0xFF, 0xD8],
            segment(0xE1, &[XMP_PREFIX, b"<x:xmpmeta/>"].concat()),
            chunk(40, b),
            chunk(0, a),
            vec![0xFF, 0xDA, 0, 2],
        ]
        .concat();
        let blocks = jpeg_blocks(&jpeg);
        assert_eq!(blocks.xmp_extended.as_deref(), Some(&packet[..]));
        let meta = super::super::metadata::read(&blocks);
        assert_eq!(meta.title.map(|t| t.0).as_deref(), Some("Long story"));
        // A chunk missing: nothing half-read.
        let half = [vec![0xFF, 0xD8], chunk(0, a), vec![0xFF, 0xDA, 0, 2]].concat();
        assert_eq!(super::jpeg_blocks(&half).xmp_extended, None);
    }

    #[test]
    fn compressed_png_text_is_inflated() {
        use std::io::Write;
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(b"Harbour").unwrap();
        let data = [b"Title\0\0".as_slice(), &z.finish().unwrap()].concat();
        let png = [
            b"\x89PNG\r\n\x1a\n".to_vec(),
            png_chunk(b"zTXt", &data),
            png_chunk(b"IEND", b""),
        ]
        .concat();
        assert_eq!(png_blocks(&png).text_title.as_deref(), Some("Harbour"));
    }

    fn png_chunk(kind: &[u8], data: &[u8]) -> Vec<u8> {
        [&(data.len() as u32).to_be_bytes()[..], kind, data, &[0; 4]].concat()
    }

    #[test]
    fn png_text_chunks_and_imagemagick_raw_profiles_are_read() {
        let tiff = b"II*\0\x08\0\0\0\0\0";
        let hex: String = [b"Exif\0\0".as_slice(), tiff]
            .concat()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let profile = format!("\nexif\n      {}\n{hex}\n", tiff.len() + 6);
        let png = [
            b"\x89PNG\r\n\x1a\n".to_vec(),
            png_chunk(b"tEXt", b"Title\0Caf\xe9 at noon"),
            png_chunk(
                b"tEXt",
                [b"Raw profile type exif\0".as_slice(), profile.as_bytes()]
                    .concat()
                    .as_slice(),
            ),
            png_chunk(b"iTXt", b"Description\0\0\0en\0\0A long lunch"),
            png_chunk(b"IEND", b""),
        ]
        .concat();
        let b = png_blocks(&png);
        assert_eq!(b.text_title.as_deref(), Some("Caf\u{e9} at noon"));
        assert_eq!(b.text_description.as_deref(), Some("A long lunch"));
        assert_eq!(b.exif.as_deref(), Some(&tiff[..]));
        // A profile shorter than it says is left out, not misread.
        assert_eq!(raw_profile("\nexif\n  10\n00ff\n"), None);
    }

    use super::*;

    #[test]
    fn a_tiffs_xmp_and_iptc_tags_are_found_and_read() {
        let xmp = br#"<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title><rdf:Alt><rdf:li xml:lang="x-default">Harbour at dawn</rdf:li></rdf:Alt></dc:title></rdf:Description></rdf:RDF></x:xmpmeta>"#;
        let iptc = b"\x1c\x02\x05\x00\x05Quays";
        let values = 8 + 2 + 2 * 12 + 4;
        let mut t = b"II*\0\x08\0\0\0\x02\0".to_vec();
        for (tag, typ, data, at) in [
            (700u16, 1u16, &xmp[..], values),
            (33723, 7, &iptc[..], values + xmp.len()),
        ] {
            t.extend(tag.to_le_bytes());
            t.extend(typ.to_le_bytes());
            t.extend((data.len() as u32).to_le_bytes());
            t.extend((at as u32).to_le_bytes());
        }
        t.extend([0, 0, 0, 0]);
        t.extend(xmp);
        t.extend(iptc);
        let b = tiff_blocks(&t);
        assert_eq!(b.xmp.as_deref(), Some(&xmp[..]));
        assert_eq!(b.iptc.as_deref(), Some(&iptc[..]));
        let meta = super::super::metadata::read(&b);
        assert_eq!(
            meta.title.map(|(t, _)| t).as_deref(),
            Some("Harbour at dawn")
        );
        // Past the end: nothing, no panic.
        assert_eq!(tiff_ifd0_value(&t[..values + 10], 700), None);
    }

    fn segment(marker: u8, payload: &[u8]) -> Vec<u8> {
        let mut v = vec![0xFF, marker];
        v.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn finds_jpeg_blocks_and_stops_at_scan() {
        let mut f = vec![0xFF, 0xD8];
        f.extend(segment(0xE1, b"Exif\0\0II*\0rest"));
        f.extend(segment(0xE1, b"http://ns.adobe.com/xap/1.0/\0<x/>"));
        f.extend(segment(0xDA, b"scan"));
        f.extend(segment(0xE1, b"Exif\0\0MM\0*late"));
        let b = jpeg_blocks(&f);
        assert_eq!(b.exif.as_deref(), Some(&b"II*\0rest"[..]));
        assert_eq!(b.xmp.as_deref(), Some(&b"<x/>"[..]));
    }

    #[test]
    fn truncated_segment_ends_the_walk() {
        let mut f = vec![0xFF, 0xD8, 0xFF, 0xE1, 0x40, 0x00];
        f.extend_from_slice(b"Exif\0\0II");
        let b = jpeg_blocks(&f);
        assert!(b.exif.is_none());
    }

    /// IPTC-IIM records of the application record (2): dataset number and text.
    fn iim(records: &[(u8, &str)]) -> Vec<u8> {
        records
            .iter()
            .flat_map(|(dataset, text)| {
                let len = (text.len() as u16).to_be_bytes();
                [&[0x1C, 2, *dataset, len[0], len[1]], text.as_bytes()].concat()
            })
            .collect()
    }

    fn captioned_iim() -> Vec<u8> {
        iim(&[
            (5, "Quays"),
            (120, "Boats at the quay"),
            (25, "harbour"),
            (25, "sea"),
        ])
    }

    /// `records` wrapped in one Photoshop image resource (0x0404), behind another one.
    fn photoshop_resources(records: &[u8]) -> Vec<u8> {
        let resource = |id: u16, data: &[u8]| {
            let pad = vec![0; data.len() & 1];
            let size = (data.len() as u32).to_be_bytes();
            [b"8BIM", &id.to_be_bytes()[..], &[0, 0], &size, data, &pad].concat()
        };
        [resource(0x040C, b"odd"), resource(0x0404, records)].concat()
    }

    fn assert_captioned(meta: &super::super::metadata::PhotoMeta) {
        assert_eq!(meta.title.as_ref().map(|(t, _)| t.as_str()), Some("Quays"));
        assert_eq!(meta.description.as_deref(), Some("Boats at the quay"));
        assert_eq!(meta.keywords, vec!["harbour", "sea"]);
    }

    /// An ImageMagick raw profile: name, padded decimal length, hex in lines of 72.
    fn hex_profile(name: &str, bytes: &[u8]) -> String {
        let hex: Vec<String> = bytes
            .chunks(36)
            .map(|line| line.iter().map(|b| format!("{b:02x}")).collect())
            .collect();
        format!("\n{name}\n{:8}\n{}\n", bytes.len(), hex.join("\n"))
    }

    fn zlib(data: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(data).unwrap();
        z.finish().unwrap()
    }

    fn png_with_text(chunk: Vec<u8>) -> Vec<u8> {
        [
            b"\x89PNG\r\n\x1a\n".to_vec(),
            chunk,
            png_chunk(b"IEND", b""),
        ]
        .concat()
    }

    #[test]
    fn png_raw_iptc_profiles_are_read_as_records_or_photoshop_resources() {
        use crate::media::format::MediaFormat;
        let records = captioned_iim();
        let resources = photoshop_resources(&records);
        for (name, payload, compressed) in [
            ("iptc", &records, false),
            ("iptc", &records, true),
            ("iptc", &resources, false),
            ("iptc", &resources, true),
            ("8bim", &resources, true),
        ] {
            let key = format!("Raw profile type {name}");
            let text = hex_profile(name, payload);
            let chunk = if compressed {
                let data = [key.as_bytes(), b"\0\0", &zlib(text.as_bytes())].concat();
                png_chunk(b"zTXt", &data)
            } else {
                png_chunk(b"tEXt", &[key.as_bytes(), b"\0", text.as_bytes()].concat())
            };
            let meta = crate::media::read_metadata(MediaFormat::Png, &png_with_text(chunk));
            assert_captioned(&meta);
        }
        // Resources without an IPTC one, or not hex at all: no IPTC, no panic.
        for text in [
            hex_profile("8bim", &resources[..20]),
            "\niptc\n 4\nzz\n".into(),
        ] {
            let data = [b"Raw profile type 8bim\0", text.as_bytes()].concat();
            let png = png_with_text(png_chunk(b"tEXt", &data));
            assert_eq!(png_blocks(&png).iptc, None);
        }
    }

    /// An AFCP trailer for a file of `base` bytes: header, directory, data, end record.
    fn afcp(base: usize, big_endian: bool, entries: &[(&[u8; 4], &[u8])]) -> Vec<u8> {
        let mark: &[u8] = if big_endian { b"AXS!" } else { b"AXS*" };
        let u16b = |v: u16| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let u32b = |v: u32| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let mut out = [mark, &u16b(0x0100), &u16b(entries.len() as u16), &[0; 4]].concat();
        let mut at = base + 12 + 12 * entries.len();
        for (tag, data) in entries {
            out.extend([&tag[..], &u32b(data.len() as u32), &u32b(at as u32)].concat());
            at += data.len();
        }
        for (_, data) in entries {
            out.extend_from_slice(data);
        }
        out.extend([mark, &u32b(base as u32), &[0; 4]].concat());
        out
    }

    fn small_jpeg() -> Vec<u8> {
        let pixels = crate::transform::Pixels {
            width: 16,
            height: 8,
            channels: 3,
            data: vec![90; 16 * 8 * 3],
        };
        let extras = crate::transform::codecs::Extras::plain(80);
        crate::transform::codecs::jpeg::encode(&pixels, &extras, &mut Vec::new()).unwrap()
    }

    #[test]
    fn an_afcp_trailer_gives_a_jpeg_its_iptc() {
        use crate::media::format::MediaFormat;
        let jpeg = small_jpeg();
        let records = captioned_iim();
        let resources = photoshop_resources(&records);
        for (big_endian, iptc) in [(true, &records), (false, &records), (true, &resources)] {
            let entries: [(&[u8; 4], &[u8]); 3] = [
                (b"Nail", b"\0\0\0\0\0\0\0\0\0\0\xFF\xD8\xFF\xD9"),
                (b"TEXT", b"notes"),
                (b"IPTC", iptc),
            ];
            let file = [jpeg.clone(), afcp(jpeg.len(), big_endian, &entries)].concat();
            assert_captioned(&crate::media::read_metadata(MediaFormat::Jpeg, &file));
        }
        assert_eq!(jpeg_blocks(&jpeg).iptc, None);
    }

    #[test]
    fn app13_iptc_wins_over_an_afcp_trailer() {
        let app13 = [
            PHOTOSHOP_PREFIX,
            &photoshop_resources(&iim(&[(5, "APP13")])),
        ]
        .concat();
        let jpeg = [
            vec![0xFF, 0xD8],
            segment(0xED, &app13),
            vec![0xFF, 0xDA, 0, 2, 0xFF, 0xD9],
        ]
        .concat();
        let trailer = afcp(jpeg.len(), true, &[(b"IPTC", &iim(&[(5, "AFCP")]))]);
        let file = [jpeg, trailer].concat();
        let iptc = jpeg_blocks(&file).iptc;
        assert_eq!(iptc.as_deref(), Some(&iim(&[(5, "APP13")])[..]));
    }

    #[test]
    fn a_truncated_or_lying_afcp_trailer_gives_nothing() {
        let jpeg = small_jpeg();
        let base = jpeg.len();
        let good = [jpeg, afcp(base, true, &[(b"IPTC", &captioned_iim())])].concat();
        assert!(jpeg_blocks(&good).iptc.is_some());
        // Any cut loses the end record: nothing, never a misread or a panic.
        for cut in 0..good.len() {
            assert_eq!(jpeg_blocks(&good[..cut]).iptc, None, "cut at {cut}");
        }
        let end = good.len() - 12;
        let lie = |at: usize, bytes: &[u8]| {
            let mut f = good.clone();
            f[at..at + bytes.len()].copy_from_slice(bytes);
            jpeg_blocks(&f).iptc.map(Cow::into_owned)
        };
        let cases: [(&str, usize, &[u8]); 8] = [
            ("header past the end", end + 4, &u32::MAX.to_be_bytes()),
            (
                "header on the end record",
                end + 4,
                &(end as u32).to_be_bytes(),
            ),
            (
                "header one byte off",
                end + 4,
                &(base as u32 + 1).to_be_bytes(),
            ),
            ("marks disagree", base, b"AXS*"),
            ("more entries than bytes", base + 6, &u16::MAX.to_be_bytes()),
            ("size past the end", base + 16, &u32::MAX.to_be_bytes()),
            ("offset past the end", base + 20, &u32::MAX.to_be_bytes()),
            (
                "data into the end record",
                base + 20,
                &(end as u32 - 4).to_be_bytes(),
            ),
        ];
        for (why, at, bytes) in cases {
            assert_eq!(lie(at, bytes), None, "{why}");
        }
    }

    #[test]
    fn photoshop_iptc_resource() {
        let mut r = b"8BIM\x04\x04\0\0".to_vec();
        r.extend_from_slice(&5u32.to_be_bytes());
        r.extend_from_slice(b"\x1c\x02\x05ab\0");
        assert_eq!(photoshop_iptc(&r), Some(&b"\x1c\x02\x05ab"[..]));
        assert_eq!(photoshop_iptc(b"8BIM\x04\x04\0\0\xff\xff\xff\xff"), None);
    }
}
