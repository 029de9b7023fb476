//! The value types of the pipeline file. Each checks itself while it is read, so a
//! bad value is reported at its own line and column, in words.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One value of the pipeline file as YAML read it, before a value type makes sense of
/// it. Strings have their `${NAME}` parts replaced already, so any value may read the
/// environment.
#[derive(Debug, Clone, PartialEq)]
enum Scalar {
    Bool(bool),
    Int(i128),
    Float(f64),
    Text(String),
    Nothing,
    List,
    Mapping,
}

impl Scalar {
    /// The value as an error shows it: `` `high` ``, nothing, a list.
    fn shown(&self) -> String {
        match self.text() {
            Some(t) => format!("`{t}`"),
            None if *self == Scalar::List => "a list".into(),
            None if *self == Scalar::Mapping => "a mapping".into(),
            None => "nothing".into(),
        }
    }

    /// The text of a scalar, for the types that read text (names, durations, sizes).
    fn text(&self) -> Option<String> {
        match self {
            Scalar::Bool(b) => Some(b.to_string()),
            Scalar::Int(i) => Some(i.to_string()),
            Scalar::Float(f) => Some(f.to_string()),
            Scalar::Text(t) => Some(t.clone()),
            Scalar::Nothing | Scalar::List | Scalar::Mapping => None,
        }
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a value")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar::Bool(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar::Int(v.into()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar::Int(v.into()))
            }
            fn visit_i128<E: de::Error>(self, v: i128) -> Result<Scalar, E> {
                Ok(Scalar::Int(v))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar::Float(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                interpolate_env(v, |name| std::env::var(name).ok())
                    .map(Scalar::Text)
                    .map_err(E::custom)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Scalar, E> {
                Ok(Scalar::Nothing)
            }
            fn visit_none<E: de::Error>(self) -> Result<Scalar, E> {
                Ok(Scalar::Nothing)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Scalar, D::Error> {
                Scalar::deserialize(d)
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Scalar, A::Error> {
                while seq.next_element::<de::IgnoredAny>()?.is_some() {}
                Ok(Scalar::List)
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Scalar, A::Error> {
                while map
                    .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(Scalar::Mapping)
            }
        }
        d.deserialize_any(V)
    }
}

/// A value that is not what its key takes, in the words the user reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("expected a whole number from {lo} to {hi}, got {got}")]
    WholeNumber { lo: i64, hi: i64, got: String },
    #[error("expected true or false, got {got}")]
    TrueOrFalse { got: String },
    #[error("expected a number of uploads per second (0 for no limit), got {got}")]
    Rate { got: String },
    #[error("expected the pipeline version 1, got {got}")]
    NotAVersion { got: String },
    #[error("unsupported pipeline version {0} (this pixpipe reads version 1)")]
    UnsupportedVersion(i64),
    #[error("expected {what}, got {got}")]
    Expected { what: &'static str, got: String },
}

/// A whole number in `lo ..= hi`, written as a number or a string of digits.
fn whole_number<'de, D: Deserializer<'de>>(d: D, lo: i64, hi: i64) -> Result<i64, D::Error> {
    let s = Scalar::deserialize(d)?;
    let v = match &s {
        Scalar::Int(i) => Some(*i),
        Scalar::Float(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e18 => Some(*f as i128),
        Scalar::Text(t) => t.trim().parse::<i128>().ok(),
        _ => None,
    };
    match v {
        Some(v) if (i128::from(lo)..=i128::from(hi)).contains(&v) => Ok(v as i64),
        _ => Err(de::Error::custom(ValueError::WholeNumber {
            lo,
            hi,
            got: s.shown(),
        })),
    }
}

/// `true` or `false` (YAML's `yes`, `no`, `on` and `off` too), for `deserialize_with`.
pub fn true_or_false<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    let s = Scalar::deserialize(d)?;
    let word = |t: &str| match t.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "y" | "on" => Some(true),
        "false" | "no" | "n" | "off" => Some(false),
        _ => None,
    };
    match &s {
        Scalar::Bool(b) => Ok(*b),
        Scalar::Text(t) if word(t).is_some() => Ok(word(t).unwrap_or_default()),
        _ => Err(de::Error::custom(ValueError::TrueOrFalse {
            got: s.shown(),
        })),
    }
}

/// Whole-number value types: each takes `lo ..= hi` and says so in words otherwise.
macro_rules! whole_number {
    ($($(#[$doc:meta])* $name:ident($inner:ty) in $lo:literal ..= $hi:expr;)+) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
        pub struct $name(pub $inner);

        impl $name {
            /// The smallest and largest values taken.
            pub const RANGE: (i64, i64) = ($lo, $hi as i64);
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let (lo, hi) = $name::RANGE;
                whole_number(d, lo, hi).map(|v| $name(v as $inner))
            }
        }
    )+};
}

whole_number! {
    /// A resize width: 1 ..= 65535 pixels.
    Width(u32) in 1 ..= 65535;
    /// A JPEG quality, 1 ..= 100.
    Quality(u8) in 1 ..= 100;
    /// Worker threads: 1 ..= 1024.
    Jobs(usize) in 1 ..= 1024;
    /// The largest image decoded, in millions of pixels.
    Megapixels(u32) in 1 ..= 100_000;
    /// Upload requests in flight at once.
    Concurrency(u16) in 1 ..= 1024;
    /// Ledger rows committed together.
    BatchSize(u16) in 1 ..= 65535;
    /// Extra attempts after a transient failure.
    Retries(u32) in 0 ..= 100;
    /// A Chevereto category id.
    CategoryId(u32) in 1 ..= u32::MAX;
}

/// The schema version, accepted only when it is one this build understands.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Version(pub u32);

impl<'de> Deserialize<'de> for Version {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Scalar::deserialize(d)?;
        let v = match &s {
            Scalar::Int(i) => i64::try_from(*i).ok(),
            Scalar::Text(t) => t.trim().parse().ok(),
            _ => None,
        };
        match v {
            Some(1) => Ok(Version(1)),
            Some(v) => Err(de::Error::custom(ValueError::UnsupportedVersion(v))),
            None => Err(de::Error::custom(ValueError::NotAVersion {
                got: s.shown(),
            })),
        }
    }
}

/// Uploads per second at most; 0 (or absent) is no limit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Rate(pub f64);

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Scalar::deserialize(d)?;
        let v = match &s {
            Scalar::Int(i) => Some(*i as f64),
            Scalar::Float(f) => Some(*f),
            Scalar::Text(t) => t.trim().parse::<f64>().ok(),
            _ => None,
        };
        match v {
            Some(v) if v.is_finite() && v >= 0.0 => Ok(Rate(v)),
            _ => Err(de::Error::custom(ValueError::Rate { got: s.shown() })),
        }
    }
}

