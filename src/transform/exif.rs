//! The EXIF that goes into an output: the source's, minus what would be wrong or
//! unwanted once the pixels are resized and oriented.

use std::io::Cursor;

use exif::{Field, In, Tag, Value};

use super::words::Words;
use crate::media::{DateTaken, read_exif};

/// The tag numbers words from beside the photo replace: ImageDescription and the
/// Windows XP captions with the title and description, XPKeywords with the keywords,
/// the original date and its offset with the date.
fn replaced_by(words: Option<&Words>) -> Vec<u16> {
    let Some(w) = words else {
        return Vec::new();
    };
    let mut tags = Vec::new();
    if w.title.is_some() || w.description.is_some() {
        tags.extend([0x010E, 0x9C9B, 0x9C9C]);
    }
    if w.keywords.is_some() {
        tags.push(0x9C9E);
    }
    if w.date.is_some() {
        tags.extend([
            Tag::DateTimeOriginal.number(),
            Tag::OffsetTimeOriginal.number(),
        ]);
    }
    tags
}

/// DateTimeOriginal (and OffsetTimeOriginal when the zone is known) for `d`.
fn date_fields(d: DateTaken) -> Vec<Field> {
    let ascii = |s: String| Value::Ascii(vec![s.into_bytes()]);
    let mut fields = vec![Field {
        tag: Tag::DateTimeOriginal,
        ifd_num: In::PRIMARY,
        value: ascii(d.local.format("%Y:%m:%d %H:%M:%S").to_string()),
    }];
    if let Some(o) = d.offset {
        fields.push(Field {
            tag: Tag::OffsetTimeOriginal,
            ifd_num: In::PRIMARY,
            value: ascii(o.to_string()),
        });
    }
    fields
}

/// The source's EXIF without what would be wrong or unwanted in the output:
/// the orientation (already applied), sizes, the thumbnail, maker notes, and
/// GPS unless asked for. Words from beside the photo replace the tags that would
/// contradict them (its date, its captions).
pub fn rewrite_exif(
    block: &[u8],
    keep_gps: bool,
    words: Option<&Words>,
    notes: &mut Vec<String>,
) -> Option<Vec<u8>> {
    use exif::Context;
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
    let replaced = replaced_by(words);
    let mut writer = exif::experimental::Writer::new();
    let mut kept = 0;
    for f in exif.fields() {
        let keep = f.ifd_num == In::PRIMARY
            && !DROP.contains(&f.tag)
            && !replaced.contains(&f.tag.number())
            && f.tag.context() != Context::Interop
            && (keep_gps || f.tag.context() != Context::Gps)
            && f.tag.number() < 0xC000; // private and DNG tags are of no use on the web
        if keep {
            writer.push_field(f);
            kept += 1;
        }
    }
    let dated = words
        .and_then(|w| w.date)
        .map(date_fields)
        .unwrap_or_default();
    for f in &dated {
        writer.push_field(f);
        kept += 1;
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
