//! Placing files under a folder, for the targets that write files (a folder, the tree
//! of a host's importer). A file is written to a temporary name, synced and renamed,
//! so a crash leaves either the whole file or none; an existing file is never
//! overwritten: identical bytes count as already there, different bytes get a
//! numbered name. Names are made safe for any file system first.

use std::collections::HashSet;
use std::hash::BuildHasher;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::{Delivery, Placement};
use crate::i18n::Localized;
use crate::media::md5_hex;

/// Places files under one folder, remembering the names it gave in this run.
pub struct Placer {
    root: PathBuf,
    /// Folders made (and swept of temporary files left by a killed run) in this run.
    made: HashSet<PathBuf>,
    /// Hashes of the names given out in this run, so two sources never share one:
    /// 8 bytes a name, where the paths took a hundred. A name whose hash another
    /// shares is passed over for the next number: a suffix, never a clash.
    taken: foldhash::HashSet<u64>,
    /// Folders written to since the last [`Placer::sync`].
    unsynced: HashSet<PathBuf>,
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
            made: HashSet::new(),
            taken: foldhash::HashSet::default(),
            unsynced: HashSet::new(),
        }
    }

    /// Puts `bytes` at the rendered `name` (made safe), never replacing a different file.
    ///
    /// The file is written under a temporary name and renamed into place only if the
    /// name is free, so a new output costs no look beforehand; it is not synced here
    /// but by [`Placer::sync`], once for many files, before the ledger records them.
    pub fn place(&mut self, name: &str, bytes: &[u8], md5: &str) -> std::io::Result<Placed> {
        let rel = safe_relative(name);
        let (stem, ext) = split_ext(&rel);
        let mut written: Option<tempfile::NamedTempFile> = None;
        for n in 0..10_000u32 {
            let candidate = if n == 0 {
                rel.clone()
            } else {
                PathBuf::from(format!("{}-{n}{ext}", stem.display()))
            };
            let full = self.root.join(&candidate);
            if self
                .taken
                .contains(&name_hash(full.as_os_str().as_encoded_bytes()))
            {
                continue;
            }
            let folder = full.parent().unwrap_or(&self.root).to_path_buf();
            let tmp = match written.take() {
                Some(tmp) => tmp,
                None => self.written_temporary(&folder, bytes)?,
            };
            let placed = match tmp.persist_noclobber(&full) {
                Ok(_) => Placed::Written(full),
                Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => {
                    match std::fs::read(&full)? {
                        existing if md5_hex(&existing) == md5 => Placed::AlreadyThere(full),
                        // An empty file is no output: it is what a crash leaves of a
                        // file renamed into place before its bytes were synced.
                        existing if existing.is_empty() => {
                            e.file.persist(&full).map_err(|e| e.error)?;
                            Placed::Written(full)
                        }
                        _ => {
                            written = Some(e.file);
                            continue;
                        }
                    }
                }
                Err(e) => return Err(e.error),
            };
            self.taken
                .insert(name_hash(placed.path().as_os_str().as_encoded_bytes()));
            if matches!(placed, Placed::Written(_)) {
                self.unsynced.insert(folder);
            }
            return Ok(placed);
        }
        Err(std::io::Error::other(format!(
            "no free name for {}",
            rel.display()
        )))
    }

    /// `bytes` in a new temporary file in `folder`, made (once per run) if need be.
    fn written_temporary(
        &mut self,
        folder: &Path,
        bytes: &[u8],
    ) -> std::io::Result<tempfile::NamedTempFile> {
        if !self.made.contains(folder) {
            std::fs::create_dir_all(folder)?;
            remove_stale_temporaries(folder);
            self.made.insert(folder.to_path_buf());
        }
        let mut tmp = temporary_in(folder)?;
        tmp.write_all(bytes)?;
        Ok(tmp)
    }

    /// Makes every file placed since the last call durable, with their names: one
    /// `syncfs` per file system written to, where a sync per file would cost a
    /// journal commit per file. Called before the ledger records those files.
    pub fn sync(&mut self) -> std::io::Result<()> {
        let mut synced = HashSet::new();
        for folder in self.unsynced.drain() {
            let f = std::fs::File::open(&folder)?;
            if synced.insert(f.metadata()?.dev()) {
                sync_file_system(&f)?;
            }
        }
        Ok(())
    }
}

