//! JPEG: the photos most cameras and phones write, and pixpipe's usual output.

use super::{Claim, Codec, Family, Handling, HeaderError};
use crate::media::container::{self, Blocks};
use crate::media::format::MediaFormat;

pub struct Jpeg;

impl Family for Jpeg {
    fn extensions(&self) -> &'static [&'static str] {
        &["jpg", "jpeg", "jpe", "jfif"]
    }

    /// SOI followed by the start of a marker.
    fn sniff(&self, head: &[u8]) -> Option<Claim> {
        head.starts_with(&[0xFF, 0xD8, 0xFF])
            .then_some(Claim::Sure(MediaFormat::Jpeg))
    }

    /// libjpeg-turbo, which shrinks by n/8 while decoding: most of pixpipe's speed.
    fn handling(&self, _: MediaFormat) -> Handling {
        Handling::Transform(Codec::Libjpeg)
    }

    /// From the frame header (SOFn), read here rather than by a decoder's header parser,
    /// which may refuse codings libjpeg-turbo decodes (and then names precisely).
    fn size(&self, _: MediaFormat, bytes: &[u8]) -> Result<Option<(u32, u32)>, HeaderError> {
        container::jpeg_frame_size(bytes)
            .map(Some)
            .ok_or(HeaderError::NoFrame)
    }

    /// APP1 (EXIF, XMP, ExtendedXMP), APP2 (ICC in chunks) and APP13 (IPTC), else IPTC
    /// from an AFCP trailer after the image.
    fn blocks<'a>(&self, _: MediaFormat, bytes: &'a [u8]) -> Blocks<'a> {
        container::jpeg_blocks(bytes)
    }
}
