//! Writes the page: HTML with its style and script inline, the summary as HTML, and the
//! rows as one embedded JSON array that the script renders a screen at a time, so the
//! DOM stays small. A page of many rows is split into files of [`ROWS_PER_FILE`] rows
//! (see [`Pages`]), so neither the writer's memory nor any file grows with the archive.
//! Each file is written to a temporary name and renamed: a reader sees the old file or
//! the new one, never half of one.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::Entry;
use crate::i18n::Messages;

const STYLE: &str = include_str!("page.css");
const SCRIPT: &str = include_str!("page.js");

/// Nothing may load from anywhere: images are `data:`, style and script inline.
const CSP: &str =
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'";

/// What the top of the page says.
#[derive(Debug, Clone, Default)]
pub struct Head {
    /// "pixpipe run", "pixpipe ledger".
    pub heading: String,
    /// The pipeline file, when there is one.
    pub pipeline: Option<String>,
    /// Folders or host URLs (never a key).
    pub targets: Vec<String>,
    /// Files per state, by the state's one spelling.
    pub counts: Vec<(String, u64)>,
    /// Time, bytes, rate, …: label and value.
    pub facts: Vec<(String, String)>,
}

/// Rows per file of a page: each file's first screen shows within a second or so,
/// and whoever writes a page holds two files' rows at most, whatever the number of
/// rows (a run of 10^6 files, a ledger of 10^6 deliveries).
pub const ROWS_PER_FILE: usize = 2_000;

/// A page written as its rows come: the first [`ROWS_PER_FILE`] rows go in the file
/// named, with the summary (known last) and links to every part; the rest go in
/// numbered files beside it (`run-2.html`, `run-3.html`, …), each whole by itself and
/// linked to the ones before and after, written as soon as the next one starts.
pub struct Pages {
    path: PathBuf,
    per_file: usize,
    first: Vec<Entry>,
    current: Vec<Entry>,
    /// Files written beside the first so far.
    parts: usize,
}

impl Pages {
    pub fn new(path: &Path, per_file: usize) -> Pages {
        Pages {
            path: path.to_path_buf(),
            per_file: per_file.max(1),
            first: Vec::new(),
            current: Vec::new(),
            parts: 0,
        }
    }

    /// Adds a row; writes the part before it when it starts a new one. `head` says
    /// what the parts after the first repeat (heading, pipeline, targets).
    pub fn push(&mut self, e: Entry, head: &Head, m: &Messages) -> std::io::Result<()> {
        if self.first.len() < self.per_file {
            self.first.push(e);
            return Ok(());
        }
        if self.current.len() == self.per_file {
            self.write_part(head, m, true)?;
        }
        self.current.push(e);
        Ok(())
    }

    /// Writes the last part and then the first, with the whole summary in `head`;
    /// removes the parts an earlier, longer page left. Gives the number of files.
    pub fn finish(mut self, head: &Head, m: &Messages) -> std::io::Result<usize> {
        if !self.current.is_empty() {
            self.write_part(head, m, false)?;
        }
        let total = self.parts + 1;
        let nav = Nav {
            links: (1..=total).map(|n| (n.to_string(), self.name(n))).collect(),
            ..Nav::default()
        };
        write_file(&self.path, head, &nav, &self.first, m)?;
        let mut stale = total + 1;
        while std::fs::remove_file(self.part_path(stale)).is_ok() {
            stale += 1;
        }
        Ok(total)
    }

    fn write_part(&mut self, head: &Head, m: &Messages, more: bool) -> std::io::Result<()> {
        let n = self.parts + 2;
        let rows = std::mem::take(&mut self.current);
        let w = |id: &str| m.text(id, &[]);
        let mut links = vec![
            (w("msg-page-first"), self.name(1)),
            (w("msg-page-previous"), self.name(n - 1)),
        ];
        if more {
            links.push((w("msg-page-next"), self.name(n + 1)));
        }
        let part = Head {
            heading: format!(
                "{} ({})",
                head.heading,
                m.text("msg-page-part", &[("part", n.to_string())])
            ),
            pipeline: head.pipeline.clone(),
            targets: head.targets.clone(),
            counts: counts_of(&rows),
            facts: Vec::new(),
        };
        write_file(
            &self.part_path(n),
            &part,
            &Nav { links, current: n },
            &rows,
            m,
        )?;
        self.parts += 1;
        Ok(())
    }

