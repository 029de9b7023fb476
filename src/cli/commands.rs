//! One function per command; each returns the process's exit code.

use std::path::{Path, PathBuf};
use std::process;

use clap::CommandFactory;

use crate::config::template::Template;
use crate::config::{
    self, CheveretoTarget, ConfigError, LoadedPipeline, Mode, Pipeline, RuleError, RunOptions,
    RunPlan, Secret, Target, Text, Verbosity, Width,
};
use crate::context::RunContext;
use crate::deliver;
use crate::exit_codes::ExitCode;
use crate::i18n::{Lang, Messages};
use crate::pipeline::{self, RunError};
use crate::record::ReportWriter;
use crate::tools::{bench as benchmark, inspect as inspection};

use super::args::{Cli, OneOff};
use super::output::{self, Output, PrintError};
use super::render;

pub(super) fn load(path: &Path, lang: Lang) -> Result<LoadedPipeline, ExitCode> {
    config::load(path).map_err(|e| config_error(&e, lang))
}

fn resolve(lp: &LoadedPipeline, opts: &RunOptions) -> Result<RunPlan, ExitCode> {
    RunPlan::resolve(lp, opts).map_err(|e| config_error(&e, opts.lang))
}

/// A mistake in the pipeline file, located; the file, key and value stay as written.
pub(super) fn config_error(e: &ConfigError, lang: Lang) -> ExitCode {
    let m = Messages::new(lang);
    let mut text = e.to_string();
    if let ConfigError::Rule { rule, .. } = e
        && let Some(id) = rule_message(rule)
    {
        text = text.replace(&rule.to_string(), &m.text(id, &[]));
    }
    eprintln!(
        "pixpipe: {}",
        m.text("msg-config-error", &[("error", text)])
    );
    ExitCode::BadConfig
}

/// The message of a rule across keys (the host's URL rules keep their own words).
fn rule_message(rule: &RuleError) -> Option<&'static str> {
    Some(match rule {
        RuleError::TwoTargets => "msg-rule-two-targets",
        RuleError::NoTarget => "msg-rule-no-target",
        RuleError::ImportUser => "msg-rule-import-user",
        RuleError::NoInput => "msg-rule-no-input",
        RuleError::UrlsNeedChevereto => "msg-rule-urls-need-chevereto",
        RuleError::TwoLedgers => "msg-rule-two-ledgers",
        RuleError::Endpoint(_) => return None,
    })
}

