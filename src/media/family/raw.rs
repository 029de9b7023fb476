//! Camera RAWs: never developed; the full-size JPEG preview the camera embedded
//! stands in for the file (`input.raw`), or the file is skipped. See `media::raw`.

use super::{Claim, Family, Handling, HeaderError};
use crate::media::container::{self, Blocks};
use crate::media::format::MediaFormat;
use crate::media::raw;

pub struct Raw;

impl Family for Raw {
    fn extensions(&self) -> &'static [&'static str] {
        &[
            "cr2", "cr3", "nef", "nrw", "arw", "dng", "raf", "rw2", "orf", "pef", "srw",
        ]
    }

    /// By maker signatures, and for TIFF-based RAWs by their first directory: sure,
    /// where a scanned TIFF is not claimed at all.
    fn sniff(&self, head: &[u8]) -> Option<Claim> {
        raw::sniff(head).map(|kind| Claim::Sure(MediaFormat::Raw(kind)))
    }

    fn handling(&self, _: MediaFormat) -> Handling {
        Handling::Preview
    }

    /// The preview's size is read when it stands in (`pipeline::pairs`), not here.
    fn size(&self, _: MediaFormat, _: &[u8]) -> Result<Option<(u32, u32)>, HeaderError> {
        Ok(None)
    }

    /// A TIFF-based RAW holds its EXIF as a TIFF does; the others, in their preview.
    fn blocks<'a>(&self, _: MediaFormat, bytes: &'a [u8]) -> Blocks<'a> {
        if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
            return Blocks {
                exif: Some(bytes.into()),
                ..Blocks::default()
            };
        }
        match raw::largest_jpeg(bytes) {
            Some(e) => container::jpeg_blocks(&bytes[e.start..e.end]),
            None => Blocks::default(),
        }
    }
}