/// The 64-bit hash the file-writing targets keep in place of a name or a path (taken
/// names, folder listings, the manifest's keys): fixed keys, so that what one part
/// of a run hashes, another can ask about.
pub fn name_hash(bytes: &[u8]) -> u64 {
    foldhash::quality::FixedState::with_seed(0).hash_one(bytes)
}

#[cfg(target_os = "linux")]
fn sync_file_system(f: &std::fs::File) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: the descriptor is open for the whole call.
    match unsafe { libc::syncfs(f.as_raw_fd()) } {
        0 => Ok(()),
        _ => Err(std::io::Error::last_os_error()),
    }
}

#[cfg(not(target_os = "linux"))]
fn sync_file_system(_: &std::fs::File) -> std::io::Result<()> {
    // SAFETY: `sync` takes nothing and cannot fail.
    unsafe { libc::sync() };
    Ok(())
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
    let mut tmp = temporary_beside(path)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_data()?;
    Ok(tmp)
}

/// A new temporary file in `path`'s folder, to be renamed to `path` once written.
pub fn temporary_beside(path: &Path) -> std::io::Result<tempfile::NamedTempFile> {
    temporary_in(path.parent().unwrap_or(Path::new(".")))
}

/// A new temporary file in `dir`, named so that a later run knows it for a leftover.
/// It is made with the mode `cp` gives a new file, 0666 less the umask (0644 under
/// umask 022), not the 0600 of a temporary file: it becomes an output that a web
/// server or another user may have to read.
fn temporary_in(dir: &Path) -> std::io::Result<tempfile::NamedTempFile> {
    use std::os::unix::fs::PermissionsExt;
    tempfile::Builder::new()
        .prefix(&*OWN_PREFIX)
        .suffix(TEMP_SUFFIX)
        .permissions(std::fs::Permissions::from_mode(0o666))
        .tempfile_in(dir)
}

/// Removes the temporary files that a killed run left in `folder` (never a finished
/// output, never one that a run writing into the same folder at the same time is
/// about to rename): those of a process of this host that no longer runs, and any
/// untouched for [`STALE_AFTER`] (another host's, or an older pixpipe's).
fn remove_stale_temporaries(folder: &Path) {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return;
    };
    let host = crate::process::host_name();
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(owner) = temporary_owner(name.as_encoded_bytes()) else {
            continue;
        };
        let dead =
            owner.is_some_and(|(h, pid)| h == host.as_bytes() && !crate::process::alive(pid));
        let old = || {
            e.metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t.elapsed().is_ok_and(|age| age > STALE_AFTER))
        };
        if dead || old() {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Whose temporary file `name` is: `None` when it is not one; `Some(None)` when it
/// names no owner (an older pixpipe's); else its host and process id.
fn temporary_owner(name: &[u8]) -> Option<Option<(&[u8], u32)>> {
    let middle = name
        .strip_prefix(TEMP_PREFIX.as_bytes())?
        .strip_suffix(TEMP_SUFFIX.as_bytes())?;
    // HOST-PID-RANDOM: a host name may hold '-', the other two do not.
    let mut parts = middle.rsplitn(3, |b| *b == b'-');
    let (_random, pid, host) = (parts.next(), parts.next(), parts.next());
    let pid = pid.and_then(|p| std::str::from_utf8(p).ok()?.parse::<u32>().ok());
    Some(host.zip(pid))
}

/// The start of this process's temporary files' names: `.pixpipe-HOST-PID-`. Fixed
/// for the life of the process, so made once.
static OWN_PREFIX: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "{TEMP_PREFIX}{}-{}-",
        crate::process::host_name(),
        std::process::id()
    )
});

/// How long a temporary file is left alone before it counts as a killed run's, when
/// its owner cannot be asked.
const STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(15 * 60);