/// The resampling filter, from fastest to sharpest.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Filter {
    Nearest,
    Box,
    Bilinear,
    Hamming,
    CatmullRom,
    Mitchell,
    Gaussian,
    #[default]
    Lanczos3,
}

/// Whether JPEGs may be shrunk by the decoder (much faster, visually the same).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DecodeMode {
    #[default]
    Scaled,
    Full,
}

/// Enums whose one spelling is their serde name: the pipeline file, the command line,
/// the JSON and the tables all say `catmull-rom`, never `CatmullRom`.
macro_rules! named {
    ($ty:ident { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];
            pub const NAMES: &'static [&'static str] = &[$($name),+];

            /// The name as the pipeline file and the command line spell it.
            pub fn name(self) -> &'static str {
                match self { $($ty::$variant => $name),+ }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }

        impl FromStr for $ty {
            type Err = UnknownName;
            fn from_str(s: &str) -> Result<Self, UnknownName> {
                $ty::ALL.iter().copied().find(|v| v.name() == s).ok_or_else(|| UnknownName {
                    got: format!("`{s}`"),
                    known: $ty::NAMES.join(", "),
                    suggestion: closest(s, $ty::NAMES.iter().copied()),
                })
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = Scalar::deserialize(d)?;
                match s.text() {
                    Some(t) => t.trim().parse().map_err(de::Error::custom),
                    None => Err(de::Error::custom(UnknownName {
                        got: s.shown(),
                        known: $ty::NAMES.join(", "),
                        suggestion: None,
                    })),
                }
            }
        }
    };
}

/// A name that is none of an enum's spellings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected one of {known}, got {got}{}", did_you_mean(.suggestion.as_deref()))]
pub struct UnknownName {
    /// What was written, as shown: `` `lanczos` ``.
    pub got: String,
    pub known: String,
    /// The spelling that was probably meant.
    pub suggestion: Option<&'static str>,
}

