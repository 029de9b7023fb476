//! The run plan: the pipeline file and the command line resolved once into the
//! values the stages use. Paths are absolute or taken from the file's folder, the
//! target is one enum, the endpoint is checked, defaults are filled. Nothing
//! downstream looks at the file as written again.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::locate::{key_position, locate_item, locate_key};
use super::template::Template;
use super::values::{
    AnswerFormat, Auth, DecodeMode, Expiration, Filter, Glob, OutputFormat, Secret, SourceMode,
    UploadEndpoint,
};
use super::values::{ImportLayout, LedgerPlace, LivePhotos, RawPolicy};
use super::{ConfigError, LoadedPipeline, RuleError};
use crate::i18n::Lang;

/// How chatty the run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Verbosity {
    Quiet,
    #[default]
    Normal,
    Verbose,
}

/// What a run does with the files it prepares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Deliver and record.
    #[default]
    Deliver,
    /// Prepare everything, deliver and record nothing.
    DryRun,
    /// Only count: no transform, no delivery, no recording.
    Plan,
}

impl Mode {
    /// Whether this run writes outputs, the ledger and the manifest.
    pub fn delivers(self) -> bool {
        self == Mode::Deliver
    }
}

/// What the command line adds to a pipeline file.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub jobs: Option<usize>,
    pub report: Option<PathBuf>,
    /// `--html FILE`: wins over the file's `report.html`.
    pub html: Option<PathBuf>,
    pub verbosity: Verbosity,
    pub mode: Mode,
    /// `upload --no-ledger`: open no ledger, record nothing.
    pub no_ledger: bool,
    /// The language of the messages people read (`--lang`, the locale).
    pub lang: Lang,
}

/// Everything one run needs, resolved.
#[derive(Debug, Clone)]
pub struct RunPlan {
    /// The pipeline file (or "(command line)"), for messages and the ledger's run rows.
    pub source: PathBuf,
    pub scan: ScanPlan,
    /// What becomes of camera RAWs and of Live Photo videos.
    pub raw: RawPolicy,
    pub live_photos: LivePhotos,
    /// Remote images for the host to fetch (chevereto only).
    pub urls: Vec<String>,
    pub metadata: MetadataPlan,
    pub transform: TransformSettings,
    /// The largest file read, in bytes (`limits.max_file_mib`).
    pub max_file_bytes: u64,
    /// How long one file may take before the run leaves it behind.
    pub file_time_limit: Duration,
    pub jobs: usize,
    pub ledger: LedgerPlan,
    /// Ledger rows committed together (upload answers are committed one by one).
    pub batch_size: usize,
    pub target: TargetPlan,
    pub mode: Mode,
    pub report: Option<PathBuf>,
    /// Where the HTML page of the run goes, when one is asked for.
    pub html: Option<PathBuf>,
    pub verbosity: Verbosity,
    pub lang: Lang,
}

/// What to walk and what to keep.
#[derive(Debug, Clone)]
pub struct ScanPlan {
    /// Input roots: absolute in a run; `inspect` and `bench` keep them as typed, so the
    /// paths they print read as the user wrote them.
    pub roots: Vec<PathBuf>,
    pub include: Vec<Glob>,
    pub exclude: Vec<Glob>,
    pub follow_symlinks: bool,
    pub hidden: bool,
}

impl ScanPlan {
    /// A walk of `roots` with the pipeline file's defaults (every file, no dot-files, no
    /// symlinks followed), for the tools that take folders without a pipeline file.
    pub fn defaults(roots: Vec<PathBuf>) -> ScanPlan {
        ScanPlan {
            roots,
            include: Vec::new(),
            exclude: Vec::new(),
            follow_symlinks: false,
            hidden: false,
        }
    }
}

/// How titles, descriptions and tags are made.
#[derive(Debug, Clone)]
pub struct MetadataPlan {
    pub title: Template,
    pub description: Template,
    pub tags: Vec<Template>,
    /// Which place gives each field first (`metadata.precedence`).
    pub precedence: crate::media::Precedence,
}

