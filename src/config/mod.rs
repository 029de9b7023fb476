//! The pipeline file: what the user declares, parsed and checked once, then
//! resolved with the command line into one [`RunPlan`].
//!
//! Owns: the file as written (`file`), its value types (`values`), templates, the
//! locations of keys for errors (`locate`), and the plan (`plan`).
//! Must not: touch the file system beyond reading the pipeline file and checking that
//! the paths it names exist, or know how a stage or a target works; stages receive the
//! plan, never the file.

mod file;
mod locate;
mod plan;
pub mod template;
mod values;

use std::path::{Path, PathBuf};

use locate::{first_line, key_path_at, key_position, strip_position};

pub use file::*;
pub use plan::*;
pub use values::*;

/// A pipeline file that could not be used, with where and why.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: file is {size} bytes; a pipeline file is at most 1 MiB")]
    TooBig { path: PathBuf, size: u64 },
    /// A key or value the file got wrong, located, with the dotted key and what it takes.
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        path: PathBuf,
        line: u64,
        column: u64,
        message: String,
    },
    /// A rule across several keys, located at the key it is about when that is written.
    #[error("{}: {rule}", at_position(path, *at))]
    Rule {
        path: PathBuf,
        at: Option<(u64, u64)>,
        rule: RuleError,
    },
    /// A value that read well but cannot be used (a ledger folder or an input path that
    /// does not exist).
    #[error("{}: {key}: {message}", at_position(path, *at))]
    Value {
        path: PathBuf,
        at: Option<(u64, u64)>,
        key: &'static str,
        message: String,
    },
}

fn at_position(path: &Path, at: Option<(u64, u64)>) -> String {
    match at {
        Some((line, col)) => format!("{}:{line}:{col}", path.display()),
        None => path.display().to_string(),
    }
}

/// The rules that no single value can check by itself.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error("target: give one of target.dir, target.chevereto, target.chevereto_import")]
    TwoTargets,
    #[error("target: add target.dir, target.chevereto or target.chevereto_import")]
    NoTarget,
    #[error("target.chevereto_import.user: give the user with layout: users, and only then")]
    ImportUser,
    #[error("input.paths: list at least one folder or file")]
    NoInput,
    #[error("input.urls: URLs can only be sent to a chevereto target")]
    UrlsNeedChevereto,
    #[error("ledger: give either ledger.path or ledger.url, not both")]
    TwoLedgers,
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
}

impl RuleError {
    /// The dotted key a rule is about, to locate it.
    pub fn key(&self) -> &'static str {
        match self {
            RuleError::TwoTargets | RuleError::NoTarget => "target",
            RuleError::ImportUser => "target.chevereto_import.user",
            RuleError::NoInput => "input.paths",
            RuleError::UrlsNeedChevereto => "input.urls",
            RuleError::TwoLedgers => "ledger",
            RuleError::Endpoint(_) => "target.chevereto.url",
        }
    }
}

/// A loaded pipeline plus the folder its relative paths are taken from.
#[derive(Clone)]
pub struct LoadedPipeline {
    pub file: PathBuf,
    pub base_dir: PathBuf,
    pub pipeline: Pipeline,
    /// The file holds an API key written out (not `${...}`): it must not be readable by others.
    pub literal_key: bool,
    /// The file as written, to locate the errors found after it is parsed (empty for a
    /// pipeline made from the command line).
    pub text: String,
}

