//! PNG: screenshots, graphics, and photos exported without loss.

use super::{Claim, Codec, Family, Handling, HeaderError, image_crate_size};
use crate::media::container::{self, Blocks};
use crate::media::format::MediaFormat;

pub struct Png;

impl Family for Png {
    fn extensions(&self) -> &'static [&'static str] {
        &["png"]
    }

    fn sniff(&self, head: &[u8]) -> Option<Claim> {
        head.starts_with(b"\x89PNG\r\n\x1a\n")
            .then_some(Claim::Sure(MediaFormat::Png))
    }

    fn handling(&self, _: MediaFormat) -> Handling {
        Handling::Transform(Codec::ImageCrate(image::ImageFormat::Png))
    }

    fn size(&self, _: MediaFormat, bytes: &[u8]) -> Result<Option<(u32, u32)>, HeaderError> {
        image_crate_size(image::ImageFormat::Png, bytes)
    }

    /// eXIf, XMP in iTXt, text chunks (Title, Description, raw profiles), and acTL,
    /// which makes an APNG (passed through).
    fn blocks<'a>(&self, _: MediaFormat, bytes: &'a [u8]) -> Blocks<'a> {
        container::png_blocks(bytes)
    }
}