/// The settings that decide an output's bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct TransformSettings {
    pub width: Option<u32>,
    pub upscale: bool,
    pub filter: Filter,
    pub decode: DecodeMode,
    pub format: OutputFormat,
    pub quality: u8,
    pub background: [u8; 3],
    pub keep_exif: bool,
    pub keep_gps: bool,
    pub keep_icc: bool,
    /// No EXIF, XMP or IPTC in outputs (`encode.strip_metadata`).
    pub strip_metadata: bool,
    pub max_pixels: u64,
    /// The width of a small JPEG made beside the output, for the HTML page; `None` when
    /// no page is asked for. It never changes the output's bytes.
    pub thumbnail: Option<u32>,
}

impl TransformSettings {
    /// A plain job: JPEG at `quality`, `width` wide, with the defaults of a pipeline file.
    pub fn jpeg(width: u32, quality: u8, filter: Filter, decode: DecodeMode) -> TransformSettings {
        TransformSettings {
            width: Some(width),
            upscale: false,
            filter,
            decode,
            format: OutputFormat::Jpeg,
            quality,
            background: [255, 255, 255],
            keep_exif: true,
            keep_gps: false,
            keep_icc: true,
            strip_metadata: false,
            max_pixels: 250_000_000,
            thumbnail: None,
        }
    }
}

/// How long a shared ledger's claims hold without a heartbeat, unless `ledger.lease` says.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(120);

/// Where the ledger lives.
#[derive(Debug, Clone)]
pub struct LedgerPlan {
    pub place: LedgerPlace,
    /// Set in the file (`ledger.path` or `ledger.url`), rather than the default place.
    pub explicit: bool,
    /// The key that set it, and where it is written (line, column).
    pub key: &'static str,
    pub at: Option<(u64, u64)>,
    /// The pipeline file, to locate errors about the ledger's key.
    pub file: PathBuf,
    /// False with `upload --no-ledger`: no ledger is opened, read or written.
    pub enabled: bool,
    /// A shared ledger's lease (`ledger.lease`).
    pub lease: Duration,
}

impl LedgerPlan {
    /// An error about the ledger's key, located like a parse error.
    pub fn error(&self, message: String) -> ConfigError {
        ConfigError::Value {
            path: self.file.clone(),
            at: self.at,
            key: self.key,
            message,
        }
    }
}

/// Where outputs go.
#[derive(Debug, Clone)]
pub enum TargetPlan {
    Dir(DirPlan),
    Chevereto(Box<CheveretoPlan>),
    CheveretoImport(ImportPlan),
}

impl TargetPlan {
    /// Whether outputs leave this machine (the words of the summary depend on it).
    pub fn remote(&self) -> bool {
        matches!(self, TargetPlan::Chevereto(_))
    }
}

/// The tree for a host's Bulk Importer.
#[derive(Debug, Clone)]
pub struct ImportPlan {
    pub root: PathBuf,
    pub layout: ImportLayout,
    pub user: Option<String>,
    pub album: Option<String>,
    pub category_id: Option<u32>,
    pub nsfw: bool,
}

/// The folder target.
#[derive(Debug, Clone)]
pub struct DirPlan {
    pub root: PathBuf,
    pub name: Template,
    /// Relative to `root`.
    pub manifest: String,
}

/// A Chevereto host and every parameter of its upload call.
#[derive(Debug, Clone)]
pub struct CheveretoPlan {
    pub endpoint: UploadEndpoint,
    pub api_key: Secret,
    pub auth: Auth,
    pub source: SourceMode,
    pub format: AnswerFormat,
    pub album_id: Option<String>,
    /// Album per input folder (relative to its root).
    pub albums: BTreeMap<String, String>,
    pub category_id: Option<u32>,
    pub width: Option<u32>,
    pub expiration: Option<Expiration>,
    pub nsfw: bool,
    pub use_file_date: bool,
    pub send_metadata: bool,
    pub concurrency: usize,
    pub batch_size: usize,
    /// Uploads per second at most.
    pub rate_limit: Option<f64>,
    pub timeout: Duration,
    pub retries: u32,
    /// How long uploads wait together for a host that went away mid-run.
    pub outage_wait: Duration,
}

