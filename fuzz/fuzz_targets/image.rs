//! Probe and transform over arbitrary bytes, with small limits so bombs are refused.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pixpipe::{DecodeMode, Filter, TransformSettings};

fuzz_target!(|data: &[u8]| {
    let Ok(probe) = pixpipe::probe_bytes("fuzz".into(), data.to_vec()) else { return };
    let settings = TransformSettings {
        max_pixels: 4_000_000,
        ..TransformSettings::jpeg(64, 80, Filter::Bilinear, DecodeMode::Scaled)
    };
    if let Ok(out) = pixpipe::transform(&probe, &settings) {
        assert!(out.width.unwrap_or(1) <= 64 || out.bytes == data);
    }
});
