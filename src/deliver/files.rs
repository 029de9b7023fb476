//! Placing files under a folder, for the targets that write files (a folder, the tree
//! of a host's importer). A file is written to a temporary name, synced and renamed,
//! so a crash leaves either the whole file or none; an existing file is never
//! overwritten: identical bytes count as already there, different bytes get a
//! numbered name. Names are made safe for any file system first.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::{Delivery, Placement};
use crate::i18n::Localized;
use crate::media::md5_hex;

/// Places files under one folder, remembering the names it gave in this run.
pub struct Placer {
    root: PathBuf,
    /// Folders already swept of temporary files left by a killed run.
    swept: HashSet<PathBuf>,
    /// Names given out in this run, so two sources never share one.
    taken: HashSet<PathBuf>,
}

/// Where an output ended up.
#[derive(Debug, PartialEq, Eq)]
pub enum Placed {
    Written(PathBuf),
    /// The same bytes were already there under this name.
    AlreadyThere(PathBuf),
}

impl Placed {
    pub fn path(&self) -> &Path {
        match self {
            Placed::Written(p) | Placed::AlreadyThere(p) => p,
        }
    }

    /// What placing a file under `root` came to, as a delivery. A full disk or a
    /// read-only folder fails this file, loudly; the next may still fit.
    pub fn delivery(placed: std::io::Result<Placed>, root: &Path) -> Delivery {
        match placed {
            Ok(Placed::Written(p)) => Delivery::Delivered(Placement::at(shown(&p))),
            Ok(Placed::AlreadyThere(p)) => {
                let why = Localized::new("msg-reason-identical-at", &[("where", shown(&p))]);
                Delivery::AlreadyThere(Some(Placement::at(shown(&p))), why)
            }
            Err(e) => {
                let args = [("root", shown(root)), ("cause", e.to_string())];
                Delivery::Failed(Localized::new("msg-reason-cannot-write", &args))
            }
        }
    }
}

fn shown(p: &Path) -> String {
    p.display().to_string()
}

impl Placer {
    pub fn new(root: &Path) -> Placer {
        Placer {
            root: root.to_path_buf(),
            swept: HashSet::new(),
            taken: HashSet::new(),
        }
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
}

/// Replaces `path` by `bytes` through a synced temporary file and a rename: a kill
/// leaves the old file or the new one, never a mix.
pub fn replace_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    synced_temporary_beside(path, bytes)?
        .persist(path)
        .map_err(|e| e.error)?;
    Ok(())
}

/// `bytes` in a synced temporary file in `path`'s folder, ready to be renamed to `path`.
pub fn synced_temporary_beside(
    path: &Path,
    bytes: &[u8],
) -> std::io::Result<tempfile::NamedTempFile> {
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
    fn an_empty_stem_is_numbered_as_unnamed() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = Placer::new(dir.path());
        let a = w.place(".jpg", b"one", &md5_hex(b"one")).unwrap();
        assert_eq!(a, Placed::Written(dir.path().join("unnamed.jpg")));
        let b = w.place(".jpg", b"two", &md5_hex(b"two")).unwrap();
        assert_eq!(b, Placed::Written(dir.path().join("unnamed-1.jpg")));
    }

    #[test]
    fn never_overwrites_a_different_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = Placer::new(dir.path());
        let a = w.place("x/a.jpg", b"one", &md5_hex(b"one")).unwrap();
        assert_eq!(a, Placed::Written(dir.path().join("x/a.jpg")));
        let b = w.place("x/a.jpg", b"two", &md5_hex(b"two")).unwrap();
        assert_eq!(b, Placed::Written(dir.path().join("x/a-1.jpg")));
        let mut w2 = Placer::new(dir.path());
        let again = w2.place("x/a.jpg", b"one", &md5_hex(b"one")).unwrap();
        assert_eq!(again, Placed::AlreadyThere(dir.path().join("x/a.jpg")));
        assert_eq!(std::fs::read(dir.path().join("x/a.jpg")).unwrap(), b"one");
    }
}
