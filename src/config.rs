//! The pipeline file: what the user declares, parsed and checked once.
//!
//! Every type here rejects unknown keys and validates its values while it is
//! deserialized, so that a mistake is reported with the file, line, column and
//! key where it was written instead of surfacing later as a strange result.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::template::Template;

/// The whole pipeline file, as written (`version: 1`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Pipeline {
    /// Schema version; only `1` exists.
    pub version: Version,
    #[serde(default)]
    pub input: Input,
    #[serde(default)]
    pub metadata: Metadata,
    #[serde(default)]
    pub resize: Resize,
    #[serde(default)]
    pub encode: Encode,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default)]
    pub ledger: Ledger,
    #[serde(default)]
    pub upload: Upload,
    pub target: Target,
    /// Worker threads for the CPU stages; the number of cores when absent.
    #[serde(default)]
    pub jobs: Option<Jobs>,
}

/// The schema version, accepted only when it is one this build understands.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Version(pub u32);

impl<'de> Deserialize<'de> for Version {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = u32::deserialize(d)?;
        if v == 1 {
            Ok(Version(v))
        } else {
            Err(serde::de::Error::custom(format!(
                "version: unsupported pipeline version {v} (this pixpipe reads version 1)"
            )))
        }
    }
}

/// Where files come from.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Input {
    /// Folders or single files; relative paths are taken from the pipeline file's folder.
    #[serde(default)]
    pub paths: Vec<Text>,
    /// Globs matched against each file's path relative to its root; all files when empty.
    #[serde(default)]
    pub include: Vec<Glob>,
    /// Globs that remove files (and whole folders) from the scan.
    #[serde(default)]
    pub exclude: Vec<Glob>,
    #[serde(default)]
    pub follow_symlinks: bool,
    /// Take dot-files and dot-folders too.
    #[serde(default)]
    pub hidden: bool,
    /// Remote images for the host to fetch itself (chevereto target only).
    #[serde(default)]
    pub urls: Vec<Text>,
}

/// How titles, descriptions and tags are made from each file's metadata.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Metadata {
    #[serde(default = "default_title")]
    pub title: Template,
    #[serde(default = "default_description")]
    pub description: Template,
    #[serde(default = "default_tags")]
    pub tags: Vec<Template>,
}

fn default_title() -> Template {
    Template::parse("{title|stem_title}").expect("built-in template")
}
fn default_description() -> Template {
    Template::parse("{description}").expect("built-in template")
}
fn default_tags() -> Vec<Template> {
    vec![Template::parse("{keywords}").expect("built-in template")]
}

impl Default for Metadata {
    fn default() -> Self {
        Metadata {
            title: default_title(),
            description: default_description(),
            tags: default_tags(),
        }
    }
}

/// The resize step.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Resize {
    /// Target width after orientation; images are kept as they are when absent.
    #[serde(default = "default_width")]
    pub width: Option<Width>,
    #[serde(default)]
    pub filter: Filter,
    /// Enlarge images narrower than `width` (off: they keep their size).
    #[serde(default)]
    pub upscale: bool,
    /// `scaled` lets the JPEG decoder shrink by 1/2, 1/4 or 1/8 while decoding.
    #[serde(default)]
    pub decode: DecodeMode,
}

fn default_width() -> Option<Width> {
    Some(Width(1600))
}

impl Default for Resize {
    fn default() -> Self {
        Resize {
            width: default_width(),
            filter: Filter::default(),
            upscale: false,
            decode: DecodeMode::default(),
        }
    }
}

/// A resize width: 1 ..= 65535 pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Width(pub u32);

impl<'de> Deserialize<'de> for Width {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = i64::deserialize(d)?;
        if (1..=65535).contains(&v) {
            Ok(Width(v as u32))
        } else {
            Err(serde::de::Error::custom(format!(
                "width must be between 1 and 65535 pixels, not {v}"
            )))
        }
    }
}

/// The resampling filter, from fastest to sharpest.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, clap::ValueEnum)]
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
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum DecodeMode {
    #[default]
    Scaled,
    Full,
}

