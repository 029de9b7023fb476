//! Writing outputs under the target folder (through the shared [`Placer`]), plus the
//! manifest.
//!
//! The manifest gets one whole line appended per output as the run goes, so a kill
//! leaves the old manifest plus whole lines. At the end of the run it is rewritten
//! (temporary file, then rename) to one line per current output: lines of outputs
//! that are gone, or that a newer line replaces, are dropped.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::deliver::files::{Placed, Placer, name_hash, temporary_beside};

/// Writes outputs under `root`.
pub struct DirWriter {
    placer: Placer,
    /// Appended one whole line per write, so a kill never leaves half a line.
    manifest: std::fs::File,
    manifest_path: PathBuf,
    /// Whether this run appended lines to the manifest.
    appended: bool,
    /// Outputs already there whose source was found at another path: output → new source.
    moved: HashMap<String, String>,
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
            placer: Placer::new(root),
            manifest,
            manifest_path,
            appended: false,
            moved: HashMap::new(),
        })
    }

    /// Puts `bytes` at the rendered `name` (made safe), never replacing a different file.
    pub fn place(&mut self, name: &str, bytes: &[u8], md5: &str) -> std::io::Result<Placed> {
        self.placer.place(name, bytes, md5)
    }

    /// Makes the outputs placed so far durable (see [`Placer::sync`]).
    pub fn sync(&mut self) -> std::io::Result<()> {
        self.placer.sync()
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
    /// anything, the manifest is rewritten to one line per current output, streamed
    /// from the old one to a temporary file renamed over it.
    pub fn finish(mut self) -> std::io::Result<()> {
        self.placer.sync()?;
        self.manifest.sync_data()?;
        if !self.appended && self.moved.is_empty() {
            return Ok(()); // a re-run that changed nothing reads and writes nothing
        }
        let open = || -> std::io::Result<_> {
            Ok(BufReader::new(std::fs::File::open(&self.manifest_path)?))
        };
        let mut tmp = temporary_beside(&self.manifest_path)?;
        let mut out = BufWriter::new(tmp.as_file_mut());
        let exists = |output: &str| Path::new(output).is_file();
        write_current_lines(open, &mut out, &self.moved, &exists)?;
        out.flush()?;
        drop(out);
        tmp.as_file().sync_data()?;
        tmp.persist(&self.manifest_path).map_err(|e| e.error)?;
        Ok(())
    }
}

/// What the rewrite needs of a manifest line; the rest of the line is kept as written.
#[derive(Deserialize)]
struct LineKeys<'a> {
    #[serde(borrow)]
    output: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    source_md5: std::borrow::Cow<'a, str>,
}

/// Writes to `out` the lines of the manifest that `open` reads that still hold, in
/// their order: whole lines whose output still `exists`, one per output path and one
/// per source md5 (the newest line wins, as the ledger keeps one output per source),
/// with moved sources named where they are now.
///
/// The manifest is read twice, never held: the first pass finds the newest line of
/// each output and each md5 from 64-bit hashes of them (41 bytes per line at most,
/// about 41 MB for a million outputs, where the text is about 340 MB). Two
/// outputs sharing a hash would lose the older one's line: at a million lines, a
/// chance of about one in 30 million.
fn write_current_lines<R: BufRead>(
    open: impl Fn() -> std::io::Result<R>,
    out: &mut impl Write,
    moved: &HashMap<String, String>,
    exists: &dyn Fn(&str) -> bool,
) -> std::io::Result<()> {
    let hash = |text: &str| name_hash(text.as_bytes());
    let mut keys: Vec<Option<[u64; 2]>> = Vec::new();
    for line in open()?.split(b'\n') {
        let line = line?;
        keys.push(
            // Not a whole line (an older pixpipe, a full disk): nothing to keep.
            serde_json::from_slice::<LineKeys>(&line)
                .ok()
                .map(|k| [hash(&k.output), hash(&k.source_md5)]),
        );
    }
    let newest = newest_lines(&keys);
    drop(keys);
    for (line, newest) in open()?.split(b'\n').zip(newest) {
        let line = line?;
        if !newest {
            continue;
        }
        let Ok(keys) = serde_json::from_slice::<LineKeys>(&line) else {
            continue; // changed since the first pass: left out, as it cannot be told
        };
        if !exists(&keys.output) {
            continue;
        }
        match moved.get(keys.output.as_ref()) {
            Some(source) => out.write_all(with_source(&line, source).as_bytes())?,
            None => out.write_all(&line)?,
        }
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// For each line's hashed keys (output, source md5), whether no later line has the
/// same output or the same md5. Sorted by (hash, line), the last of each run of equal
/// hashes is the newest.
fn newest_lines(keys: &[Option<[u64; 2]>]) -> Vec<bool> {
    let mut newest: Vec<bool> = keys.iter().map(Option::is_some).collect();
    for part in 0..2 {
        let mut by_key: Vec<(u64, usize)> = keys
            .iter()
            .enumerate()
            .filter_map(|(i, k)| k.map(|k| (k[part], i)))
            .collect();
        by_key.sort_unstable();
        for pair in by_key.windows(2) {
            if pair[0].0 == pair[1].0 {
                newest[pair[0].1] = false;
            }
        }
    }
    newest
}

/// `line` with its `source` field set to `source`.
fn with_source(line: &[u8], source: &str) -> String {
    match serde_json::from_slice::<serde_json::Value>(line) {
        Ok(mut v) => {
            v["source"] = serde_json::Value::from(source);
            v.to_string()
        }
        Err(_) => String::from_utf8_lossy(line).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::md5_hex;

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
        let mut written = Vec::new();
        write_current_lines(|| Ok(text.as_bytes()), &mut written, &moved, &|o| {
            o != "/out/gone.jpg"
        })
        .unwrap();
        let written = String::from_utf8(written).unwrap();
        let kept: Vec<&str> = written.lines().collect();
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
}
