//! The metadata readers over arbitrary bytes taken as each container format.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pixpipe::container;
use pixpipe::format::MediaFormat;

fuzz_target!(|data: &[u8]| {
    for format in [MediaFormat::Jpeg, MediaFormat::Png, MediaFormat::Webp, MediaFormat::Tiff, MediaFormat::Gif] {
        let blocks = container::blocks(format, data);
        let meta = pixpipe::metadata::read(&blocks);
        assert!((1..=8).contains(&meta.orientation));
    }
    let _ = pixpipe::xmp::parse(data);
    let _ = pixpipe::metadata::parse_iptc(data);
    let _ = container::jpeg_scan_offset(data);
});