/// The encode step.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Encode {
    #[serde(default)]
    pub format: OutputFormat,
    #[serde(default = "default_quality")]
    pub quality: Quality,
    /// Colour that transparent pixels are laid on when the output has no alpha.
    #[serde(default)]
    pub background: Rgb,
    /// Copy the source EXIF (without Orientation, thumbnail and maker notes).
    #[serde(default = "yes")]
    pub keep_exif: bool,
    /// Keep GPS position tags; off by default because they reveal where people live.
    #[serde(default)]
    pub keep_gps: bool,
    /// Copy the ICC colour profile, so wide-gamut photos keep their colours.
    #[serde(default = "yes")]
    pub keep_icc: bool,
}

fn yes() -> bool {
    true
}
fn default_quality() -> Quality {
    Quality(85)
}

impl Default for Encode {
    fn default() -> Self {
        Encode {
            format: OutputFormat::default(),
            quality: default_quality(),
            background: Rgb::default(),
            keep_exif: true,
            keep_gps: false,
            keep_icc: true,
        }
    }
}

/// The output format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OutputFormat {
    #[default]
    Jpeg,
    Png,
    Webp,
    /// The source's own format (JPEG, PNG or WebP; others become JPEG).
    Keep,
}

/// A JPEG quality, 1 ..= 100.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Quality(pub u8);

impl<'de> Deserialize<'de> for Quality {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = i64::deserialize(d)?;
        if (1..=100).contains(&v) {
            Ok(Quality(v as u8))
        } else {
            Err(serde::de::Error::custom(format!(
                "quality must be between 1 and 100, not {v}"
            )))
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
        let s = String::deserialize(d)?;
        Rgb::parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format!("colour must look like \"#ffffff\", not {s:?}"))
        })
    }
}

impl Serialize for Rgb {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let [r, g, b] = self.0;
        s.serialize_str(&format!("#{r:02x}{g:02x}{b:02x}"))
    }
}

/// Guards against files that would take unbounded memory or time.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Largest image (width × height, in millions of pixels) that will be decoded.
    #[serde(default = "default_max_megapixels")]
    pub max_megapixels: u32,
    /// Largest file, in MiB, that will be read.
    #[serde(default = "default_max_file_mib")]
    pub max_file_mib: u32,
    /// Seconds one file may take to read, decode and encode; a file still not done then
    /// is reported as failed and the run goes on without it.
    #[serde(default = "default_file_seconds")]
    pub file_seconds: Seconds,
}

/// A positive number of seconds (fractions allowed).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Seconds(pub f64);

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = f64::deserialize(d)?;
        if v.is_finite() && v > 0.0 && v <= 86_400.0 {
            Ok(Seconds(v))
        } else {
            Err(serde::de::Error::custom(format!(
                "must be between 0 and 86400 seconds, not {v}"
            )))
        }
    }
}

fn default_file_seconds() -> Seconds {
    Seconds(300.0)
}

fn default_max_megapixels() -> u32 {
    250
}
fn default_max_file_mib() -> u32 {
    1024
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_megapixels: default_max_megapixels(),
            max_file_mib: default_max_file_mib(),
            file_seconds: default_file_seconds(),
        }
    }
}

/// Where the record of processed files lives.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Ledger {
    /// SQLite file; the platform's data folder when absent.
    #[serde(default)]
    pub path: Option<Text>,
}

/// Upload tuning (the chevereto target).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Upload {
    #[serde(default = "default_concurrency")]
    pub concurrency: u16,
    #[serde(default = "default_batch_size")]
    pub batch_size: u16,
    /// Uploads per second at most; unlimited when absent.
    #[serde(default)]
    pub rate_limit: Option<f64>,
    /// Seconds one request may take.
    #[serde(default = "default_timeout")]
    pub timeout: u32,
    /// Extra attempts after a transient failure.
    #[serde(default = "default_retries")]
    pub retries: u32,
}

fn default_concurrency() -> u16 {
    4
}
fn default_batch_size() -> u16 {
    16
}
fn default_timeout() -> u32 {
    120
}
fn default_retries() -> u32 {
    5
}

impl Default for Upload {
    fn default() -> Self {
        Upload {
            concurrency: default_concurrency(),
            batch_size: default_batch_size(),
            rate_limit: None,
            timeout: default_timeout(),
            retries: default_retries(),
        }
    }
}

/// Where outputs go: exactly one of the targets.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dir: Option<DirTarget>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chevereto: Option<CheveretoTarget>,
}

/// Writes outputs under a folder.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DirTarget {
    pub path: Text,
    /// Output name relative to `path`; `{ext}` is the output format's extension.
    #[serde(default = "default_name")]
    pub name: Template,
    /// JSON Lines manifest, relative to `path`.
    #[serde(default = "default_manifest")]
    pub manifest: Text,
}

