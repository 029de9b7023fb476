//! Google Takeout's JSON beside each photo: its name, found with every quirk Takeout
//! has, and what it says (description, date taken, place; a title when it is more
//! than the file's name).
//!
//! Takeout names the JSON of `IMG_1.jpg` `IMG_1.jpg.json`, or since 2024
//! `IMG_1.jpg.supplemental-metadata.json`; it cuts long names (the JSON's name is
//! at most 51 characters), moves the `(1)` of a second copy to the end
//! (`IMG_1.jpg(1).json` for `IMG_1(1).jpg`), and gives an edited copy
//! (`IMG_1-edited.jpg`) no JSON of its own. Older exports used `IMG_1.json`.

use chrono::{FixedOffset, NaiveDateTime};
use serde_json::Value;

use crate::media::metadata::{DateTaken, Source, meaningful};

/// A JSON file's name as Takeout matching sees it: lower case, without `.json` and
/// without a trailing `(n)`, which is kept apart.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct JsonKey {
    pub stem: String,
    pub number: Option<u32>,
}

impl JsonKey {
    /// The key of a JSON file named `lower` (lower case).
    pub fn of(lower: &str) -> JsonKey {
        let stem = lower.strip_suffix(".json").unwrap_or(lower);
        let (stem, number) = split_number(stem);
        JsonKey {
            stem: stem.to_string(),
            number,
        }
    }
}

/// `name(3)` → (`name`, 3).
fn split_number(s: &str) -> (&str, Option<u32>) {
    if let Some(inner) = s.strip_suffix(')')
        && let Some(open) = inner.rfind('(')
        && let Ok(n) = inner[open + 1..].parse::<u32>()
    {
        return (&inner[..open], Some(n));
    }
    (s, None)
}

/// What Google Photos appends to the name of an edited copy, in the languages of
/// most exports; the copy shares the original's JSON.
const EDITED: &[&str] = &[
    "-edited",
    "-bearbeitet",
    "-modifié",
    "-editado",
    "-modificato",
    "-bewerkt",
];

/// The longest and shortest names Takeout cuts a JSON's name to, without `.json`.
const CUT: std::ops::RangeInclusive<usize> = 40..=51;

const SUPPLEMENTAL: &str = ".supplemental-metadata";

/// How many long names cut to the same characters are told apart by their JSON's title.
const COPIES: u32 = 3;

/// How sure a name match is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    /// The photo's whole name (or its original's, for an edited copy): no other photo's.
    Whole,
    /// A name cut short, or the old `stem.json`: another photo of the folder may share
    /// it, so the JSON's own `title` (the photo's name) must agree.
    Loose,
}

/// The keys the JSON of the photo named `lower` may have, most likely first.
pub fn candidates(lower: &str) -> Vec<(JsonKey, Match)> {
    let mut names = vec![lower.to_string()];
    if let Some(original) = unedited(lower) {
        names.push(original);
    }
    let mut out = Vec::new();
    for name in &names {
        let (stem, ext) = match name.rfind('.') {
            Some(dot) => name.split_at(dot),
            None => (name.as_str(), ""),
        };
        let (base, number) = split_number(stem);
        // The `(n)` moved to the end of the JSON's name, or left where it was.
        let mut forms = vec![(format!("{base}{ext}"), base, number)];
        if number.is_some() {
            forms.push((name.clone(), stem, None));
        }
        for (full, own_stem, number) in forms {
            let long = format!("{full}{SUPPLEMENTAL}");
            let key = |stem: &str, m: Match| {
                (
                    JsonKey {
                        stem: stem.to_string(),
                        number,
                    },
                    m,
                )
            };
            out.push(key(&long, Match::Whole));
            out.push(key(&full, Match::Whole));
            let cuts: Vec<usize> = long
                .char_indices()
                .map(|(i, _)| i)
                .enumerate()
                .filter(|(chars, _)| CUT.contains(chars))
                .map(|(_, byte)| byte)
                .collect();
            out.extend(
                cuts.iter()
                    .rev()
                    .map(|&byte| key(&long[..byte], Match::Loose)),
            );
            // Two long names cut to the same characters: Takeout numbers the later
            // JSONs `(1)`, `(2)`…; their titles tell which is whose.
            if number.is_none() {
                for n in 1..=COPIES {
                    out.extend(cuts.iter().rev().map(|&byte| {
                        let stem = long[..byte].to_string();
                        (
                            JsonKey {
                                stem,
                                number: Some(n),
                            },
                            Match::Loose,
                        )
                    }));
                }
            }
            out.push(key(own_stem, Match::Loose));
        }
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|(k, _)| seen.insert(k.clone()));
    out
}

