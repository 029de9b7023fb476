//! `pixpipe bench`: how fast and how good each resize setting is on this machine,
//! on the user's own photos or on a generated set, so settings are chosen by
//! measurement rather than by guess.
//!
//! Each filter × decode mode is warmed up, then timed `repeat` times end to end on
//! all threads (the median is the figure, min and max its spread), timed stage by
//! stage on one thread, and scored against a reference: a full decode resized with
//! Lanczos3. The score is SSIM on luma (image-compare) between the reference and the
//! delivered JPEG decoded again, so it counts every loss the user would see.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use serde::Serialize;

use crate::config::{DecodeMode, Filter, ScanPlan, TransformSettings};
use crate::media::{ProbeError, md5_hex, probe_bytes, read_metadata, recognise};
use crate::pipeline::scan::{self, Event};
use crate::transform::codecs::jpeg;
use crate::transform::{
    Pixels, StageTimes, TransformError, render, resizes, transform, transform_timed,
};

/// Settings within this much SSIM of the best count as "as good": a difference of a
/// few thousandths between two 1600-px photos is below what eyes tell apart.
pub const SSIM_MARGIN: f64 = 0.005;

/// What to measure.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Folders (walked like `run` walks them) or files; a generated set when empty.
    pub paths: Vec<PathBuf>,
    pub width: u32,
    pub quality: u8,
    pub filters: Vec<Filter>,
    pub decodes: Vec<DecodeMode>,
    pub jobs: usize,
    /// At most this many files.
    pub limit: usize,
    /// Timed runs per setting, after one warm-up run.
    pub repeat: usize,
}

/// One row of the table: one filter and decode mode.
#[derive(Debug, Clone, Serialize)]
pub struct BenchRow {
    pub filter: Filter,
    pub decode: DecodeMode,
    /// End to end on `jobs` threads: the median of the timed runs, and their spread.
    pub images_per_sec: f64,
    pub images_per_sec_min: f64,
    pub images_per_sec_max: f64,
    pub megapixels_per_sec: f64,
    /// Per image, one thread, in milliseconds.
    pub read_hash_ms: f64,
    pub metadata_ms: f64,
    pub decode_ms: f64,
    pub resize_ms: f64,
    pub orient_ms: f64,
    pub encode_ms: f64,
    pub output_bytes_per_image: u64,
    /// Mean SSIM (luma) of the outputs against the reference.
    pub ssim: f64,
    pub recommended: bool,
}

/// Images per second of one setting at each thread count.
#[derive(Debug, Clone, Serialize)]
pub struct Scaling {
    pub threads: usize,
    pub images_per_sec: f64,
}

/// A file left out, and why.
#[derive(Debug, Clone, Serialize)]
pub struct LeftOut {
    pub path: String,
    pub reason: String,
}

/// Everything `bench` found.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub codec: &'static str,
    pub simd: bool,
    pub inputs: String,
    pub images: usize,
    pub megapixels: f64,
    pub width: u32,
    pub quality: u8,
    pub jobs: usize,
    pub repeat: usize,
    pub rows: Vec<BenchRow>,
    pub scaling: Vec<Scaling>,
    pub recommendation: String,
    pub left_out: Vec<LeftOut>,
}

/// One photo in memory, with its reference rendering.
pub struct Input {
    pub path: PathBuf,
    pub bytes: Vec<u8>,
    pixels: u64,
}

/// The photos to measure on.
pub struct Inputs {
    pub files: Vec<Input>,
    pub description: String,
    pub left_out: Vec<LeftOut>,
}

impl Inputs {
    /// Millions of pixels in all the inputs, as stored.
    fn megapixels(&self) -> f64 {
        self.files.iter().map(|f| f.pixels as f64).sum::<f64>() / 1e6
    }
}

