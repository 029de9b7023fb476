//! The photographer's metadata in delivered files: EXIF, XMP and IPTC kept by default,
//! sanitised alike (no orientation, no GPS, no stale sizes), and all of it gone with
//! `encode.strip_metadata`.

use std::path::Path;

use crate::support::fixtures::{
    self, Meta, XMP_APP1_HEADER, insert_after_soi, jpeg_rgb, meta_segments, photo_like_rgb,
};
use crate::support::{self, read_jsonl, stderr};

/// A Lightroom-like JPEG: title and GPS in XMP, keywords in IPTC, GPS and a camera in EXIF.
fn captioned_jpeg() -> Vec<u8> {
    with_xmp(XMP.as_bytes())
}

/// The same JPEG with the XMP packet given, as bytes.
fn with_xmp(packet: &[u8]) -> Vec<u8> {
    let meta = Meta {
        make: Some("FUJIFILM".into()),
        orientation: Some(6),
        date_time_original: Some("2022:08:09 10:11:12".into()),
        gps: Some((48.8566, 2.3522)),
        iptc_keywords: vec![b"harbour".to_vec(), b"boats".to_vec()],
        ..Meta::default()
    };
    let mut segments = meta_segments(&meta);
    segments.insert(1, (0xE1, [XMP_APP1_HEADER, packet].concat()));
    insert_after_soi(&jpeg_rgb(96, 64, &photo_like_rgb(96, 64, 5)), &segments)
}

const XMP: &str = r#"<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:exif="http://ns.adobe.com/exif/1.0/" xmlns:tiff="http://ns.adobe.com/tiff/1.0/" tiff:Orientation="6" exif:GPSLatitude="48,51.396N" exif:GPSLongitude="2,21.132E"><dc:title><rdf:Alt><rdf:li xml:lang="x-default">Harbour at dawn</rdf:li></rdf:Alt></dc:title><dc:rights><rdf:Alt><rdf:li xml:lang="x-default">© A. Photographer</rdf:li></rdf:Alt></dc:rights></rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>"#;

fn run(dir: &Path, out: &str, encode: &str) -> Vec<u8> {
    run_on(dir, out, encode, &captioned_jpeg())
}

fn run_on(dir: &Path, out: &str, encode: &str, jpeg: &[u8]) -> Vec<u8> {
    let input = dir.join(format!("in-{out}"));
    fixtures::write_fixture(&input, "a.jpg", jpeg);
    let yaml = format!(
        "version: 1\ninput:\n  paths: [\"{}\"]\nresize:\n  width: 48\nencode:\n{encode}ledger:\n  path: \"{}\"\ntarget:\n  dir:\n    path: \"{}\"\n",
        input.display(),
        dir.join(format!("{out}.sqlite")).display(),
        dir.join(out).display(),
    );
    let p = dir.join(format!("{out}.yaml"));
    std::fs::write(&p, yaml).unwrap();
    let o = support::run(&["run", "-q", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let manifest = read_jsonl(&dir.join(out).join("manifest.jsonl"));
    std::fs::read(manifest[0]["output"].as_str().unwrap()).unwrap()
}

/// The payloads of the JPEG's segments before the image data, with their markers.
fn segments(jpeg: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    let mut i = 2;
    while i + 4 <= jpeg.len() && jpeg[i] == 0xFF && jpeg[i + 1] != 0xDA {
        let len = usize::from(u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]));
        out.push((jpeg[i + 1], jpeg[i + 4..i + 2 + len].to_vec()));
        i += 2 + len;
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn title_keywords_and_rights_are_kept_and_no_gps_is_left_anywhere() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = run(dir.path(), "out", "  quality: 80\n");
    let segs = segments(&bytes);
    assert_kept_and_sanitised(&output_xmp(&bytes));
    let iptc = segs
        .iter()
        .find(|(m, p)| *m == 0xED && p.starts_with(b"Photoshop 3.0\0"))
        .map(|(_, p)| p.clone())
        .expect("IPTC kept");
    assert!(contains(&iptc, b"harbour") && contains(&iptc, b"boats"));

    let exif = exif::Reader::new()
        .read_from_container(&mut std::io::Cursor::new(&bytes))
        .expect("EXIF kept");
    assert!(exif.get_field(exif::Tag::Make, exif::In::PRIMARY).is_some());
    assert!(exif.fields().all(|f| f.tag.context() != exif::Context::Gps));
    assert!(
        exif.get_field(exif::Tag::Orientation, exif::In::PRIMARY)
            .is_none()
    );

    // pixpipe reads back what it wrote, and a second delivery is byte for byte the same.
    let again = run(dir.path(), "again", "  quality: 80\n");
    assert_eq!(bytes, again, "outputs are deterministic");
    let meta = pixpipe::read_metadata(pixpipe::MediaFormat::Jpeg, &bytes);
    assert_eq!(meta.title.map(|t| t.0).as_deref(), Some("Harbour at dawn"));
    assert!(!meta.has_gps);
}

#[test]
fn strip_metadata_delivers_pixels_only() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = run(dir.path(), "out", "  strip_metadata: true\n");
    for (marker, payload) in segments(&bytes) {
        assert!(
            !(marker == 0xE1 || marker == 0xED),
            "APP{} left: {:?}",
            marker - 0xE0,
            String::from_utf8_lossy(&payload[..payload.len().min(30)])
        );
    }
    assert!(!contains(&bytes, b"harbour") && !contains(&bytes, b"Harbour"));
}

/// The photographer's words are there; location and stale orientation are not.
fn assert_kept_and_sanitised(xmp: &str) {
    assert!(
        xmp.contains("Harbour at dawn") && xmp.contains("© A. Photographer"),
        "{xmp}"
    );
    assert!(
        !xmp.contains("GPS") && !xmp.contains("Orientation"),
        "{xmp}"
    );
}

/// The XMP of an output, as text.
fn output_xmp(jpeg: &[u8]) -> String {
    segments(jpeg)
        .iter()
        .find(|(m, p)| *m == 0xE1 && p.starts_with(XMP_APP1_HEADER))
        .map(|(_, p)| String::from_utf8(p[XMP_APP1_HEADER.len()..].to_vec()).expect("UTF-8"))
        .expect("XMP kept")
}

#[test]
fn a_utf16_packet_is_kept_as_utf8_and_sanitised_alike() {
    let dir = tempfile::tempdir().unwrap();
    for (out, utf16) in [
        (
            "be",
            XMP.encode_utf16()
                .flat_map(u16::to_be_bytes)
                .collect::<Vec<u8>>(),
        ),
        (
            "le",
            XMP.encode_utf16().flat_map(u16::to_le_bytes).collect(),
        ),
    ] {
        let packet = [
            if out == "be" {
                &[0xFE, 0xFF][..]
            } else {
                &[0xFF, 0xFE][..]
            },
            &utf16,
        ]
        .concat();
        let xmp = output_xmp(&run_on(
            dir.path(),
            out,
            "  quality: 80\n",
            &with_xmp(&packet),
        ));
        assert_kept_and_sanitised(&xmp);
    }
}
