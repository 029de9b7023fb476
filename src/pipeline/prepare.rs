//! Prepare one file on a worker thread: probe it, dedupe it, transform it, and
//! make its title, description, tags and name. Never panics: a panic inside a
//! codec becomes the file's failure.

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::dedupe::{already_there, duplicate_elsewhere, duplicate_in_run, was_pending};
use super::fields::FileFields;
use super::pairs;
use super::scan::Found;
use crate::config::RunPlan;
use crate::config::template::Template;
use crate::deliver::{Prepared, Ready, Target};
use crate::i18n::Localized;
use crate::ledger::{Claims, ContentClaim, FileRow, KnownOutput, LedgerReader};
use crate::media::{
    Probe, ProbeError, Sidecars, Source, has_media_extension, probe_file, title_from_stem,
};
use crate::record::{Outcome, State};
use crate::transform::{self, Output};

/// The shared, read-only context of the CPU stages.
/// Owned and shared, because a file stuck past its time limit is left behind on its
/// worker thread while the run goes on and ends without it.
pub struct Stage {
    pub plan: Arc<RunPlan>,
    pub ledger: Arc<dyn LedgerReader>,
    pub target_key: String,
    pub claims: Arc<Claims>,
    /// Does a ledger row for the target still hold? (The folder target checks the file exists.)
    pub still_there: Arc<dyn Fn(&KnownOutput) -> bool + Send + Sync>,
    /// The target's name template, when it names its outputs.
    pub name: Option<Template>,
    /// Whether the target's outputs leave this machine (uploaded, not written).
    pub remote: bool,
    /// The sidecars beside the photos, found by folder.
    pub sidecars: Arc<Sidecars>,
}

impl Stage {
    pub fn new(
        plan: &RunPlan,
        target: &dyn Target,
        ledger: Arc<dyn LedgerReader>,
        claims: &Arc<Claims>,
    ) -> Stage {
        Stage {
            plan: Arc::new(plan.clone()),
            ledger,
            target_key: target.key().to_string(),
            claims: Arc::clone(claims),
            still_there: target.still_there(),
            name: target.name_template().cloned(),
            remote: target.remote(),
            sidecars: Arc::new(Sidecars::new()),
        }
    }
}

/// Probe, dedupe and transform one file.
pub fn prepare(stage: &Stage, found: Found) -> Prepared {
    let path = found.path.clone();
    match std::panic::catch_unwind(AssertUnwindSafe(|| prepare_inner(stage, found))) {
        Ok(p) => p,
        Err(panic) => {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown".into());
            Prepared::Finished(
                Outcome::with_reason(
                    &path,
                    State::Failed,
                    format!("internal error while processing: {msg}"),
                ),
                None,
            )
        }
    }
}

