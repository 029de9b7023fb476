//! Writing outputs under the target folder, plus the manifest.
//!
//! Files are written to a temporary name and renamed, so a crash leaves either
//! the whole file or none. An existing file is never overwritten: identical
//! bytes count as already there, different bytes get a numbered name.
//!
//! The manifest gets one whole line appended per output as the run goes, so a kill
//! leaves the old manifest plus whole lines. At the end of the run it is rewritten
//! (temporary file, then rename) to one line per current output: lines of outputs
//! that are gone, or that a newer line replaces, are dropped.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::media::md5_hex;

/// Writes outputs under `root`.
pub struct DirWriter {
    root: PathBuf,
    /// Appended one whole line per write, so a kill never leaves half a line.
    manifest: std::fs::File,
    manifest_path: PathBuf,
    /// Whether this run appended lines to the manifest.
    appended: bool,
    /// Outputs already there whose source was found at another path: output → new source.
    moved: HashMap<String, String>,
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
            manifest_path,
            appended: false,
            moved: HashMap::new(),
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
        self.appended = true;
        self.manifest.write_all(&line)
    }

    /// The source of `output` (already there) is now at `source`, say after its folder was
    /// renamed: its manifest line is to name the new path.
    pub fn source_moved(&mut self, output: &str, source: &str) {
        self.moved.insert(output.to_string(), source.to_string());
    }

    /// Ends the run's writing: the appended lines are synced, then, when this run changed
    /// anything, the manifest is rewritten to one line per current output.
    pub fn finish(self) -> std::io::Result<()> {
        self.manifest.sync_data()?;
        if !self.appended && self.moved.is_empty() {
            return Ok(()); // a re-run that changed nothing reads and writes nothing
        }
        let text = std::fs::read_to_string(&self.manifest_path)?;
        let lines = current_lines(&text, &self.moved, &|output| Path::new(output).is_file());
        let mut joined = lines.join("\n");
        if !joined.is_empty() {
            joined.push('\n');
        }
        replace_atomically(&self.manifest_path, joined.as_bytes())
    }
}

/// What the rewrite needs of a manifest line; the rest of the line is kept as written.
#[derive(Deserialize)]
struct LineKeys {
    output: String,
    source_md5: String,
}

/// The lines of a manifest that still hold, oldest first: whole lines whose output still
/// `exists`, one per output path and one per source md5 (the newest line wins, as the
/// ledger keeps one output per source), with moved sources named where they are now.
fn current_lines(
    text: &str,
    moved: &HashMap<String, String>,
    exists: &dyn Fn(&str) -> bool,
) -> Vec<String> {
    let mut outputs = HashSet::new();
    let mut sources = HashSet::new();
    let mut kept: Vec<String> = Vec::new();
    for line in text.lines().rev() {
        let Ok(keys) = serde_json::from_str::<LineKeys>(line) else {
            continue; // not a whole line (an older pixpipe, a full disk): nothing to keep
        };
        if !exists(&keys.output)
            || !outputs.insert(keys.output.clone())
            || !sources.insert(keys.source_md5)
        {
            continue;
        }
        kept.push(match moved.get(&keys.output) {
            Some(source) => with_source(line, source),
            None => line.to_string(),
        });
    }
    kept.reverse();
    kept
}

/// `line` with its `source` field set to `source`.
fn with_source(line: &str, source: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(line) {
        Ok(mut v) => {
            v["source"] = serde_json::Value::from(source);
            v.to_string()
        }
        Err(_) => line.to_string(),
    }
}

/// Replaces `path` by `bytes` through a synced temporary file and a rename: a kill
/// leaves the old file or the new one, never a mix.
fn replace_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    synced_temporary_beside(path, bytes)?
        .persist(path)
        .map_err(|e| e.error)?;
    Ok(())
}

/// `bytes` in a synced temporary file in `path`'s folder, ready to be renamed to `path`.
fn synced_temporary_beside(path: &Path, bytes: &[u8]) -> std::io::Result<tempfile::NamedTempFile> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .suffix(TEMP_SUFFIX)
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_data()?;
    Ok(tmp)
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

/// Writes to a temporary file in the same folder, syncs it, then renames it into place,
/// never over an existing file.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(path.parent().unwrap_or(Path::new(".")))?;
    synced_temporary_beside(path, bytes)?
        .persist_noclobber(path)
        .map_err(|e| e.error)?;
    Ok(())
}

/// A rendered name made safe: no absolute paths, no `..`, no empty or hidden components,
/// no characters that SMB shares or Windows refuse, and never a file name that is only an
/// extension (an empty `{stem}` or `{title}` gives `unnamed.jpg`, not `jpg`).
pub fn safe_relative(name: &str) -> PathBuf {
    let parts: Vec<&str> = name.split('/').collect();
    let (file, folders) = parts.split_last().unwrap_or((&"", &[]));
    let mut out: PathBuf = folders
        .iter()
        .map(|f| safe_component(f))
        .filter(|f| !f.is_empty())
        .collect();
    out.push(safe_file_name(file));
    out
}

/// Characters a Windows or SMB file system refuses in a name, besides control characters.
const REFUSED: &[char] = &['\\', ':', '*', '?', '"', '<', '>', '|'];

/// One folder or file name: refused characters become `_`; leading dots (hidden names),
/// and leading or trailing spaces and trailing dots (which Windows drops) are trimmed.
fn safe_component(c: &str) -> String {
    let cleaned: String = c
        .chars()
        .map(|ch| match ch.is_control() || REFUSED.contains(&ch) {
            true => '_',
            false => ch,
        })
        .collect();
    cleaned
        .trim_start_matches(|ch: char| ch == '.' || ch.is_whitespace())
        .trim_end_matches(|ch: char| ch == '.' || ch.is_whitespace())
        .to_string()
}

