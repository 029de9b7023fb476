//! TIFF: scans and exports. Most camera RAWs are TIFFs too, so a TIFF header is only
//! a likely claim: the RAW family, sure of its own, wins.

use super::{Claim, Codec, Family, Handling, HeaderError, image_crate_size};
use crate::media::container::{self, Blocks};
use crate::media::format::MediaFormat;

pub struct Tiff;

impl Family for Tiff {
    fn extensions(&self) -> &'static [&'static str] {
        &["tif", "tiff"]
    }

    fn sniff(&self, head: &[u8]) -> Option<Claim> {
        (head.starts_with(b"II*\0") || head.starts_with(b"MM\0*"))
            .then_some(Claim::Likely(MediaFormat::Tiff))
    }

    fn handling(&self, _: MediaFormat) -> Handling {
        Handling::Transform(Codec::ImageCrate(image::ImageFormat::Tiff))
    }

    fn size(&self, _: MediaFormat, bytes: &[u8]) -> Result<Option<(u32, u32)>, HeaderError> {
        image_crate_size(image::ImageFormat::Tiff, bytes)
    }

    /// The file is its own EXIF structure; XMP and IPTC are tags of its first directory.
    fn blocks<'a>(&self, _: MediaFormat, bytes: &'a [u8]) -> Blocks<'a> {
        container::tiff_blocks(bytes)
    }
}
