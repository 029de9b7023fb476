//! Videos (MP4, QuickTime, WebM): passed through byte for byte; only the date they
//! were made is read, for names and the report.

use super::{Claim, Family, Handling, HeaderError, ftyp_brand};
use crate::media::container::Blocks;
use crate::media::format::MediaFormat;
use crate::media::isobmff;

pub struct Video;

impl Family for Video {
    fn extensions(&self) -> &'static [&'static str] {
        &["mp4", "m4v", "mov", "webm"]
    }

    /// WebM by its EBML header, QuickTime by its brand. Any other ISO media brand is
    /// likely an MP4 (there are dozens of them), unless a family is sure it is its own.
    fn sniff(&self, head: &[u8]) -> Option<Claim> {
        if head.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
            return Some(Claim::Sure(MediaFormat::Webm));
        }
        Some(match ftyp_brand(head)? {
            b"qt  " => Claim::Sure(MediaFormat::Mov),
            _ => Claim::Likely(MediaFormat::Mp4),
        })
    }

    fn handling(&self, _: MediaFormat) -> Handling {
        Handling::PassThrough
    }

    /// Never decoded, so its size is not needed.
    fn size(&self, _: MediaFormat, _: &[u8]) -> Result<Option<(u32, u32)>, HeaderError> {
        Ok(None)
    }

    /// MP4 and QuickTime state when they were made (Apple's creation date, else the
    /// movie header); WebM's date is not read.
    fn blocks<'a>(&self, format: MediaFormat, bytes: &'a [u8]) -> Blocks<'a> {
        let video_created = match format {
            MediaFormat::Webm => None,
            _ => isobmff::created(bytes),
        };
        Blocks {
            video_created,
            ..Blocks::default()
        }
    }

    fn is_video(&self) -> bool {
        true
    }
}