/// "; did you mean `x`?", or nothing.
pub fn did_you_mean(suggestion: Option<&str>) -> String {
    suggestion.map_or(String::new(), |s| format!("; did you mean `{s}`?"))
}

/// The known name closest to `given`, when it is close enough to be a slip of the
/// fingers: at most two edits away, and fewer edits than `given` has letters.
pub fn closest<'a>(given: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let letters = given.chars().count();
    known
        .into_iter()
        .map(|k| (strsim::levenshtein(given, k), k))
        .filter(|&(d, _)| d <= 2 && d < letters)
        .min_by_key(|&(d, _)| d)
        .map(|(_, k)| k)
}

named!(Filter {
    Nearest => "nearest",
    Box => "box",
    Bilinear => "bilinear",
    Hamming => "hamming",
    CatmullRom => "catmull-rom",
    Mitchell => "mitchell",
    Gaussian => "gaussian",
    Lanczos3 => "lanczos3",
});

named!(DecodeMode {
    Scaled => "scaled",
    Full => "full",
});

named!(OutputFormat {
    Jpeg => "jpeg",
    Png => "png",
    Webp => "webp",
    Keep => "keep",
});

named!(Auth {
    Header => "header",
    Field => "field",
});

named!(SourceMode {
    File => "file",
    Base64 => "base64",
});

named!(AnswerFormat {
    Json => "json",
    Txt => "txt",
    Redirect => "redirect",
});

/// The output format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OutputFormat {
    #[default]
    Jpeg,
    Png,
    Webp,
    /// The source's own format (JPEG, PNG or WebP; others become JPEG).
    Keep,
}

/// An sRGB colour written `#rrggbb`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(pub [u8; 3]);

impl Default for Rgb {
    fn default() -> Self {
        Rgb([255, 255, 255])
    }
}

impl Rgb {
    fn parse(s: &str) -> Option<Rgb> {
        let hex = s.strip_prefix('#')?;
        if hex.len() != 6 || !hex.is_ascii() {
            return None;
        }
        let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
        Some(Rgb([byte(0)?, byte(2)?, byte(4)?]))
    }
}

impl<'de> Deserialize<'de> for Rgb {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Scalar::deserialize(d)?;
        s.text().and_then(|t| Rgb::parse(t.trim())).ok_or_else(|| {
            de::Error::custom(ValueError::Expected {
                what: "a colour like \"#ffffff\"",
                got: s.shown(),
            })
        })
    }
}

impl Serialize for Rgb {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let [r, g, b] = self.0;
        s.serialize_str(&format!("#{r:02x}{g:02x}{b:02x}"))
    }
}

/// A length of time: `30s`, `2m`, `1h30m`, `250ms`, `1.5h`, or a bare number of
/// seconds (`90`, `0.5`). More than 0 and at most a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct TimeSpan(pub Duration);

/// A length of time that cannot be read, or is out of range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeSpanError {
    #[error("expected a duration like 30s, 2m, 1h30m or a number of seconds, got {0}")]
    NotADuration(String),
    #[error("expected a duration above 0 and at most 24h, got {0}")]
    OutOfRange(String),
}

impl TimeSpan {
    /// The longest time span taken: a day.
    pub const MAX: Duration = Duration::from_secs(86_400);