/// How well a JSON's `title` (the name Google Photos knew the photo by) fits the photo
/// named `lower`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fit {
    No,
    /// The whole name of which the file's, a long one, may be a cut.
    Cut,
    /// The same name, its original's (an edited copy), the name without its `(n)`, or
    /// a title that is no file name and says nothing against it.
    Yes,
}

pub fn title_fits(title: Option<&str>, lower: &str) -> Fit {
    let Some(title) = title.map(str::to_lowercase) else {
        return Fit::Yes;
    };
    if !crate::media::has_media_extension(std::path::Path::new(&title)) {
        return Fit::Yes;
    }
    let original = unedited(lower).unwrap_or_else(|| lower.to_string());
    let (stem, ext) = original.rsplit_once('.').unwrap_or((&original, ""));
    let unnumbered = format!("{}.{ext}", split_number(stem).0);
    if title == lower || title == original || title == unnumbered {
        Fit::Yes
    } else if stem.chars().count() >= 30 && title.starts_with(stem) {
        Fit::Cut
    } else {
        Fit::No
    }
}

/// `img_1-edited.jpg` → `img_1.jpg`.
fn unedited(lower: &str) -> Option<String> {
    let (stem, ext) = lower.rsplit_once('.').unwrap_or((lower, ""));
    let original = EDITED.iter().find_map(|e| stem.strip_suffix(e))?;
    Some(if ext.is_empty() {
        original.to_string()
    } else {
        format!("{original}.{ext}")
    })
}

/// Whether a JSON file (lower-case name) is named as Takeout names a photo's JSON,
/// even when its photo is not beside it.
pub fn looks_like_takeout(lower: &str) -> bool {
    let key = JsonKey::of(lower);
    key.stem.contains(".supplemental")
        || crate::media::has_media_extension(std::path::Path::new(&key.stem))
}

/// A place on Earth, in degrees and metres.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Place {
    pub latitude: f64,
    pub longitude: f64,
    pub altitude: Option<f64>,
}

/// What a Takeout JSON says of its photo.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Takeout {
    /// The `title` as written: the name Google Photos knew the photo by, most often.
    pub named: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub taken: Option<DateTaken>,
    pub place: Option<Place>,
}

/// Why a JSON beside a photo could not be used.
#[derive(Debug, thiserror::Error)]
#[error("not Takeout JSON: {0}")]
pub struct NotTakeout(String);

/// Reads the Takeout JSON of the photo named `photo`. Google writes the photo's file
/// name as its `title`; that is no title of the photographer's, so it is left out.
pub fn parse(bytes: &[u8], photo: &str) -> Result<Takeout, NotTakeout> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| NotTakeout(e.to_string()))?;
    if !v.is_object() {
        return Err(NotTakeout("not an object".into()));
    }
    let text = |k: &str| meaningful(v.get(k).and_then(Value::as_str).map(str::to_string));
    let named = text("title");
    Ok(Takeout {
        title: named.clone().filter(|t| !is_file_name(t, photo)),
        named,
        description: text("description"),
        // `creationTime` is when the photo reached Google, not when it was taken.
        taken: v.get("photoTakenTime").and_then(timestamp),
        place: ["geoData", "geoDataExif"]
            .iter()
            .find_map(|k| v.get(*k).and_then(place)),
    })
}

