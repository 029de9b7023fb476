//! Small templates for titles, descriptions, tags and output names:
//! `{title|stem_title}`, `{date:%Y/%m}`, `{description|'no caption'}`.
//!
//! A placeholder lists alternatives separated by `|`; the first one that is
//! not empty wins. An alternative is a field name, a field with a format
//! (`date:%Y-%m-%d`), or a quoted literal. `{{` and `}}` write braces.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The fields a template may name.
pub const FIELDS: &[&str] = &[
    "title",
    "description",
    "keywords",
    "album",
    "stem",
    "stem_title",
    "name",
    "ext",
    "source_ext",
    "folder",
    "dir",
    "date",
    "make",
    "model",
    "camera",
    "width",
    "height",
    "format",
    "md5",
];

#[derive(Debug, Clone, PartialEq)]
enum Alternative {
    Field {
        name: String,
        format: Option<String>,
    },
    Literal(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text(String),
    Placeholder(Vec<Alternative>),
}

/// A parsed template; it knows its source text for display and serialization.
#[derive(Clone, PartialEq)]
pub struct Template {
    source: String,
    parts: Vec<Part>,
}

/// Why a template could not be parsed; shown at the template's place in the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("unclosed '{{' in template {0:?}")]
    Unclosed(String),
    #[error("stray '}}' in template {0:?} (write '}}}}')")]
    StrayClose(String),
    #[error("unknown field {name:?} in template (fields: {known})")]
    UnknownField { name: String, known: String },
    #[error("only date takes a format, not {0:?}")]
    FormatOnNonDate(String),
    #[error("empty placeholder '{{}}' in template")]
    Empty,
    #[error("bad date format {0:?}")]
    BadDateFormat(String),
    #[error("bad date format {0:?} (time zone fields are not available)")]
    TimeZoneInDate(String),
}

/// Gives each field's value for one file; `None` or empty means "absent".
pub trait Fields {
    fn field(&self, name: &str, format: Option<&str>) -> Option<String>;
}

impl Template {
    pub fn parse(source: &str) -> Result<Template, TemplateError> {
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut chars = source.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            match c {
                '{' if chars.peek().map(|p| p.1) == Some('{') => {
                    chars.next();
                    text.push('{');
                }
                '}' if chars.peek().map(|p| p.1) == Some('}') => {
                    chars.next();
                    text.push('}');
                }
                '{' => {
                    let body_start = i + 1;
                    let end = find_close(source, body_start)
                        .ok_or_else(|| TemplateError::Unclosed(source.to_string()))?;
                    while chars.peek().is_some_and(|p| p.0 <= end) {
                        chars.next();
                    }
                    if !text.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut text)));
                    }
                    parts.push(Part::Placeholder(parse_placeholder(
                        &source[body_start..end],
                    )?));
                }
                '}' => return Err(TemplateError::StrayClose(source.to_string())),
                _ => text.push(c),
            }
        }
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        Ok(Template {
            source: source.to_string(),
            parts,
        })
    }

    /// A template that renders `text` as written, braces included (command-line texts).
    pub fn literal(text: &str) -> Template {
        Template {
            source: text.replace('{', "{{").replace('}', "}}"),
            parts: vec![Part::Text(text.to_string())],
        }
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// Renders the template; each field value passes through `clean` first.
    fn render_with(&self, fields: &dyn Fields, clean: &dyn Fn(&str, String) -> String) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Placeholder(alts) => {
                    let value = alts.iter().find_map(|alt| match alt {
                        Alternative::Literal(l) => Some(l.clone()),
                        Alternative::Field { name, format } => fields
                            .field(name, format.as_deref())
                            .filter(|v| !v.trim().is_empty())
                            .map(|v| clean(name, v)),
                    });
                    out.push_str(&value.unwrap_or_default());
                }
            }
        }
        out
    }

    pub fn render(&self, fields: &dyn Fields) -> String {
        self.render_with(fields, &|_, v| v)
    }

    /// Renders an output path: path separators inside values are replaced, so a title
    /// cannot create folders; only `{date}` and `{dir}` may.
    pub fn render_path(&self, fields: &dyn Fields) -> String {
        self.render_with(fields, &|field, value| {
            if field == "date" || field == "dir" {
                value
            } else {
                value.replace(['/', '\\'], "_")
            }
        })
    }
}