    /// Reads `30s`, `2m`, `1h30m`, `1h 30m 10s`, `250ms`, `1.5h` or bare seconds (`90`, `0.5`).
    /// Units are h, m, s and ms, each at most once, largest first.
    pub fn parse(text: &str) -> Result<TimeSpan, TimeSpanError> {
        let shown = || format!("`{text}`");
        let t = text.trim();
        let nanos = if let Some(n) = decimal_scaled(t, 1_000_000_000) {
            n
        } else {
            const UNITS: [(&str, u128); 4] = [
                ("h", 3_600_000_000_000),
                ("m", 60_000_000_000),
                ("s", 1_000_000_000),
                ("ms", 1_000_000),
            ];
            let mut rest = t;
            let mut total: u128 = 0;
            let mut next_unit = 0; // units must come largest first, each once
            if rest.is_empty() {
                return Err(TimeSpanError::NotADuration(shown()));
            }
            while !rest.is_empty() {
                let num_end = rest
                    .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                    .ok_or_else(|| TimeSpanError::NotADuration(shown()))?;
                let (number, after) = rest.split_at(num_end);
                let after = after.trim_start();
                let unit_end = after
                    .find(|c: char| !c.is_ascii_alphabetic())
                    .unwrap_or(after.len());
                let (unit, after) = after.split_at(unit_end);
                let i = UNITS[next_unit..]
                    .iter()
                    .position(|(u, _)| *u == unit)
                    .map(|i| i + next_unit)
                    .ok_or_else(|| TimeSpanError::NotADuration(shown()))?;
                next_unit = i + 1;
                let part = decimal_scaled(number, UNITS[i].1)
                    .ok_or_else(|| TimeSpanError::NotADuration(shown()))?;
                total = total.saturating_add(part);
                rest = after.trim_start();
            }
            total
        };
        if nanos == 0 || nanos > Self::MAX.as_nanos() {
            return Err(TimeSpanError::OutOfRange(shown()));
        }
        let secs = (nanos / 1_000_000_000) as u64;
        Ok(TimeSpan(Duration::new(
            secs,
            (nanos % 1_000_000_000) as u32,
        )))
    }
}

/// A decimal number (`12`, `1.5`, no sign, no exponent) times `unit`, exactly, in whole
/// units of the result (fractions below one are dropped).
fn decimal_scaled(number: &str, unit: u128) -> Option<u128> {
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    let digits = |d: &str| d.chars().all(|c| c.is_ascii_digit());
    if int.is_empty() || !digits(int) || !digits(frac) || int.len() > 20 || frac.len() > 18 {
        return None;
    }
    let whole = int.parse::<u128>().ok()?.checked_mul(unit)?;
    let part = if frac.is_empty() {
        0
    } else {
        frac.parse::<u128>().ok()?.checked_mul(unit)? / 10u128.pow(frac.len() as u32)
    };
    whole.checked_add(part)
}

impl fmt::Display for TimeSpan {
    /// The shortest exact spelling: `1h30m`, `2m`, `45s`, `1.5s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        if d.subsec_nanos() != 0 {
            return write!(f, "{}s", d.as_secs_f64());
        }
        let (h, m, s) = (d.as_secs() / 3600, d.as_secs() / 60 % 60, d.as_secs() % 60);
        for (n, unit) in [(h, "h"), (m, "m"), (s, "s")] {
            if n > 0 {
                write!(f, "{n}{unit}")?;
            }
        }
        Ok(())
    }
}

impl Serialize for TimeSpan {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for TimeSpan {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Scalar::deserialize(d)?;
        match s.text() {
            Some(t) => TimeSpan::parse(&t).map_err(de::Error::custom),
            None => Err(de::Error::custom(TimeSpanError::NotADuration(s.shown()))),
        }
    }
}

/// A size in bytes: `10MiB`, `512KiB`, `2GiB`, `1.5MiB`, `800kB`, `100B`, or a bare number
/// of MiB (the unit `limits.max_file_mib` always took). At least one byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ByteSize(pub u64);

/// A size that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SizeError {
    #[error("expected a size like 10MiB, 512KiB, 2GiB or a number of MiB, got {0}")]
    NotASize(String),
    #[error("expected a size of at least 1 byte, got {0}")]
    Zero(String),
}

impl ByteSize {
    pub const MIB: u64 = 1 << 20;

    /// Reads a size; units are case-insensitive: B, KiB, MiB, GiB, TiB (powers of 1024) and
    /// kB, MB, GB, TB (powers of 1000). A bare number is MiB.
    pub fn parse(text: &str) -> Result<ByteSize, SizeError> {
        let shown = || format!("`{text}`");
        let t = text.trim();
        let split = t
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(t.len());
        let (number, unit) = t.split_at(split);
        let unit: u64 = match unit.trim().to_ascii_lowercase().as_str() {
            "" => Self::MIB,
            "b" => 1,
            "kib" => 1 << 10,
            "mib" => 1 << 20,
            "gib" => 1 << 30,
            "tib" => 1 << 40,
            "kb" => 1_000,
            "mb" => 1_000_000,
            "gb" => 1_000_000_000,
            "tb" => 1_000_000_000_000,
            _ => return Err(SizeError::NotASize(shown())),
        };
        let bytes = decimal_scaled(number, u128::from(unit))
            .and_then(|b| u64::try_from(b).ok())
            .ok_or_else(|| SizeError::NotASize(shown()))?;
        if bytes == 0 {
            return Err(SizeError::Zero(shown()));
        }
        Ok(ByteSize(bytes))
    }