fn prepare_inner(stage: &Stage, found: Found) -> Prepared {
    let fail = |state: State, why: Localized| {
        Prepared::Finished(Outcome::said(&found.path, state, why), None)
    };
    // Unchanged files already at the target never get here: see `QuickCheck`.
    if let Some(why) = sidecar_of(stage, &found.path) {
        return Prepared::Finished(Outcome::said(&found.path, State::Skipped, why), None);
    }
    if let Some((why, format)) = pairs::skip_unread(&stage.plan, &found.path) {
        let mut o = Outcome::said(&found.path, State::Skipped, why);
        o.format = Some(format.name().to_string());
        return Prepared::Finished(o, None);
    }
    let probe = match probe_file(&found.path, stage.plan.max_file_bytes) {
        Ok(p) => p,
        Err(e) => return fail(probe_state(&e, &found.path), e.why()),
    };
    let bytes_read = probe.bytes.len() as u64;
    let format = probe.format;
    let mut probe = match pairs::stand_in(&stage.plan, probe) {
        Ok(p) => p,
        Err(why) => {
            let mut o = Outcome::said(&found.path, State::Skipped, why);
            o.bytes_read = bytes_read;
            o.format = Some(format.name().to_string());
            return Prepared::Finished(o, None);
        }
    };
    probe.settle(&stage.sidecars, &stage.plan.metadata.precedence);
    let file_row = FileRow {
        path: found.path.clone(),
        size: found.size,
        mtime_ns: found.mtime_ns,
        source_md5: probe.md5.clone(),
        beside: found.beside.clone(),
    };
    // Every outcome from here on read the file whole.
    let read = |mut o: Outcome| {
        o.bytes_read = bytes_read;
        o
    };
    // What the ledger holds of this content; a shared ledger also grants it to this
    // worker, or says which worker delivers it from another path.
    let row = match stage
        .ledger
        .claim_content(&stage.target_key, &probe.md5, &found.path)
    {
        Ok(ContentClaim::Mine(row)) => row.map(|r| *r),
        Ok(ContentClaim::Held { worker, path }) => {
            let o = duplicate_elsewhere(&found, &probe.md5, &path, &worker);
            return Prepared::Finished(read(o), None);
        }
        Err(e) => return fail(State::Failed, cause("msg-reason-ledger", &e)),
    };
    let pending = row.as_ref().is_some_and(was_pending);
    if let Some(row) = row
        && let Some(done) = already_there(stage, &found, &probe.md5, row.into())
    {
        return Prepared::Finished(read(done), Some(file_row));
    }
    if let Some(other) = stage.claims.claim(&probe.md5, &found.path) {
        let o = duplicate_in_run(&found, &probe.md5, &other);
        return Prepared::Finished(read(o), None);
    }
    if stage.plan.mode == crate::config::Mode::Plan {
        let new = if stage.remote {
            State::Uploaded
        } else {
            State::Written
        };
        let mut o = Outcome::with_reason(&found.path, new, "new");
        o.source_md5 = Some(probe.md5.clone());
        o.source_bytes = Some(found.size);
        o.format = Some(probe.format.name().to_string());
        return Prepared::Finished(read(o), None);
    }
    match transform::transform(&probe, &stage.plan.transform) {
        Ok(output) => {
            let mut r = ready(stage, file_row, probe, output);
            r.was_pending = pending;
            Prepared::Ready(Box::new(r))
        }
        Err(e) => {
            stage.claims.release([&probe.md5]);
            let mut o = Outcome::said(
                &found.path,
                State::Failed,
                cause("msg-reason-cannot-process", &e),
            );
            o.source_md5 = Some(probe.md5.clone());
            o.format = Some(probe.format.name().to_string());
            Prepared::Finished(read(o), None)
        }
    }
}

/// Why a file is left out as the sidecar of a photo: it is never delivered itself.
fn sidecar_of(stage: &Stage, path: &Path) -> Option<Localized> {
    stage.sidecars.role(path).map(|r| r.why())
}

/// A message whose one argument is an error's own words.
fn cause(id: &'static str, e: &dyn std::fmt::Display) -> Localized {
    Localized::new(id, &[("cause", e.to_string())])
}

/// Files that are not photos are skipped, not failed: they are not the user's
/// mistake. A file named like a photo that is none is broken, so it fails.
fn probe_state(e: &ProbeError, path: &Path) -> State {
    let not_ours = matches!(e, ProbeError::Unsupported(_)) || !has_media_extension(path);
    if e.is_skip() && not_ours {
        State::Skipped
    } else {
        State::Failed
    }
}

fn ready(stage: &Stage, source: FileRow, probe: Probe, output: Output) -> Ready {
    let m = &stage.plan.metadata;
    let rel_dir: Option<PathBuf> = stage
        .plan
        .scan
        .roots
        .iter()
        .find_map(|r| source.path.strip_prefix(r).ok())
        .and_then(Path::parent)
        .map(Path::to_path_buf);
    let fields = FileFields {
        probe: &probe,
        out_ext: output.format.extension(),
        rel_dir: rel_dir.as_deref(),
    };
    let title = m.title.render(&fields).trim().to_string();
    let description = m.description.render(&fields).trim().to_string();
    let tags = render_tags(&m.tags, &fields);
    let name = stage.name.as_ref().map(|t| t.render_path(&fields));
    let stem = probe
        .path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "image".into());
    let mut sources = probe.meta.sources();
    if sources.title.is_none() && !title.is_empty() && title == title_from_stem(&stem) {
        sources.title = Some(Source::FileName);
    }
    let mut warnings = probe.meta.warnings.clone();
    warnings.extend(output.notes.iter().cloned());
    Ready {
        source,
        format: probe.format.name(),
        mime: output.format.mime(),
        title,
        description,
        tags,
        date_taken: probe.meta.date_taken.map(|d| d.iso8601()),
        sources,
        album: probe.meta.album.clone(),
        name,
        upload_name: format!("{stem}.{}", output.format.extension()),
        rel_dir,
        was_pending: false,
        output,
        warnings,
    }
}

