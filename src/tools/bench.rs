//! `pixpipe bench`: how fast each resize setting is on this machine, on the
//! user's own photos or on a generated set, so settings can be chosen by
//! measurement rather than by guess.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use serde::Serialize;

use crate::config::{DecodeMode, Filter, TransformSettings};
use crate::media::{MediaFormat, has_media_extension, md5_hex, probe_bytes, read_metadata};
use crate::transform::{StageTimes, transform, transform_timed};

/// What to measure.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub dir: Option<PathBuf>,
    pub width: u32,
    pub quality: u8,
    pub filters: Vec<Filter>,
    pub decodes: Vec<DecodeMode>,
    pub jobs: usize,
    /// At most this many files from DIR.
    pub limit: usize,
}

/// One row of the table: one filter and decode mode.
#[derive(Debug, Clone, Serialize)]
pub struct BenchRow {
    pub filter: Filter,
    pub decode: DecodeMode,
    pub images: usize,
    pub jobs: usize,
    /// End to end on `jobs` threads.
    pub images_per_sec: f64,
    pub megapixels_per_sec: f64,
    /// Per image, one thread, in milliseconds.
    pub read_hash_ms: f64,
    pub metadata_ms: f64,
    pub decode_ms: f64,
    pub resize_ms: f64,
    pub orient_ms: f64,
    pub encode_ms: f64,
    pub output_bytes_per_image: u64,
    pub failed: usize,
}

/// The inputs, in memory: (name, bytes).
pub struct Inputs {
    pub files: Vec<(PathBuf, Vec<u8>)>,
    pub description: String,
}

/// Reads the JPEG/PNG/... files of `dir` (not recursive), or generates a set.
pub fn load_inputs(dir: Option<&Path>, limit: usize) -> std::io::Result<Inputs> {
    match dir {
        Some(d) => {
            let mut paths: Vec<PathBuf> = std::fs::read_dir(d)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && has_media_extension(p))
                .collect();
            paths.sort();
            paths.truncate(limit);
            let files = paths
                .into_iter()
                .filter_map(|p| std::fs::read(&p).ok().map(|b| (p, b)))
                .collect::<Vec<_>>();
            let description = format!("{} files from {}", files.len(), d.display());
            Ok(Inputs { files, description })
        }
        None => {
            let n = limit.min(12);
            let files = (0..n)
                .into_par_iter()
                .map(|i| {
                    (
                        PathBuf::from(format!("generated-{i:02}.jpg")),
                        generated_jpeg(4000, 3000, i as u32),
                    )
                })
                .collect();
            Ok(Inputs {
                files,
                description: format!("{n} generated photo-like 4000x3000 JPEGs (q90, 4:2:0)"),
            })
        }
    }
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
    let mut out = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut out, 90);
    enc.set_sampling_factor(jpeg_encoder::SamplingFactor::F_2_2);
    enc.encode(&rgb, w as u16, h as u16, jpeg_encoder::ColorType::Rgb)
        .expect("encoding a generated image");
    out
}

fn settings(o: &BenchOptions, filter: Filter, decode: DecodeMode) -> TransformSettings {
    TransformSettings::jpeg(o.width, o.quality, filter, decode)
}

/// Measures every filter × decode combination.
pub fn run(o: &BenchOptions, inputs: &Inputs) -> Vec<BenchRow> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(o.jobs)
        .build()
        .expect("a thread pool");
    let mut rows = Vec::new();
    for &decode in &o.decodes {
        for &filter in &o.filters {
            rows.push(measure(o, inputs, &pool, filter, decode));
        }
    }
    rows
}

fn ms(d: Duration, n: usize) -> f64 {
    d.as_secs_f64() * 1000.0 / n.max(1) as f64
}

fn measure(
    o: &BenchOptions,
    inputs: &Inputs,
    pool: &rayon::ThreadPool,
    filter: Filter,
    decode: DecodeMode,
) -> BenchRow {
    let s = settings(o, filter, decode);
    let n = inputs.files.len();
    // One thread, stage by stage.
    let (mut read_hash, mut meta) = (Duration::ZERO, Duration::ZERO);
    let mut times = StageTimes::default();
    let mut out_bytes = 0u64;
    let mut failed = 0;
    for (path, bytes) in &inputs.files {
        let t = Instant::now();
        let copy = bytes.clone();
        let _ = md5_hex(&copy);
        read_hash += t.elapsed();
        let t = Instant::now();
        if let Some(format) = MediaFormat::sniff(&copy) {
            let _ = read_metadata(format, &copy);
        }
        meta += t.elapsed();
        match probe_bytes(path.clone(), copy)
            .map_err(|e| e.to_string())
            .and_then(|p| transform_timed(&p, &s, &mut times).map_err(|e| e.to_string()))
        {
            Ok(out) => out_bytes += out.bytes.len() as u64,
            Err(_) => failed += 1,
        }
    }
    // All threads, end to end.
    let started = Instant::now();
    let pixels: u64 = pool.install(|| {
        inputs
            .files
            .par_iter()
            .map(|(path, bytes)| {
                let Ok(p) = probe_bytes(path.clone(), bytes.clone()) else {
                    return 0;
                };
                let px = u64::from(p.width.unwrap_or(0)) * u64::from(p.height.unwrap_or(0));
                match transform(&p, &s) {
                    Ok(_) => px,
                    Err(_) => 0,
                }
            })
            .sum()
    });
    let secs = started.elapsed().as_secs_f64().max(1e-9);
    BenchRow {
        filter,
        decode,
        images: n,
        jobs: o.jobs,
        images_per_sec: (n - failed) as f64 / secs,
        megapixels_per_sec: pixels as f64 / 1e6 / secs,
        read_hash_ms: ms(read_hash, n),
        metadata_ms: ms(meta, n),
        decode_ms: ms(times.decode, n),
        resize_ms: ms(times.resize, n),
        orient_ms: ms(times.orient, n),
        encode_ms: ms(times.encode, n),
        output_bytes_per_image: out_bytes / (n - failed).max(1) as u64,
        failed,
    }
}

/// The table for people.
pub fn table(o: &BenchOptions, inputs: &Inputs, rows: &[BenchRow]) -> String {
    let mut s = format!(
        "pixpipe bench: {}, to width {} at quality {}\n\
         end to end on {} thread(s); stage times per image on one thread\n\n",
        inputs.description, o.width, o.quality, o.jobs
    );
    s.push_str(&format!(
        "{:<12} {:<7} {:>9} {:>8} {:>10} {:>9} {:>8} {:>8} {:>8} {:>8} {:>9}\n",
        "filter",
        "decode",
        "images/s",
        "MP/s",
        "read+hash",
        "metadata",
        "decode",
        "resize",
        "orient",
        "encode",
        "KiB/image"
    ));
    for r in rows {
        s.push_str(&format!(
            "{:<12} {:<7} {:>9.2} {:>8.1} {:>8.1}ms {:>7.2}ms {:>6.1}ms {:>6.1}ms {:>6.1}ms {:>6.1}ms {:>9}\n",
            r.filter.name(),
            r.decode.name(),
            r.images_per_sec,
            r.megapixels_per_sec,
            r.read_hash_ms,
            r.metadata_ms,
            r.decode_ms,
            r.resize_ms,
            r.orient_ms,
            r.encode_ms,
            r.output_bytes_per_image / 1024
        ));
    }
    if rows.iter().any(|r| r.failed > 0) {
        s.push_str("\nsome files could not be processed and are left out of images/s\n");
    }
    s
}
