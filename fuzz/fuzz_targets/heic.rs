//! The HEIC path (container, grid, HEVC decode) over corrupted HEIC files: random bytes
//! rarely get past a HEIF header, so the input is read as edits to a valid two-tile grid
//! with EXIF, and the result is probed and transformed with small limits.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use pixpipe::{DecodeMode, Filter, TransformSettings};

static TEMPLATE: LazyLock<Vec<u8>> = LazyLock::new(|| {
    let (w, h) = (600u32, 80u32);
    let rgb: Vec<u8> = (0..w * h * 3).map(|i| (i * 7 % 251) as u8).collect();
    let options = heifer::EncodeOptions {
        quality: 40,
        max_threads: 1,
    };
    heifer::encode_rgb8(w, h, &rgb, &options).expect("template")
});

fuzz_target!(|data: &[u8]| {
    let mut bytes = TEMPLATE.clone();
    // Each 3 bytes: a position (u16, scaled over the file) and a byte to put there.
    for edit in data.chunks_exact(3) {
        let at = usize::from(u16::from_le_bytes([edit[0], edit[1]])) * bytes.len() / 65536;
        bytes[at] = edit[2];
    }
    // A trailing odd byte cuts the file short, as a truncated copy would be.
    if data.len() % 3 == 1 {
        bytes.truncate(usize::from(data[data.len() - 1]) * bytes.len() / 256);
    }
    let Ok(probe) = pixpipe::probe_bytes("fuzz.heic".into(), bytes) else { return };
    let settings = TransformSettings {
        max_pixels: 4_000_000,
        ..TransformSettings::jpeg(64, 80, Filter::Bilinear, DecodeMode::Scaled)
    };
    if let Ok(out) = pixpipe::transform(&probe, &settings) {
        assert!(out.width.unwrap_or(1) <= 64);
    }
});