/// Each template gives comma-separated tags; empty ones and repeats (in any case) go.
fn render_tags(templates: &[Template], fields: &FileFields<'_>) -> Vec<String> {
    let mut tags: Vec<String> = Vec::new();
    for t in templates {
        for tag in t.render(fields).split(',') {
            let tag = tag.trim();
            if !tag.is_empty() && !tags.iter().any(|x| x.eq_ignore_ascii_case(tag)) {
                tags.push(tag.to_string());
            }
        }
    }
    tags
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{LoadedPipeline, RunOptions};
    use crate::ledger::Ledger;

    fn stage(dir: &Path, input: &Path) -> Stage {
        let yaml = format!(
            "version: 1\ninput:\n  paths: [\"{}\"]\ntarget:\n  dir:\n    path: \"{}\"\n",
            input.display(),
            dir.join("out").display()
        );
        let lp = LoadedPipeline {
            file: "p.yaml".into(),
            base_dir: dir.to_path_buf(),
            pipeline: crate::config::parse(&yaml, Path::new("p.yaml")).unwrap(),
            literal_key: false,
            text: yaml.clone(),
        };
        let plan = RunPlan::resolve(&lp, &RunOptions::default()).unwrap();
        let ledger = crate::ledger::SqliteLedger::open(&dir.join("l.sqlite")).unwrap();
        Stage {
            plan: Arc::new(plan),
            ledger: ledger.reader().unwrap(),
            target_key: "t".into(),
            claims: Arc::new(Claims::new(false)),
            still_there: Arc::new(|_: &KnownOutput| true),
            name: None,
            remote: false,
            sidecars: Arc::new(Sidecars::new()),
        }
    }

    #[test]
    fn a_file_that_vanishes_or_changes_after_the_scan() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in");
        std::fs::create_dir_all(&input).unwrap();
        let stage = stage(dir.path(), &input);
        let path = input.join("a.jpg");
        let pixels = crate::transform::Pixels {
            width: 64,
            height: 48,
            channels: 3,
            data: vec![128; 64 * 48 * 3],
        };
        let jpeg = crate::transform::codecs::jpeg::encode(
            &pixels,
            &crate::transform::codecs::Extras::plain(90),
            &mut Vec::new(),
        );
        std::fs::write(&path, jpeg.unwrap()).unwrap();
        // The scan saw other sizes and times.
        let found = Found {
            path: path.clone(),
            size: 1,
            mtime_ns: 1,
            beside: String::new(),
        };
        // Changed since the scan: it is read as it is now, whole.
        match prepare(&stage, found.clone()) {
            Prepared::Ready(r) => {
                assert_eq!(r.output.width, Some(64));
                assert_eq!(
                    r.source.size, 1,
                    "the quick-check row keeps what the scan saw"
                );
            }
            Prepared::Finished(o, _) => panic!("{o:?}"),
        }
        stage
            .claims
            .release([&crate::media::md5_hex(&std::fs::read(&path).unwrap())]);
        // Gone since the scan: a failure with the reason.
        std::fs::remove_file(&path).unwrap();
        match prepare(&stage, found) {
            Prepared::Finished(o, _) => {
                assert_eq!(o.state, State::Failed);
                assert!(o.reason.unwrap().contains("cannot read"));
            }
            Prepared::Ready(_) => panic!("a vanished file cannot be ready"),
        }
    }
}
