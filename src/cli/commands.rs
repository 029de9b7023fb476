//! One function per command; each returns the process's exit code.

use std::path::{Path, PathBuf};
use std::process;

use crate::config::template::Template;
use crate::config::{
    self, CheveretoTarget, LoadedPipeline, Mode, Pipeline, RunOptions, RunPlan, Secret, Target,
    Text, Verbosity, Width,
};
use crate::context::RunContext;
use crate::exit_codes::ExitCode;
use crate::pipeline::{self, RunError};
use crate::tools::{bench as benchmark, inspect as inspection};

use super::args::OneOff;
use super::render;

pub(super) fn load(path: &Path) -> Result<LoadedPipeline, ExitCode> {
    config::load(path).map_err(|e| {
        eprintln!("pixpipe: {e}");
        ExitCode::BadConfig
    })
}

fn resolve(lp: &LoadedPipeline, opts: &RunOptions) -> Result<RunPlan, ExitCode> {
    RunPlan::resolve(lp, opts).map_err(|e| {
        eprintln!("pixpipe: {e}");
        ExitCode::BadConfig
    })
}

pub fn check(path: &Path) -> ExitCode {
    let lp = match load(path) {
        Ok(lp) => lp,
        Err(code) => return code,
    };
    warn_about_literal_key(&lp);
    // The same resolution as `plan` and `run`, so what `check` passes they take.
    let opts = RunOptions {
        mode: Mode::Plan,
        ..RunOptions::default()
    };
    if let Err(code) = resolve(&lp, &opts) {
        return code;
    }
    match serde_saphyr::to_string(&lp.pipeline) {
        Ok(text) => {
            println!("# {}: ok", path.display());
            print!("{text}");
            ExitCode::Success
        }
        Err(e) => {
            eprintln!("pixpipe: {}: {e}", path.display());
            ExitCode::BadConfig
        }
    }
}

pub fn inspect(files: &[PathBuf], json: bool) -> ExitCode {
    let mut code = ExitCode::Success;
    for f in files {
        let i = inspection::inspect(f, config::Limits::default().max_file_mib.bytes());
        if i.error.is_some() {
            code = ExitCode::SomeFailed;
        }
        if json {
            println!("{}", serde_json::to_string(&i).unwrap_or_default());
        } else {
            print!("{}", inspection::to_text(&i));
        }
    }
    code
}

pub fn run(path: &Path, opts: &RunOptions, json: bool) -> ExitCode {
    let lp = match load(path) {
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

pub fn plan(path: &Path, jobs: Option<usize>, json: bool) -> ExitCode {
    let lp = match load(path) {
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
    };
    let plan = match resolve(&lp, &opts) {
        Ok(p) => p,
        Err(code) => return code,
    };
    match pipeline::run(&plan, &RunContext::new()) {
        Ok(s) => {
            render::plan(&s, json);
            ExitCode::Success
        }
        Err(e) => {
            eprintln!("pixpipe: {e}");
            ExitCode::Fatal
        }
    }
}

/// The one-off upload: a pipeline built from the command line, never from YAML text.
pub fn upload(o: &OneOff, report: Option<PathBuf>, verbosity: Verbosity, json: bool) -> ExitCode {
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
    };
    match resolve(&lp, &opts) {
        Ok(plan) => run_plan(&plan, json),
        Err(code) => code,
    }
}

/// The pipeline a one-off upload stands for.
fn one_off_pipeline(o: &OneOff, key: String) -> LoadedPipeline {
    let mut target = CheveretoTarget::new(Text(o.url.clone()), Secret::new(key));
    target.album_id = o.album.clone().map(Text);
    let mut pipeline = Pipeline::with_target(Target {
        dir: None,
        chevereto: Some(target),
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
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else {
        print!("{}", benchmark::table(&report));
    }
    ExitCode::Success
}