/// A title that is only a file name: the photo's own, or any `name.ext` of a photo.
fn is_file_name(title: &str, photo: &str) -> bool {
    title.eq_ignore_ascii_case(photo)
        || (!title.contains(char::is_whitespace)
            && crate::media::has_media_extension(std::path::Path::new(title)))
}

/// `{"timestamp": "1562247012", ...}`: seconds since 1970, UTC.
fn timestamp(v: &Value) -> Option<DateTaken> {
    let t = v.get("timestamp")?;
    let secs = t
        .as_i64()
        .or_else(|| t.as_str().and_then(|s| s.trim().parse().ok()))?;
    // 0 is Takeout's "unknown"; the far past and future are placeholders too.
    let utc = chrono::DateTime::from_timestamp(secs, 0).filter(|_| secs > 0)?;
    let local: NaiveDateTime = utc.naive_utc();
    (1800..=2200)
        .contains(&chrono::Datelike::year(&local))
        .then(|| DateTaken {
            local,
            offset: FixedOffset::east_opt(0),
            source: Source::Takeout,
        })
}

/// `{"latitude": 48.85, "longitude": 2.35, "altitude": 35.0}`; 0, 0 is Takeout's "none".
fn place(v: &Value) -> Option<Place> {
    let latitude = v.get("latitude")?.as_f64()?;
    let longitude = v.get("longitude")?.as_f64()?;
    let known = (latitude != 0.0 || longitude != 0.0)
        && (-90.0..=90.0).contains(&latitude)
        && (-180.0..=180.0).contains(&longitude);
    known.then(|| Place {
        latitude,
        longitude,
        altitude: v.get("altitude").and_then(Value::as_f64),
    })
}

