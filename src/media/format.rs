//! The kinds of file pixpipe knows, and their names. What each one is and how it is
//! read is said by its family (`media::family`).

use serde::{Serialize, Serializer};

use super::family::{self, Handling};
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

impl MediaFormat {
    /// What pixpipe does with this format in this build, as its family says.
    pub fn handling(self) -> Handling {
        family::of(self).handling(self)
    }

    pub fn is_video(self) -> bool {
        family::of(self).is_video()
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