const TEMP_PREFIX: &str = ".pixpipe-";
const TEMP_SUFFIX: &str = ".part";

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

    /// What a crash between the rename and the sync leaves: the name, with no bytes.
    #[test]
    fn an_empty_file_at_the_name_is_replaced_and_others_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.jpg"), b"").unwrap();
        std::fs::write(dir.path().join("b.jpg"), b"someone else's").unwrap();
        let mut w = Placer::new(dir.path());
        let a = w.place("a.jpg", b"one", &md5_hex(b"one")).unwrap();
        assert_eq!(a, Placed::Written(dir.path().join("a.jpg")));
        assert_eq!(std::fs::read(dir.path().join("a.jpg")).unwrap(), b"one");
        let b = w.place("b.jpg", b"two", &md5_hex(b"two")).unwrap();
        assert_eq!(b, Placed::Written(dir.path().join("b-1.jpg")));
        assert_eq!(
            std::fs::read(dir.path().join("b.jpg")).unwrap(),
            b"someone else's"
        );
        w.sync().unwrap();
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert!(
            names.iter().all(|n| !n.starts_with(TEMP_PREFIX)),
            "no temporary file is left: {names:?}"
        );
        assert_eq!(names.len(), 3, "{names:?}");
    }

    #[test]
    fn a_folder_is_made_once_and_a_killed_runs_leftovers_swept() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = Placer::new(dir.path());
        w.place("x/a.jpg", b"one", &md5_hex(b"one")).unwrap();
        let y = dir.path().join("y");
        std::fs::create_dir_all(&y).unwrap();
        let host = crate::process::host_name();
        let mut gone = std::process::Command::new("true").spawn().unwrap();
        gone.wait().unwrap();
        let leftover = |owner: &str| {
            let p = y.join(format!("{TEMP_PREFIX}{owner}abc123{TEMP_SUFFIX}"));
            std::fs::write(&p, b"half").unwrap();
            p
        };
        let killed = leftover(&format!("{host}-{}-", gone.id()));
        let running = leftover(&format!("{host}-{}-", std::process::id()));
        let elsewhere = leftover("other-host-1-");
        let unnamed_new = leftover("");
        let unnamed_old = leftover("old-");
        let long_ago = std::time::SystemTime::now() - 2 * STALE_AFTER;
        std::fs::File::options()
            .write(true)
            .open(&unnamed_old)
            .unwrap()
            .set_modified(long_ago)
            .unwrap();
        w.place("y/b.jpg", b"two", &md5_hex(b"two")).unwrap();
        assert!(
            !killed.exists(),
            "a dead process's leftover is swept at once"
        );
        assert!(!unnamed_old.exists(), "an old leftover is swept");
        for kept in [&running, &elsewhere, &unnamed_new] {
            assert!(kept.exists(), "{} may still be renamed", kept.display());
        }
        // A leftover appearing later in a folder already swept is not this run's
        // business: only the first visit sweeps.
        let later = leftover(&format!("{host}-{}-", gone.id()));
        w.place("y/c.jpg", b"three", &md5_hex(b"three")).unwrap();
        assert!(later.exists());
        assert_eq!(w.made.len(), 2);
        assert_eq!(w.unsynced.len(), 2);
        w.sync().unwrap();
        assert!(w.unsynced.is_empty());
    }

    #[test]
    fn outputs_get_the_mode_a_new_file_gets_under_the_umask() {
        use std::os::unix::fs::PermissionsExt;
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let umask = status
            .lines()
            .find_map(|l| l.strip_prefix("Umask:"))
            .map(|m| u32::from_str_radix(m.trim(), 8).unwrap())
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut w = Placer::new(dir.path());
        let placed = w.place("a/b.jpg", b"one", &md5_hex(b"one")).unwrap();
        let mode = std::fs::metadata(placed.path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o777,
            0o666 & !umask,
            "{mode:o} under umask {umask:o}"
        );
        let folder = std::fs::metadata(dir.path().join("a")).unwrap();
        assert_eq!(folder.permissions().mode() & 0o777, 0o777 & !umask);
    }
}
