//! What a file is and what it says about itself: its real format from its bytes,
//! its content hash, and the metadata its container holds (EXIF, XMP, IPTC, ICC).
//!
//! Owns: the format families (`family`: recognising a format, its size, where its
//! metadata lives, which codec decodes it), hashing, the container walkers, the
//! metadata readers, and [`Probe`], the one read of a file that every later stage shares.
//! Must not: decode pixels, know about targets, the ledger or the pipeline file.

mod container;
mod family;
mod format;
mod hash;
mod isobmff;
mod metadata;
mod probe;
pub mod raw;
mod tiff;
mod xmp;

pub use container::jpeg_scan_offset;
pub use family::{Codec, Handling, has_media_extension, recognise};
pub use format::MediaFormat;
pub use hash::md5_hex;
pub use metadata::{PhotoMeta, Source, parse_iptc, read_exif, title_from_stem};
pub use probe::{Probe, ProbeError, probe_bytes, probe_file};
pub use xmp::parse as parse_xmp;

/// The metadata pixpipe reads from `bytes` taken as `format` (fuzzing and `bench`).
pub fn read_metadata(format: MediaFormat, bytes: &[u8]) -> PhotoMeta {
    metadata::read(&family::blocks(format, bytes))
}

/// The ICC profile of `bytes` taken as `format`, if it has one.
pub fn icc_of(format: MediaFormat, bytes: &[u8]) -> Option<Vec<u8>> {
    family::blocks(format, bytes).icc
}
