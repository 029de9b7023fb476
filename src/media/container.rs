//! Finds the metadata blocks inside an image file without decoding it.
//!
//! Each walker is bounds-checked at every step and gives up quietly on
//! nonsense: a broken metadata block must never cost the user the photo.

use std::borrow::Cow;

use super::format::MediaFormat;

/// The raw metadata blocks of one file; each is optional and unparsed.
#[derive(Debug, Default, Clone)]
pub struct Blocks<'a> {
    /// A TIFF structure ("II*\0" or "MM\0*" first), as kamadak-exif reads it.
    /// Borrowed from the file where it lies in one piece, owned where the container
    /// splits it (HEIF extents).
    pub exif: Option<Cow<'a, [u8]>>,
    pub xmp: Option<Cow<'a, [u8]>>,
    /// IPTC-IIM records (from a Photoshop 8BIM 0x0404 resource).
    pub iptc: Option<&'a [u8]>,
    /// The ICC profile, reassembled from its chunks.
    pub icc: Option<Vec<u8>>,
    /// More than one frame: pixpipe passes such files through unchanged.
    pub animated: bool,
}

/// Finds the metadata blocks of `bytes`, taken to be of `format`.
pub fn blocks(format: MediaFormat, bytes: &[u8]) -> Blocks<'_> {
    match format {
        MediaFormat::Jpeg => jpeg_blocks(bytes),
        MediaFormat::Png => png_blocks(bytes),
        MediaFormat::Webp => webp_blocks(bytes),
        MediaFormat::Tiff => Blocks {
            exif: Some(bytes.into()),
            // Scanning software keeps captions in these two IFD0 tags, not in EXIF.
            xmp: tiff_ifd0_value(bytes, 700).map(Cow::Borrowed),
            iptc: tiff_ifd0_value(bytes, 33723),
            ..Blocks::default()
        },
        MediaFormat::Gif => Blocks {
            animated: gif_frame_count(bytes, 2) > 1,
            ..Blocks::default()
        },
        // A TIFF-based RAW holds its EXIF as a TIFF does; the others, in their preview.
        MediaFormat::Raw(_) if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") => {
            Blocks {
                exif: Some(bytes.into()),
                ..Blocks::default()
            }
        }
        MediaFormat::Raw(_) => match super::raw::largest_jpeg(bytes) {
            Some(e) => jpeg_blocks(&bytes[e.start..e.end]),
            None => Blocks::default(),
        },
        #[cfg(feature = "heic")]
        MediaFormat::Heic => {
            let m = super::heif::metadata(bytes);
            Blocks {
                exif: m.exif.map(Cow::Owned),
                xmp: m.xmp.map(Cow::Owned),
                icc: m.icc,
                ..Blocks::default()
            }
        }
        _ => Blocks::default(),
    }
}

/// The bytes of a tag of a TIFF's first directory (XMP is tag 700, IPTC 33723),
/// bounds-checked; `None` for anything odd.
fn tiff_ifd0_value(b: &[u8], wanted: u16) -> Option<&[u8]> {
    let le = match b.get(..4)? {
        b"II*\0" => true,
        b"MM\0*" => false,
        _ => return None,
    };
    let u16_at = |i: usize| {
        let s = b.get(i..i + 2)?;
        Some(if le {
            u16::from_le_bytes([s[0], s[1]])
        } else {
            u16::from_be_bytes([s[0], s[1]])
        })
    };
    let u32_at = |i: usize| {
        let s = b.get(i..i + 4)?;
        let a = [s[0], s[1], s[2], s[3]];
        Some(if le {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        })
    };
    let ifd = u32_at(4)? as usize;
    let count = u16_at(ifd)? as usize;
    (0..count.min(1024)).find_map(|n| {
        let e = ifd + 2 + n * 12;
        if u16_at(e)? != wanted {
            return None;
        }
        let unit = match u16_at(e + 2)? {
            1 | 2 | 6 | 7 => 1,
            3 | 8 => 2,
            4 | 9 => 4,
            _ => return None,
        };
        let len = (u32_at(e + 4)? as usize).checked_mul(unit)?;
        let at = if len <= 4 {
            e + 8
        } else {
            u32_at(e + 8)? as usize
        };
        b.get(at..at.checked_add(len)?)
    })
}

const EXIF_PREFIX: &[u8] = b"Exif\0\0";
const XMP_PREFIX: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";
const PHOTOSHOP_PREFIX: &[u8] = b"Photoshop 3.0\0";
const ICC_PREFIX: &[u8] = b"ICC_PROFILE\0";

fn jpeg_blocks(b: &[u8]) -> Blocks<'_> {
    let mut out = Blocks::default();
    let mut icc_chunks: Vec<(u8, &[u8])> = Vec::new();
    for (marker, payload) in jpeg_segments(b) {
        match marker {
            0xE1 if out.exif.is_none() && payload.starts_with(EXIF_PREFIX) => {
                out.exif = Some(payload[EXIF_PREFIX.len()..].into());
            }
            0xE1 if out.xmp.is_none() && payload.starts_with(XMP_PREFIX) => {
                out.xmp = Some(payload[XMP_PREFIX.len()..].into());
            }
            0xED if out.iptc.is_none() && payload.starts_with(PHOTOSHOP_PREFIX) => {
                out.iptc = photoshop_iptc(&payload[PHOTOSHOP_PREFIX.len()..]);
            }
            0xE2 if payload.starts_with(ICC_PREFIX) && payload.len() > ICC_PREFIX.len() + 2 => {
                let seq = payload[ICC_PREFIX.len()];
                icc_chunks.push((seq, &payload[ICC_PREFIX.len() + 2..]));
            }
            _ => {}
        }
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

fn png_blocks(b: &[u8]) -> Blocks<'_> {
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
            b"IEND" => break,
            _ => {}
        }
        pos = pos + 12 + len;
    }
    out
}

/// The text of an uncompressed iTXt chunk (XMP is never compressed in practice).
fn itxt_uncompressed_text(data: &[u8]) -> Option<&[u8]> {
    let key_end = data.iter().position(|&c| c == 0)?;
    let compressed = *data.get(key_end + 1)?;
    if compressed != 0 {
        return None;
    }
    let rest = data.get(key_end + 3..)?;
    let lang_end = rest.iter().position(|&c| c == 0)?;
    let rest = &rest[lang_end + 1..];
    let tkey_end = rest.iter().position(|&c| c == 0)?;
    Some(&rest[tkey_end + 1..])
}

fn webp_blocks(b: &[u8]) -> Blocks<'_> {
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
        let b = blocks(MediaFormat::Tiff, &t);
        assert_eq!(b.xmp.as_deref(), Some(&xmp[..]));
        assert_eq!(b.iptc, Some(&iptc[..]));
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
        let b = blocks(MediaFormat::Jpeg, &f);
        assert_eq!(b.exif.as_deref(), Some(&b"II*\0rest"[..]));
        assert_eq!(b.xmp.as_deref(), Some(&b"<x/>"[..]));
    }

    #[test]
    fn truncated_segment_ends_the_walk() {
        let mut f = vec![0xFF, 0xD8, 0xFF, 0xE1, 0x40, 0x00];
        f.extend_from_slice(b"Exif\0\0II");
        let b = blocks(MediaFormat::Jpeg, &f);
        assert!(b.exif.is_none());
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