/// Reads the photos under `paths` (recursively, as `run` walks), or generates a set.
pub fn load_inputs(paths: &[PathBuf], limit: usize) -> Inputs {
    if paths.is_empty() {
        let n = limit.min(12);
        let files = (0..n)
            .into_par_iter()
            .map(|i| Input {
                path: PathBuf::from(format!("generated-{i:02}.jpg")),
                bytes: generated_jpeg(4000, 3000, i as u32),
                pixels: 12_000_000,
            })
            .collect();
        return Inputs {
            files,
            description: format!("{n} generated photo-like 4000x3000 JPEGs (q90, 4:2:0)"),
            left_out: Vec::new(),
        };
    }
    let plan = ScanPlan::defaults(paths.to_vec());
    let mut files = Vec::new();
    let mut left_out = Vec::new();
    let mut leave = |path: &Path, reason: String| {
        left_out.push(LeftOut {
            path: path.display().to_string(),
            reason,
        })
    };
    scan::scan(&plan, |ev| {
        match ev {
            Event::File(f) => match std::fs::read(&f.path) {
                Ok(bytes) => match usable(&f.path, bytes) {
                    Ok(input) => files.push(input),
                    Err(why) => leave(&f.path, why.to_string()),
                },
                Err(e) => leave(&f.path, format!("cannot read: {e}")),
            },
            Event::Skipped { path, reason } | Event::Error { path, reason } => leave(&path, reason),
        }
        files.len() < limit
    });
    let description = format!(
        "{} photos from {}",
        files.len(),
        paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    Inputs {
        files,
        description,
        left_out,
    }
}

/// Why a photo cannot be measured: the bench leaves it out, with this reason.
#[derive(Debug, thiserror::Error)]
enum Unusable {
    #[error(transparent)]
    Probe(#[from] ProbeError),
    #[error("{0} is passed through unchanged, not resized")]
    PassedThrough(&'static str),
    #[error(transparent)]
    Render(#[from] TransformError),
}

/// A file pixpipe resizes, or why it cannot be measured.
fn usable(path: &Path, bytes: Vec<u8>) -> Result<Input, Unusable> {
    let probe = probe_bytes(path.to_path_buf(), bytes)?;
    if !resizes(&probe) {
        return Err(Unusable::PassedThrough(probe.format.name()));
    }
    let pixels = u64::from(probe.width.unwrap_or(0)) * u64::from(probe.height.unwrap_or(0));
    Ok(Input {
        path: probe.path,
        bytes: probe.bytes,
        pixels,
    })
}

fn settings(o: &BenchOptions, filter: Filter, decode: DecodeMode) -> TransformSettings {
    TransformSettings::jpeg(o.width, o.quality, filter, decode)
}

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a thread pool")
}

/// Measures every filter × decode mode, recommends one, and shows how it scales.
pub fn run(o: &BenchOptions, mut inputs: Inputs) -> Report {
    let all = pool(o.jobs);
    let refs = references(o, &mut inputs, &all);
    let mut rows = Vec::new();
    for &decode in &o.decodes {
        for &filter in &o.filters {
            rows.push(measure(o, &inputs, &refs, &all, filter, decode));
        }
    }
    let recommendation = recommend(&mut rows);
    let scaling = match rows.iter().find(|r| r.recommended) {
        Some(r) => scaling(o, &inputs, settings(o, r.filter, r.decode)),
        None => Vec::new(),
    };
    Report {
        codec: "libjpeg-turbo",
        simd: jpeg::SIMD,
        images: inputs.files.len(),
        megapixels: inputs.megapixels(),
        inputs: inputs.description,
        width: o.width,
        quality: o.quality,
        jobs: o.jobs,
        repeat: o.repeat,
        rows,
        scaling,
        recommendation,
        left_out: inputs.left_out,
    }
}

/// The reference of each photo: a full decode resized with Lanczos3, in luma. A photo
/// that cannot even be rendered so is left out, with the reason.
fn references(o: &BenchOptions, inputs: &mut Inputs, pool: &rayon::ThreadPool) -> Vec<Vec<u8>> {
    let s = settings(o, Filter::Lanczos3, DecodeMode::Full);
    let rendered: Vec<Result<Pixels, Unusable>> = pool.install(|| {
        inputs
            .files
            .par_iter()
            .map(|f| {
                let probe = probe_bytes(f.path.clone(), f.bytes.clone())?;
                Ok(render(&probe, &s)?)
            })
            .collect()
    });
    let mut refs = Vec::new();
    let mut kept = Vec::new();
    for (file, r) in std::mem::take(&mut inputs.files).into_iter().zip(rendered) {
        match r {
            Ok(p) => {
                refs.push(luma(&p));
                kept.push(file);
            }
            Err(why) => inputs.left_out.push(LeftOut {
                path: file.path.display().to_string(),
                reason: why.to_string(),
            }),
        }
    }
    inputs.files = kept;
    refs
}

/// BT.601 luma, the plane SSIM is usually taken on.
fn luma(p: &Pixels) -> Vec<u8> {
    let c = usize::from(p.channels);
    p.data
        .chunks_exact(c)
        .map(|px| {
            let y = 299 * u32::from(px[0]) + 587 * u32::from(px[1]) + 114 * u32::from(px[2]);
            ((y + 500) / 1000) as u8
        })
        .collect()
}

/// SSIM of a delivered JPEG, decoded again, against the reference luma.
fn ssim(reference: &[u8], output: &[u8]) -> Option<f64> {
    let decoded = jpeg::decode(output, 1, 1, false).ok()?;
    let (w, h) = (decoded.width, decoded.height);
    let a = image::GrayImage::from_raw(w, h, reference.to_vec())?;
    let b = image::GrayImage::from_raw(w, h, luma(&decoded))?;
    image_compare::gray_similarity_structure(&image_compare::Algorithm::MSSIMSimple, &a, &b)
        .ok()
        .map(|s| s.score)
}

/// One end-to-end pass over every input on `pool`: read (from memory), probe,
/// transform. Returns its wall time.
fn pass(pool: &rayon::ThreadPool, inputs: &Inputs, s: &TransformSettings) -> Duration {
    let started = Instant::now();
    pool.install(|| {
        inputs.files.par_iter().for_each(|f| {
            if let Ok(p) = probe_bytes(f.path.clone(), f.bytes.clone()) {
                let _ = transform(&p, s);
            }
        })
    });
    started.elapsed()
}

/// Images per second of `repeat` passes after a warm-up: (median, min, max).
fn timed(
    o: &BenchOptions,
    pool: &rayon::ThreadPool,
    inputs: &Inputs,
    s: &TransformSettings,
) -> (f64, f64, f64) {
    let _ = pass(pool, inputs, s);
    let n = inputs.files.len() as f64;
    let mut rates: Vec<f64> = (0..o.repeat.max(1))
        .map(|_| n / pass(pool, inputs, s).as_secs_f64().max(1e-9))
        .collect();
    rates.sort_by(f64::total_cmp);
    (rates[rates.len() / 2], rates[0], rates[rates.len() - 1])
}

fn ms(d: Duration, n: usize) -> f64 {
    d.as_secs_f64() * 1000.0 / n.max(1) as f64
}

fn measure(
    o: &BenchOptions,
    inputs: &Inputs,
    refs: &[Vec<u8>],
    pool: &rayon::ThreadPool,
    filter: Filter,
    decode: DecodeMode,
) -> BenchRow {
    let s = settings(o, filter, decode);
    let n = inputs.files.len();
    let (median, min, max) = timed(o, pool, inputs, &s);
    // One thread, stage by stage, with the quality of each output.
    let (mut read_hash, mut meta) = (Duration::ZERO, Duration::ZERO);
    let mut times = StageTimes::default();
    let (mut out_bytes, mut ssim_sum, mut scored) = (0u64, 0.0, 0usize);
    for (f, reference) in inputs.files.iter().zip(refs) {
        let t = Instant::now();
        let copy = f.bytes.clone();
        let _ = md5_hex(&copy);
        read_hash += t.elapsed();
        let t = Instant::now();
        if let Ok(format) = recognise(&copy) {
            let _ = read_metadata(format, &copy);
        }
        meta += t.elapsed();
        let Ok(p) = probe_bytes(f.path.clone(), copy) else {
            continue;
        };
        if let Ok(out) = transform_timed(&p, &s, &mut times) {
            out_bytes += out.bytes.len() as u64;
            if let Some(v) = ssim(reference, &out.bytes) {
                ssim_sum += v;
                scored += 1;
            }
        }
    }
    BenchRow {
        filter,
        decode,
        images_per_sec: median,
        images_per_sec_min: min,
        images_per_sec_max: max,
        megapixels_per_sec: inputs.megapixels() * median / n.max(1) as f64,
        read_hash_ms: ms(read_hash, n),
        metadata_ms: ms(meta, n),
        decode_ms: ms(times.decode, n),
        resize_ms: ms(times.resize, n),
        orient_ms: ms(times.orient, n),
        encode_ms: ms(times.encode, n),
        output_bytes_per_image: out_bytes / n.max(1) as u64,
        ssim: ssim_sum / scored.max(1) as f64,
        recommended: false,
    }
}

/// Marks the fastest setting whose SSIM is within [`SSIM_MARGIN`] of the best, and
/// says why in words.
fn recommend(rows: &mut [BenchRow]) -> String {
    let Some(best) = rows.iter().map(|r| r.ssim).max_by(f64::total_cmp) else {
        return "nothing was measured".into();
    };
    let pick = rows
        .iter_mut()
        .filter(|r| r.ssim >= best - SSIM_MARGIN)
        .max_by(|a, b| a.images_per_sec.total_cmp(&b.images_per_sec));
    match pick {
        Some(r) => {
            r.recommended = true;
            format!(
                "resize.filter: {}, resize.decode: {}: the fastest ({:.1} images/s) of the settings within {SSIM_MARGIN} SSIM of the best quality ({best:.4}); smaller differences are not visible",
                r.filter, r.decode, r.images_per_sec
            )
        }
        None => "nothing was measured".into(),
    }
}

/// Images per second of `s` at 1, 2, 4 … threads up to `jobs`.
fn scaling(o: &BenchOptions, inputs: &Inputs, s: TransformSettings) -> Vec<Scaling> {
    let mut counts: Vec<usize> = std::iter::successors(Some(1usize), |t| Some(t * 2))
        .take_while(|t| *t < o.jobs)
        .collect();
    counts.push(o.jobs);
    counts
        .into_iter()
        .map(|threads| Scaling {
            threads,
            images_per_sec: timed(o, &pool(threads), inputs, &s).0,
        })
        .collect()
}

/// The table for people, names spelled as the pipeline file spells them.
pub fn table(r: &Report) -> String {
    let mut s = format!(
        "pixpipe bench: {} ({:.0} MP), to width {} at quality {}\n\
         JPEG codec: {}, SIMD {}; end to end on {} thread(s), median of {} runs after a warm-up; \
         stage times per image on one thread; SSIM (luma) against a full decode + Lanczos3\n\n",
        r.inputs,
        r.megapixels,
        r.width,
        r.quality,
        r.codec,
        if r.simd {
            "on"
        } else {
            "off (install nasm and rebuild)"
        },
        r.jobs,
        r.repeat,
    );
    s.push_str(&format!(
        "  {:<12} {:<7} {:>9} {:>13} {:>7} {:>8} {:>8} {:>8} {:>8} {:>7} {:>9} {:>7}\n",
        "filter",
        "decode",
        "images/s",
        "(min-max)",
        "MP/s",
        "read+md5",
        "decode",
        "resize",
        "orient",
        "encode",
        "KiB/image",
        "SSIM"
    ));
    for row in &r.rows {
        s.push_str(&format!(
            "{} {:<12} {:<7} {:>9.2} {:>13} {:>7.1} {:>6.1}ms {:>6.1}ms {:>6.1}ms {:>6.1}ms {:>5.1}ms {:>9} {:>7.4}\n",
            if row.recommended { "*" } else { " " },
            row.filter.name(),
            row.decode.name(),
            row.images_per_sec,
            format!("({:.2}-{:.2})", row.images_per_sec_min, row.images_per_sec_max),
            row.megapixels_per_sec,
            row.read_hash_ms,
            row.decode_ms,
            row.resize_ms,
            row.orient_ms,
            row.encode_ms,
            row.output_bytes_per_image / 1024,
            row.ssim,
        ));
    }
    s.push_str(&format!("\n* recommended: {}\n", r.recommendation));
    if !r.scaling.is_empty() {
        let one = r.scaling[0].images_per_sec.max(1e-9);
        s.push_str("\nscaling of the recommended setting:\n");
        for sc in &r.scaling {
            s.push_str(&format!(
                "  {:>3} thread(s): {:>7.2} images/s ({:.2}x)\n",
                sc.threads,
                sc.images_per_sec,
                sc.images_per_sec / one
            ));
        }
    }
    if !r.left_out.is_empty() {
        s.push_str(&format!("\n{} file(s) left out:\n", r.left_out.len()));
        for l in &r.left_out {
            s.push_str(&format!("  {}: {}\n", l.path, l.reason));
        }
    }
    s
}

/// A photo-like JPEG: smooth light, textured surfaces and fine grain, so the
/// entropy decoder has about as much work as with a real 12 MP photo.
pub fn generated_jpeg(w: u32, h: u32, seed: u32) -> Vec<u8> {
    let mut rng = fastrand::Rng::with_seed(u64::from(seed) * 7919 + 1);
    let cell = 64u32;
    let gw = w / cell + 2;
    let gh = h / cell + 2;
    let grid: Vec<[f32; 3]> = (0..gw * gh)
        .map(|_| {
            [
                rng.f32() * 200.0 + 20.0,
                rng.f32() * 200.0 + 20.0,
                rng.f32() * 200.0 + 20.0,
            ]
        })
        .collect();
    let mut rgb = vec![0u8; (w * h * 3) as usize];
    for (y, row) in rgb.chunks_exact_mut((w * 3) as usize).enumerate() {
        let y = y as u32;
        let (gy, fy) = (y / cell, (y % cell) as f32 / cell as f32);
        for x in 0..w {
            let (gx, fx) = (x / cell, (x % cell) as f32 / cell as f32);
            let at = |i: u32, j: u32| grid[(j * gw + i) as usize];
            let (a, b, c, d) = (
                at(gx, gy),
                at(gx + 1, gy),
                at(gx, gy + 1),
                at(gx + 1, gy + 1),
            );
            let grain = (rng.u8(..) as f32 - 128.0) * 0.25
                + if (x / 3 + y / 5).is_multiple_of(7) {
                    12.0
                } else {
                    0.0
                };
            for ch in 0..3 {
                let top = a[ch] + (b[ch] - a[ch]) * fx;
                let bottom = c[ch] + (d[ch] - c[ch]) * fx;
                let v = top + (bottom - top) * fy + grain;
                row[(x * 3) as usize + ch] = v.clamp(0.0, 255.0) as u8;
            }
        }
    }
    let pixels = crate::transform::Pixels {
        width: w,
        height: h,
        channels: 3,
        data: rgb,
    };
    crate::transform::codecs::jpeg::encode(
        &pixels,
        &crate::transform::codecs::Extras::plain(90),
        &mut Vec::new(),
    )
    .expect("encoding a generated image")
}