    /// The file name of part `n` (1 is the page named), for links between parts.
    fn name(&self, n: usize) -> String {
        self.part_path(n)
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    fn part_path(&self, n: usize) -> PathBuf {
        if n == 1 {
            return self.path.clone();
        }
        let stem = self.path.file_stem().unwrap_or_default().to_string_lossy();
        let name = match self.path.extension() {
            Some(ext) => format!("{stem}-{n}.{}", ext.to_string_lossy()),
            None => format!("{stem}-{n}"),
        };
        self.path.with_file_name(name)
    }
}

/// The rows of one part per state, in the order of the states.
fn counts_of(rows: &[Entry]) -> Vec<(String, u64)> {
    let mut counts: Vec<(String, u64)> = Vec::new();
    for e in rows {
        match counts.iter_mut().find(|(s, _)| *s == e.state) {
            Some((_, n)) => *n += 1,
            None => counts.push((e.state.clone(), 1)),
        }
    }
    counts
}

/// Links between the parts of a page.
#[derive(Default)]
struct Nav {
    /// Label and file name.
    links: Vec<(String, String)>,
    /// This part's number; 0 on the first, which lists them all.
    current: usize,
}

/// Writes one file of a page to `path`, atomically, in the words of `m`.
fn write_file(
    path: &Path,
    head: &Head,
    nav: &Nav,
    entries: &[Entry],
    m: &Messages,
) -> std::io::Result<()> {
    let folder = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(folder)?;
    let tmp = temp_builder().tempfile_in(folder)?;
    let mut out = BufWriter::new(tmp.as_file());
    write_head(&mut out, head, m)?;
    write_nav(&mut out, nav, m)?;
    write_controls(&mut out, head, m)?;
    write_data(&mut out, entries)?;
    write_words(&mut out, m)?;
    write!(out, "<script>{SCRIPT}</script>\n</body>\n</html>\n")?;
    out.flush()?;
    drop(out);
    tmp.as_file().sync_data()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// The links to the other parts, when there are others.
fn write_nav(out: &mut impl Write, nav: &Nav, m: &Messages) -> std::io::Result<()> {
    if nav.links.len() < 2 {
        return Ok(());
    }
    write!(
        out,
        "<nav class=\"parts\" aria-label=\"{}\">",
        escape(&m.text("msg-page-parts", &[]))
    )?;
    for (label, href) in &nav.links {
        write!(out, "<a href=\"{}\">{}</a> ", escape(href), escape(label))?;
    }
    if nav.current > 0 {
        let here = m.text("msg-page-part", &[("part", nav.current.to_string())]);
        write!(out, "<span aria-current=\"page\">{}</span>", escape(&here))?;
    }
    writeln!(out, "</nav>")
}

/// A hidden temporary name beside the page; readable by others like any page
/// (within the umask), not only by its owner as temporary files are.
fn temp_builder() -> tempfile::Builder<'static, 'static> {
    let mut b = tempfile::Builder::new();
    b.prefix(".pixpipe-page-").suffix(".part");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        b.permissions(std::fs::Permissions::from_mode(0o644));
    }
    b
}

/// The words the script shows, as JSON beside the data.
fn write_words(out: &mut impl Write, m: &Messages) -> std::io::Result<()> {
    let w = |id: &str| m.text(id, &[]);
    let words = serde_json::json!({
        "delivered": w("msg-page-delivered"),
        "there": w("msg-page-there"),
        "failed": w("msg-page-failed"),
        "skipped": w("msg-page-skipped"),
        "not_started": w("msg-page-not-started"),
        "more": w("msg-page-show-more"),
        "dup": w("msg-page-possibly-duplicated"),
        "links": {
            "viewer": w("msg-page-link-viewer"),
            "image": w("msg-page-link-image"),
            "file": w("msg-page-link-file"),
        },
        "shown": m.text(
            "msg-page-shown",
            &[("shown", "{shown}".into()), ("total", "{total}".into())]
        ),
    });
    let json = serde_json::to_string(&words).unwrap_or_default();
    writeln!(
        out,
        "<script type=\"application/json\" id=\"words\">{}</script>",
        json.replace('<', "\\u003c")
    )
}

/// A state's word for people ("already there", "已在目标中").
fn state_word(state: &str, m: &Messages) -> String {
    m.text(&format!("msg-word-{state}"), &[])
}

fn write_head(out: &mut impl Write, head: &Head, m: &Messages) -> std::io::Result<()> {
    let title = match &head.pipeline {
        Some(p) => format!("{}: {}", head.heading, file_name(p)),
        None => head.heading.clone(),
    };
    write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<header>\n<h1>{}</h1>\n",
        m.lang().tag(),
        escape(&title),
        escape(&title)
    )?;
    if let Some(p) = &head.pipeline {
        let label = m.text("msg-page-pipeline", &[]);
        writeln!(out, "<p>{} <code>{}</code></p>", escape(&label), escape(p))?;
    }
    for t in &head.targets {
        let label = m.text("msg-page-target", &[]);
        writeln!(out, "<p>{} <code>{}</code></p>", escape(&label), escape(t))?;
    }
    write_summary(out, head, m)?;
    writeln!(out, "</header>")
}

