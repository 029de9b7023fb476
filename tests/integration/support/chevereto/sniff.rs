//! What the host reads from an uploaded file before storing it: the type from its signature, the
//! size from its header, and for JPEG the EXIF Orientation / ImageDescription and the IPTC
//! ObjectName. Every read is bounds-checked; garbage just ends the walk.

use super::find;

/// A 1x1 transparent PNG, stored for URL sources (nothing is fetched).
pub(super) const PLACEHOLDER_PNG: [u8; 68] = [
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0b, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x60, 0x00, 0x02, 0x00,
    0x00, 0x05, 0x00, 0x01, 0x7a, 0x5e, 0xab, 0x3f, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44,
    0xae, 0x42, 0x60, 0x82,
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Jpeg,
    Png,
    Gif,
    Webp,
    Bmp,
    Avif,
    Mp4,
    Mov,
    Webm,
}

impl Kind {
    /// Extension and MIME as stored (BMP is converted to PNG by the server).
    pub(super) fn ext_mime(self) -> (&'static str, &'static str) {
        match self {
            Kind::Jpeg => ("jpg", "image/jpeg"),
            Kind::Png | Kind::Bmp => ("png", "image/png"),
            Kind::Gif => ("gif", "image/gif"),
            Kind::Webp => ("webp", "image/webp"),
            Kind::Avif => ("avif", "image/avif"),
            Kind::Mp4 => ("mp4", "video/mp4"),
            Kind::Mov => ("mov", "video/quicktime"),
            Kind::Webm => ("webm", "video/webm"),
        }
    }
}

/// The ISO-BMFF `ftyp` brands (major and compatible), if the file starts with an `ftyp` box.
fn ftyp_brands(b: &[u8]) -> Option<Vec<[u8; 4]>> {
    if b.get(4..8)? != b"ftyp" {
        return None;
    }
    let size = u32::from_be_bytes(b.get(0..4)?.try_into().ok()?) as usize;
    let end = size.clamp(16, 256).min(b.len());
    let mut brands = vec![b.get(8..12)?.try_into().ok()?];
    let mut i = 16;
    while i + 4 <= end {
        brands.push(b[i..i + 4].try_into().ok()?);
        i += 4;
    }
    Some(brands)
}

pub(super) fn sniff_image(b: &[u8]) -> Option<Kind> {
    if b.starts_with(&[0xff, 0xd8, 0xff]) {
        Some(Kind::Jpeg)
    } else if b.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(Kind::Png)
    } else if b.starts_with(b"GIF87a") || b.starts_with(b"GIF89a") {
        Some(Kind::Gif)
    } else if b.len() >= 12 && &b[0..4] == b"RIFF" && &b[8..12] == b"WEBP" {
        Some(Kind::Webp)
    } else if b.starts_with(b"BM") && b.len() >= 26 {
        Some(Kind::Bmp)
    } else if ftyp_brands(b)?
        .iter()
        .any(|br| br == b"avif" || br == b"avis")
    {
        // HEIC also has `ftyp` but other brands: not accepted.
        Some(Kind::Avif)
    } else {
        None
    }
}

pub(super) fn sniff_video(b: &[u8]) -> Option<Kind> {
    if b.starts_with(&[0x1a, 0x45, 0xdf, 0xa3]) {
        return Some(Kind::Webm);
    }
    let brands = ftyp_brands(b)?;
    if brands
        .iter()
        .any(|br| br == b"avif" || br == b"avis" || br == b"heic" || br == b"mif1")
    {
        return None;
    }
    Some(if brands[0] == *b"qt  " {
        Kind::Mov
    } else {
        Kind::Mp4
    })
}

/// What the server reads from an image's headers. Zero width means unknown.
#[derive(Default, Debug)]
pub(super) struct ImageInfo {
    pub(super) width: u32,
    pub(super) height: u32,
    pub(super) animated: bool,
    pub(super) has_orientation: bool,
    pub(super) exif_description: Option<String>,
    pub(super) iptc_title: Option<String>,
}

fn be16(b: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(i..i + 2)?.try_into().ok()?))
}
fn be32(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(i..i + 4)?.try_into().ok()?))
}
fn le16(b: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(i..i + 2)?.try_into().ok()?))
}
fn le32(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(i..i + 4)?.try_into().ok()?))
}

pub(super) fn image_info(b: &[u8], kind: Kind) -> ImageInfo {
    let mut info = ImageInfo::default();
    match kind {
        Kind::Jpeg => jpeg_info(b, &mut info),
        Kind::Png => {
            if b.get(12..16) == Some(b"IHDR") {
                info.width = be32(b, 16).unwrap_or(0);
                info.height = be32(b, 20).unwrap_or(0);
            }
            // APNG: an acTL chunk before the image data.
            let mut i = 8;
            while let (Some(len), Some(ty)) = (be32(b, i), b.get(i + 4..i + 8)) {
                if ty == b"acTL" {
                    info.animated = true;
                }
                if ty == b"IDAT" || ty == b"IEND" {
                    break;
                }
                i = i.saturating_add(12).saturating_add(len as usize);
            }
        }
        Kind::Gif => {
            info.width = le16(b, 6).unwrap_or(0) as u32;
            info.height = le16(b, 8).unwrap_or(0) as u32;
            info.animated = find(b, b"NETSCAPE2.0").is_some() || find(b, b"ANIMEXTS1.0").is_some();
        }
        Kind::Webp => match b.get(12..16) {
            Some(b"VP8 ") if b.get(23..26) == Some(&[0x9d, 0x01, 0x2a]) => {
                info.width = (le16(b, 26).unwrap_or(0) & 0x3fff) as u32;
                info.height = (le16(b, 28).unwrap_or(0) & 0x3fff) as u32;
            }
            Some(b"VP8L") if b.get(20) == Some(&0x2f) => {
                if let Some(v) = le32(b, 21) {
                    info.width = (v & 0x3fff) + 1;
                    info.height = ((v >> 14) & 0x3fff) + 1;
                }
            }
            Some(b"VP8X") => {
                info.animated = b.get(20).is_some_and(|f| f & 0x02 != 0);
                if let (Some(w), Some(h)) = (b.get(24..27), b.get(27..30)) {
                    info.width = u32::from_le_bytes([w[0], w[1], w[2], 0]) + 1;
                    info.height = u32::from_le_bytes([h[0], h[1], h[2], 0]) + 1;
                }
            }
            _ => {}
        },
        Kind::Bmp => {
            info.width = le32(b, 18).map(|w| (w as i32).unsigned_abs()).unwrap_or(0);
            info.height = le32(b, 22).map(|h| (h as i32).unsigned_abs()).unwrap_or(0);
        }
        Kind::Avif | Kind::Mp4 | Kind::Mov | Kind::Webm => {}
    }
    info
}

