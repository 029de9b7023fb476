//! Reads the few XMP properties pixpipe uses from an XMP packet.
//!
//! XMP as cameras and photo editors write it is a narrow, regular subset of
//! RDF/XML; a small scanner that understands elements, attributes and entity
//! references reads it without pulling a full XML stack into every probe, and
//! it never fails: text that is not XML simply yields nothing.

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

/// Reads an XMP packet; invalid UTF-8 is replaced, non-XML yields an empty result.
pub fn parse(packet: &[u8]) -> Xmp {
    let text = String::from_utf8_lossy(packet);
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

    #[test]
    fn garbage_yields_nothing() {
        assert_eq!(parse(b"\xff\xfe<dc:title><rdf:li>"), Xmp::default());
        assert_eq!(parse(b"<dc:title/>"), Xmp::default());
        assert_eq!(decode_entities("a &bogus; &#xZZ; &"), "a &bogus; &#xZZ; &");
    }
}
