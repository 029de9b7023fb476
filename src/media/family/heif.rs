//! HEIC/HEIF: iPhone photos and their kin, decoded by `heifer` (pure Rust) when built
//! with the `heic` feature (the default); without it, such files are refused with advice.
//!
//! This is the one file of `media` that knows whether the feature is on. The container
//! is parsed by `heifer` too, the same crate that decodes the pixels, so probe and
//! decode can never disagree about which image is the primary one. The decoder applies
//! HEIF's own transforms (`clap`, `irot`, `imir`), so the size given here is the
//! displayed one and EXIF Orientation is never applied on top.

use super::{Claim, Codec, Family, Handling, HeaderError, Refusal, ftyp_brand};
use crate::media::container::Blocks;
use crate::media::format::MediaFormat;

pub struct Heif;

/// Why a build without the decoder refuses HEIC files.
const NOT_BUILT: Refusal = Refusal {
    reason: "this build reads no HEIC: rebuild with --features heic",
    message_id: "msg-reason-heic",
};

impl Family for Heif {
    fn extensions(&self) -> &'static [&'static str] {
        &["heic", "heif"]
    }

    /// ISO media with a HEVC-coded HEIF brand, or the generic image brands.
    fn sniff(&self, head: &[u8]) -> Option<Claim> {
        let heif = matches!(
            ftyp_brand(head)?,
            b"heic" | b"heix" | b"hevc" | b"hevx" | b"heim" | b"heis" | b"mif1" | b"msf1"
        );
        heif.then_some(Claim::Sure(MediaFormat::Heic))
    }

    /// Decided here, by the build: the codec is named either way, so both builds check it.
    fn handling(&self, _: MediaFormat) -> Handling {
        if cfg!(feature = "heic") {
            Handling::Transform(Codec::Heifer)
        } else {
            Handling::Unsupported(NOT_BUILT)
        }
    }

    fn size(&self, _: MediaFormat, bytes: &[u8]) -> Result<Option<(u32, u32)>, HeaderError> {
        reader::displayed_size(bytes).map(Some)
    }

    /// The EXIF, XMP and ICC items of the primary image.
    fn blocks<'a>(&self, _: MediaFormat, bytes: &'a [u8]) -> Blocks<'a> {
        reader::blocks(bytes)
    }

    fn orients_itself(&self) -> bool {
        true
    }
}

/// The container, read by `heifer`.
#[cfg(feature = "heic")]
mod reader {
    use std::borrow::Cow;

    use heifer::heifer_isobmff::HeifFile;
    use heifer::heifer_isobmff::boxes::Property;

    use super::HeaderError;
    use crate::media::container::Blocks;

    fn parser(e: heifer::heifer_isobmff::Error) -> HeaderError {
        HeaderError::Parser(Box::new(e))
    }

    /// The size of the primary image as it is displayed: its `ispe`, cropped by `clap`
    /// and turned by `irot`, which is what the decoder produces.
    pub fn displayed_size(bytes: &[u8]) -> Result<(u32, u32), HeaderError> {
        let file = HeifFile::parse(bytes).map_err(parser)?;
        let id = file.primary_id;
        let (mut w, mut h) = file
            .image_size(id)
            .map_err(parser)?
            .ok_or(HeaderError::Missing(
                "the primary image declares no size (ispe)",
            ))?;
        for p in file.item_properties(id).map_err(parser)? {
            match p {
                Property::CleanAperture { width, height, .. } => {
                    w = fraction(*width).unwrap_or(w).min(w);
                    h = fraction(*height).unwrap_or(h).min(h);
                }
                Property::Rotation(quarters) if quarters % 2 == 1 => std::mem::swap(&mut w, &mut h),
                _ => {}
            }
        }
        Ok((w, h))
    }

    fn fraction((num, den): (u32, u32)) -> Option<u32> {
        (den != 0).then(|| ((u64::from(num) + u64::from(den) / 2) / u64::from(den)) as u32)
    }

    /// The EXIF (a TIFF structure), XMP packet and ICC profile of the primary image,
    /// owned (HEIF may split an item into extents); a broken item is left out, never
    /// an error, so the photo is still delivered.
    pub fn blocks<'a>(bytes: &[u8]) -> Blocks<'a> {
        let Ok(file) = HeifFile::parse(bytes) else {
            return Blocks::default();
        };
        let id = file.primary_id;
        Blocks {
            exif: file.exif(id).ok().flatten().map(Cow::Owned),
            xmp: file.xmp(id).ok().flatten().map(Cow::Owned),
            icc: file.icc_profile(id).ok().flatten().map(<[u8]>::to_vec),
            ..Blocks::default()
        }
    }
}

/// Without the decoder the container is not read either: the probe refuses such
/// files (see `handling`) before it asks for their size or metadata.
#[cfg(not(feature = "heic"))]
mod reader {
    use super::{HeaderError, NOT_BUILT};
    use crate::media::container::Blocks;

    pub fn displayed_size(_: &[u8]) -> Result<(u32, u32), HeaderError> {
        Err(HeaderError::Missing(NOT_BUILT.reason))
    }

    pub fn blocks<'a>(_: &[u8]) -> Blocks<'a> {
        Blocks::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::probe_bytes;

    const HEAD: &[u8] = b"\0\0\0\x18ftypheic\0\0\0\0";

    /// Read, and this head found broken: a failure, not a skip.
    #[cfg(feature = "heic")]
    #[test]
    fn heic_is_read_when_built_with_its_decoder() {
        assert_eq!(
            Heif.handling(MediaFormat::Heic),
            Handling::Transform(Codec::Heifer)
        );
        let e = probe_bytes("a.heic".into(), HEAD.to_vec()).unwrap_err();
        assert!(
            matches!(e, crate::media::ProbeError::BadHeader { .. }),
            "{e}"
        );
    }

    /// Skipped with advice, in the reader's language, before its container is read.
    #[cfg(not(feature = "heic"))]
    #[test]
    fn heic_is_refused_with_advice_without_its_decoder() {
        assert_eq!(
            Heif.handling(MediaFormat::Heic),
            Handling::Unsupported(NOT_BUILT)
        );
        assert!(NOT_BUILT.reason.contains("--features heic"));
        let e = probe_bytes("a.heic".into(), HEAD.to_vec()).unwrap_err();
        assert!(e.is_skip(), "{e}");
        assert_eq!(e.why().id, "msg-reason-heic");
    }
}
