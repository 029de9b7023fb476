//! Resize throughput of one thread: `cargo bench --bench transform`.
//!
//! Builds photo-like 12 MP JPEGs in memory, then times probe + transform to
//! 1600 px wide at quality 85, with the JPEG decoder shrinking on load
//! (`scaled`) and without (`full`). The fuller, user-facing comparison is
//! `pixpipe bench`; this one has no dependencies beyond the crate itself.

use std::time::Instant;

use pixpipe::config::{DecodeMode, Filter, OutputFormat};
use pixpipe::probe::probe_bytes;
use pixpipe::transform::{Settings, transform};

fn photo_like(w: u32, h: u32, seed: u32) -> Vec<u8> {
    let mut state = seed.wrapping_mul(2_654_435_761).max(1);
    let mut out = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let noise = state % 24;
            out.push(((x * 255 / w) + noise).min(255) as u8);
            out.push(((y * 255 / h) + noise).min(255) as u8);
            out.push((((x + y) * 128 / (w + h)) + 60 + noise).min(255) as u8);
        }
    }
    out
}

fn jpeg(w: u32, h: u32, seed: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let enc = jpeg_encoder::Encoder::new(&mut out, 90);
    enc.encode(
        &photo_like(w, h, seed),
        w as u16,
        h as u16,
        jpeg_encoder::ColorType::Rgb,
    )
    .expect("encode");
    out
}

fn settings(decode: DecodeMode) -> Settings {
    Settings {
        width: Some(1600),
        upscale: false,
        filter: Filter::Lanczos3,
        decode,
        format: OutputFormat::Jpeg,
        quality: 85,
        background: [255, 255, 255],
        keep_exif: true,
        keep_gps: false,
        keep_icc: true,
        max_pixels: 250_000_000,
    }
}

fn main() {
    let count = 6;
    let inputs: Vec<Vec<u8>> = (0..count).map(|i| jpeg(4000, 3000, i + 1)).collect();
    println!("{count} photo-like 4000x3000 JPEGs -> width 1600, q85, one thread");
    for mode in [DecodeMode::Scaled, DecodeMode::Full] {
        let s = settings(mode);
        let started = Instant::now();
        let mut out_bytes = 0;
        for (i, bytes) in inputs.iter().enumerate() {
            let probe = probe_bytes(format!("{i}.jpg").into(), bytes.clone()).expect("probe");
            let output = transform(&probe, &s).expect("transform");
            out_bytes += output.bytes.len();
        }
        let secs = started.elapsed().as_secs_f64();
        println!(
            "decode {mode:?}: {:.2} images/s, {:.1} ms/image, {:.1} MP/s, {} KiB out",
            count as f64 / secs,
            secs * 1000.0 / count as f64,
            12.0 * count as f64 / secs,
            out_bytes / 1024
        );
    }
}