    pub fn bytes(self) -> u64 {
        self.0
    }
}

impl fmt::Display for ByteSize {
    /// The largest binary unit that holds the size exactly: `1GiB`, `1536KiB`, `100B`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let units = [
            (1u64 << 40, "TiB"),
            (1 << 30, "GiB"),
            (1 << 20, "MiB"),
            (1 << 10, "KiB"),
        ];
        match units.iter().find(|(u, _)| self.0.is_multiple_of(*u)) {
            Some((u, name)) => write!(f, "{}{name}", self.0 / u),
            None => write!(f, "{}B", self.0),
        }
    }
}

impl Serialize for ByteSize {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Scalar::deserialize(d)?;
        match s.text() {
            Some(t) => ByteSize::parse(&t).map_err(de::Error::custom),
            None => Err(de::Error::custom(SizeError::NotASize(s.shown()))),
        }
    }
}

/// Where the key goes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Auth {
    #[default]
    Header,
    Field,
}

/// How the file's bytes travel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceMode {
    #[default]
    File,
    Base64,
}

/// The `format` parameter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AnswerFormat {
    #[default]
    Json,
    Txt,
    Redirect,
}

/// An expiration the host will understand (it silently turns anything else into five minutes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Expiration(pub String);

impl<'de> Deserialize<'de> for Expiration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = match serde_json::Value::deserialize(d)? {
            serde_json::Value::String(s) => s,
            serde_json::Value::Number(n) => n.to_string(),
            other => {
                return Err(serde::de::Error::custom(format!(
                    "expiration must be a duration, not {other}"
                )));
            }
        };
        Expiration::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// An expiration the host would not take as meant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpirationError {
    #[error("expiration {0:?} is too large")]
    TooLarge(String),
    #[error(
        "expiration {0} s is outside the host's range of 300 s (5 minutes) to 31536000 s (1 year)"
    )]
    OutOfRange(u64),
    #[error(
        "expiration {0:?} is not seconds or an ISO-8601 duration like PT5M, PT1H, P3D, P1W, P1M, P1Y (the host would silently use 5 minutes)"
    )]
    NotADuration(String),
}

impl Expiration {
    /// Validates an expiration before sending: the server silently turns garbage
    /// into five minutes. Accepts seconds (`3600`) or the ISO-8601 durations the
    /// server knows (`PT5M`, `PT1H`, `P3D`, `P1W`, `P1M`, `P1Y`).
    pub fn parse(s: &str) -> Result<Expiration, ExpirationError> {
        let s = s.trim();
        if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) {
            let secs: u64 = s
                .parse()
                .map_err(|_| ExpirationError::TooLarge(s.to_string()))?;
            if !(300..=31_536_000).contains(&secs) {
                return Err(ExpirationError::OutOfRange(secs));
            }
            return Ok(Expiration(s.to_string()));
        }
        let digits = |d: &str| !d.is_empty() && d.chars().all(|c| c.is_ascii_digit());
        let valid = match s.strip_prefix("PT") {
            Some(n) => n.strip_suffix(['M', 'H']).is_some_and(digits),
            None => s
                .strip_prefix('P')
                .and_then(|n| n.strip_suffix(['D', 'W', 'M', 'Y']))
                .is_some_and(digits),
        };
        if valid {
            Ok(Expiration(s.to_string()))
        } else {
            Err(ExpirationError::NotADuration(s.to_string()))
        }
    }
}

/// The upload endpoint of a host: exactly `{base}/api/1/upload`, no query, no trailing
/// slash (either makes the server redirect and lose the body). Checked once, when the
/// plan is made, so nothing downstream checks it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadEndpoint(String);

/// A base URL that cannot carry uploads, or would carry the key in clear text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    #[error("target.chevereto.url must not have a query or fragment: {0}")]
    QueryOrFragment(String),
    #[error("target.chevereto.url must start with https:// : {0}")]
    NoScheme(String),
    #[error("target.chevereto.url has no host: {0}")]
    NoHost(String),
    #[error(
        "refusing to send the API key over plain http:// to {0}; use https:// or set target.chevereto.allow_insecure_http: true"
    )]
    InsecureHttp(String),
    #[error("target.chevereto.url: unsupported scheme {0}://")]
    Scheme(String),
}

