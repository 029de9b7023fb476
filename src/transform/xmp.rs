//! The XMP and IPTC that go into an output: the photographer's title, keywords,
//! copyright and the rest kept as written, minus what the EXIF rewrite drops too
//! (orientation, pixel sizes, thumbnails, GPS unless asked for), so the two can never
//! disagree. The packet is edited as text, byte for byte elsewhere, so outputs stay
//! deterministic and nothing the photographer wrote is reformatted.

/// Properties that would be wrong once the pixels are resized and turned upright.
const STALE: &[&str] = &[
    "tiff:Orientation",
    "tiff:ImageWidth",
    "tiff:ImageLength",
    "exif:PixelXDimension",
    "exif:PixelYDimension",
    "xmp:Thumbnails",
    "xmpGImg:image",
];

/// The packet without stale properties, and without `exif:GPS*` unless `keep_gps`.
pub fn sanitise(packet: &[u8], keep_gps: bool) -> Vec<u8> {
    drop_properties(packet, |name: &[u8]| {
        STALE.iter().any(|s| s.as_bytes() == name) || (!keep_gps && name.starts_with(b"exif:GPS"))
    })
}

/// The packet without the properties named (`dc:title`, ...), as elements or attributes.
pub fn without(packet: &[u8], names: &[&str]) -> Vec<u8> {
    drop_properties(packet, |name: &[u8]| {
        names.iter().any(|n| n.as_bytes() == name)
    })
}

/// The packet without the properties `drop` names, the rest byte for byte.
fn drop_properties(packet: &[u8], drop: impl Fn(&[u8]) -> bool) -> Vec<u8> {
    let b = packet;
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'<' {
            let name = name_at(b, i + 1);
            if !name.is_empty()
                && drop(name)
                && let Some(end) = element_end(b, i, name)
            {
                i = end;
                continue;
            }
        } else if b[i].is_ascii_whitespace() {
            let name = name_at(b, i + 1);
            if !name.is_empty()
                && drop(name)
                && let Some(end) = attribute_end(b, i + 1 + name.len())
            {
                i = end;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// The qualified name (`prefix:Local`) starting at `at`, or an empty slice.
fn name_at(b: &[u8], at: usize) -> &[u8] {
    let len = b
        .get(at..)
        .unwrap_or_default()
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b':' | b'_' | b'-' | b'.'))
        .count();
    &b[at.min(b.len())..at.min(b.len()) + len]
}

/// Past `="..."` (or `='...'`) after an attribute name ending at `at`.
fn attribute_end(b: &[u8], mut at: usize) -> Option<usize> {
    while b.get(at)?.is_ascii_whitespace() {
        at += 1;
    }
    if *b.get(at)? != b'=' {
        return None;
    }
    at += 1;
    while b.get(at)?.is_ascii_whitespace() {
        at += 1;
    }
    let quote = *b.get(at)?;
    if quote != b'"' && quote != b'\'' {
        return None;
    }
    let close = b[at + 1..].iter().position(|&c| c == quote)?;
    Some(at + 1 + close + 1)
}

/// Past the element `<name ...>...</name>` (or `<name .../>`) that opens at `open`.
fn element_end(b: &[u8], open: usize, name: &[u8]) -> Option<usize> {
    let after = open + 1 + name.len();
    if !matches!(b.get(after)?, b' ' | b'\t' | b'\r' | b'\n' | b'/' | b'>') {
        return None;
    }
    let tag_end = after + b[after..].iter().position(|&c| c == b'>')?;
    if b[tag_end - 1] == b'/' {
        return Some(tag_end + 1);
    }
    let close = [b"</".as_slice(), name, b">"].concat();
    let at = b[tag_end..].windows(close.len()).position(|w| w == close)?;
    Some(tag_end + at + close.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PACKET: &str = r#"<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF>
<rdf:Description rdf:about="" tiff:Orientation="6" exif:GPSLatitude="48,51.0N" xmp:Rating="5"
 exif:PixelXDimension='4000'>
<dc:title><rdf:Alt><rdf:li xml:lang="x-default">Quai à l'aube</rdf:li></rdf:Alt></dc:title>
<exif:GPSLongitude>2,21.0E</exif:GPSLongitude>
<xmp:Thumbnails><rdf:Alt><rdf:li>AAAA</rdf:li></rdf:Alt></xmp:Thumbnails>
<exif:GPSVersionID/>
</rdf:Description></rdf:RDF></x:xmpmeta>"#;

    #[test]
    fn stale_and_location_properties_go_and_the_rest_stays_byte_for_byte() {
        let out = String::from_utf8(sanitise(PACKET.as_bytes(), false)).unwrap();
        for gone in [
            "Orientation",
            "GPS",
            "PixelXDimension",
            "Thumbnails",
            "AAAA",
        ] {
            assert!(!out.contains(gone), "{gone} left in {out}");
        }
        assert!(out.contains(r#"<rdf:li xml:lang="x-default">Quai à l'aube</rdf:li>"#));
        assert!(out.contains(r#"xmp:Rating="5""#));
        assert!(out.contains("<rdf:Description rdf:about=\"\""));
        assert_eq!(
            sanitise(out.as_bytes(), false),
            out.as_bytes(),
            "idempotent"
        );
    }

    #[test]
    fn gps_stays_when_asked() {
        let out = String::from_utf8(sanitise(PACKET.as_bytes(), true)).unwrap();
        assert!(out.contains(r#"exif:GPSLatitude="48,51.0N""#));
        assert!(out.contains("<exif:GPSLongitude>2,21.0E</exif:GPSLongitude>"));
        assert!(!out.contains("Orientation"));
    }

    #[test]
    fn nonsense_is_copied_not_lost() {
        for text in [
            "<exif:GPSLatitude",
            " exif:GPSLatitude=",
            "<tiff:Orientation>no close",
            "",
        ] {
            assert_eq!(sanitise(text.as_bytes(), false), text.as_bytes());
        }
    }
}