impl CheveretoPlan {
    /// The album for a file: the longest mapped folder that holds it, else the fixed album.
    pub fn album_for(&self, rel_dir: Option<&Path>) -> Option<String> {
        let rel = rel_dir.unwrap_or(Path::new(""));
        self.albums
            .iter()
            .filter(|(folder, _)| rel.starts_with(Path::new(folder.as_str())))
            .max_by_key(|(folder, _)| Path::new(folder.as_str()).components().count())
            .map(|(_, id)| id.clone())
            .or_else(|| self.album_id.clone())
    }
}

impl RunPlan {
    /// Resolves a loaded pipeline file and the command line's options into a plan.
    pub fn resolve(lp: &LoadedPipeline, opts: &RunOptions) -> Result<RunPlan, ConfigError> {
        let p = &lp.pipeline;
        let t = &p.target;
        if t.count() > 1 {
            return Err(rule(lp, RuleError::TwoTargets));
        }
        let target = if let Some(d) = &t.dir {
            TargetPlan::Dir(DirPlan {
                root: lp.resolve(d.path.as_str()),
                name: d.name.clone(),
                manifest: d.manifest.as_str().to_string(),
            })
        } else if let Some(c) = &t.chevereto {
            TargetPlan::Chevereto(Box::new(chevereto_plan(lp, c)?))
        } else if let Some(i) = &t.chevereto_import {
            TargetPlan::CheveretoImport(ImportPlan {
                root: lp.resolve(i.path.as_str()),
                layout: i.layout,
                user: i.user.as_ref().map(|u| u.as_str().to_string()),
                album: i.album.as_ref().map(|a| a.as_str().to_string()),
                category_id: i.category_id.map(|c| c.0),
                nsfw: i.nsfw,
            })
        } else {
            return Err(rule(lp, RuleError::NoTarget));
        };
        let roots = input_roots(lp)?;
        let mut ledger = ledger_plan(lp)?;
        ledger.enabled = !opts.no_ledger;
        let batch_size = match &target {
            TargetPlan::Chevereto(c) => c.batch_size,
            TargetPlan::Dir(_) | TargetPlan::CheveretoImport(_) => 64,
        };
        let html = html_page(lp, opts);
        let jobs = opts
            .jobs
            .or(p.jobs.map(|j| j.0))
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
            .max(1);
        Ok(RunPlan {
            source: lp.file.clone(),
            scan: ScanPlan {
                roots,
                include: p.input.include.clone(),
                exclude: p.input.exclude.clone(),
                follow_symlinks: p.input.follow_symlinks,
                hidden: p.input.hidden,
            },
            raw: p.input.raw,
            live_photos: p.input.live_photos,
            urls: p
                .input
                .urls
                .iter()
                .map(|u| u.as_str().to_string())
                .collect(),
            metadata: MetadataPlan {
                title: p.metadata.title.clone(),
                description: p.metadata.description.clone(),
                tags: p.metadata.tags.clone(),
                precedence: p.metadata.precedence.resolve(),
            },
            transform: TransformSettings {
                width: p.resize.width.map(|w| w.0),
                upscale: p.resize.upscale,
                filter: p.resize.filter,
                decode: p.resize.decode,
                format: p.encode.format,
                quality: p.encode.quality.0,
                background: p.encode.background.0,
                keep_exif: p.encode.keep_exif,
                keep_gps: p.encode.keep_gps,
                keep_icc: p.encode.keep_icc,
                strip_metadata: p.encode.strip_metadata,
                max_pixels: u64::from(p.limits.max_megapixels.0) * 1_000_000,
                thumbnail: html.as_ref().map(|_| THUMBNAIL_WIDTH),
            },
            max_file_bytes: p.limits.max_file_mib.bytes(),
            file_time_limit: p.limits.file_seconds.0,
            jobs,
            ledger,
            batch_size,
            target,
            mode: opts.mode,
            report: opts.report.clone(),
            html,
            verbosity: opts.verbosity,
            lang: opts.lang,
        })
    }
}