/// Finds the `}` closing a placeholder, skipping quoted literals.
fn find_close(s: &str, from: usize) -> Option<usize> {
    let mut quote: Option<char> = None;
    for (i, c) in s[from..].char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '}') => return Some(from + i),
            _ => {}
        }
    }
    None
}

fn parse_placeholder(body: &str) -> Result<Vec<Alternative>, TemplateError> {
    let mut alts = Vec::new();
    for raw in split_alternatives(body) {
        let alt = raw.trim();
        if let Some(lit) = quoted(alt) {
            alts.push(Alternative::Literal(lit.to_string()));
            continue;
        }
        let (name, format) = match alt.split_once(':') {
            Some((n, f)) => (n.trim(), Some(f.to_string())),
            None => (alt, None),
        };
        if !FIELDS.contains(&name) {
            return Err(TemplateError::UnknownField {
                name: name.to_string(),
                known: FIELDS.join(", "),
            });
        }
        if let Some(f) = &format {
            if name != "date" {
                return Err(TemplateError::FormatOnNonDate(name.to_string()));
            }
            check_date_format(f)?;
        }
        alts.push(Alternative::Field {
            name: name.to_string(),
            format,
        });
    }
    if alts.is_empty() {
        return Err(TemplateError::Empty);
    }
    Ok(alts)
}

fn split_alternatives(body: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut quote = None;
    let mut start = 0;
    for (i, c) in body.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '|') => {
                out.push(&body[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&body[start..]);
    out
}

fn quoted(s: &str) -> Option<&str> {
    let q = s.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    s.strip_prefix(q)?.strip_suffix(q)
}

/// A strftime format is checked at load time, since chrono reports a bad one only when printing.
fn check_date_format(f: &str) -> Result<(), TemplateError> {
    use std::fmt::Write;
    let items = chrono::format::StrftimeItems::new(f);
    if items
        .clone()
        .any(|i| matches!(i, chrono::format::Item::Error))
    {
        return Err(TemplateError::BadDateFormat(f.to_string()));
    }
    let sample = chrono::NaiveDate::from_ymd_opt(2000, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .expect("valid date");
    let mut s = String::new();
    write!(s, "{}", sample.format_with_items(items))
        .map_err(|_| TemplateError::TimeZoneInDate(f.to_string()))
}

impl fmt::Debug for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.source)
    }
}

impl Serialize for Template {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.source)
    }
}

impl<'de> Deserialize<'de> for Template {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Template::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct Map(HashMap<&'static str, &'static str>);
    impl Fields for Map {
        fn field(&self, name: &str, format: Option<&str>) -> Option<String> {
            let v = self.0.get(name)?;
            Some(match format {
                Some(f) => format!("{v}[{f}]"),
                None => v.to_string(),
            })
        }
    }

    fn fields() -> Map {
        Map(HashMap::from([
            ("stem", "IMG_1"),
            ("title", " "),
            ("date", "D"),
        ]))
    }

    #[test]
    fn fallbacks_take_first_non_empty() {
        let t = Template::parse("{title|stem}").unwrap();
        assert_eq!(t.render(&fields()), "IMG_1");
        let t = Template::parse("{description|'no | caption'}!").unwrap();
        assert_eq!(t.render(&fields()), "no | caption!");
        let t = Template::parse("{description}").unwrap();
        assert_eq!(t.render(&fields()), "");
    }

    #[test]
    fn formats_and_escapes() {
        let t = Template::parse("{{{date:%Y/%m}}}/{stem}").unwrap();
        assert_eq!(t.render(&fields()), "{D[%Y/%m]}/IMG_1");
    }

    #[test]
    fn rejects_mistakes() {
        assert!(
            Template::parse("{titel}")
                .unwrap_err()
                .to_string()
                .contains("unknown field")
        );
        assert!(Template::parse("{title").is_err());
        assert!(Template::parse("a}").is_err());
        assert!(Template::parse("{}").is_err());
        assert!(Template::parse("{stem:%Y}").is_err());
        assert!(Template::parse("{date:%Q}").is_err());
        assert!(Template::parse("{date:%z}").is_err());
    }
}
