//! The pipeline file as written: one serde type per section, unknown keys rejected,
//! defaults filled in. Values are checked by their own types (see `values`) while they
//! are read, so a mistake is reported where it was written.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use super::template::Template;
use super::values::{AlbumRef, Glob, ImportLayout, LivePhotos, RawPolicy};
use super::values::{
    AnswerFormat, Auth, BatchSize, ByteSize, CategoryId, Concurrency, DbUrl, DecodeMode,
    Expiration, Filter, Jobs, Megapixels, OutputFormat, Quality, Rate, Retries, Rgb, Secret,
    SourceMode, Text, TimeSpan, Version, Width, interpolate_env, true_or_false,
};

/// The whole pipeline file, as written (`version: 1`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Pipeline {
    /// Schema version; only `1` exists.
    pub version: Version,
    #[serde(default, deserialize_with = "section")]
    pub input: Input,
    #[serde(default, deserialize_with = "section")]
    pub metadata: Metadata,
    #[serde(default, deserialize_with = "section")]
    pub resize: Resize,
    #[serde(default, deserialize_with = "section")]
    pub encode: Encode,
    #[serde(default, deserialize_with = "section")]
    pub limits: Limits,
    #[serde(default, deserialize_with = "section")]
    pub ledger: Ledger,
    #[serde(default, deserialize_with = "section")]
    pub upload: Upload,
    #[serde(default, deserialize_with = "section")]
    pub report: Report,
    /// Absent or empty is reported by the rules, in words (`add target.dir or target.chevereto`).
    #[serde(default, deserialize_with = "section")]
    pub target: Target,
    /// Worker threads for the CPU stages; the number of cores when absent.
    #[serde(default)]
    pub jobs: Option<Jobs>,
}

/// A section: a mapping, or nothing at all (every key commented out), which is its defaults.
fn section<'de, D: Deserializer<'de>, T: Deserialize<'de> + Default>(d: D) -> Result<T, D::Error> {
    Option::<T>::deserialize(d).map(Option::unwrap_or_default)
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
    #[serde(default, deserialize_with = "true_or_false")]
    pub follow_symlinks: bool,
    /// Take dot-files and dot-folders too.
    #[serde(default, deserialize_with = "true_or_false")]
    pub hidden: bool,
    /// Remote images for the host to fetch itself (chevereto target only).
    #[serde(default)]
    pub urls: Vec<Text>,
    /// Camera RAW files: skipped beside their JPEG, else delivered from their preview.
    #[serde(default)]
    pub raw: RawPolicy,
    /// The short video of a Live Photo, beside its still of the same name.
    #[serde(default)]
    pub live_photos: LivePhotos,
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
    /// Which place gives each field first: sidecar, takeout, embedded, file_name, file_time.
    #[serde(default)]
    pub precedence: super::values::PrecedenceFile,
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
            precedence: Default::default(),
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
    #[serde(default, deserialize_with = "true_or_false")]
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
    #[serde(default = "yes", deserialize_with = "true_or_false")]
    pub keep_exif: bool,
    /// Keep GPS position tags; off by default because they reveal where people live.
    #[serde(default, deserialize_with = "true_or_false")]
    pub keep_gps: bool,
    /// Copy the ICC colour profile, so wide-gamut photos keep their colours.
    #[serde(default = "yes", deserialize_with = "true_or_false")]
    pub keep_icc: bool,
    /// Deliver pixels only: no EXIF, XMP or IPTC whatever the other keys say.
    #[serde(default, deserialize_with = "true_or_false")]
    pub strip_metadata: bool,
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
            strip_metadata: false,
        }
    }
}

/// Guards against files that would take unbounded memory or time.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Largest image (width × height, in millions of pixels) that will be decoded.
    #[serde(default = "default_max_megapixels")]
    pub max_megapixels: Megapixels,
    /// Largest file that will be read: `10MiB`, `2GiB`, or a bare number of MiB.
    #[serde(default = "default_max_file_mib")]
    pub max_file_mib: ByteSize,
    /// How long one file may take to read, decode and encode (`30s`, `5m`, or seconds);
    /// a file still not done then is reported as failed and the run goes on without it.
    #[serde(default = "default_file_seconds")]
    pub file_seconds: TimeSpan,
}

fn default_file_seconds() -> TimeSpan {
    TimeSpan(Duration::from_secs(300))
}

fn default_max_megapixels() -> Megapixels {
    Megapixels(250)
}
fn default_max_file_mib() -> ByteSize {
    ByteSize(1024 * ByteSize::MIB)
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
    /// A PostgreSQL database shared by several workers, instead of `path`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<DbUrl>,
    /// How long a worker's claims hold without a heartbeat (a shared ledger only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease: Option<TimeSpan>,
}

/// What a run writes about itself besides the summary.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    /// The HTML page of each run (taken from the pipeline file's folder); none when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<Text>,
}

/// Upload tuning (the chevereto target).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Upload {
    #[serde(default = "default_concurrency")]
    pub concurrency: Concurrency,
    #[serde(default = "default_batch_size")]
    pub batch_size: BatchSize,
    /// Uploads per second at most; unlimited when absent or 0.
    #[serde(default)]
    pub rate_limit: Option<Rate>,
    /// How long one request may take (`30s`, `2m`, or seconds).
    #[serde(default = "default_timeout")]
    pub timeout: TimeSpan,
    /// Extra attempts after a transient failure.
    #[serde(default = "default_retries")]
    pub retries: Retries,
    /// How long all uploads wait together for a host that went away mid-run, before the
    /// run stops (a host never reached at all is given up after a few seconds).
    #[serde(default = "default_outage_wait")]
    pub outage_wait: TimeSpan,
}

