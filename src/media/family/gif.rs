//! GIF: stills are decoded (their first and only frame); animations pass through.

use super::{Claim, Codec, Family, Handling, HeaderError, image_crate_size};
use crate::media::container::{Blocks, gif_frame_count};
use crate::media::format::MediaFormat;

pub struct Gif;

impl Family for Gif {
    fn extensions(&self) -> &'static [&'static str] {
        &["gif"]
    }

    fn sniff(&self, head: &[u8]) -> Option<Claim> {
        (head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a"))
            .then_some(Claim::Sure(MediaFormat::Gif))
    }

    fn handling(&self, _: MediaFormat) -> Handling {
        Handling::Transform(Codec::ImageCrate(image::ImageFormat::Gif))
    }

    fn size(&self, _: MediaFormat, bytes: &[u8]) -> Result<Option<(u32, u32)>, HeaderError> {
        image_crate_size(image::ImageFormat::Gif, bytes)
    }

    /// GIF carries no metadata pixpipe reads; only whether it is animated, counted
    /// up to the second frame.
    fn blocks<'a>(&self, _: MediaFormat, bytes: &'a [u8]) -> Blocks<'a> {
        Blocks {
            animated: gif_frame_count(bytes, 2) > 1,
            ..Blocks::default()
        }
    }
}
