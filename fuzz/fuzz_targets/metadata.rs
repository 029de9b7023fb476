//! The metadata readers over arbitrary bytes taken as each container format.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pixpipe::MediaFormat;

fuzz_target!(|data: &[u8]| {
    for format in [MediaFormat::Jpeg, MediaFormat::Png, MediaFormat::Webp, MediaFormat::Tiff, MediaFormat::Gif] {
        let meta = pixpipe::read_metadata(format, data);
        assert!((1..=8).contains(&meta.orientation));
    }
    let _ = pixpipe::parse_xmp(data);
    let _ = pixpipe::parse_iptc(data);
    let _ = pixpipe::jpeg_scan_offset(data);
});