/// The title of a Takeout album folder, from its `metadata.json`; a JSON with a date
/// taken is a photo's, not an album's.
pub fn album_title(bytes: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(bytes).ok()?;
    if v.get("photoTakenTime").is_some() {
        return None;
    }
    let title = v
        .get("title")
        .or_else(|| v.get("albumData").and_then(|a| a.get("title")))?;
    meaningful(title.as_str().map(str::to_string))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finds(photo: &str, json: &str) -> bool {
        let key = JsonKey::of(&json.to_lowercase());
        candidates(&photo.to_lowercase())
            .iter()
            .any(|(k, _)| *k == key)
    }

    #[test]
    fn every_naming_quirk_of_takeout_is_matched() {
        assert!(finds("IMG_1234.jpg", "IMG_1234.jpg.json"));
        assert!(finds(
            "IMG_1234.jpg",
            "IMG_1234.jpg.supplemental-metadata.json"
        ));
        assert!(finds("IMG_1234.JPG", "img_1234.jpg.json"));
        assert!(finds("IMG_1234(1).jpg", "IMG_1234.jpg(1).json"));
        assert!(finds(
            "IMG_1234(1).jpg",
            "IMG_1234.jpg.supplemental-metadata(1).json"
        ));
        assert!(finds("IMG_1234(1).jpg", "IMG_1234(1).jpg.json"));
        assert!(finds("IMG_1234-edited.jpg", "IMG_1234.jpg.json"));
        assert!(finds("IMG_1234-bearbeitet.jpg", "IMG_1234.jpg.json"));
        assert!(finds("IMG_1234.jpg", "IMG_1234.json"));
        // Cut at 46 and at 51 characters before `.json`.
        let long = "PXL_20230704_153012345.NIGHT.PORTRAIT-01.COVER.jpg";
        let full = format!("{long}.supplemental-metadata");
        for cut in [46, 51] {
            assert!(finds(long, &format!("{}.json", &full[..cut])), "{cut}");
        }
        assert!(finds(
            "PXL_20210101_101010123.jpg",
            "PXL_20210101_101010123.jpg.supplemental-met.json"
        ));
        // Not the JSON of another photo, nor of another copy.
        assert!(!finds("IMG_1234.jpg", "IMG_1235.jpg.json"));
        assert!(!finds("IMG_1234.jpg", "IMG_1234.jpg(1).json"));
        assert!(!finds("IMG_1234(1).jpg", "IMG_1234.jpg.json"));
        assert!(
            !finds("IMG_1234(1).jpg", "IMG_1234.json"),
            "the old style of the original"
        );
        assert!(finds("IMG_1234(1).jpg", "IMG_1234(1).json"));
    }

    #[test]
    fn a_loose_match_must_agree_with_the_jsons_title() {
        let long = "pxl_20230704_153012345.night.portrait-01.cover";
        let fit = |t: &str, p: &str| title_fits(Some(t), p);
        assert_eq!(
            fit(&format!("{long}.jpg"), &format!("{long}.jpg")),
            Fit::Yes
        );
        assert_eq!(
            fit(&format!("{long}~2.jpg"), &format!("{long}.jpg")),
            Fit::Cut
        );
        assert_eq!(fit("IMG_1.jpg", "img_1(1).jpg"), Fit::Yes);
        assert_eq!(fit("IMG_1.jpg", "img_1-edited.jpg"), Fit::Yes);
        assert_eq!(fit("Lake at night", "img_1.jpg"), Fit::Yes);
        assert_eq!(title_fits(None, "img_1.jpg"), Fit::Yes);
        assert_eq!(fit("IMG_2.jpg", "img_1.jpg"), Fit::No);
        assert_eq!(fit("IMG_10.jpg", "img_1.jpg"), Fit::No);
        // Google cut the file's name, not the title.
        let whole = "holiday_in_the_mountains_with_the_family_day_one.jpg";
        assert_eq!(
            fit(whole, "holiday_in_the_mountains_with_the_f.jpg"),
            Fit::Cut
        );
    }

    #[test]
    fn the_json_says_description_date_and_place_and_a_file_name_is_no_title() {
        let json = br#"{"title": "IMG_1234.jpg", "description": "Fireworks over the lake",
            "photoTakenTime": {"timestamp": "1562247012", "formatted": "Jul 4, 2019, 1:30:12 PM UTC"},
            "geoData": {"latitude": 46.2, "longitude": 6.15, "altitude": 372.0},
            "geoDataExif": {"latitude": 0.0, "longitude": 0.0}}"#;
        let t = parse(json, "IMG_1234.jpg").unwrap();
        assert_eq!(t.title, None);
        assert_eq!(t.description.as_deref(), Some("Fireworks over the lake"));
        assert_eq!(t.taken.unwrap().iso8601(), "2019-07-04T13:30:12+00:00");
        assert_eq!(t.place.unwrap().latitude, 46.2);
        let titled = parse(
            br#"{"title": "Lake at night", "geoData": {"latitude": 0.0, "longitude": 0.0},
            "photoTakenTime": {"timestamp": "0"}}"#,
            "IMG_1234.jpg",
        )
        .unwrap();
        assert_eq!(titled.title.as_deref(), Some("Lake at night"));
        assert_eq!((titled.taken, titled.place), (None, None));
        assert!(parse(b"[1, 2]", "a.jpg").is_err());
        assert!(parse(b"{\"title\": ", "a.jpg").is_err());
    }

    #[test]
    fn album_titles() {
        assert_eq!(
            album_title(br#"{"title": "Summer in Lyon", "description": ""}"#).as_deref(),
            Some("Summer in Lyon")
        );
        assert_eq!(
            album_title(br#"{"albumData": {"title": "Old style"}}"#).as_deref(),
            Some("Old style")
        );
        assert_eq!(album_title(b"{}"), None);
    }
}