/// Why `check` could not show the pipeline it read.
#[derive(Debug, thiserror::Error)]
enum ShowError {
    #[error("cannot show it as YAML: {0}")]
    Yaml(#[from] serde_saphyr::ser::Error),
    #[error("cannot show it as JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// The pipeline as read, secrets as `***`: YAML with an "ok" line, or one JSON object.
fn shown(path: &Path, pipeline: &Pipeline, json: bool) -> Result<String, ShowError> {
    Ok(if json {
        format!("{}\n", serde_json::to_string(pipeline)?)
    } else {
        format!(
            "# {}: ok\n{}",
            path.display(),
            serde_saphyr::to_string(pipeline)?
        )
    })
}

pub fn check(path: &Path, json: bool, online: bool, lang: Lang) -> ExitCode {
    let lp = match load(path, lang) {
        Ok(lp) => lp,
        Err(code) => return code,
    };
    warn_about_literal_key(&lp);
    // The same resolution as `plan` and `run`, so what `check` passes they take.
    let opts = RunOptions {
        mode: Mode::Plan,
        lang,
        ..RunOptions::default()
    };
    let plan = match resolve(&lp, &opts) {
        Ok(plan) => plan,
        Err(code) => return code,
    };
    let verdict = match online {
        true => check_online(&plan),
        false => ExitCode::Success,
    };
    match shown(path, &lp.pipeline, json) {
        Ok(text) => output::finished(output::print(text.as_bytes()), verdict),
        Err(e) => {
            eprintln!("pixpipe: {}: {e}", path.display());
            ExitCode::BadConfig
        }
    }
}

/// Asks the plan's target whether a run could deliver, and says the answer on stderr:
/// exit 0 when it could, 3 when it could not (a refused key, no answer), 2 when the
/// target has nothing to ask.
fn check_online(plan: &RunPlan) -> ExitCode {
    let m = Messages::new(plan.lang);
    let checked = deliver::open(plan, &RunContext::new())
        .ok()
        .and_then(|t| Some((t.describe(), t.check_online()?)));
    let Some((url, c)) = checked else {
        eprintln!("pixpipe: {}", m.text("msg-online-no-host", &[]));
        return ExitCode::BadConfig;
    };
    let why = c.why.map(|w| m.render(&w)).unwrap_or_default();
    eprintln!("pixpipe: {}", m.text(c.id, &[("url", url), ("why", why)]));
    match c.ok {
        true => ExitCode::Success,
        false => ExitCode::Fatal,
    }
}

/// Files and folders (walked like `run` walks them), one after the other, as they are read.
pub fn inspect(paths: &[PathBuf], json: bool) -> ExitCode {
    let mut out = Output::stdout();
    let mut failed = false;
    let mut printed = Ok(());
    inspection::walk(paths, config::Limits::default().max_file_mib.bytes(), |i| {
        failed |= i.error.is_some();
        printed = show_inspection(&mut out, &i, json);
        printed.is_ok()
    });
    let code = match failed {
        true => ExitCode::SomeFailed,
        false => ExitCode::Success,
    };
    output::finished(printed.and_then(|()| out.finish()), code)
}

fn show_inspection(
    out: &mut Output,
    i: &inspection::Inspection,
    json: bool,
) -> Result<(), PrintError> {
    if json {
        out.line(serde_json::to_string(i).unwrap_or_default())
    } else {
        out.text(&inspection::to_text(i))
    }
}

/// A completion script from clap's own generator, so it always matches the options.
pub fn completions(shell: clap_complete::Shell) -> ExitCode {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "pixpipe", &mut script);
    output::finished(output::print(&script), ExitCode::Success)
}

/// The manual page (roff), from the same definitions as `--help`.
pub fn man() -> ExitCode {
    let mut page = Vec::new();
    if let Err(e) = clap_mangen::Man::new(Cli::command()).render(&mut page) {
        eprintln!("pixpipe: cannot make the manual page: {e}");
        return ExitCode::Fatal;
    }
    output::finished(output::print(&page), ExitCode::Success)
}

/// `--report -` takes stdout, so `--json` cannot have it too. The summary is refused
/// rather than moved to stderr: there it would be mixed with the progress line and the
/// messages, and no longer be something a script can parse.
fn one_use_of_stdout(report: Option<&Path>, json: bool) -> Result<(), ExitCode> {
    if json && report.is_some_and(ReportWriter::is_stdout) {
        eprintln!(
            "pixpipe: --json and --report - both print to stdout; write the report to a file, or leave out --json"
        );
        return Err(ExitCode::BadConfig);
    }
    Ok(())
}

pub fn run(path: &Path, opts: &RunOptions, json: bool) -> ExitCode {
    if let Err(code) = one_use_of_stdout(opts.report.as_deref(), json) {
        return code;
    }
    let lp = match load(path, opts.lang) {
        Ok(lp) => lp,
        Err(code) => return code,
    };
    warn_about_literal_key(&lp);
    match resolve(&lp, opts) {
        Ok(plan) => run_plan(&plan, json),
        Err(code) => code,
    }
}

fn run_plan(plan: &RunPlan, json: bool) -> ExitCode {
    let ctx = RunContext::new();
    install_interrupt_handler(&ctx);
    match pipeline::run(plan, &ctx) {
        Ok(summary) => render::finish(&summary, plan, json),
        Err(e) => fail(&e),
    }
}

fn fail(e: &RunError) -> ExitCode {
    if e.stdout_closed() {
        // `--report - | head`: the reader left; that is the end, not an error to tell.
        return ExitCode::BrokenPipe;
    }
    eprintln!("pixpipe: {e}");
    match e {
        RunError::Config(_) => ExitCode::BadConfig,
        _ => ExitCode::Fatal,
    }
}

/// First Ctrl-C: stop taking files, finish and record those in flight. Second: leave at once.
fn install_interrupt_handler(ctx: &RunContext) {
    let ctx = ctx.clone();
    std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        rt.block_on(async {
            if tokio::signal::ctrl_c().await.is_ok() {
                ctx.interrupt();
                eprintln!("pixpipe: stopping after the files in flight (Ctrl-C again to quit now)");
            }
            if tokio::signal::ctrl_c().await.is_ok() {
                process::exit(ExitCode::Interrupted.code());
            }
        });
    });
}

/// A key written into a file that others can read is a key others can use.
fn warn_about_literal_key(lp: &LoadedPipeline) {
    use std::os::unix::fs::PermissionsExt;
    if !lp.literal_key {
        return;
    }
    let mode = std::fs::metadata(&lp.file)
        .map(|m| m.permissions().mode())
        .unwrap_or(0);
    if mode & 0o077 != 0 {
        eprintln!(
            "pixpipe: warning: {} holds an API key and can be read by other users; use ${{CHEVERETO_API_KEY}} or chmod 600 it",
            lp.file.display()
        );
    }
}

