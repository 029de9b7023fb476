//! The pipeline-file loader: any text gives a pipeline or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Err(e) = pixpipe::parse_pipeline(text, std::path::Path::new("fuzz.yaml")) {
            assert!(e.to_string().starts_with("fuzz.yaml"));
        }
    }
});
