//! Reads the few XMP properties pixpipe uses from an XMP packet.
//!
//! XMP as cameras and photo editors write it is a narrow, regular subset of
//! RDF/XML; a small scanner that understands elements, attributes and entity
//! references reads it without pulling a full XML stack into every probe, and
//! it never fails: text that is not XML simply yields nothing.

use std::borrow::Cow;

/// The XMP properties pixpipe reads.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Xmp {
    pub title: Option<String>,
    pub description: Option<String>,
    pub subjects: Vec<String>,
    /// The first of exif:DateTimeOriginal, photoshop:DateCreated, xmp:CreateDate.
    pub date: Option<String>,
}

impl Xmp {
    /// Takes from `other` (an ExtendedXMP packet) what this one lacks.
    pub fn fill_from(&mut self, other: Xmp) {
        self.title = self.title.take().or(other.title);
        self.description = self.description.take().or(other.description);
        self.date = self.date.take().or(other.date);
        if self.subjects.is_empty() {
            self.subjects = other.subjects;
        }
    }
}

/// Reads an XMP packet in any encoding the XMP spec allows (see `decode_packet`);
/// invalid sequences are replaced, non-XML yields an empty result.
pub fn parse(packet: &[u8]) -> Xmp {
    let text = decode_packet(packet);
    let text = text.as_ref();
    Xmp {
        title: alt_text(text, "dc:title"),
        description: alt_text(text, "dc:description"),
        subjects: list_items(text, "dc:subject"),
        date: [
            "exif:DateTimeOriginal",
            "photoshop:DateCreated",
            "xmp:CreateDate",
            // The prefix early XMP writers used for the same namespace.
            "xap:CreateDate",
        ]
        .iter()
        .find_map(|p| simple_value(text, p)),
    }
}