fn default_outage_wait() -> TimeSpan {
    TimeSpan(Duration::from_secs(600))
}

fn default_concurrency() -> Concurrency {
    Concurrency(4)
}
fn default_batch_size() -> BatchSize {
    BatchSize(16)
}
fn default_timeout() -> TimeSpan {
    TimeSpan(Duration::from_secs(120))
}
fn default_retries() -> Retries {
    Retries(5)
}

impl Default for Upload {
    fn default() -> Self {
        Upload {
            concurrency: default_concurrency(),
            batch_size: default_batch_size(),
            rate_limit: None,
            timeout: default_timeout(),
            retries: default_retries(),
            outage_wait: default_outage_wait(),
        }
    }
}

/// Where outputs go: exactly one of the targets.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dir: Option<DirTarget>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chevereto: Option<CheveretoTarget>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chevereto_import: Option<ImportTarget>,
}

impl Target {
    /// How many targets are written (exactly one is allowed).
    pub fn count(&self) -> usize {
        usize::from(self.dir.is_some())
            + usize::from(self.chevereto.is_some())
            + usize::from(self.chevereto_import.is_some())
    }
}

/// A tree for a Chevereto host's Bulk Importer: photos converted, with a JSON file
/// beside each and a `metadata.json` per album folder.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ImportTarget {
    /// The folder of the importer's job.
    pub path: Text,
    /// `albums` (default), `users` or `plain`, as the job's structure is set.
    #[serde(default)]
    pub layout: ImportLayout,
    /// The user whose albums these are (`layout: users` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<Text>,
    /// The album of files at an input root (files in folders go to albums named after them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub album: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category_id: Option<CategoryId>,
    #[serde(default, deserialize_with = "true_or_false")]
    pub nsfw: bool,
}

/// Writes outputs under a folder. Written as a mapping, or as the folder alone
/// (`dir: out/photos`, every other key at its default).
#[derive(Debug, Clone, Serialize)]
pub struct DirTarget {
    pub path: Text,
    /// Output name relative to `path`; `{ext}` is the output format's extension.
    pub name: Template,
    /// JSON Lines manifest, relative to `path`.
    pub manifest: Text,
}

/// The mapping form of [`DirTarget`], as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DirTargetMap {
    path: Text,
    #[serde(default = "default_name")]
    name: Template,
    #[serde(default = "default_manifest")]
    manifest: Text,
}

impl<'de> Deserialize<'de> for DirTarget {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl V {
            fn folder<E: de::Error>(self, path: &str) -> Result<DirTarget, E> {
                let path =
                    interpolate_env(path, |name| std::env::var(name).ok()).map_err(E::custom)?;
                Ok(DirTarget {
                    path: Text(path),
                    name: default_name(),
                    manifest: default_manifest(),
                })
            }
        }
        impl<'de> Visitor<'de> for V {
            type Value = DirTarget;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a folder, or a mapping with path, name and manifest")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<DirTarget, E> {
                self.folder(v)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<DirTarget, E> {
                self.folder(&v.to_string())
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<DirTarget, E> {
                self.folder(&v.to_string())
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<DirTarget, E> {
                self.folder(&v.to_string())
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<DirTarget, A::Error> {
                let m = DirTargetMap::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(DirTarget {
                    path: m.path,
                    name: m.name,
                    manifest: m.manifest,
                })
            }
        }
        d.deserialize_any(V)
    }
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
    /// Album for every upload: its id, or its URL (`…/album/Harbour.DM`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub album_id: Option<AlbumRef>,
    /// Album (id or URL) per input folder: the longest folder (relative to its input root) that holds the file wins.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub albums: BTreeMap<String, AlbumRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category_id: Option<CategoryId>,
    /// Server-side resize width (pixpipe usually resizes itself; see `resize`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<Width>,
    /// Seconds or an ISO-8601 duration (`PT1H`, `P3D`, ...); checked before anything is sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration: Option<Expiration>,
    #[serde(default, deserialize_with = "true_or_false")]
    pub nsfw: bool,
    /// Ask the host to date the upload from its EXIF (admin keys only).
    #[serde(default, deserialize_with = "true_or_false")]
    pub use_file_date: bool,
    /// Send the title, description and tags made by `metadata` (the host would strip non-ASCII).
    #[serde(default = "yes", deserialize_with = "true_or_false")]
    pub send_metadata: bool,
    /// Allow `http://` to a host that is not this machine (the key would travel in clear).
    #[serde(default, deserialize_with = "true_or_false")]
    pub allow_insecure_http: bool,
}

impl Pipeline {
    /// A pipeline with every section at its default (the one-off `upload` command).
    pub fn with_target(target: Target) -> Pipeline {
        Pipeline {
            version: Version(1),
            input: Input::default(),
            metadata: Metadata::default(),
            resize: Resize::default(),
            encode: Encode::default(),
            limits: Limits::default(),
            ledger: Ledger::default(),
            upload: Upload::default(),
            report: Report::default(),
            target,
            jobs: None,
        }
    }
}

impl CheveretoTarget {
    /// A host with every optional parameter at its default.
    pub fn new(url: Text, api_key: Secret) -> CheveretoTarget {
        CheveretoTarget {
            url,
            api_key,
            auth: Auth::default(),
            source: SourceMode::default(),
            format: AnswerFormat::default(),
            album_id: None,
            albums: BTreeMap::new(),
            category_id: None,
            width: None,
            expiration: None,
            nsfw: false,
            use_file_date: false,
            send_metadata: true,
            allow_insecure_http: false,
        }
    }
}