fn default_name() -> Template {
    Template::parse("{date:%Y/%m}/{stem}.{ext}").expect("built-in template")
}
fn default_manifest() -> Text {
    Text("manifest.jsonl".into())
}

/// A Chevereto API v1.1 host, and every parameter its upload call takes.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CheveretoTarget {
    /// Base URL; pixpipe posts to exactly `{url}/api/1/upload`.
    pub url: Text,
    /// Normally `${CHEVERETO_API_KEY}`; never printed, logged or stored.
    pub api_key: Secret,
    /// Send the key as the `X-API-Key` header (default) or as the `key` form field.
    #[serde(default)]
    pub auth: Auth,
    /// How the file travels: a multipart file part (default) or a base64 text field.
    #[serde(default)]
    pub source: SourceMode,
    /// The answer format asked for; all three are understood.
    #[serde(default)]
    pub format: AnswerFormat,
    /// Album for every upload (its encoded id, as in its URL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub album_id: Option<Text>,
    /// Album per input folder: the longest folder (relative to its input root) that holds the file wins.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub albums: std::collections::BTreeMap<String, Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category_id: Option<u32>,
    /// Server-side resize width (pixpipe usually resizes itself; see `resize`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<Width>,
    /// Seconds or an ISO-8601 duration (`PT1H`, `P3D`, ...); checked before anything is sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration: Option<Expiration>,
    #[serde(default)]
    pub nsfw: bool,
    /// Ask the host to date the upload from its EXIF (admin keys only).
    #[serde(default)]
    pub use_file_date: bool,
    /// Send the title, description and tags made by `metadata` (the host would strip non-ASCII).
    #[serde(default = "yes")]
    pub send_metadata: bool,
    /// Allow `http://` to a host that is not this machine (the key would travel in clear).
    #[serde(default)]
    pub allow_insecure_http: bool,
}

/// Where the key goes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Auth {
    #[default]
    Header,
    Field,
}

/// How the file's bytes travel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceMode {
    #[default]
    File,
    Base64,
}

/// The `format` parameter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
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
        crate::target::chevereto::check_expiration(&raw)
            .map(Expiration)
            .map_err(serde::de::Error::custom)
    }
}

/// Worker threads: at least one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Jobs(pub usize);

impl<'de> Deserialize<'de> for Jobs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = i64::deserialize(d)?;
        if (1..=1024).contains(&v) {
            Ok(Jobs(v as usize))
        } else {
            Err(serde::de::Error::custom(format!(
                "jobs must be between 1 and 1024, not {v}"
            )))
        }
    }
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
            return Err(serde::de::Error::custom("api_key is empty"));
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

/// Replaces `${NAME}` with the variable's value; `$$` stands for a literal `$`.
pub fn interpolate_env(
    raw: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<String, String> {
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
                .ok_or_else(|| format!("unclosed \"${{\" in {raw:?}"))?;
            let name = &body[..end];
            let valid =
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                return Err(format!("bad environment variable name {name:?}"));
            }
            let value =
                lookup(name).ok_or_else(|| format!("environment variable {name} is not set"))?;
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

/// A pipeline file that could not be used, with where and why.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        path: PathBuf,
        line: u64,
        column: u64,
        message: String,
    },
    #[error("{path}: {message}")]
    Semantic { path: PathBuf, message: String },
}

/// A loaded pipeline plus the folder its relative paths are taken from.
#[derive(Debug, Clone)]
pub struct LoadedPipeline {
    pub file: PathBuf,
    pub base_dir: PathBuf,
    pub pipeline: Pipeline,
    /// The file holds an API key written out (not `${...}`): it must not be readable by others.
    pub literal_key: bool,
    /// Where `ledger.path` is written (line, column), for errors about it.
    pub ledger_at: Option<(u64, u64)>,
}

impl LoadedPipeline {
    /// An error about a value of the file, located like a parse error.
    pub fn error_at(&self, at: Option<(u64, u64)>, key: &str, message: &str) -> String {
        match at {
            Some((line, col)) => format!("{}:{line}:{col}: {key}: {message}", self.file.display()),
            None => format!("{}: {key}: {message}", self.file.display()),
        }
    }
}