/// The file's own name: as [`safe_component`], and never empty or a bare extension.
fn safe_file_name(c: &str) -> String {
    let bare_extension = c.trim_start().starts_with('.');
    let name = safe_component(c);
    if name.is_empty() {
        "unnamed".to_string()
    } else if bare_extension && !name.contains('.') {
        // `.jpg`, the name of a file whose stem came out empty.
        format!("unnamed.{name}")
    } else {
        name
    }
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
    fn names_never_have_an_empty_stem() {
        for (name, safe) in [
            (".jpg", "unnamed.jpg"),
            ("2020/01/.jpg", "2020/01/unnamed.jpg"),
            ("2020/01/ ..jpg", "2020/01/unnamed.jpg"),
            ("2020/01/", "2020/01/unnamed"),
            ("2020/01/.", "2020/01/unnamed"),
            ("x/..", "x/unnamed"),
            (".hidden.jpg", "hidden.jpg"),
        ] {
            assert_eq!(safe_relative(name), PathBuf::from(safe), "{name:?}");
        }
    }

    #[test]
    fn characters_windows_refuses_are_replaced_and_trailing_dots_trimmed() {
        for (name, safe) in [
            ("a:b*c?.jpg", "a_b_c_.jpg"),
            ("q\"<x>|y\\z.jpg", "q__x__y_z.jpg"),
            ("dir. /sub.../x.jpg. ", "dir/sub/x.jpg"),
            ("12:30/ end .jpg", "12_30/end .jpg"),
            ("...:/x.jpg", "_/x.jpg"),
        ] {
            assert_eq!(safe_relative(name), PathBuf::from(safe), "{name:?}");
        }
    }

    #[test]
    fn the_manifest_keeps_one_line_per_current_output() {
        let line = |source: &str, output: &str, md5: &str| {
            format!(
                r#"{{"source":"{source}","output":"{output}","source_md5":"{md5}","title":"t"}}"#
            )
        };
        let text = [
            line("/in/a.jpg", "/out/a.jpg", "ma"),
            line("/in/b.jpg", "/out/b.jpg", "mb"),
            line("/in/gone.jpg", "/out/gone.jpg", "mg"),
            r#"{"source":"/in/half"#.to_string(),
            line("/in/a.jpg", "/out/a-v2.jpg", "ma"),
            line("/in/c.jpg", "/out/b.jpg", "mc"),
            line("/in/d.jpg", "/out/d.jpg", "md"),
        ]
        .join("\n");
        let moved = HashMap::from([("/out/d.jpg".to_string(), "/new/d.jpg".to_string())]);
        let kept = current_lines(&text, &moved, &|o| o != "/out/gone.jpg");
        let pairs: Vec<(String, String)> = kept
            .iter()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                (
                    v["source"].as_str().unwrap().into(),
                    v["output"].as_str().unwrap().into(),
                )
            })
            .collect();
        let want = [
            ("/in/a.jpg", "/out/a-v2.jpg"),
            ("/in/c.jpg", "/out/b.jpg"),
            ("/new/d.jpg", "/out/d.jpg"),
        ];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(s, o)| (s.to_string(), o.to_string()))
            .collect();
        assert_eq!(pairs, want);
        assert_eq!(
            kept[0],
            line("/in/a.jpg", "/out/a-v2.jpg", "ma"),
            "kept as written"
        );
    }

    #[test]
    fn finishing_rewrites_the_manifest_only_when_the_run_changed_it() {
        let dir = tempfile::tempdir().unwrap();
        fn entry(output: &str) -> ManifestEntry<'_> {
            ManifestEntry {
                source: "/in/a.jpg",
                output,
                source_md5: "ma",
                output_md5: "x",
                title: "t",
                description: None,
                tags: &[],
                date_taken: None,
                source_bytes: 1,
                output_bytes: 1,
                width: None,
                height: None,
            }
        }
        let manifest = dir.path().join("m.jsonl");
        let first = dir.path().join("a.jpg");
        let second = dir.path().join("a-1.jpg");
        let mut w = DirWriter::open(dir.path(), "m.jsonl").unwrap();
        w.place("a.jpg", b"one", &md5_hex(b"one")).unwrap();
        w.record(&entry(first.to_str().unwrap())).unwrap();
        w.finish().unwrap();
        let mut w = DirWriter::open(dir.path(), "m.jsonl").unwrap();
        w.place("a.jpg", b"two", &md5_hex(b"two")).unwrap();
        w.record(&entry(second.to_str().unwrap())).unwrap();
        w.finish().unwrap();
        let text = std::fs::read_to_string(&manifest).unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(text.contains("a-1.jpg") && text.ends_with('\n'), "{text}");
        // Nothing changed: the file is left as it is, even a line that no longer holds.
        std::fs::write(&manifest, "stale\n").unwrap();
        DirWriter::open(dir.path(), "m.jsonl")
            .unwrap()
            .finish()
            .unwrap();
        assert_eq!(std::fs::read_to_string(&manifest).unwrap(), "stale\n");
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left.len(), 3, "no temporary file is left: {left:?}");
    }

    #[test]
    fn an_empty_stem_is_numbered_as_unnamed() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = DirWriter::open(dir.path(), "m.jsonl").unwrap();
        let a = w.place(".jpg", b"one", &md5_hex(b"one")).unwrap();
        assert_eq!(a, Placed::Written(dir.path().join("unnamed.jpg")));
        let b = w.place(".jpg", b"two", &md5_hex(b"two")).unwrap();
        assert_eq!(b, Placed::Written(dir.path().join("unnamed-1.jpg")));
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