/// The counts and facts, as a list a screen reader reads in order.
fn write_summary(out: &mut impl Write, head: &Head, m: &Messages) -> std::io::Result<()> {
    writeln!(out, "<dl class=\"summary\">")?;
    for (state, n) in &head.counts {
        writeln!(
            out,
            "<div><dt>{}</dt><dd data-count=\"{}\">{n}</dd></div>",
            escape(&state_word(state, m)),
            escape(state)
        )?;
    }
    for (label, value) in &head.facts {
        writeln!(
            out,
            "<div><dt>{}</dt><dd>{}</dd></div>",
            escape(label),
            escape(value)
        )?;
    }
    writeln!(out, "</dl>")
}

/// The filter box and a toggle per state that has files.
fn write_controls(out: &mut impl Write, head: &Head, m: &Messages) -> std::io::Result<()> {
    writeln!(
        out,
        "<main>\n<form class=\"controls\" role=\"search\" onsubmit=\"return false\">\n\
         <label for=\"filter\">{}</label>\n\
         <input type=\"search\" id=\"filter\" autocomplete=\"off\">\n\
         <fieldset><legend>{}</legend>",
        escape(&m.text("msg-page-filter", &[])),
        escape(&m.text("msg-page-states", &[]))
    )?;
    for (state, n) in head.counts.iter().filter(|(_, n)| *n > 0) {
        writeln!(
            out,
            "<label class=\"toggle\"><input type=\"checkbox\" name=\"state\" value=\"{}\" checked> {} ({n})</label>",
            escape(state),
            escape(&state_word(state, m))
        )?;
    }
    writeln!(
        out,
        "</fieldset>\n<p id=\"shown\" aria-live=\"polite\"></p>\n</form>\n<div id=\"sections\"></div>\n</main>"
    )
}

/// The rows as JSON inside a non-executed script element, escaped so that no text
/// of theirs can close it (`</script>` in a title stays data).
fn write_data(out: &mut impl Write, entries: &[Entry]) -> std::io::Result<()> {
    write!(out, "<script type=\"application/json\" id=\"data\">[")?;
    for (i, e) in entries.iter().enumerate() {
        if i > 0 {
            out.write_all(b",\n")?;
        }
        let json = serde_json::to_string(e).map_err(std::io::Error::other)?;
        out.write_all(script_safe(&json).as_bytes())?;
    }
    writeln!(out, "]</script>")
}

/// JSON that is still the same JSON but holds no `<`, `>` or `&` (nor the two line
/// separators old parsers choke on).
pub(super) fn script_safe(json: &str) -> String {
    let mut s = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => s.push_str("\\u003c"),
            '>' => s.push_str("\\u003e"),
            '&' => s.push_str("\\u0026"),
            '\u{2028}' => s.push_str("\\u2028"),
            '\u{2029}' => s.push_str("\\u2029"),
            c => s.push(c),
        }
    }
    s
}