/// The width of the thumbnails of the HTML page: a few KB each as JPEG q70.
pub const THUMBNAIL_WIDTH: u32 = 160;

/// The HTML page's path: `--html` wins over `report.html` (taken from the file's folder).
/// `plan` makes no page; a dry run makes one only when the command line asks, since
/// a dry run otherwise leaves nothing on disk.
fn html_page(lp: &LoadedPipeline, opts: &RunOptions) -> Option<PathBuf> {
    match opts.mode {
        Mode::Plan => None,
        Mode::DryRun => opts.html.clone(),
        Mode::Deliver => opts.html.clone().or_else(|| {
            let written = lp.pipeline.report.html.as_ref()?;
            Some(lp.resolve(written.as_str()))
        }),
    }
}

fn rule(lp: &LoadedPipeline, rule: RuleError) -> ConfigError {
    ConfigError::Rule {
        path: lp.file.clone(),
        at: key_position(&lp.text, rule.key()),
        rule,
    }
}

/// The input roots, absolute. A root that does not exist is a mistake in the file (a
/// typo, an unmounted disk), reported at its entry before anything runs.
fn input_roots(lp: &LoadedPipeline) -> Result<Vec<PathBuf>, ConfigError> {
    let mut roots = Vec::with_capacity(lp.pipeline.input.paths.len());
    for (i, written) in lp.pipeline.input.paths.iter().enumerate() {
        let path = lp.resolve(written.as_str());
        let path = std::path::absolute(&path).unwrap_or(path);
        if let Err(e) = std::fs::symlink_metadata(&path)
            && e.kind() == std::io::ErrorKind::NotFound
        {
            return Err(ConfigError::Value {
                path: lp.file.clone(),
                at: locate_item(&lp.text, "input.paths", i),
                key: "input.paths",
                message: format!("folder or file does not exist: {}", path.display()),
            });
        }
        roots.push(path);
    }
    Ok(roots)
}

fn chevereto_plan(
    lp: &LoadedPipeline,
    c: &super::CheveretoTarget,
) -> Result<CheveretoPlan, ConfigError> {
    let u = &lp.pipeline.upload;
    let endpoint = UploadEndpoint::new(c.url.as_str(), c.allow_insecure_http)
        .map_err(|e| rule(lp, RuleError::Endpoint(e)))?;
    Ok(CheveretoPlan {
        endpoint,
        api_key: c.api_key.clone(),
        auth: c.auth,
        source: c.source,
        format: c.format,
        album_id: c.album_id.as_ref().map(|a| a.as_str().to_string()),
        albums: c
            .albums
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().to_string()))
            .collect(),
        category_id: c.category_id.map(|c| c.0),
        width: c.width.map(|w| w.0),
        expiration: c.expiration.clone(),
        nsfw: c.nsfw,
        use_file_date: c.use_file_date,
        send_metadata: c.send_metadata,
        concurrency: usize::from(u.concurrency.0.max(1)),
        batch_size: usize::from(u.batch_size.0.max(1)),
        rate_limit: u.rate_limit.map(|r| r.0).filter(|r| *r > 0.0),
        timeout: u.timeout.0,
        retries: u.retries.0,
        outage_wait: u.outage_wait.0,
    })
}