impl LoadedPipeline {
    /// Resolves a path written in the file against the file's own folder.
    pub fn resolve(&self, p: &str) -> PathBuf {
        let p = Path::new(p);
        if p.is_absolute() || self.base_dir == Path::new(".") {
            p.to_path_buf()
        } else {
            self.base_dir.join(p)
        }
    }
}

/// The biggest pipeline file read; a real one is a few KiB.
const MAX_FILE_BYTES: u64 = 1 << 20;

/// Reads and checks a pipeline file.
pub fn load(path: &Path) -> Result<LoadedPipeline, ConfigError> {
    let read_err = |source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(read_err)?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(ConfigError::Semantic {
            path: path.to_path_buf(),
            message: format!(
                "file is {} bytes; a pipeline file is at most 1 MiB",
                meta.len()
            ),
        });
    }
    let text = std::fs::read_to_string(path).map_err(read_err)?;
    let pipeline = parse(&text, path)?;
    let base_dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let literal_key = text.lines().any(|l| {
        l.trim_start()
            .strip_prefix("api_key:")
            .is_some_and(|v| !v.trim().is_empty() && !v.contains("${"))
    });
    let ledger_at = locate_key(&text, "ledger.path");
    Ok(LoadedPipeline {
        file: path.to_path_buf(),
        base_dir,
        pipeline,
        literal_key,
        ledger_at,
    })
}

/// Parses pipeline text; `path` only names the file in errors.
pub fn parse(text: &str, path: &Path) -> Result<Pipeline, ConfigError> {
    let options = serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_depth: 64,
            max_nodes: 100_000,
            max_aliases: 1_000,
        },
    };
    let pipeline: Pipeline = serde_saphyr::from_str_with_options(text, options).map_err(|e| {
        let (line, column) = e
            .location()
            .map(|l| (l.line(), l.column()))
            .unwrap_or((1, 1));
        let message = strip_position(&first_line(&e.to_string()));
        let message = match key_path_at(text, line) {
            Some(key)
                if !message.contains(&format!("`{}`", key.rsplit('.').next().unwrap_or(""))) =>
            {
                format!("{key}: {message}")
            }
            _ => message,
        };
        ConfigError::Invalid {
            path: path.to_path_buf(),
            line,
            column,
            message,
        }
    })?;
    check(&pipeline).map_err(|message| ConfigError::Semantic {
        path: path.to_path_buf(),
        message,
    })?;
    Ok(pipeline)
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").trim().to_string()
}

/// The parser's message without its own "error: line L column C:" prefix, which we print once.
fn strip_position(msg: &str) -> String {
    let msg = msg.strip_prefix("error: ").unwrap_or(msg);
    if let Some(rest) = msg.strip_prefix("line ")
        && let Some((_, tail)) = rest.split_once(": ")
    {
        return tail.to_string();
    }
    msg.to_string()
}

/// The (line, column) of the value of a dotted key in a block-style YAML file.
fn locate_key(text: &str, key: &str) -> Option<(u64, u64)> {
    let leaf = key.rsplit('.').next()?;
    text.lines().enumerate().find_map(|(i, l)| {
        let line = i as u64 + 1;
        if key_path_at(text, line).as_deref() != Some(key) {
            return None;
        }
        let col = l.find(leaf).map_or(1, |c| c + leaf.len() + 1);
        let value_col =
            l[col.min(l.len())..].len() - l[col.min(l.len())..].trim_start().len() + col + 1;
        Some((line, value_col as u64))
    })
}

/// The dotted key that a (1-based) line of a block-style YAML file belongs to,
/// found by walking up to each less indented `key:` line: `input.follow_symlinks`.
fn key_path_at(text: &str, line: u64) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let idx = usize::try_from(line).ok()?.checked_sub(1)?;
    let key_of = |l: &str| -> Option<(usize, String)> {
        let indent = l.len() - l.trim_start().len();
        let body = l.trim_start().trim_start_matches("- ");
        let (key, _) = body.split_once(':')?;
        let key = key.trim();
        let ok = !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        ok.then(|| (indent, key.to_string()))
    };
    let (mut indent, first) = key_of(lines.get(idx)?)?;
    let mut path = vec![first];
    for l in lines[..idx].iter().rev() {
        if l.trim().is_empty() || l.trim_start().starts_with('#') {
            continue;
        }
        if let Some((i, k)) = key_of(l)
            && i < indent
        {
            path.push(k);
            indent = i;
            if i == 0 {
                break;
            }
        }
    }
    path.reverse();
    Some(path.join("."))
}

