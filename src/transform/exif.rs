//! The EXIF that goes into an output: the source's, minus what would be wrong or
//! unwanted once the pixels are resized and oriented.

use std::io::Cursor;

use crate::media::read_exif;

/// The source's EXIF without what would be wrong or unwanted in the output:
/// the orientation (already applied), sizes, the thumbnail, maker notes, and
/// GPS unless asked for.
pub fn rewrite_exif(block: &[u8], keep_gps: bool, notes: &mut Vec<String>) -> Option<Vec<u8>> {
    use exif::{Context, In, Tag};
    let mut warnings = Vec::new();
    let exif = read_exif(block, &mut warnings)?;
    const DROP: &[Tag] = &[
        Tag::Orientation,
        Tag::PixelXDimension,
        Tag::PixelYDimension,
        Tag::ImageWidth,
        Tag::ImageLength,
        Tag::MakerNote,
        Tag::XResolution,
        Tag::YResolution,
        Tag::ResolutionUnit,
        Tag::StripOffsets,
        Tag::StripByteCounts,
        Tag::BitsPerSample,
        Tag::Compression,
        Tag::PhotometricInterpretation,
        Tag::SamplesPerPixel,
        Tag::PlanarConfiguration,
        Tag::TileOffsets,
        Tag::TileByteCounts,
    ];
    let mut writer = exif::experimental::Writer::new();
    let mut kept = 0;
    for f in exif.fields() {
        let keep = f.ifd_num == In::PRIMARY
            && !DROP.contains(&f.tag)
            && f.tag.context() != Context::Interop
            && (keep_gps || f.tag.context() != Context::Gps)
            && f.tag.number() < 0xC000; // private and DNG tags are of no use on the web
        if keep {
            writer.push_field(f);
            kept += 1;
        }
    }
    if kept == 0 {
        return None;
    }
    let mut buf = Cursor::new(Vec::new());
    match writer.write(&mut buf, exif.little_endian()) {
        Ok(()) => Some(buf.into_inner()),
        Err(e) => {
            notes.push(format!("EXIF not copied: {e}"));
            None
        }
    }
}
