//! The seam between formats and the rest of pixpipe: each family knows its own
//! signature and no other family is sure of it, every format has exactly one family,
//! and bytes nobody knows are an error, never a JPEG.

use super::*;
use crate::media::raw::RawKind;

/// Every format, with a file start that is unmistakably it.
fn samples() -> Vec<(MediaFormat, Vec<u8>)> {
    let pad = |head: &[u8]| [head, &[0u8; 24][..]].concat();
    vec![
        (MediaFormat::Jpeg, pad(&[0xFF, 0xD8, 0xFF, 0xE0])),
        (MediaFormat::Png, pad(b"\x89PNG\r\n\x1a\n")),
        (MediaFormat::Gif, pad(b"GIF89a")),
        (MediaFormat::Webp, pad(b"RIFF\0\0\0\0WEBPVP8 ")),
        (MediaFormat::Bmp, pad(b"BM")),
        (MediaFormat::Tiff, pad(b"II*\0\x08\0\0\0")),
        (MediaFormat::Heic, pad(b"\0\0\0\x18ftypheic")),
        (MediaFormat::Avif, pad(b"\0\0\0\x18ftypavif")),
        (MediaFormat::Mp4, pad(b"\0\0\0\x18ftypisom")),
        (MediaFormat::Mov, pad(b"\0\0\0\x18ftypqt  ")),
        (MediaFormat::Webm, pad(&[0x1A, 0x45, 0xDF, 0xA3])),
        (MediaFormat::Raw(RawKind::Raf), pad(b"FUJIFILMCCD-RAW 0201")),
        (MediaFormat::Raw(RawKind::Orf), pad(b"IIRO\x08\0\0\0")),
        (MediaFormat::Raw(RawKind::Cr2), pad(b"II*\0\x10\0\0\0CR")),
        (MediaFormat::Raw(RawKind::Cr3), pad(b"\0\0\0\x18ftypcrx ")),
    ]
}

/// A family, known by its first extension (no two families share one).
fn id(family: &dyn Family) -> &'static str {
    family.extensions()[0]
}

fn sure_of(bytes: &[u8]) -> Vec<&'static str> {
    FAMILIES
        .iter()
        .filter(|f| matches!(f.sniff(bytes), Some(Claim::Sure(_))))
        .map(|f| id(*f))
        .collect()
}

#[test]
fn each_format_is_recognised_by_its_own_family_alone() {
    for (format, bytes) in samples() {
        assert_eq!(recognise(&bytes).ok(), Some(format), "{format:?}");
        let own = id(of(format));
        let sure = sure_of(&bytes);
        assert!(
            sure.is_empty() || sure == [own],
            "{format:?}: {sure:?} are sure of it"
        );
        // Only a shared container may be claimed by two families, and then only as likely.
        let claimants: Vec<_> = FAMILIES
            .iter()
            .filter(|f| f.sniff(&bytes).is_some())
            .collect();
        assert!(claimants.len() <= 2, "{format:?}");
    }
}

#[test]
fn a_shared_container_is_only_likely_so_the_specific_family_wins() {
    // A CR2 is a TIFF, a CR3 or a HEIC is ISO media: the RAW and HEIF families win.
    let cr2 = b"II*\0\x10\0\0\0CR\0\0";
    assert_eq!(
        tiff::Tiff.sniff(cr2),
        Some(Claim::Likely(MediaFormat::Tiff))
    );
    assert_eq!(recognise(cr2).ok(), Some(MediaFormat::Raw(RawKind::Cr2)));
    let heic = b"\0\0\0\x18ftypheic\0\0\0\0";
    assert_eq!(
        video::Video.sniff(heic),
        Some(Claim::Likely(MediaFormat::Mp4))
    );
    assert_eq!(recognise(heic).ok(), Some(MediaFormat::Heic));
}

#[test]
fn unknown_bytes_are_an_error_and_never_a_jpeg() {
    for bytes in [&b"hello, this is text"[..], b"", b"\xFF\xD8", b"BM"] {
        let e = recognise(bytes).unwrap_err();
        assert!(e.to_string().contains("not a supported image"), "{e}");
    }
    let e = recognise(b"hello, this is text").unwrap_err();
    assert_eq!(e.head, "\"hello, t\"");
    // Named like a photo, it is still refused as what it is.
    let e = crate::media::probe_bytes("a.jpg".into(), b"plain text, no photo".to_vec());
    assert!(matches!(e, Err(crate::media::ProbeError::NotMedia(_))));
}

#[test]
fn every_family_of_a_format_is_registered() {
    let registered: Vec<_> = FAMILIES.iter().map(|f| id(*f)).collect();
    for (format, _) in samples() {
        assert!(registered.contains(&id(of(format))), "{format:?}");
    }
    let mut unique = registered.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), registered.len(), "a family registered twice");
}

#[test]
fn a_decoded_format_names_its_own_codec_and_no_format_is_taken_for_jpeg() {
    use image::ImageFormat as I;
    for (format, _) in samples() {
        let handling = format.handling();
        match (format, handling) {
            (MediaFormat::Jpeg, h) => assert_eq!(h, Handling::Transform(Codec::Libjpeg)),
            (MediaFormat::Heic, _) => {} // by the build, below
            (MediaFormat::Png, h) => assert_eq!(h, Handling::Transform(Codec::ImageCrate(I::Png))),
            (MediaFormat::Gif, h) => assert_eq!(h, Handling::Transform(Codec::ImageCrate(I::Gif))),
            (MediaFormat::Webp, h) => {
                assert_eq!(h, Handling::Transform(Codec::ImageCrate(I::WebP)))
            }
            (MediaFormat::Bmp, h) => assert_eq!(h, Handling::Transform(Codec::ImageCrate(I::Bmp))),
            (MediaFormat::Tiff, h) => {
                assert_eq!(h, Handling::Transform(Codec::ImageCrate(I::Tiff)))
            }
            (MediaFormat::Raw(_), h) => assert_eq!(h, Handling::Preview),
            (_, h) => assert_eq!(h, Handling::PassThrough, "{format:?}"),
        }
    }
}

#[test]
fn formats_passed_through_have_no_size_to_read() {
    for (format, bytes) in samples() {
        if matches!(format.handling(), Handling::PassThrough | Handling::Preview) {
            let size = of(format).size(format, &bytes);
            assert!(matches!(size, Ok(None)), "{format:?}");
        }
    }
}

#[test]
fn the_file_name_extensions_come_from_the_families() {
    for family in FAMILIES {
        for ext in family.extensions() {
            let upper = format!("a.{}", ext.to_ascii_uppercase());
            assert!(has_media_extension(Path::new(&upper)), "{upper}");
            let others = FAMILIES
                .iter()
                .filter(|f| f.extensions().contains(ext))
                .count();
            assert_eq!(others, 1, "{ext} belongs to two families");
        }
    }
    assert!(has_media_extension(Path::new("IMG_1.HEIF")));
    assert!(!has_media_extension(Path::new("notes.txt")));
    assert!(!has_media_extension(Path::new("jpg")));
}
