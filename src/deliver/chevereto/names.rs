//! What a Chevereto host does to names and titles, learnt from a real 4.2.5 server:
//! it keeps only the ASCII letters and digits of a file name for the stored file (a
//! name with none, `北京.jpg`, is stored as `-.jpg`, a URL nobody can read), and it
//! cuts titles to 100 characters without a word. pixpipe sends such a file under a
//! readable ASCII name (the title keeps the original words) and warns of a title
//! that will be cut.

use crate::i18n::Localized;

/// The longest title the host keeps, in characters.
pub const TITLE_MAX: usize = 100;

/// The name to send for `name`: itself when it has an ASCII letter or digit, else
/// `photo-DATE-MD5.ext` (the date taken when known, then the first 8 hex digits of
/// the output's md5, so two such photos never share a name).
pub fn readable(name: &str, date_taken: Option<&str>, md5: &str) -> String {
    let (stem, ext) = match name.rsplit_once('.') {
        Some((s, e)) if !s.is_empty() => (s, Some(e)),
        _ => (name, None),
    };
    if stem.chars().any(|c| c.is_ascii_alphanumeric()) {
        return name.to_string();
    }
    let mut out = String::from("photo");
    if let Some(day) = date_taken.and_then(compact_day) {
        out.push('-');
        out.push_str(&day);
    }
    out.push('-');
    out.extend(md5.chars().take(8));
    if let Some(e) = ext {
        out.push('.');
        out.push_str(e);
    }
    out
}

/// `2019-07-04T15:30:12…` → `20190704`.
fn compact_day(iso: &str) -> Option<String> {
    let day: String = iso.chars().take(10).filter(|c| *c != '-').collect();
    (day.len() == 8 && day.chars().all(|c| c.is_ascii_digit())).then_some(day)
}

/// A warning when the host will cut `title`.
pub fn title_cut(title: &str) -> Option<Localized> {
    let n = title.chars().count();
    (n > TITLE_MAX).then(|| {
        let kept: String = title.chars().take(TITLE_MAX).collect();
        Localized::new(
            "msg-warn-title-cut",
            &[
                ("chars", n.to_string()),
                ("max", TITLE_MAX.to_string()),
                ("kept", kept),
            ],
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_without_ascii_letters_or_digits_become_readable() {
        let md5 = "0123456789abcdef0123456789abcdef";
        assert_eq!(readable("harbour.jpg", None, md5), "harbour.jpg");
        assert_eq!(readable("北京 2019.jpg", None, md5), "北京 2019.jpg");
        assert_eq!(readable("北京.jpg", None, md5), "photo-01234567.jpg");
        assert_eq!(
            readable("港口——日出.webp", Some("2019-07-04T15:30:12+08:00"), md5),
            "photo-20190704-01234567.webp"
        );
        assert_eq!(
            readable("—.jpg", Some("not a date"), md5),
            "photo-01234567.jpg"
        );
        assert_eq!(readable("日出", None, md5), "photo-01234567");
    }

    #[test]
    fn titles_over_100_characters_are_warned_of() {
        assert!(title_cut(&"字".repeat(100)).is_none());
        let w = title_cut(&"字".repeat(101)).unwrap().english();
        assert!(w.contains("101 characters"), "{w}");
        assert!(w.contains("100"), "{w}");
    }
}
