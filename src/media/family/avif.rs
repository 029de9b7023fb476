//! AVIF: passed through as it is. This build has no AVIF decoder (the image crate's
//! needs a C library, dav1d); the hosts pixpipe delivers to take AVIF unchanged.

use super::{Claim, Family, Handling, HeaderError, ftyp_brand};
use crate::media::container::Blocks;
use crate::media::format::MediaFormat;

pub struct Avif;

impl Family for Avif {
    fn extensions(&self) -> &'static [&'static str] {
        &["avif"]
    }

    /// ISO media with an AVIF brand (a still or a sequence).
    fn sniff(&self, head: &[u8]) -> Option<Claim> {
        matches!(ftyp_brand(head)?, b"avif" | b"avis").then_some(Claim::Sure(MediaFormat::Avif))
    }

    fn handling(&self, _: MediaFormat) -> Handling {
        Handling::PassThrough
    }

    /// Never decoded, so its size is not needed.
    fn size(&self, _: MediaFormat, _: &[u8]) -> Result<Option<(u32, u32)>, HeaderError> {
        Ok(None)
    }

    /// Its metadata is not read: it is delivered unchanged, metadata and all.
    fn blocks<'a>(&self, _: MediaFormat, _: &'a [u8]) -> Blocks<'a> {
        Blocks::default()
    }
}