impl UploadEndpoint {
    /// Plain `http://` is refused for hosts other than loopback unless `allow_insecure`
    /// is set, since the key would travel in clear text.
    pub fn new(base: &str, allow_insecure: bool) -> Result<UploadEndpoint, EndpointError> {
        let base = base.trim().trim_end_matches('/');
        if base.contains('?') || base.contains('#') {
            return Err(EndpointError::QueryOrFragment(base.to_string()));
        }
        let (scheme, rest) = base
            .split_once("://")
            .ok_or_else(|| EndpointError::NoScheme(base.to_string()))?;
        let host = rest
            .split('/')
            .next()
            .unwrap_or("")
            .rsplit('@')
            .next()
            .unwrap_or("");
        let hostname = if host.starts_with('[') {
            host.split(']').next().map(|h| &h[1..]).unwrap_or("")
        } else {
            host.split(':').next().unwrap_or("")
        };
        if hostname.is_empty() {
            return Err(EndpointError::NoHost(base.to_string()));
        }
        match scheme {
            "https" => {}
            "http" if allow_insecure || is_loopback(hostname) => {}
            "http" => return Err(EndpointError::InsecureHttp(hostname.to_string())),
            other => return Err(EndpointError::Scheme(other.to_string())),
        }
        Ok(UploadEndpoint(format!("{base}/api/1/upload")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The scheme, host and port, to make the host's relative answers absolute.
    pub fn origin(&self) -> &str {
        let base = self.0.trim_end_matches("/api/1/upload");
        let end = base
            .find("://")
            .map(|i| i + 3)
            .and_then(|i| base[i..].find('/').map(|j| i + j));
        end.map_or(base, |e| &base[..e])
    }
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host == "::1"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A string whose `${NAME}` parts are read from the environment when the file is loaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Text(pub String);

impl Text {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        interpolate_env(&raw, |name| std::env::var(name).ok())
            .map(Text)
            .map_err(serde::de::Error::custom)
    }
}

/// A secret string (the API key): never shown, logged or serialized.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: String) -> Secret {
        Secret(s)
    }
    /// The key's bytes, for the one place that must send them.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("***")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let Text(s) = Text::deserialize(d)?;
        if s.trim().is_empty() {
            return Err(serde::de::Error::custom("the API key is empty"));
        }
        Ok(Secret(s))
    }
}

/// A glob, compiled when the file is loaded so that a bad pattern is reported where it was written.
#[derive(Debug, Clone)]
pub struct Glob(pub globset::Glob);

impl<'de> Deserialize<'de> for Glob {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let Text(s) = Text::deserialize(d)?;
        globset::GlobBuilder::new(&s)
            .literal_separator(true)
            .build()
            .map(Glob)
            .map_err(|e| serde::de::Error::custom(format!("bad glob {s:?}: {}", e.kind())))
    }
}

impl Serialize for Glob {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.glob())
    }
}

/// A `${...}` that cannot be replaced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvError {
    #[error("unclosed \"${{\" in {0:?}")]
    Unclosed(String),
    #[error("bad environment variable name {0:?}")]
    BadName(String),
    #[error("environment variable {0} is not set")]
    NotSet(String),
}