/// Cross-field rules that no single value can check by itself.
fn check(p: &Pipeline) -> Result<(), String> {
    match (&p.target.dir, &p.target.chevereto) {
        (Some(_), Some(_)) => return Err("target: give either dir or chevereto, not both".into()),
        (None, None) => return Err("target: give a dir or a chevereto target".into()),
        _ => {}
    }
    if p.input.paths.is_empty() && p.input.urls.is_empty() {
        return Err("input.paths: list at least one folder or file".into());
    }
    if let Some(c) = &p.target.chevereto {
        crate::target::chevereto::endpoint(c.url.as_str(), c.allow_insecure_http)?;
    }
    if !p.input.urls.is_empty() && p.target.chevereto.is_none() {
        return Err("input.urls: URLs can only be sent to a chevereto target".into());
    }
    if p.limits.max_megapixels == 0 {
        return Err("limits.max_megapixels must be at least 1".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        (name == "KEY").then(|| "chv_x_y".to_string())
    }

    #[test]
    fn interpolates_env_and_escapes() {
        assert_eq!(interpolate_env("a${KEY}b", env).unwrap(), "achv_x_yb");
        assert_eq!(interpolate_env("$$5 and $x", env).unwrap(), "$5 and $x");
        assert!(
            interpolate_env("${MISSING}", env)
                .unwrap_err()
                .contains("MISSING is not set")
        );
        assert!(interpolate_env("${KEY", env).is_err());
        assert!(interpolate_env("${a-b}", env).is_err());
    }

    #[test]
    fn secret_never_shows() {
        let s = Secret::new("chv_1_SECRETSECRET".into());
        assert_eq!(format!("{s:?}"), "***");
    }

    const MINIMAL: &str = "version: 1\ninput:\n  paths: [a]\ntarget:\n  dir:\n    path: out\n";

    #[test]
    fn minimal_file_gets_defaults() {
        let p = parse(MINIMAL, Path::new("p.yaml")).unwrap();
        assert_eq!(p.resize.width, Some(Width(1600)));
        assert_eq!(p.encode.quality, Quality(85));
        assert!(!p.input.follow_symlinks);
    }

    fn error_of(text: &str) -> String {
        parse(text, Path::new("p.yaml")).unwrap_err().to_string()
    }

    #[test]
    fn unknown_key_is_located() {
        let e = error_of(
            "version: 1\ninput:\n  paths: [a]\n  colour: red\ntarget:\n  dir:\n    path: out\n",
        );
        assert!(e.starts_with("p.yaml:4:"), "{e}");
        assert!(e.contains("colour"), "{e}");
    }

    #[test]
    fn bad_values_are_located() {
        let e = error_of(
            "version: 1\ninput:\n  paths: [a]\nresize:\n  width: 0\ntarget:\n  dir:\n    path: out\n",
        );
        assert!(e.starts_with("p.yaml:5:"), "{e}");
        assert!(e.contains("width"), "{e}");
        let e = error_of(
            "version: 1\ninput:\n  paths: [a]\nencode:\n  quality: -3\ntarget:\n  dir:\n    path: out\n",
        );
        assert!(e.starts_with("p.yaml:5:"), "{e}");
        assert!(e.contains("quality"), "{e}");
    }

    #[test]
    fn type_errors_name_the_dotted_key() {
        let e = error_of(
            "version: 1\ninput:\n  paths: [a]\n  follow_symlinks: maybe\ntarget:\n  dir:\n    path: o\n",
        );
        assert!(e.starts_with("p.yaml:4:"), "{e}");
        assert!(e.contains("input.follow_symlinks"), "{e}");
    }

    #[test]
    fn missing_env_var_is_located() {
        let e = error_of(
            "version: 1\ninput:\n  paths: [a]\ntarget:\n  dir:\n    path: ${PIXPIPE_TEST_SURELY_UNSET}\n",
        );
        assert!(e.starts_with("p.yaml:6:"), "{e}");
        assert!(e.contains("PIXPIPE_TEST_SURELY_UNSET is not set"), "{e}");
    }

    #[test]
    fn version_and_target_rules() {
        assert!(
            error_of("version: 2\ninput:\n  paths: [a]\ntarget:\n  dir:\n    path: o\n")
                .contains("version")
        );
        assert!(error_of("version: 1\ninput:\n  paths: [a]\ntarget: {}\n").contains("target"));
    }
}
