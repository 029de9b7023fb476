//! Probe and transform over arbitrary bytes, with small limits so bombs are refused.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pixpipe::config::{DecodeMode, Filter, OutputFormat};
use pixpipe::transform::Settings;

fuzz_target!(|data: &[u8]| {
    let Ok(probe) = pixpipe::probe::probe_bytes("fuzz".into(), data.to_vec()) else { return };
    let settings = Settings {
        width: Some(64),
        upscale: false,
        filter: Filter::Bilinear,
        decode: DecodeMode::Scaled,
        format: OutputFormat::Jpeg,
        quality: 80,
        background: [255, 255, 255],
        keep_exif: true,
        keep_gps: false,
        keep_icc: true,
        max_pixels: 4_000_000,
    };
    if let Ok(out) = pixpipe::transform::transform(&probe, &settings) {
        assert!(out.width.unwrap_or(1) <= 64 || out.passthrough);
    }
});
