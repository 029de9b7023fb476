//! What a file is and what it says about itself: its real format from its bytes,
//! its content hash, and the metadata its container holds (EXIF, XMP, IPTC, ICC).
//!
//! Owns: the format families (`family`: recognising a format, its size, where its
//! metadata lives, which codec decodes it), hashing, the container walkers, the
//! metadata readers, and [`Probe`], the one read of a file that every later stage shares.
//! Must not: decode pixels, know about targets, the ledger or the pipeline file.

mod beside;
mod container;
mod family;
mod format;
mod hash;
mod isobmff;
mod metadata;
mod names;
mod precedence;
mod probe;
pub mod raw;
mod tiff;
mod xmp;

#[cfg(test)]
pub use beside::Place;
pub use beside::Sidecars;
pub use container::jpeg_scan_offset;
pub use family::{Codec, Handling, has_media_extension, recognise};
pub use format::MediaFormat;
pub use hash::md5_hex;
pub use metadata::{
    DateTaken, Origin, PhotoMeta, Source, Sources, bytes_to_text, iim_datasets, iim_utf8_declared,
    parse_iptc, read_exif, title_from_stem,
};
pub use precedence::{Field, Precedence};
pub use probe::{Probe, ProbeError, probe_bytes, probe_file};
pub use xmp::{decode_packet as xmp_text, parse as parse_xmp};

/// The metadata pixpipe reads from `bytes` taken as `format` (fuzzing and `bench`).
pub fn read_metadata(format: MediaFormat, bytes: &[u8]) -> PhotoMeta {
    metadata::read(&family::blocks(format, bytes))
}

/// The ICC profile of `bytes` taken as `format`, if it has one.
pub fn icc_of(format: MediaFormat, bytes: &[u8]) -> Option<Vec<u8>> {
    family::blocks(format, bytes).icc
}

/// A file's modification time in nanoseconds since the epoch (negative before 1970).
pub fn mtime_ns(m: &std::fs::Metadata) -> i64 {
    match m.modified() {
        Ok(t) => match t.duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
            Err(e) => -i64::try_from(e.duration().as_nanos()).unwrap_or(i64::MAX),
        },
        Err(_) => 0,
    }
}
