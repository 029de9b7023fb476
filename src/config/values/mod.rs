//! The value types of the pipeline file. Each checks itself while it is read, so a
//! bad value is reported at its own line and column, in words.

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

mod db;
mod host;
mod names;
mod order;
mod text;
mod units;

pub use db::*;
pub use host::*;
pub use names::*;
pub use order::*;
pub use text::*;
pub use units::*;

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
        // A key written as a default must not be echoed by the error.
        let e = interpolate_env("${K:-chv_1_SECRETSECRET", env).unwrap_err();
        assert!(!e.to_string().contains("SECRET"), "{e}");
        assert!(e.to_string().contains("${K"), "{e}");
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
