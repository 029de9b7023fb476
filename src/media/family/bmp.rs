//! BMP: Windows bitmaps, decoded by the image crate; they carry no metadata.

use super::{Claim, Codec, Family, Handling, HeaderError, image_crate_size};
use crate::media::container::Blocks;
use crate::media::format::MediaFormat;

pub struct Bmp;

impl Family for Bmp {
    fn extensions(&self) -> &'static [&'static str] {
        &["bmp"]
    }

    /// "BM" alone is too common a start for text; the 14-byte file header must be there.
    fn sniff(&self, head: &[u8]) -> Option<Claim> {
        (head.starts_with(b"BM") && head.len() >= 14).then_some(Claim::Sure(MediaFormat::Bmp))
    }

    fn handling(&self, _: MediaFormat) -> Handling {
        Handling::Transform(Codec::ImageCrate(image::ImageFormat::Bmp))
    }

    fn size(&self, _: MediaFormat, bytes: &[u8]) -> Result<Option<(u32, u32)>, HeaderError> {
        image_crate_size(image::ImageFormat::Bmp, bytes)
    }

    fn blocks<'a>(&self, _: MediaFormat, _: &'a [u8]) -> Blocks<'a> {
        Blocks::default()
    }
}