/// Walks the JPEG marker segments up to the scan: SOF0/1/2 give the size, APP1 "Exif" the TIFF
/// block, APP13 "Photoshop 3.0" the IPTC block. Every read is bounds-checked: garbage just ends the walk.
fn jpeg_info(b: &[u8], info: &mut ImageInfo) {
    let mut i = 2;
    loop {
        // Markers may be preceded by fill bytes 0xFF.
        if b.get(i) != Some(&0xff) {
            return;
        }
        while b.get(i) == Some(&0xff) {
            i += 1;
        }
        let Some(&marker) = b.get(i) else { return };
        i += 1;
        match marker {
            0xd8 | 0x01 | 0xd0..=0xd7 => continue,
            0xd9 | 0xda => return,
            _ => {}
        }
        let Some(len) = be16(b, i) else { return };
        let len = len as usize;
        if len < 2 {
            return;
        }
        let Some(seg) = b.get(i + 2..i + len) else {
            return;
        };
        match marker {
            0xc0..=0xc2 if info.width == 0 => {
                info.height = be16(seg, 1).unwrap_or(0) as u32;
                info.width = be16(seg, 3).unwrap_or(0) as u32;
            }
            0xe1 if seg.starts_with(b"Exif\0\0") => read_exif(&seg[6..], info),
            0xed if seg.starts_with(b"Photoshop 3.0\0") => read_iptc(&seg[14..], info),
            _ => {}
        }
        i += len;
    }
}

/// Reads IFD0 of an EXIF TIFF block: Orientation (0x0112) and ImageDescription (0x010E), both byte orders.
fn read_exif(tiff: &[u8], info: &mut ImageInfo) {
    let le = match tiff.get(0..4) {
        Some([0x49, 0x49, 0x2a, 0x00]) => true,
        Some([0x4d, 0x4d, 0x00, 0x2a]) => false,
        _ => return,
    };
    let u16_at = |i: usize| if le { le16(tiff, i) } else { be16(tiff, i) };
    let u32_at = |i: usize| if le { le32(tiff, i) } else { be32(tiff, i) };
    let Some(ifd) = u32_at(4) else { return };
    let ifd = ifd as usize;
    let Some(count) = u16_at(ifd) else { return };
    for n in 0..count as usize {
        let e = ifd + 2 + n * 12;
        let (Some(tag), Some(typ), Some(cnt)) = (u16_at(e), u16_at(e + 2), u32_at(e + 4)) else {
            return;
        };
        match tag {
            0x0112 => info.has_orientation = true,
            0x010e if typ == 2 => {
                let cnt = cnt as usize;
                let data = if cnt <= 4 {
                    tiff.get(e + 8..e + 8 + cnt)
                } else {
                    u32_at(e + 8)
                        .and_then(|off| tiff.get(off as usize..(off as usize).checked_add(cnt)?))
                };
                if let Some(d) = data {
                    info.exif_description = Some(ascii_only(d));
                }
            }
            _ => {}
        }
    }
}

/// Finds IPTC dataset 2:05 (ObjectName) in the Photoshop resource 0x0404 of APP13.
fn read_iptc(irb: &[u8], info: &mut ImageInfo) {
    let mut i = 0;
    while irb.get(i..i + 4) == Some(b"8BIM") {
        let Some(id) = be16(irb, i + 4) else { return };
        let Some(&name_len) = irb.get(i + 6) else {
            return;
        };
        // Pascal name, padded so that length byte + name is even.
        let mut p = i + 7 + name_len as usize;
        if (name_len as usize + 1) % 2 == 1 {
            p += 1;
        }
        let Some(size) = be32(irb, p) else { return };
        let start = p + 4;
        let Some(data) = irb.get(start..start.saturating_add(size as usize)) else {
            return;
        };
        if id == 0x0404 {
            let mut j = 0;
            while data.get(j) == Some(&0x1c) {
                let (Some(&rec), Some(&ds), Some(len)) =
                    (data.get(j + 1), data.get(j + 2), be16(data, j + 3))
                else {
                    return;
                };
                let Some(val) = data.get(j + 5..j + 5 + len as usize) else {
                    return;
                };
                if rec == 2 && ds == 5 {
                    info.iptc_title = Some(ascii_only(val));
                }
                j += 5 + len as usize;
            }
        }
        i = start + size as usize + (size as usize % 2);
    }
}

/// Chevereto removes every non-ASCII character from metadata it reads ("Café" becomes "Caf").
fn ascii_only(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw)
        .chars()
        .filter(|c| c.is_ascii() && *c != '\0')
        .collect::<String>()
        .trim()
        .to_string()
}