/// The file's text is left out: it may hold an API key written out.
impl std::fmt::Debug for LoadedPipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedPipeline")
            .field("file", &self.file)
            .field("base_dir", &self.base_dir)
            .field("pipeline", &self.pipeline)
            .field("literal_key", &self.literal_key)
            .finish_non_exhaustive()
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
        return Err(ConfigError::TooBig {
            path: path.to_path_buf(),
            size: meta.len(),
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
        l.trim_start().strip_prefix("api_key:").is_some_and(|v| {
            let v = v.split(" #").next().unwrap_or("").trim();
            has_literal_text(v.trim_matches(['"', '\'']))
        })
    });
    Ok(LoadedPipeline {
        file: path.to_path_buf(),
        base_dir,
        pipeline,
        literal_key,
        text,
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
    let pipeline: Pipeline = serde_saphyr::from_str_with_options(text, options)
        .map_err(|e| parse_error(&e, text, path))?;
    check(&pipeline).map_err(|rule| ConfigError::Rule {
        path: path.to_path_buf(),
        at: key_position(text, rule.key()),
        rule,
    })?;
    Ok(pipeline)
}

/// The parser's error, located, with the dotted key and in words.
fn parse_error(e: &serde_saphyr::Error, text: &str, path: &Path) -> ConfigError {
    let (line, column) = e
        .location()
        .map(|l| (l.line(), l.column()))
        .unwrap_or((1, 1));
    let key = key_path_at(text, line);
    let message = match e.without_snippet() {
        serde_saphyr::Error::SerdeUnknownField {
            field, expected, ..
        } => {
            let key = match key {
                Some(k) if k == *field || k.ends_with(&format!(".{field}")) => k,
                Some(k) => format!("{k}.{field}"),
                None => field.clone(),
            };
            match closest(field, expected.iter().copied()) {
                Some(near) => format!("{key}: unknown key; did you mean `{near}`?"),
                None => {
                    let here = match key.rsplit_once('.') {
                        Some((section, _)) => format!("the keys of {section} are"),
                        None => "the top-level keys are".to_string(),
                    };
                    format!("{key}: unknown key; {here} {}", expected.join(", "))
                }
            }
        }
        serde_saphyr::Error::SerdeMissingField { field, .. } => {
            // Reported at the mapping's first key (block style) or inside the value of the
            // line's key (flow style: `dir: {name: x}`).
            let line_text = text
                .lines()
                .nth(line.saturating_sub(1) as usize)
                .unwrap_or("");
            let key_column = line_text.len() - line_text.trim_start().len() + 1;
            let key_column = key_column + 2 * usize::from(line_text.trim_start().starts_with("- "));
            let section = match key {
                Some(k) if column as usize != key_column => Some(k),
                Some(k) => k.rsplit_once('.').map(|(s, _)| s.to_string()),
                None => None,
            };
            match section {
                Some(section) => {
                    format!("{section}.{field}: missing; add `{field}:` under {section}")
                }
                None if *field == "version" => {
                    return ConfigError::Invalid {
                        path: path.to_path_buf(),
                        line: 1,
                        column: 1,
                        message: "version: missing; start the file with `version: 1`".into(),
                    };
                }
                None => format!("{field}: missing"),
            }
        }
        _ => {
            let message = strip_position(&first_line(&e.to_string()));
            match key {
                Some(key) => format!("{key}: {message}"),
                None => message,
            }
        }
    };
    ConfigError::Invalid {
        path: path.to_path_buf(),
        line,
        column,
        message,
    }
}

/// Cross-field rules that no single value can check by itself.
fn check(p: &Pipeline) -> Result<(), RuleError> {
    match p.target.count() {
        0 => return Err(RuleError::NoTarget),
        1 => {}
        _ => return Err(RuleError::TwoTargets),
    }
    if let Some(i) = &p.target.chevereto_import
        && i.user.is_some() != (i.layout == ImportLayout::Users)
    {
        return Err(RuleError::ImportUser);
    }
    if p.input.paths.is_empty() && p.input.urls.is_empty() {
        return Err(RuleError::NoInput);
    }
    if let Some(c) = &p.target.chevereto {
        UploadEndpoint::new(c.url.as_str(), c.allow_insecure_http)?;
    }
    if !p.input.urls.is_empty() && p.target.chevereto.is_none() {
        return Err(RuleError::UrlsNeedChevereto);
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
                .to_string()
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