/// Where a pipeline file puts its ledger, and the key that says so: the one reading
/// of `ledger.path` and `ledger.url`, for a run and for `pixpipe ledger --pipeline`
/// alike. Both keys at once are refused, naming both: neither may quietly win.
pub fn ledger_place(lp: &LoadedPipeline) -> Result<(LedgerPlace, &'static str), ConfigError> {
    let l = &lp.pipeline.ledger;
    Ok(match (&l.path, &l.url) {
        (None, None) => (default_ledger_place(), "ledger.path"),
        (Some(p), None) => (LedgerPlace::File(lp.resolve(p.as_str())), "ledger.path"),
        (None, Some(u)) => (LedgerPlace::Postgres(u.clone()), "ledger.url"),
        (Some(_), Some(_)) => return Err(rule(lp, RuleError::TwoLedgers)),
    })
}

/// The ledger's place. A mistyped `ledger.path` must not quietly start an empty ledger
/// (and send everything again), so its folder must exist.
fn ledger_plan(lp: &LoadedPipeline) -> Result<LedgerPlan, ConfigError> {
    let l = &lp.pipeline.ledger;
    let (place, key) = ledger_place(lp)?;
    let plan = LedgerPlan {
        explicit: l.path.is_some() || l.url.is_some(),
        at: locate_key(&lp.text, key),
        key,
        file: lp.file.clone(),
        enabled: true,
        lease: l.lease.as_ref().map_or(DEFAULT_LEASE, |t| t.0),
        place,
    };
    if let (LedgerPlace::File(path), true) = (&plan.place, plan.explicit) {
        let folder = path
            .parent()
            .filter(|f| !f.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if !folder.is_dir() {
            return Err(plan.error(format!("folder {} does not exist", folder.display())));
        }
    }
    Ok(plan)
}

/// The ledger's default place: a file in the platform's data folder.
pub fn default_ledger_place() -> LedgerPlace {
    LedgerPlace::File(
        dirs::data_dir()
            .unwrap_or_else(std::env::temp_dir)
            .join("pixpipe")
            .join("ledger.sqlite"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loaded(yaml: &str) -> LoadedPipeline {
        LoadedPipeline {
            file: "p.yaml".into(),
            base_dir: ".".into(),
            pipeline: super::super::parse(yaml, Path::new("p.yaml")).unwrap(),
            literal_key: false,
            text: yaml.to_string(),
        }
    }

    #[test]
    fn a_missing_input_path_is_refused_at_its_entry() {
        let dir = tempfile::tempdir().unwrap();
        let here = dir.path().display();
        let yaml = format!(
            "version: 1\ninput:\n  paths:\n    - \"{here}\"\n    - \"{here}/nope\"\ntarget:\n  dir: o\n"
        );
        let e = RunPlan::resolve(&loaded(&yaml), &RunOptions::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("p.yaml:5:7: input.paths: folder or file does not exist: {here}/nope")
        );
        let yaml = format!("version: 1\ninput:\n  paths: [\"{here}\"]\ntarget:\n  dir: o\n");
        let plan = RunPlan::resolve(&loaded(&yaml), &RunOptions::default()).unwrap();
        assert_eq!(plan.scan.roots, vec![dir.path().to_path_buf()]);
    }

    #[test]
    fn album_by_longest_folder_then_fixed() {
        let yaml = "version: 1\ninput:\n  paths: [\".\"]\ntarget:\n  chevereto:\n    url: https://h.invalid\n    api_key: k\n    album_id: fixed\n    albums:\n      \"2019\": a\n      \"2019/summer\": b\n";
        let plan = RunPlan::resolve(&loaded(yaml), &RunOptions::default()).unwrap();
        let TargetPlan::Chevereto(t) = plan.target else {
            panic!("a chevereto target")
        };
        let album = |d: Option<&str>| t.album_for(d.map(Path::new));
        assert_eq!(album(Some("2019/summer/day1")).as_deref(), Some("b"));
        assert_eq!(album(Some("2019/winter")).as_deref(), Some("a"));
        assert_eq!(album(Some("2020")).as_deref(), Some("fixed"));
        assert_eq!(album(None).as_deref(), Some("fixed"));
    }
}
