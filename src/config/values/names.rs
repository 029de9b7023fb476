//! The choices of the pipeline file (filters, decode modes, formats, …): each has one
//! spelling, its serde name, and a misspelt one gets "did you mean".

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize};

use super::*;

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

/// What becomes of camera RAW files (`input.raw`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RawPolicy {
    /// Skip a RAW whose JPEG or HEIC sibling is in the scan; deliver a lone one from its preview.
    #[default]
    Sibling,
    /// Deliver every RAW from its embedded preview, sibling or not.
    Preview,
    /// Skip every RAW.
    Skip,
}

/// What becomes of a Live Photo's short video beside its still (`input.live_photos`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LivePhotos {
    #[default]
    Skip,
    Keep,
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

named!(RawPolicy {
    Sibling => "sibling",
    Preview => "preview",
    Skip => "skip",
});

named!(LivePhotos {
    Skip => "skip",
    Keep => "keep",
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

named!(ImportLayout {
    Albums => "albums",
    Users => "users",
    Plain => "plain",
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

/// How the Bulk Importer's tree is laid out (the importer's `root` option).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ImportLayout {
    /// `ROOT/ALBUM/SUB…/photo`: every folder an album (guest albums on the host).
    #[default]
    Albums,
    /// `ROOT/USER/ALBUM/SUB…/photo`: albums of one user, created if missing.
    Users,
    /// `ROOT/…/photo`: no albums.
    Plain,
}
