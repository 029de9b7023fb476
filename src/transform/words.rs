//! The words a photo was given beside it (an XMP sidecar's title, Takeout's
//! description and date) written into its output's XMP and IPTC, so the host's copy,
//! and anyone who downloads it, carries them. Values the photo already held are left
//! byte for byte as they were; only the fields that came from beside are replaced.

use crate::media::{DateTaken, Origin, PhotoMeta, Source, iim_datasets, iim_utf8_declared};

/// The fields of an output that came from beside the photo.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Words {
    pub title: Option<String>,
    pub description: Option<String>,
    pub keywords: Option<Vec<String>>,
    pub date: Option<DateTaken>,
    /// Takeout's place, when GPS is kept and the photo had none.
    pub place: Option<(f64, f64)>,
}

fn from_beside(s: Option<Source>) -> bool {
    s.is_some_and(|s| matches!(s.origin(), Origin::Sidecar | Origin::Takeout))
}

impl Words {
    /// What of `meta` came from a sidecar or Takeout; `None` when nothing did. The
    /// title and the description go together: EXIF's ImageDescription may hold either,
    /// so when one is replaced both are written where readers look first (XMP, IPTC).
    pub fn of(meta: &PhotoMeta, keep_gps: bool) -> Option<Words> {
        let captions = from_beside(meta.title.as_ref().map(|(_, s)| *s))
            || from_beside(meta.description_source);
        let w = Words {
            title: meta
                .title
                .as_ref()
                .filter(|_| captions)
                .map(|(t, _)| t.clone()),
            description: meta.description.clone().filter(|_| captions),
            keywords: from_beside(meta.keywords_source).then(|| meta.keywords.clone()),
            date: meta.date_taken.filter(|d| from_beside(Some(d.source))),
            place: meta
                .place
                .filter(|_| keep_gps && !meta.has_gps)
                .map(|p| (p.latitude, p.longitude)),
        };
        (w != Words::default()).then_some(w)
    }
}

impl Words {
    /// Whether IPTC has a place for any of the words (it has none for a place).
    pub fn has_iptc_fields(&self) -> bool {
        self.title.is_some()
            || self.description.is_some()
            || self.keywords.is_some()
            || self.date.is_some()
    }
}

/// The XMP properties `w` replaces, as elements or attributes.
fn replaced(w: &Words) -> Vec<&'static str> {
    let mut names = Vec::new();
    if w.title.is_some() {
        names.push("dc:title");
    }
    if w.description.is_some() {
        names.push("dc:description");
    }
    if w.keywords.is_some() {
        names.push("dc:subject");
    }
    if w.date.is_some() {
        names.extend(["exif:DateTimeOriginal", "photoshop:DateCreated"]);
    }
    if w.place.is_some() {
        names.extend(["exif:GPSLatitude", "exif:GPSLongitude"]);
    }
    names
}

/// `packet` (already sanitised) with the fields of `w` in place of its own, or a new
/// packet holding them when the photo had none.
pub fn xmp(packet: Option<&[u8]>, w: &Words) -> Vec<u8> {
    // The packet's own subject (`rdf:about`), which every description of it must share.
    let about = packet.and_then(about).unwrap_or_default();
    let block = description_block(w, &about);
    let Some(packet) = packet else {
        return format!(
            "<?xpacket begin=\"\u{feff}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n\
             <x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF \
             xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">{block}</rdf:RDF>\
             </x:xmpmeta>\n<?xpacket end=\"w\"?>"
        )
        .into_bytes();
    };
    let mut out = super::xmp::without(packet, &replaced(w));
    match find(&out, b"</rdf:RDF>") {
        Some(at) => {
            out.splice(at..at, block.into_bytes());
            out
        }
        // Not a packet pixpipe can add to: the words go into one of its own.
        None => xmp(None, w),
    }
}

/// The first `rdf:about` value of a packet, as written (already escaped).
fn about(packet: &[u8]) -> Option<String> {
    let at = find(packet, b"rdf:about=")? + b"rdf:about=".len();
    let quote = *packet.get(at)?;
    if quote != b'"' && quote != b'\'' {
        return None;
    }
    let len = packet[at + 1..].iter().position(|&c| c == quote)?;
    String::from_utf8(packet[at + 1..at + 1 + len].to_vec()).ok()
}

