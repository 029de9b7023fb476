//! Lengths of time and sizes, written with their units (`2m`, `1h30m`, `10MiB`).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::time::Duration;

use super::*;

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