/// Text for HTML content and attribute values.
pub(super) fn escape(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => s.push_str("&amp;"),
            '<' => s.push_str("&lt;"),
            '>' => s.push_str("&gt;"),
            '"' => s.push_str("&quot;"),
            '\'' => s.push_str("&#39;"),
            c => s.push(c),
        }
    }
    s
}

fn file_name(path: &str) -> String {
    Path::new(path)
        .file_name()
        .map_or_else(|| path.to_string(), |n| n.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_text_cannot_close_the_script_or_a_tag() {
        let e = Entry {
            state: "written".into(),
            title: Some("</script><b>x & y".into()),
            ..Entry::default()
        };
        let json = script_safe(&serde_json::to_string(&e).unwrap());
        assert!(!json.contains('<') && !json.contains('>'), "{json}");
        let back: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(back["title"], "</script><b>x & y");
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn the_page_of_ten_thousand_files_is_written_whole() {
        let dir = tempfile::tempdir().unwrap();
        let photo = crate::tools::bench::generated_jpeg(1600, 1067, 1);
        let thumb = crate::transform::thumbnail_of_file(&photo, 160).unwrap();
        let entries: Vec<Entry> = (0..10_000)
            .map(|i| Entry {
                state: "written".into(),
                path: format!("/photos/2024/IMG_{i:05}.jpg"),
                title: Some(format!("IMG {i:05}")),
                date: Some("2024-06-01T12:00:00".into()),
                bytes: Some(350_000),
                width: Some(1600),
                height: Some(1067),
                links: vec![super::super::entry::Link {
                    label: "file",
                    href: format!("out/2024/06/IMG_{i:05}.jpg"),
                }],
                thumbnail: Some(thumb.clone()),
                ..Entry::default()
            })
            .collect();
        let path = dir.path().join("page.html");
        let m = crate::i18n::english();
        let mut pages = Pages::new(&path, entries.len());
        for e in entries {
            pages.push(e, &Head::default(), m).unwrap();
        }
        assert_eq!(pages.finish(&Head::default(), m).unwrap(), 1);
        let size = std::fs::metadata(&path).unwrap().len();
        eprintln!(
            "10,000 files: page of {size} bytes (thumbnail {} bytes)",
            thumb.len()
        );
        assert!(size > 10_000 * thumb.len() as u64, "{size}");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.trim_end().ends_with("</html>"));
        assert_eq!(text.matches("\"thumb\":").count(), 10_000);
    }

    #[test]
    fn a_page_of_many_rows_is_split_into_linked_parts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.html");
        // A part left by an earlier, longer page goes; one of another page stays.
        std::fs::write(dir.path().join("run-4.html"), "old").unwrap();
        std::fs::write(dir.path().join("other-2.html"), "other").unwrap();
        let m = crate::i18n::english();
        let head = Head {
            heading: "pixpipe run".into(),
            ..Head::default()
        };
        let mut pages = Pages::new(&path, 3);
        for i in 0..8 {
            let e = Entry {
                state: if i % 2 == 0 { "written" } else { "failed" }.into(),
                path: format!("/in/{i}.jpg"),
                ..Entry::default()
            };
            pages.push(e, &head, m).unwrap();
        }
        assert_eq!(pages.finish(&head, m).unwrap(), 3);
        let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap();
        let (first, second, third) = (read("run.html"), read("run-2.html"), read("run-3.html"));
        let rows = |page: &str| page.matches("\"path\":").count();
        assert_eq!((rows(&first), rows(&second), rows(&third)), (3, 3, 2));
        for part in ["run.html", "run-2.html", "run-3.html"] {
            assert!(first.contains(&format!("href=\"{part}\"")), "{part}");
        }
        assert!(second.contains("href=\"run.html\"") && second.contains("href=\"run-3.html\""));
        assert!(third.contains("href=\"run-2.html\"") && !third.contains("run-4.html"));
        assert!(second.contains("part 2") && second.contains("data-count=\"failed\">2"));
        assert!(!dir.path().join("run-4.html").exists());
        assert!(dir.path().join("other-2.html").exists());
        for page in [&first, &second, &third] {
            assert!(page.trim_end().ends_with("</html>"));
        }
    }
}