/// One `rdf:Description` holding the fields of `w`, with its namespaces.
fn description_block(w: &Words, about: &str) -> String {
    let mut b = format!(
        "<rdf:Description rdf:about=\"{}\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\" \
         xmlns:photoshop=\"http://ns.adobe.com/photoshop/1.0/\" \
         xmlns:exif=\"http://ns.adobe.com/exif/1.0/\">",
        about.replace('"', "&quot;")
    );
    let alt = |name: &str, v: &str| {
        format!(
            "<{name}><rdf:Alt><rdf:li xml:lang=\"x-default\">{}</rdf:li></rdf:Alt></{name}>",
            escape(v)
        )
    };
    if let Some(t) = &w.title {
        b.push_str(&alt("dc:title", t));
    }
    if let Some(d) = &w.description {
        b.push_str(&alt("dc:description", d));
    }
    if let Some(k) = &w.keywords {
        b.push_str("<dc:subject><rdf:Bag>");
        for k in k {
            b.push_str(&format!("<rdf:li>{}</rdf:li>", escape(k)));
        }
        b.push_str("</rdf:Bag></dc:subject>");
    }
    if let Some(d) = w.date.map(|d| d.iso8601()) {
        b.push_str(&format!(
            "<exif:DateTimeOriginal>{d}</exif:DateTimeOriginal>\
             <photoshop:DateCreated>{d}</photoshop:DateCreated>"
        ));
    }
    if let Some((lat, lon)) = w.place {
        b.push_str(&format!(
            "<exif:GPSLatitude>{}</exif:GPSLatitude><exif:GPSLongitude>{}</exif:GPSLongitude>",
            xmp_coordinate(lat, 'N', 'S'),
            xmp_coordinate(lon, 'E', 'W')
        ));
    }
    b.push_str("</rdf:Description>");
    b
}

/// XMP's GPS coordinate: `DDD,MM.mmmmmmK`.
fn xmp_coordinate(v: f64, plus: char, minus: char) -> String {
    let hemisphere = if v < 0.0 { minus } else { plus };
    let v = v.abs();
    let degrees = v.trunc();
    format!("{},{:.6}{hemisphere}", degrees as u32, (v - degrees) * 60.0)
}