/// Replaces `${NAME}` with the variable's value and `${NAME:-default}` with the value, or
/// with `default` when the variable is unset or empty; `$$` stands for a literal `$`.
pub fn interpolate_env(
    raw: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<String, EnvError> {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(body) = after.strip_prefix('{') {
            let end = body
                .find('}')
                .ok_or_else(|| EnvError::Unclosed(raw.to_string()))?;
            let (name, default) = match body[..end].split_once(":-") {
                Some((name, default)) => (name, Some(default)),
                None => (&body[..end], None),
            };
            let valid =
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                return Err(EnvError::BadName(name.to_string()));
            }
            let value = match (lookup(name), default) {
                (Some(v), Some(d)) if v.is_empty() => d.to_string(),
                (Some(v), _) => v,
                (None, Some(d)) => d.to_string(),
                (None, None) => return Err(EnvError::NotSet(name.to_string())),
            };
            out.push_str(&value);
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// Whether a value as written holds text of its own beyond `${NAME}` references: an API
/// key written out, or one given as a `${NAME:-default}` default.
pub fn has_literal_text(raw: &str) -> bool {
    let mut rest = raw.trim();
    while let Some(i) = rest.find("${") {
        if !rest[..i].trim().is_empty() {
            return true;
        }
        let Some(end) = rest[i..].find('}') else {
            return true;
        };
        let body = &rest[i + 2..i + end];
        if body
            .split_once(":-")
            .is_some_and(|(_, d)| !d.trim().is_empty())
        {
            return true;
        }
        rest = &rest[i + end + 1..];
    }
    !rest.trim().is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_is_exact_and_refuses_clear_text_keys() {
        assert_eq!(
            UploadEndpoint::new("https://img.example.invalid/", false)
                .unwrap()
                .as_str(),
            "https://img.example.invalid/api/1/upload"
        );
        assert_eq!(
            UploadEndpoint::new("http://127.0.0.1:8080", false)
                .unwrap()
                .as_str(),
            "http://127.0.0.1:8080/api/1/upload"
        );
        assert!(UploadEndpoint::new("http://localhost", false).is_ok());
        assert!(
            UploadEndpoint::new("http://img.example.invalid", false)
                .unwrap_err()
                .to_string()
                .contains("allow_insecure_http")
        );
        assert!(UploadEndpoint::new("http://img.example.invalid", true).is_ok());
        assert!(UploadEndpoint::new("https://img.example.invalid/?x=1", false).is_err());
        assert!(UploadEndpoint::new("ftp://img.example.invalid", false).is_err());
        assert!(UploadEndpoint::new("http://127.0.0.1.evil.invalid", false).is_err());
    }

    #[test]
    fn expiration_is_checked_before_sending() {
        for ok in ["PT5M", "PT1H", "P3D", "P1W", "P1M", "P1Y", "3600", "300"] {
            assert!(Expiration::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "5 minutes",
            "pt5m",
            "P",
            "PT",
            "P1H",
            "299",
            "99999999999",
            "",
            "P1.5D",
        ] {
            assert!(Expiration::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn time_spans_in_units_or_bare_seconds() {
        let secs = |t: &str| TimeSpan::parse(t).map(|s| s.0.as_secs_f64());
        assert_eq!(secs("30s"), Ok(30.0));
        assert_eq!(secs("2m"), Ok(120.0));
        assert_eq!(secs("1h30m"), Ok(5400.0));
        assert_eq!(secs("1h 30m 10s"), Ok(5410.0));
        assert_eq!(secs("250ms"), Ok(0.25));
        assert_eq!(secs("1.5h"), Ok(5400.0));
        assert_eq!(secs("120"), Ok(120.0));
        assert_eq!(secs("0.001"), Ok(0.001));
        assert_eq!(secs(" 45 s "), Ok(45.0));
        assert_eq!(secs("24h"), Ok(86_400.0));
        for bad in [
            "soon", "", "s", "1x", "30m1h", "1m1m", "-5s", "1e3", "1..5s", "h30",
        ] {
            assert_eq!(
                TimeSpan::parse(bad),
                Err(TimeSpanError::NotADuration(format!("`{bad}`"))),
                "{bad}"
            );
        }
        for out in ["0", "0s", "25h", "86401", "99999999999999999999h"] {
            assert!(
                matches!(TimeSpan::parse(out), Err(TimeSpanError::OutOfRange(_))),
                "{out}"
            );
        }
        assert_eq!(
            TimeSpan::parse("soon").unwrap_err().to_string(),
            "expected a duration like 30s, 2m, 1h30m or a number of seconds, got `soon`"
        );
    }

    #[test]
    fn time_spans_print_their_shortest_exact_spelling() {
        for (written, shown) in [
            ("5400", "1h30m"),
            ("2m", "2m"),
            ("90s", "1m30s"),
            ("1h0m5s", "1h5s"),
            ("0.5", "0.5s"),
            ("1500ms", "1.5s"),
        ] {
            let t = TimeSpan::parse(written).unwrap();
            assert_eq!(t.to_string(), shown, "{written}");
            assert_eq!(TimeSpan::parse(shown), Ok(t), "{shown} reads back");
        }
    }

    #[test]
    fn sizes_in_units_or_bare_mib() {
        let bytes = |t: &str| ByteSize::parse(t).map(ByteSize::bytes);
        assert_eq!(bytes("10MiB"), Ok(10 << 20));
        assert_eq!(bytes("512KiB"), Ok(512 << 10));
        assert_eq!(bytes("2GiB"), Ok(2 << 30));
        assert_eq!(bytes("1.5MiB"), Ok(3 << 19));
        assert_eq!(bytes("1024"), Ok(1 << 30));
        assert_eq!(bytes("0.5"), Ok(1 << 19));
        assert_eq!(bytes("10 mib"), Ok(10 << 20));
        assert_eq!(bytes("800kB"), Ok(800_000));
        assert_eq!(bytes("3MB"), Ok(3_000_000));
        assert_eq!(bytes("100B"), Ok(100));
        for bad in [
            "big",
            "",
            "MiB",
            "10 MiBs",
            "-1MiB",
            "1e3",
            "10PiB",
            "99999999999TiB",
        ] {
            assert_eq!(
                ByteSize::parse(bad),
                Err(SizeError::NotASize(format!("`{bad}`"))),
                "{bad}"
            );
        }
        assert!(matches!(ByteSize::parse("0"), Err(SizeError::Zero(_))));
        assert!(matches!(ByteSize::parse("0.1B"), Err(SizeError::Zero(_))));
        assert_eq!(
            ByteSize::parse("big").unwrap_err().to_string(),
            "expected a size like 10MiB, 512KiB, 2GiB or a number of MiB, got `big`"
        );
        for (written, shown) in [("1024", "1GiB"), ("1.5MiB", "1536KiB"), ("100B", "100B")] {
            let b = ByteSize::parse(written).unwrap();
            assert_eq!(b.to_string(), shown);
            assert_eq!(ByteSize::parse(shown), Ok(b));
        }
    }

    fn env(name: &str) -> Option<String> {
        match name {
            "SET" => Some("value".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn env_defaults_apply_when_unset_or_empty() {
        assert_eq!(interpolate_env("${UNSET:-d}", env).unwrap(), "d");
        assert_eq!(interpolate_env("${EMPTY:-d}", env).unwrap(), "d");
        assert_eq!(interpolate_env("${SET:-d}", env).unwrap(), "value");
        assert_eq!(interpolate_env("a/${UNSET:-}/b", env).unwrap(), "a//b");
        assert_eq!(
            interpolate_env("${UNSET:-30s} $$ ${SET}", env).unwrap(),
            "30s $ value"
        );
        assert_eq!(
            interpolate_env("${UNSET:-a:-b}", env).unwrap(),
            "a:-b",
            "the default runs to the closing brace"
        );
        assert_eq!(interpolate_env("${EMPTY}", env).unwrap(), "");
        assert_eq!(
            interpolate_env("${UNSET}", env),
            Err(EnvError::NotSet("UNSET".into()))
        );
        assert_eq!(
            interpolate_env("${:-d}", env),
            Err(EnvError::BadName(String::new()))
        );
        assert_eq!(
            interpolate_env("${UNSET-d}", env),
            Err(EnvError::BadName("UNSET-d".into()))
        );
        assert!(matches!(
            interpolate_env("${UNSET:-d", env),
            Err(EnvError::Unclosed(_))
        ));
    }

    #[test]
    fn literal_text_beyond_references() {
        assert!(!has_literal_text("${CHEVERETO_API_KEY}"));
        assert!(!has_literal_text("${A}${B}"));
        assert!(!has_literal_text("${A:-}"));
        assert!(has_literal_text("chv_key"));
        assert!(has_literal_text("${A:-chv_key}"));
        assert!(has_literal_text("chv_${A}"));
        assert!(has_literal_text("${A"));
    }

    #[test]
    fn names_suggest_the_close_spelling() {
        let e = "lanczos".parse::<Filter>().unwrap_err();
        assert_eq!(e.suggestion, Some("lanczos3"));
        assert_eq!(
            e.to_string(),
            "expected one of nearest, box, bilinear, hamming, catmull-rom, mitchell, gaussian, lanczos3, got `lanczos`; did you mean `lanczos3`?"
        );
        assert_eq!(
            "jpg".parse::<OutputFormat>().unwrap_err().suggestion,
            Some("jpeg")
        );
        assert_eq!("sharp".parse::<Filter>().unwrap_err().suggestion, None);
        assert_eq!(closest("qualty", ["format", "quality"]), Some("quality"));
        assert_eq!(closest("x", ["box"]), None, "too short to guess");
        assert_eq!(closest("colour", ["paths", "include"]), None);
    }
}
