//! Camera RAW files, recognised by their bytes, and the JPEG previews they carry.
//!
//! pixpipe does not develop RAW sensor data: hosts take none of it, and a photographer
//! who shoots RAW+JPEG already has the JPEG. What a RAW offers a publishing tool is its
//! embedded full-size preview, which the camera rendered and most RAW formats keep.

use serde::Serialize;

/// The RAW formats pixpipe knows, by maker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RawKind {
    Cr2,
    Cr3,
    Nef,
    Nrw,
    Arw,
    Dng,
    Raf,
    Rw2,
    Orf,
    Pef,
    Srw,
}

impl RawKind {
    pub fn name(self) -> &'static str {
        use RawKind::*;
        match self {
            Cr2 => "cr2",
            Cr3 => "cr3",
            Nef => "nef",
            Nrw => "nrw",
            Arw => "arw",
            Dng => "dng",
            Raf => "raf",
            Rw2 => "rw2",
            Orf => "orf",
            Pef => "pef",
            Srw => "srw",
        }
    }
}

/// The RAW kind of a file, from its first bytes and, for TIFF-based RAWs, its first
/// directory: the camera's make, and the marks a RAW has and a scanned TIFF has not
/// (a reduced-size first image, sub-directories, a DNG version).
pub fn sniff(bytes: &[u8]) -> Option<RawKind> {
    let starts = |sig: &[u8]| bytes.starts_with(sig);
    if starts(b"FUJIFILMCCD-RAW") {
        return Some(RawKind::Raf);
    }
    if starts(b"IIRO") || starts(b"IIRS") || starts(b"MMOR") {
        return Some(RawKind::Orf);
    }
    if starts(b"IIU\0") {
        return Some(RawKind::Rw2);
    }
    if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" && &bytes[8..12] == b"crx " {
        return Some(RawKind::Cr3);
    }
    if !(starts(b"II*\0") || starts(b"MM\0*")) {
        return None;
    }
    if bytes.len() >= 10 && &bytes[8..10] == b"CR" {
        return Some(RawKind::Cr2);
    }
    let ifd = first_ifd(bytes)?;
    if ifd.dng {
        return Some(RawKind::Dng);
    }
    if !(ifd.reduced || ifd.sub_ifds) {
        return None;
    }
    let make = ifd.make.to_ascii_uppercase();
    let kind = if make.starts_with("NIKON") {
        RawKind::Nef
    } else if make.starts_with("SONY") {
        RawKind::Arw
    } else if make.starts_with("PENTAX") || make.starts_with("RICOH") {
        RawKind::Pef
    } else if make.starts_with("SAMSUNG") {
        RawKind::Srw
    } else if make.starts_with("CANON") {
        RawKind::Cr2
    } else {
        return None;
    };
    Some(kind)
}

/// What the first TIFF directory says about the file.
struct FirstIfd {
    make: String,
    /// NewSubfileType says "reduced-resolution": the first image is a thumbnail.
    reduced: bool,
    sub_ifds: bool,
    dng: bool,
}

fn first_ifd(b: &[u8]) -> Option<FirstIfd> {
    let mut ifd = FirstIfd {
        make: String::new(),
        reduced: false,
        sub_ifds: false,
        dng: false,
    };
    for e in super::tiff::Ifd0::read(b)?.entries() {
        match e.tag {
            0x00FE => ifd.reduced = e.uint()? & 1 == 1,
            0x010F if e.typ == 2 => {
                let text = e.value()?;
                let text = &text[..text.len().min(64)];
                ifd.make = String::from_utf8_lossy(text)
                    .trim_end_matches('\0')
                    .trim()
                    .to_string();
            }
            0x014A => ifd.sub_ifds = true,
            0xC612 => ifd.dng = true,
            _ => {}
        }
    }
    Some(ifd)
}

/// A JPEG stored inside another file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Embedded {
    pub start: usize,
    pub end: usize,
    pub width: u32,
    pub height: u32,
}