/// The text of an XMP packet or sidecar, which the XMP spec lets be UTF-8, UTF-16 or
/// UTF-32 in either byte order: the scanner works on text, so the encoding is settled
/// here once. A byte-order mark tells it; without one, the NULs around the first `<`
/// do (ASCII markup in UTF-16BE is `00 3C`). Anything else is read as UTF-8, invalid
/// sequences replaced; a BOM is dropped, and a trailing partial code unit ignored.
pub fn decode_packet(bytes: &[u8]) -> Cow<'_, str> {
    let (encoding, bom) = sniff_encoding(bytes);
    let body = &bytes[bom..];
    match encoding {
        Encoding::Utf8 => String::from_utf8_lossy(body),
        Encoding::Utf16(order) => decode_utf16(body, order).into(),
        Encoding::Utf32(order) => decode_utf32(body, order).into(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum ByteOrder {
    Big,
    Little,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Encoding {
    Utf8,
    Utf16(ByteOrder),
    Utf32(ByteOrder),
}

/// The encoding of a packet and the length of its byte-order mark.
fn sniff_encoding(b: &[u8]) -> (Encoding, usize) {
    use ByteOrder::{Big, Little};
    // UTF-32 first: its little-endian mark begins with UTF-16LE's.
    const MARKS: [(&[u8], Encoding); 5] = [
        (b"\0\0\xFE\xFF", Encoding::Utf32(Big)),
        (b"\xFF\xFE\0\0", Encoding::Utf32(Little)),
        (b"\xFE\xFF", Encoding::Utf16(Big)),
        (b"\xFF\xFE", Encoding::Utf16(Little)),
        (b"\xEF\xBB\xBF", Encoding::Utf8),
    ];
    MARKS
        .iter()
        .find(|(mark, _)| b.starts_with(mark))
        .map(|&(mark, encoding)| (encoding, mark.len()))
        .unwrap_or_else(|| (encoding_around_first_markup(b), 0))
}

/// Without a mark: the NULs next to the first `<` (looked for only near the start, so
/// that NUL padding or binary junk further on cannot sway it) and where it falls.
fn encoding_around_first_markup(b: &[u8]) -> Encoding {
    use ByteOrder::{Big, Little};
    let Some(i) = b.iter().take(64).position(|&c| c == b'<') else {
        return Encoding::Utf8;
    };
    let zeros = |from: usize, n: usize| {
        from.checked_add(n)
            .and_then(|end| b.get(from..end))
            .is_some_and(|s| s.iter().all(|&c| c == 0))
    };
    if i % 4 == 0 && zeros(i + 1, 3) {
        Encoding::Utf32(Little)
    } else if i % 4 == 3 && zeros(i - 3, 3) {
        Encoding::Utf32(Big)
    } else if i % 2 == 0 && zeros(i + 1, 1) {
        Encoding::Utf16(Little)
    } else if i % 2 == 1 && zeros(i - 1, 1) {
        Encoding::Utf16(Big)
    } else {
        Encoding::Utf8
    }
}

fn decode_utf16(b: &[u8], order: ByteOrder) -> String {
    let units = b.chunks_exact(2).map(|p| match order {
        ByteOrder::Big => u16::from_be_bytes([p[0], p[1]]),
        ByteOrder::Little => u16::from_le_bytes([p[0], p[1]]),
    });
    char::decode_utf16(units)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
}

fn decode_utf32(b: &[u8], order: ByteOrder) -> String {
    b.chunks_exact(4)
        .map(|p| {
            let q = [p[0], p[1], p[2], p[3]];
            let unit = match order {
                ByteOrder::Big => u32::from_be_bytes(q),
                ByteOrder::Little => u32::from_le_bytes(q),
            };
            char::from_u32(unit).unwrap_or(char::REPLACEMENT_CHARACTER)
        })
        .collect()
}

/// The body of the first `<name ...>body</name>` element, if any.
fn element_body<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}");
    let mut from = 0;
    while let Some(i) = text[from..].find(&open) {
        let start = from + i + open.len();
        let next = text[start..].chars().next()?;
        if next == '>' || next.is_whitespace() || next == '/' {
            let tag_end = start + text[start..].find('>')?;
            if text[..tag_end].ends_with('/') {
                return None;
            }
            let close = format!("</{name}>");
            let body_end = tag_end + 1 + text[tag_end + 1..].find(&close)?;
            return Some(&text[tag_end + 1..body_end]);
        }
        from = start;
    }
    None
}

/// The value of `name="..."` inside the first tag that carries it.
fn attribute(text: &str, name: &str) -> Option<String> {
    let key = format!("{name}=");
    let i = text.find(&key)?;
    let rest = &text[i + key.len()..];
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let end = rest[1..].find(quote)?;
    Some(decode_entities(&rest[1..1 + end]))
}

/// Each `<rdf:li ...>text</rdf:li>` in `body`, with its `xml:lang` when present.
fn li_items(body: &str) -> Vec<(Option<String>, String)> {
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(i) = rest.find("<rdf:li") {
        let after = &rest[i + "<rdf:li".len()..];
        let Some(tag_end) = after.find('>') else {
            break;
        };
        let tag = &after[..tag_end];
        if tag.ends_with('/') {
            rest = &after[tag_end + 1..];
            continue;
        }
        let Some(close) = after[tag_end + 1..].find("</rdf:li>") else {
            break;
        };
        let value = &after[tag_end + 1..tag_end + 1 + close];
        let lang = attribute(tag, "xml:lang");
        out.push((lang, decode_entities(value).trim().to_string()));
        rest = &after[tag_end + 1 + close..];
    }
    out
}

/// A language alternative: the `x-default` item, else the first.
fn alt_text(text: &str, name: &str) -> Option<String> {
    let body = element_body(text, name)?;
    let items = li_items(body);
    items
        .iter()
        .find(|(lang, _)| lang.as_deref() == Some("x-default"))
        .or_else(|| items.first())
        .map(|(_, v)| v.clone())
        .filter(|v| !v.is_empty())
}

fn list_items(text: &str, name: &str) -> Vec<String> {
    element_body(text, name)
        .map(|body| {
            li_items(body)
                .into_iter()
                .map(|(_, v)| v)
                .filter(|v| !v.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// A simple property written either as an element or as an attribute.
fn simple_value(text: &str, name: &str) -> Option<String> {
    element_body(text, name)
        .map(|b| decode_entities(b).trim().to_string())
        .or_else(|| attribute(text, name))
        .filter(|v| !v.is_empty() && !v.contains('<'))
}

/// Replaces the five named XML entities and numeric character references.
pub fn decode_entities(s: &str) -> String {
    let s = s
        .strip_prefix("<![CDATA[")
        .and_then(|r| r.strip_suffix("]]>"))
        .map(str::to_string)
        .unwrap_or_else(|| s.to_string());
    if !s.contains('&') {
        return s;
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s.as_str();
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let Some(end) = after.find(';').filter(|e| *e <= 10) else {
            out.push('&');
            rest = after;
            continue;
        };
        let entity = &after[..end];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .or_else(|| entity.strip_prefix("#X"))
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &after[end + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const PACKET: &str = r#"<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF>
      <rdf:Description rdf:about="" xmp:CreateDate="2019-05-06T07:08:09+02:00">
        <dc:title><rdf:Alt><rdf:li xml:lang="fr">Bonjour</rdf:li><rdf:li xml:lang="x-default">Caf&#233; &amp; bar</rdf:li></rdf:Alt></dc:title>
        <dc:subject><rdf:Bag><rdf:li>sea</rdf:li><rdf:li>summer</rdf:li><rdf:li/></rdf:Bag></dc:subject>
        <dc:description><rdf:Alt><rdf:li xml:lang="x-default">  </rdf:li></rdf:Alt></dc:description>
      </rdf:Description></rdf:RDF></x:xmpmeta>"#;

    #[test]
    fn reads_title_subjects_and_date() {
        let x = parse(PACKET.as_bytes());
        assert_eq!(x.title.as_deref(), Some("Café & bar"));
        assert_eq!(x.subjects, vec!["sea", "summer"]);
        assert_eq!(x.description, None);
        assert_eq!(x.date.as_deref(), Some("2019-05-06T07:08:09+02:00"));
    }

    /// `text` in UTF-16, big- or little-endian, with or without a leading BOM.
    fn utf16(text: &str, order: ByteOrder, bom: bool) -> Vec<u8> {
        let mark = bom.then_some('\u{FEFF}');
        mark.into_iter()
            .chain(text.chars())
            .collect::<String>()
            .encode_utf16()
            .flat_map(|u| match order {
                ByteOrder::Big => u.to_be_bytes(),
                ByteOrder::Little => u.to_le_bytes(),
            })
            .collect()
    }

    fn utf32(text: &str, order: ByteOrder) -> Vec<u8> {
        text.chars()
            .flat_map(|c| match order {
                ByteOrder::Big => u32::from(c).to_be_bytes(),
                ByteOrder::Little => u32::from(c).to_le_bytes(),
            })
            .collect()
    }

    fn assert_reads_packet(x: Xmp) {
        assert_eq!(x.title.as_deref(), Some("Café & bar"));
        assert_eq!(x.subjects, vec!["sea", "summer"]);
        assert_eq!(x.date.as_deref(), Some("2019-05-06T07:08:09+02:00"));
    }

    #[test]
    fn utf16_packets_with_a_bom_are_read_in_either_byte_order() {
        assert_reads_packet(parse(&utf16(PACKET, ByteOrder::Little, true)));
        assert_reads_packet(parse(&utf16(PACKET, ByteOrder::Big, true)));
    }

    #[test]
    fn utf16_packets_without_a_bom_are_told_by_their_nuls() {
        // As writers emit it: the mark sits inside `begin`, not in front of the packet.
        let wrapped = format!(
            "<?xpacket begin=\"\u{FEFF}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n{PACKET}\n<?xpacket end=\"w\"?>"
        );
        assert_reads_packet(parse(&utf16(&wrapped, ByteOrder::Big, false)));
        assert_reads_packet(parse(&utf16(&wrapped, ByteOrder::Little, false)));
        let indented = format!("  {PACKET}");
        assert_reads_packet(parse(&utf16(&indented, ByteOrder::Big, false)));
    }

    #[test]
    fn utf32_packets_are_read_with_or_without_a_bom() {
        let marked = format!("\u{FEFF}{PACKET}");
        assert_reads_packet(parse(&utf32(&marked, ByteOrder::Big)));
        assert_reads_packet(parse(&utf32(&marked, ByteOrder::Little)));
        assert_reads_packet(parse(&utf32(PACKET, ByteOrder::Big)));
        assert_reads_packet(parse(&utf32(PACKET, ByteOrder::Little)));
    }

    #[test]
    fn odd_and_tiny_packets_never_panic() {
        for b in [
            &b""[..],
            b"<",
            b"\0",
            b"\xFE",
            b"\xFF\xFE\x3C",
            b"\0\0\xFE\xFF\0",
            b"\x3C\0\0",
            b"\0\0\x3C",
        ] {
            assert_eq!(parse(b), Xmp::default());
        }
        // A trailing half code unit is dropped, the rest still read.
        let mut odd = utf16(PACKET, ByteOrder::Little, true);
        odd.push(b'<');
        assert_reads_packet(parse(&odd));
        // UTF-8 stays borrowed, its BOM dropped.
        assert!(matches!(
            decode_packet(b"\xEF\xBB\xBF<x/>"),
            Cow::Borrowed("<x/>")
        ));
    }

    #[test]
    fn garbage_yields_nothing() {
        assert_eq!(parse(b"\xff\xfe<dc:title><rdf:li>"), Xmp::default());
        assert_eq!(parse(b"<dc:title/>"), Xmp::default());
        assert_eq!(decode_entities("a &bogus; &#xZZ; &"), "a &bogus; &#xZZ; &");
    }
}
