//! Writing outputs under the target folder, plus the manifest.
//!
//! Files are written to a temporary name and renamed, so a crash leaves either
//! the whole file or none. An existing file is never overwritten: identical
//! bytes count as already there, different bytes get a numbered name.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Component, Path, PathBuf};

use serde::Serialize;

use crate::media::md5_hex;

/// Writes outputs under `root`.
pub struct DirWriter {
    root: PathBuf,
    /// Appended one whole line per write, so a kill never leaves half a line.
    manifest: std::fs::File,
    /// Folders already swept of temporary files left by a killed run.
    swept: HashSet<PathBuf>,
    /// Names given out in this run, so two sources never share one.
    taken: HashSet<PathBuf>,
}

/// A manifest line.
#[derive(Debug, Serialize)]
pub struct ManifestEntry<'a> {
    pub source: &'a str,
    pub output: &'a str,
    pub source_md5: &'a str,
    pub output_md5: &'a str,
    pub title: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<&'a str>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub tags: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_taken: Option<&'a str>,
    pub source_bytes: u64,
    pub output_bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
}

/// Where an output ended up.
#[derive(Debug, PartialEq, Eq)]
pub enum Placed {
    Written(PathBuf),
    /// The same bytes were already there under this name.
    AlreadyThere(PathBuf),
}

impl DirWriter {
    pub fn open(root: &Path, manifest_name: &str) -> std::io::Result<DirWriter> {
        std::fs::create_dir_all(root)?;
        let manifest_path = root.join(manifest_name);
        if let Some(parent) = manifest_path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let manifest = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&manifest_path)?;
        Ok(DirWriter {
            root: root.to_path_buf(),
            manifest,
            swept: HashSet::new(),
            taken: HashSet::new(),
        })
    }

    /// Puts `bytes` at the rendered `name` (made safe), never replacing a different file.
    pub fn place(&mut self, name: &str, bytes: &[u8], md5: &str) -> std::io::Result<Placed> {
        let rel = safe_relative(name);
        let (stem, ext) = split_ext(&rel);
        for n in 0..10_000u32 {
            let candidate = if n == 0 {
                rel.clone()
            } else {
                PathBuf::from(format!("{}-{n}{ext}", stem.display()))
            };
            let full = self.root.join(&candidate);
            if self.taken.contains(&full) {
                continue;
            }
            match std::fs::read(&full) {
                Ok(existing) if md5_hex(&existing) == md5 => {
                    self.taken.insert(full.clone());
                    return Ok(Placed::AlreadyThere(full));
                }
                Ok(_) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    if let Some(folder) = full.parent()
                        && self.swept.insert(folder.to_path_buf())
                    {
                        remove_stale_temporaries(folder);
                    }
                    write_atomically(&full, bytes)?;
                    self.taken.insert(full.clone());
                    return Ok(Placed::Written(full));
                }
                Err(e) => return Err(e),
            }
        }
        Err(std::io::Error::other(format!(
            "no free name for {}",
            rel.display()
        )))
    }

    pub fn record(&mut self, entry: &ManifestEntry<'_>) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(entry)?;
        line.push(b'\n');
        self.manifest.write_all(&line)
    }

    pub fn flush(&mut self) -> std::io::Result<()> {
        self.manifest.sync_data()
    }
}

/// Removes the temporary files that a killed run left in `folder` (never a finished output).
fn remove_stale_temporaries(folder: &Path) {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let name = name.as_encoded_bytes();
        if name.starts_with(TEMP_PREFIX.as_bytes()) && name.ends_with(TEMP_SUFFIX.as_bytes()) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

const TEMP_PREFIX: &str = ".pixpipe-";
const TEMP_SUFFIX: &str = ".part";

/// Writes to a temporary file in the same folder, syncs it, then renames it into place.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .suffix(TEMP_SUFFIX)
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_data()?;
    tmp.persist_noclobber(path).map_err(|e| e.error)?;
    Ok(())
}

/// A rendered name made safe: no absolute paths, no `..`, no empty or hidden components,
/// no control characters.
pub fn safe_relative(name: &str) -> PathBuf {
    let mut out = PathBuf::new();
    for comp in Path::new(name).components() {
        if let Component::Normal(c) = comp {
            let cleaned: String = c
                .to_string_lossy()
                .chars()
                .map(|ch| {
                    if ch.is_control() || ch == '\\' {
                        '_'
                    } else {
                        ch
                    }
                })
                .collect();
            let cleaned = cleaned.trim().trim_start_matches('.').to_string();
            if !cleaned.is_empty() {
                out.push(cleaned);
            }
        }
    }
    if out.as_os_str().is_empty() {
        out.push("unnamed");
    }
    out
}

fn split_ext(p: &Path) -> (PathBuf, String) {
    match p.extension() {
        Some(e) => (p.with_extension(""), format!(".{}", e.to_string_lossy())),
        None => (p.to_path_buf(), String::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cannot_escape_the_root() {
        assert_eq!(
            safe_relative("../../etc/passwd"),
            PathBuf::from("etc/passwd")
        );
        assert_eq!(safe_relative("/abs/x.jpg"), PathBuf::from("abs/x.jpg"));
        assert_eq!(safe_relative("a/\n.b.jpg"), PathBuf::from("a/_.b.jpg"));
        assert_eq!(safe_relative(""), PathBuf::from("unnamed"));
    }

    #[test]
    fn never_overwrites_a_different_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = DirWriter::open(dir.path(), "m.jsonl").unwrap();
        let a = w.place("x/a.jpg", b"one", &md5_hex(b"one")).unwrap();
        assert_eq!(a, Placed::Written(dir.path().join("x/a.jpg")));
        let b = w.place("x/a.jpg", b"two", &md5_hex(b"two")).unwrap();
        assert_eq!(b, Placed::Written(dir.path().join("x/a-1.jpg")));
        let mut w2 = DirWriter::open(dir.path(), "m.jsonl").unwrap();
        let again = w2.place("x/a.jpg", b"one", &md5_hex(b"one")).unwrap();
        assert_eq!(again, Placed::AlreadyThere(dir.path().join("x/a.jpg")));
        assert_eq!(std::fs::read(dir.path().join("x/a.jpg")).unwrap(), b"one");
    }
}
