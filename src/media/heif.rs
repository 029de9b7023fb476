//! What a HEIC/HEIF file holds, read from its container without decoding pixels:
//! the displayed size of the primary image and its EXIF, XMP and ICC items.
//!
//! The container is parsed by `heifer` (pure Rust), the same crate that decodes the
//! pixels, so probe and decode can never disagree about which image is the primary one.

use heifer::heifer_isobmff::boxes::Property;
use heifer::heifer_isobmff::{HeifFile, ItemId};

/// The metadata items of the primary image (owned: HEIF may split an item into extents).
#[derive(Debug, Default)]
pub struct HeifMeta {
    pub exif: Option<Vec<u8>>,
    pub xmp: Option<Vec<u8>>,
    pub icc: Option<Vec<u8>>,
}

/// The size of the primary image as it is displayed: its `ispe`, cropped by `clap` and
/// turned by `irot`, which is what the decoder produces.
pub fn displayed_size(bytes: &[u8]) -> Result<(u32, u32), String> {
    let file = HeifFile::parse(bytes).map_err(|e| e.to_string())?;
    let id = file.primary_id;
    let (mut w, mut h) = file
        .image_size(id)
        .map_err(|e| e.to_string())?
        .ok_or("the primary image declares no size (ispe)")?;
    for p in file.item_properties(id).map_err(|e| e.to_string())? {
        match p {
            Property::CleanAperture { width, height, .. } => {
                w = fraction(*width).unwrap_or(w).min(w);
                h = fraction(*height).unwrap_or(h).min(h);
            }
            Property::Rotation(quarters) if quarters % 2 == 1 => std::mem::swap(&mut w, &mut h),
            _ => {}
        }
    }
    if w == 0 || h == 0 {
        return Err(format!("declares a {w}x{h} image"));
    }
    Ok((w, h))
}

fn fraction((num, den): (u32, u32)) -> Option<u32> {
    (den != 0).then(|| ((u64::from(num) + u64::from(den) / 2) / u64::from(den)) as u32)
}

/// The EXIF (a TIFF structure), XMP packet and ICC profile of the primary image; a
/// broken item is left out, never an error, so the photo is still delivered.
pub fn metadata(bytes: &[u8]) -> HeifMeta {
    let Ok(file) = HeifFile::parse(bytes) else {
        return HeifMeta::default();
    };
    let id: ItemId = file.primary_id;
    HeifMeta {
        exif: file.exif(id).ok().flatten(),
        xmp: file.xmp(id).ok().flatten(),
        icc: file.icc_profile(id).ok().flatten().map(<[u8]>::to_vec),
    }
}
