//! Which outputs the arguments of `pixpipe ledger forget` name.
//!
//! Each argument is tried at once as a source md5, a source path and a glob over
//! source paths, so a file whose name holds `[` or `*` can still be named as it is.
//! Relative paths and globs are taken from the current folder and made absolute, as
//! the ledger stores source paths (a run makes its input roots absolute the same way).

use std::path::Path;

use globset::{GlobBuilder, GlobMatcher};

use crate::ledger::{OutputKey, SourceEntry};

/// One argument, ready to match ledger rows.
pub struct Selector {
    arg: String,
    path: String,
    glob: Option<GlobMatcher>,
}

impl Selector {
    /// `arg` as the user typed it, with `cwd` the folder relative paths start from.
    pub fn new(arg: &str, cwd: &Path) -> Selector {
        Selector {
            arg: arg.to_string(),
            path: absolute(arg, cwd),
            glob: glob(arg, cwd),
        }
    }

    pub fn matches(&self, e: &SourceEntry) -> bool {
        e.key.source_md5 == self.arg
            || e.source_path == self.path
            || self
                .glob
                .as_ref()
                .is_some_and(|g| g.is_match(&e.source_path))
    }
}

/// `arg` as an absolute path, spelled as a run would spell it.
fn absolute(arg: &str, cwd: &Path) -> String {
    let joined = cwd.join(arg);
    std::path::absolute(&joined)
        .unwrap_or(joined)
        .display()
        .to_string()
}

/// `arg` as a glob over absolute source paths, when it has glob characters and is one.
/// `*` stays within one folder and `**` crosses folders, as in `input.include`.
fn glob(arg: &str, cwd: &Path) -> Option<GlobMatcher> {
    if !arg.contains(['*', '?', '[', '{']) {
        return None;
    }
    let pattern = if Path::new(arg).is_absolute() {
        arg.to_string()
    } else {
        let base = globset::escape(&cwd.to_string_lossy());
        format!(
            "{}/{}",
            base.trim_end_matches('/'),
            arg.trim_start_matches("./")
        )
    };
    let glob = GlobBuilder::new(&pattern)
        .literal_separator(true)
        .build()
        .ok()?;
    Some(glob.compile_matcher())
}

/// What a list of selectors picks out of the ledger's outputs.
#[derive(Debug, PartialEq, Eq)]
pub struct Picked {
    /// How many outputs each selector matched, in the selectors' order.
    pub counts: Vec<usize>,
    /// Every output matched by any selector, once.
    pub keys: Vec<OutputKey>,
}

pub fn pick(entries: &[SourceEntry], selectors: &[Selector]) -> Picked {
    let mut counts = vec![0; selectors.len()];
    let mut keys = Vec::new();
    for e in entries {
        let mut hit = false;
        for (n, s) in counts.iter_mut().zip(selectors) {
            if s.matches(e) {
                *n += 1;
                hit = true;
            }
        }
        if hit {
            keys.push(e.key.clone());
        }
    }
    Picked { counts, keys }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(md5: &str, path: &str) -> SourceEntry {
        SourceEntry {
            key: OutputKey {
                target: "t".into(),
                source_md5: md5.into(),
            },
            source_path: path.into(),
        }
    }

    #[test]
    fn md5s_relative_paths_and_globs_pick_their_outputs() {
        let entries = [
            entry("m1", "/home/u/in/a.jpg"),
            entry("m2", "/home/u/in/b.jpg"),
            entry("m3", "/home/u/in/sub/c.jpg"),
            entry("m4", "/home/u/in/photo [1].jpg"),
        ];
        let cwd = Path::new("/home/u");
        let sel = |args: &[&str]| -> Vec<Selector> {
            args.iter().map(|a| Selector::new(a, cwd)).collect()
        };
        let p = pick(&entries, &sel(&["m2", "in/a.jpg", "./in/*.jpg", "nothing"]));
        assert_eq!(p.counts, vec![1, 1, 3, 0]);
        let md5s: Vec<&str> = p.keys.iter().map(|k| k.source_md5.as_str()).collect();
        assert_eq!(md5s, vec!["m1", "m2", "m4"], "`*` stays in its folder");
        let p = pick(&entries, &sel(&["in/**/*.jpg", "/home/u/in/sub/c.jpg"]));
        assert_eq!(p.counts, vec![4, 1]);
        assert_eq!(p.keys.len(), 4, "each output once");
        // A name with glob characters still names itself.
        let p = pick(&entries, &sel(&["in/photo [1].jpg"]));
        assert_eq!(p.counts, vec![1]);
        assert_eq!(p.keys[0].source_md5, "m4");
    }
}
