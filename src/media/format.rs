//! What a file really is, from its first bytes, whatever its name says.

use serde::{Serialize, Serializer};

use super::raw::RawKind;

/// The kinds of file pixpipe knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaFormat {
    Jpeg,
    Png,
    Gif,
    Webp,
    Bmp,
    Tiff,
    Avif,
    Heic,
    Mp4,
    Mov,
    Webm,
    /// A camera RAW: delivered from its embedded JPEG preview, or skipped.
    Raw(RawKind),
}

impl Serialize for MediaFormat {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// What pixpipe can do with a format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handling {
    /// Decoded, oriented, resized and re-encoded.
    Transform,
    /// Sent or copied byte for byte (videos, and images pixpipe cannot decode but hosts accept).
    PassThrough,
    /// Neither pixpipe nor the host can use it; the reason says what to do.
    Unsupported(&'static str),
    /// A camera RAW: its embedded preview stands in for it (`input.raw`).
    Preview,
}

impl MediaFormat {
    /// Recognises a format from the start of a file (16 bytes are enough).
    pub fn sniff(head: &[u8]) -> Option<MediaFormat> {
        let starts = |sig: &[u8]| head.starts_with(sig);
        if starts(&[0xFF, 0xD8, 0xFF]) {
            return Some(MediaFormat::Jpeg);
        }
        if starts(b"\x89PNG\r\n\x1a\n") {
            return Some(MediaFormat::Png);
        }
        if starts(b"GIF87a") || starts(b"GIF89a") {
            return Some(MediaFormat::Gif);
        }
        if head.len() >= 12 && starts(b"RIFF") && &head[8..12] == b"WEBP" {
            return Some(MediaFormat::Webp);
        }
        if starts(b"BM") && head.len() >= 14 {
            return Some(MediaFormat::Bmp);
        }
        if starts(b"II*\0") || starts(b"MM\0*") {
            return Some(MediaFormat::Tiff);
        }
        if starts(&[0x1A, 0x45, 0xDF, 0xA3]) {
            return Some(MediaFormat::Webm);
        }
        if head.len() >= 12 && &head[4..8] == b"ftyp" {
            return Some(match &head[8..12] {
                b"avif" | b"avis" => MediaFormat::Avif,
                b"heic" | b"heix" | b"hevc" | b"hevx" | b"heim" | b"heis" | b"mif1" | b"msf1" => {
                    MediaFormat::Heic
                }
                b"qt  " => MediaFormat::Mov,
                _ => MediaFormat::Mp4,
            });
        }
        None
    }

    pub fn handling(self) -> Handling {
        use MediaFormat::*;
        match self {
            Jpeg | Png | Gif | Webp | Bmp | Tiff => Handling::Transform,
            Avif | Mp4 | Mov | Webm => Handling::PassThrough,
            #[cfg(feature = "heic")]
            Heic => Handling::Transform,
            #[cfg(not(feature = "heic"))]
            Heic => Handling::Unsupported("this build reads no HEIC: rebuild with --features heic"),
            Raw(_) => Handling::Preview,
        }
    }

    pub fn is_video(self) -> bool {
        matches!(
            self,
            MediaFormat::Mp4 | MediaFormat::Mov | MediaFormat::Webm
        )
    }

    /// The MIME type the host expects in the upload's file part.
    pub fn mime(self) -> &'static str {
        use MediaFormat::*;
        match self {
            Jpeg => "image/jpeg",
            Png => "image/png",
            Gif => "image/gif",
            Webp => "image/webp",
            Bmp => "image/bmp",
            Tiff => "image/tiff",
            Avif => "image/avif",
            Heic => "image/heic",
            Mp4 => "video/mp4",
            Mov => "video/quicktime",
            Webm => "video/webm",
            Raw(_) => "application/octet-stream",
        }
    }

    /// The usual file extension.
    pub fn extension(self) -> &'static str {
        use MediaFormat::*;
        match self {
            Jpeg => "jpg",
            Png => "png",
            Gif => "gif",
            Webp => "webp",
            Bmp => "bmp",
            Tiff => "tif",
            Avif => "avif",
            Heic => "heic",
            Mp4 => "mp4",
            Mov => "mov",
            Webm => "webm",
            Raw(k) => k.name(),
        }
    }

    pub fn name(self) -> &'static str {
        use MediaFormat::*;
        match self {
            Jpeg => "jpeg",
            Png => "png",
            Gif => "gif",
            Webp => "webp",
            Bmp => "bmp",
            Tiff => "tiff",
            Avif => "avif",
            Heic => "heic",
            Mp4 => "mp4",
            Mov => "mov",
            Webm => "webm",
            Raw(k) => k.name(),
        }
    }
}

/// Whether a file's name says it is a photo or video; such a file that is not one is
/// broken (a failure), while any other unknown file is merely not ours (skipped).
pub fn has_media_extension(path: &std::path::Path) -> bool {
    const EXTENSIONS: &[&str] = &[
        "jpg", "jpeg", "jpe", "jfif", "png", "gif", "webp", "bmp", "tif", "tiff", "avif", "heic",
        "heif", "mp4", "m4v", "mov", "webm", "cr2", "cr3", "nef", "nrw", "arw", "dng", "raf",
        "rw2", "orf", "pef", "srw",
    ];
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_by_content() {
        assert_eq!(
            MediaFormat::sniff(&[0xFF, 0xD8, 0xFF, 0xE0]),
            Some(MediaFormat::Jpeg)
        );
        assert_eq!(
            MediaFormat::sniff(b"\x89PNG\r\n\x1a\n...."),
            Some(MediaFormat::Png)
        );
        assert_eq!(
            MediaFormat::sniff(b"RIFF\0\0\0\0WEBPVP8 "),
            Some(MediaFormat::Webp)
        );
        assert_eq!(
            MediaFormat::sniff(b"\0\0\0\x18ftypheic\0\0"),
            Some(MediaFormat::Heic)
        );
        assert_eq!(
            MediaFormat::sniff(b"\0\0\0\x18ftypqt  \0\0"),
            Some(MediaFormat::Mov)
        );
        assert_eq!(
            MediaFormat::sniff(b"\0\0\0\x18ftypisom\0\0"),
            Some(MediaFormat::Mp4)
        );
        assert_eq!(MediaFormat::sniff(b"hello, this is text"), None);
        assert_eq!(MediaFormat::sniff(b""), None);
    }

    #[test]
    fn heic_is_read_or_refused_with_advice() {
        #[cfg(feature = "heic")]
        assert_eq!(MediaFormat::Heic.handling(), Handling::Transform);
        #[cfg(not(feature = "heic"))]
        assert!(
            matches!(MediaFormat::Heic.handling(), Handling::Unsupported(r) if r.contains("--features heic"))
        );
    }
}