/// The largest complete baseline or progressive JPEG inside `bytes`. Every start of
/// image is followed through its segments to its frame header and its end of image,
/// so a thumbnail nested in a preview's EXIF is measured on its own.
pub fn largest_jpeg(bytes: &[u8]) -> Option<Embedded> {
    let mut best: Option<Embedded> = None;
    let mut from = 0;
    while let Some(i) = find(&bytes[from..], &[0xFF, 0xD8, 0xFF]).map(|i| i + from) {
        match walk_jpeg(bytes, i) {
            Some(e) => {
                let bigger = best.as_ref().is_none_or(|b| {
                    u64::from(e.width) * u64::from(e.height)
                        > u64::from(b.width) * u64::from(b.height)
                });
                from = e.end;
                if bigger {
                    best = Some(e);
                }
            }
            None => from = i + 2,
        }
    }
    best
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Follows one JPEG from its start of image to its end; `None` if it is broken.
fn walk_jpeg(b: &[u8], start: usize) -> Option<Embedded> {
    let mut i = start + 2;
    let mut size = None;
    loop {
        if *b.get(i)? != 0xFF {
            return None;
        }
        let marker = *b.get(i + 1)?;
        match marker {
            0xFF => i += 1,
            0xD8 | 0x01 | 0xD0..=0xD7 => i += 2,
            0xD9 => return None,
            _ => {
                let len = u16::from_be_bytes([*b.get(i + 2)?, *b.get(i + 3)?]) as usize;
                if len < 2 {
                    return None;
                }
                if matches!(marker, 0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF) {
                    let h = u16::from_be_bytes([*b.get(i + 5)?, *b.get(i + 6)?]);
                    let w = u16::from_be_bytes([*b.get(i + 7)?, *b.get(i + 8)?]);
                    size = Some((u32::from(w), u32::from(h)));
                }
                let next = i + 2 + len;
                if marker == 0xDA {
                    let end = end_of_scans(b, next)?;
                    let (width, height) = size?;
                    return (width > 0 && height > 0).then_some(Embedded {
                        start,
                        end,
                        width,
                        height,
                    });
                }
                i = next;
            }
        }
    }
}

/// The end of a JPEG whose entropy-coded data starts at `i`: past its end-of-image
/// marker. Further scans (progressive JPEGs) and restart markers are stepped over.
fn end_of_scans(b: &[u8], mut i: usize) -> Option<usize> {
    loop {
        let at = find(b.get(i..)?, &[0xFF])? + i;
        match *b.get(at + 1)? {
            0x00 | 0xD0..=0xD7 | 0xFF => i = at + 1,
            0xD9 => return Some(at + 2),
            _ => {
                // Another segment between scans (DHT, SOS, ...): step over it by its length.
                let len = u16::from_be_bytes([*b.get(at + 2)?, *b.get(at + 3)?]) as usize;
                i = at + 2 + len;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A TIFF header and one directory with the given (tag, type, count, value) entries.
    fn tiff(entries: &[(u16, u16, u32, u32)], tail: &[u8]) -> Vec<u8> {
        let mut b = b"II*\0\x08\0\0\0".to_vec();
        b.extend((entries.len() as u16).to_le_bytes());
        for (tag, typ, n, v) in entries {
            b.extend(tag.to_le_bytes());
            b.extend(typ.to_le_bytes());
            b.extend(n.to_le_bytes());
            b.extend(v.to_le_bytes());
        }
        b.extend([0, 0, 0, 0]);
        b.extend(tail);
        b
    }

    #[test]
    fn raws_are_told_from_scanned_tiffs_by_their_first_directory() {
        let at = 8 + 2 + 3 * 12 + 4;
        let nikon = tiff(
            &[
                (0x00FE, 4, 1, 1),
                (0x010F, 2, 18, at as u32),
                (0x014A, 4, 1, 0),
            ],
            b"NIKON CORPORATION\0",
        );
        assert_eq!(sniff(&nikon), Some(RawKind::Nef));
        // The same maker's scanner writes a plain TIFF: a full-size first image, no sub-directories.
        let at = 8 + 2 + 12 + 4;
        let scan = tiff(&[(0x010F, 2, 6, at as u32)], b"Nikon\0");
        assert_eq!(sniff(&scan), None);
        assert_eq!(
            sniff(&tiff(&[(0xC612, 1, 4, 0x0104)], b"")),
            Some(RawKind::Dng)
        );
        let mut cr2 = b"II*\0\x10\0\0\0CR\x02\0".to_vec();
        cr2.extend([0; 8]);
        assert_eq!(sniff(&cr2), Some(RawKind::Cr2));
        assert_eq!(sniff(b"FUJIFILMCCD-RAW 0201"), Some(RawKind::Raf));
        assert_eq!(sniff(b"\0\0\0\x18ftypcrx \0\0\0\x01"), Some(RawKind::Cr3));
        assert_eq!(sniff(b"IIRO\x08\0\0\0"), Some(RawKind::Orf));
        assert_eq!(sniff(b"\xFF\xD8\xFF\xE0"), None);
    }

    fn jpeg(w: u16, h: u16, inner: &[u8]) -> Vec<u8> {
        let mut j = vec![0xFF, 0xD8];
        if !inner.is_empty() {
            j.extend([0xFF, 0xE1]);
            j.extend(((inner.len() + 2) as u16).to_be_bytes());
            j.extend(inner);
        }
        j.extend([0xFF, 0xC0, 0, 11, 8]);
        j.extend(h.to_be_bytes());
        j.extend(w.to_be_bytes());
        j.extend([1, 1, 0x11, 0]);
        j.extend([0xFF, 0xDA, 0, 8, 1, 1, 0, 0, 0x3F, 0]);
        j.extend([0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD3, 0x56]);
        j.extend([0xFF, 0xD9]);
        j
    }

    #[test]
    fn the_largest_complete_jpeg_is_found_past_nested_thumbnails_and_broken_ones() {
        let thumb = jpeg(160, 120, &[]);
        let preview = jpeg(6000, 4000, &thumb);
        let mut raw = b"II*\0 sensor data \xFF\xD8\xFF broken".to_vec();
        raw.extend(jpeg(640, 480, &[]));
        let at = raw.len();
        raw.extend(&preview);
        raw.extend(b"more sensor data");
        let e = largest_jpeg(&raw).unwrap();
        assert_eq!((e.width, e.height), (6000, 4000));
        assert_eq!(&raw[e.start..e.end], &preview[..]);
        assert_eq!(e.start, at);
        assert_eq!(largest_jpeg(b"no jpeg here"), None);
        // A preview cut short has no end of image: not taken.
        let cut = &preview[..preview.len() - 2];
        assert_eq!(largest_jpeg(cut).map(|e| e.width), Some(160));
    }
}