pub fn plan(path: &Path, jobs: Option<usize>, json: bool, lang: Lang) -> ExitCode {
    let lp = match load(path, lang) {
        Ok(lp) => lp,
        Err(code) => return code,
    };
    warn_about_literal_key(&lp);
    let opts = RunOptions {
        jobs,
        report: None,
        html: None,
        verbosity: Verbosity::Quiet,
        mode: Mode::Plan,
        no_ledger: false,
        lang,
    };
    let plan = match resolve(&lp, &opts) {
        Ok(p) => p,
        Err(code) => return code,
    };
    match pipeline::run(&plan, &RunContext::new()) {
        Ok(s) => output::finished(
            render::plan(&s, json, &Messages::new(lang)),
            ExitCode::Success,
        ),
        Err(e) => {
            eprintln!("pixpipe: {e}");
            ExitCode::Fatal
        }
    }
}

/// The one-off upload: a pipeline built from the command line, never from YAML text.
pub fn upload(
    o: &OneOff,
    report: Option<PathBuf>,
    verbosity: Verbosity,
    json: bool,
    lang: Lang,
) -> ExitCode {
    if let Err(code) = one_use_of_stdout(report.as_deref(), json) {
        return code;
    }
    let Some(key) = std::env::var("CHEVERETO_API_KEY")
        .ok()
        .filter(|k| !k.is_empty())
    else {
        eprintln!("pixpipe: set the API key in the environment variable CHEVERETO_API_KEY");
        return ExitCode::BadConfig;
    };
    let lp = one_off_pipeline(o, key);
    let opts = RunOptions {
        jobs: None,
        report,
        html: None,
        verbosity,
        mode: Mode::Deliver,
        no_ledger: o.no_ledger,
        lang,
    };
    let plan = match resolve(&lp, &opts) {
        Ok(plan) => plan,
        Err(code) => return code,
    };
    if verbosity != Verbosity::Quiet {
        // Without a pipeline file the ledger's place is nowhere in sight: say it.
        match plan.ledger.enabled {
            true => eprintln!("pixpipe: recording in {}", plan.ledger.place),
            false => eprintln!("pixpipe: recording nothing (--no-ledger)"),
        }
    }
    run_plan(&plan, json)
}

/// The pipeline a one-off upload stands for.
fn one_off_pipeline(o: &OneOff, key: String) -> LoadedPipeline {
    let mut target = CheveretoTarget::new(Text(o.url.clone()), Secret::new(key));
    target.album_id = o.album.clone();
    let mut pipeline = Pipeline::with_target(Target {
        chevereto: Some(target),
        ..Target::default()
    });
    // Literal texts from the command line: taken as written, braces and all.
    if let Some(t) = &o.title {
        pipeline.metadata.title = Template::literal(t);
    }
    if let Some(d) = &o.description {
        pipeline.metadata.description = Template::literal(d);
    }
    if let Some(t) = &o.tags {
        pipeline.metadata.tags = vec![Template::literal(t)];
    }
    pipeline.resize.width = (o.width > 0).then_some(Width(o.width));
    pipeline.ledger.path = o.ledger.as_ref().map(|l| Text(l.display().to_string()));
    pipeline.input.paths = o
        .files
        .iter()
        .map(|f| Text(f.display().to_string()))
        .collect();
    LoadedPipeline {
        file: PathBuf::from("(command line)"),
        base_dir: PathBuf::from("."),
        pipeline,
        literal_key: false,
        text: String::new(),
    }
}

pub fn bench(opts: &benchmark::BenchOptions, json: bool) -> ExitCode {
    let inputs = benchmark::load_inputs(&opts.paths, opts.limit);
    if inputs.files.is_empty() {
        eprintln!("pixpipe: no photos to measure in {}", inputs.description);
        for l in &inputs.left_out {
            eprintln!("pixpipe: {}: {}", l.path, l.reason);
        }
        return ExitCode::BadConfig;
    }
    if !json {
        eprintln!("pixpipe: measuring {} ...", inputs.description);
    }
    let report = benchmark::run(opts, inputs);
    let text = match json {
        true => format!(
            "{}\n",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        ),
        false => benchmark::table(&report),
    };
    output::finished(output::print(text.as_bytes()), ExitCode::Success)
}