/// Text as XML content: the five special characters escaped, and the control
/// characters XML forbids (a Takeout description may hold one) left out.
fn escape(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r'))
        .collect::<String>()
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// `records` (IPTC-IIM, possibly none) with the fields of `w` in place of their own,
/// in UTF-8 (declared by dataset 1:90, as exiftool and Photoshop read it).
pub fn iptc(records: Option<&[u8]>, w: &Words) -> Vec<u8> {
    let replaced = |ds: u8| match ds {
        5 => w.title.is_some(),
        120 => w.description.is_some(),
        25 => w.keywords.is_some(),
        55 | 60 => w.date.is_some(),
        _ => false,
    };
    let mut envelope = Vec::new();
    let mut application = Vec::new();
    let datasets = iim_datasets(records.unwrap_or_default());
    let was_utf8 = iim_utf8_declared(&datasets);
    for (rec, ds, value) in datasets {
        match rec {
            1 if ds == 90 => {}
            1 => envelope.push((rec, ds, value.to_vec())),
            2 if replaced(ds) => {}
            _ => application.push((rec, ds, value.to_vec())),
        }
    }
    // The old text is re-declared as UTF-8 below: text it held in Latin-1 is converted.
    if !was_utf8 {
        for (rec, ds, value) in &mut application {
            if *rec == 2 && is_text(*ds) {
                *value = crate::media::bytes_to_text(value).into_bytes();
            }
        }
    }
    envelope.push((1, 90, b"\x1b%G".to_vec()));
    let mut add = |ds: u8, v: &str| application.push((2, ds, cap(v.as_bytes()).to_vec()));
    if let Some(t) = &w.title {
        add(5, t);
    }
    if let Some(d) = &w.description {
        add(120, d);
    }
    for k in w.keywords.iter().flatten() {
        add(25, k);
    }
    if let Some(d) = w.date {
        // 2:55 `20190704`, 2:60 `133012+0000` (the zone when known).
        add(55, &d.local.format("%Y%m%d").to_string());
        let zone = d
            .offset
            .map(|o| o.to_string().replace(':', ""))
            .unwrap_or_default();
        add(60, &format!("{}{zone}", d.local.format("%H%M%S")));
    }
    // Record 2 begins with its version (2:00); datasets keep their order otherwise.
    application.sort_by_key(|(rec, ds, _)| (*rec, u8::from(*ds != 0)));
    let mut out = Vec::new();
    for (rec, ds, v) in envelope.iter().chain(&application) {
        out.extend([0x1C, *rec, *ds]);
        out.extend((v.len() as u16).to_be_bytes());
        out.extend(v);
    }
    out
}

/// The free-text datasets of record 2 (titles, captions, names, places, credits), which
/// may hold Latin-1; the others (dates, codes, previews) are kept as bytes.
fn is_text(ds: u8) -> bool {
    matches!(
        ds,
        5 | 12
            | 15
            | 20
            | 22
            | 25
            | 26
            | 27
            | 40
            | 65
            | 80
            | 85
            | 90
            | 92
            | 95
            | 100
            | 101
            | 103
            | 105
            | 110
            | 115
            | 116
            | 118
            | 120
            | 122
    )
}

/// At most 32767 bytes (the standard length field), cut at a character boundary.
fn cap(v: &[u8]) -> &[u8] {
    const MAX: usize = 0x7FFF;
    if v.len() <= MAX {
        return v;
    }
    let mut end = MAX;
    while end > 0 && (v[end] & 0xC0) == 0x80 {
        end -= 1;
    }
    &v[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::parse_iptc;

    fn words() -> Words {
        Words {
            title: Some("Quai à l'aube & co".into()),
            description: None,
            keywords: Some(vec!["quai".into(), "aube".into()]),
            date: Some(DateTaken {
                local: chrono::NaiveDate::from_ymd_opt(2019, 7, 4)
                    .unwrap()
                    .and_hms_opt(13, 30, 12)
                    .unwrap(),
                offset: chrono::FixedOffset::east_opt(0),
                source: Source::Takeout,
            }),
            place: None,
        }
    }

    #[test]
    fn the_words_replace_the_photos_own_and_the_rest_stays() {
        let packet = br#"<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmp:Rating="4"><dc:title><rdf:Alt><rdf:li xml:lang="x-default">Old</rdf:li></rdf:Alt></dc:title>
<dc:description><rdf:Alt><rdf:li xml:lang="x-default">Kept</rdf:li></rdf:Alt></dc:description></rdf:Description></rdf:RDF></x:xmpmeta>"#;
        let out = xmp(Some(packet), &words());
        let read = crate::media::parse_xmp(&out);
        assert_eq!(read.title.as_deref(), Some("Quai à l'aube & co"));
        assert_eq!(read.description.as_deref(), Some("Kept"));
        assert_eq!(read.subjects, vec!["quai", "aube"]);
        assert_eq!(read.date.as_deref(), Some("2019-07-04T13:30:12+00:00"));
        let text = String::from_utf8(out.clone()).unwrap();
        assert!(
            !text.contains("Old") && text.contains(r#"xmp:Rating="4""#),
            "{text}"
        );
        assert_eq!(xmp(Some(packet), &words()), out, "deterministic");
        let fresh = xmp(None, &words());
        assert_eq!(
            crate::media::parse_xmp(&fresh).title.as_deref(),
            Some("Quai à l'aube & co")
        );
    }

    #[test]
    fn the_added_description_shares_the_packets_subject_and_is_valid_xml() {
        let packet = br#"<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="uuid:faf5bdd5-ba3d-11da-ad31-d33d75182f1b"/></rdf:RDF></x:xmpmeta>"#;
        let w = Words {
            description: Some("tab\there\u{b} bell\u{7} <ok>".into()),
            ..Words::default()
        };
        let text = String::from_utf8(xmp(Some(packet), &w)).unwrap();
        assert_eq!(
            text.matches(r#"rdf:about="uuid:faf5bdd5-ba3d-11da-ad31-d33d75182f1b""#)
                .count(),
            2,
            "{text}"
        );
        assert!(text.contains("tab\there bell &lt;ok&gt;"), "{text}");
        assert!(!text.contains('\u{b}') && !text.contains('\u{7}'));
    }

    #[test]
    fn takeouts_place_travels_only_when_gps_is_kept() {
        let mut meta = PhotoMeta {
            description: Some("Picnic".into()),
            description_source: Some(Source::Takeout),
            place: Some(crate::media::Place {
                latitude: 45.76,
                longitude: -4.83,
                altitude: None,
            }),
            ..PhotoMeta::default()
        };
        let kept = Words::of(&meta, true).unwrap();
        let text = String::from_utf8(xmp(None, &kept)).unwrap();
        assert!(
            text.contains("<exif:GPSLatitude>45,45.600000N</exif:GPSLatitude>"),
            "{text}"
        );
        assert!(
            text.contains("<exif:GPSLongitude>4,49.800000W</exif:GPSLongitude>"),
            "{text}"
        );
        assert_eq!(Words::of(&meta, false).unwrap().place, None);
        meta.has_gps = true;
        assert_eq!(
            Words::of(&meta, true).unwrap().place,
            None,
            "the photo's own GPS wins"
        );
        meta.description_source = Some(Source::Xmp);
        meta.place = None;
        assert_eq!(
            Words::of(&meta, true),
            None,
            "nothing from beside: nothing rewritten"
        );
    }

    #[test]
    fn iptc_records_are_replaced_in_utf8_and_others_kept() {
        let mut old = vec![0x1C, 2, 0, 0, 2, 0, 4];
        for (ds, v) in [
            (5u8, b"Caf\xe9".as_slice()),
            (116, b"\xa9 Ann".as_slice()),
            (25, b"old".as_slice()),
        ] {
            old.extend([0x1C, 2, ds, 0, v.len() as u8]);
            old.extend(v);
        }
        let out = iptc(Some(&old), &words());
        let read = parse_iptc(&out);
        assert_eq!(read.object_name.as_deref(), Some("Quai à l'aube & co"));
        assert_eq!(read.keywords, vec!["quai", "aube"]);
        let sets = iim_datasets(&out);
        assert_eq!((sets[0].0, sets[0].1), (1, 90));
        assert_eq!((sets[1].0, sets[1].1), (2, 0), "version first in record 2");
        assert!(
            sets.iter()
                .any(|(r, d, v)| (*r, *d) == (2, 116) && *v == "© Ann".as_bytes())
        );
        assert!(
            sets.iter()
                .any(|(r, d, v)| (*r, *d) == (2, 55) && *v == b"20190704")
        );
        assert!(
            sets.iter()
                .any(|(r, d, v)| (*r, *d) == (2, 60) && *v == b"133012+0000")
        );
    }
}
