//! pixpipe: scan photo archives, read their metadata, resize them and publish
//! them exactly once, driven by a pipeline file.
//!
//! The modules follow the stage graph (see README, "How it works"):
//! `config` → `pipeline` (scan, probe, dedupe, prepare) → `transform` →
//! `deliver` → `record`, with `media` (formats, hashes, metadata) and `ledger`
//! beneath them, and `cli` and `tools` on top. Imports go one way only.
//!
//! The public API is small on purpose: the binary's entry point, and what the
//! benches, the fuzz targets and the tests drive directly.

mod cli;
mod config;
mod context;
mod deliver;
mod exit_codes;
mod i18n;
mod ledger;
mod media;
mod memory;
mod pipeline;
mod process;
mod record;
mod tools;
mod transform;

/// The whole command line: parses the arguments, runs the command, gives the exit code.
pub use cli::main as run_cli;
pub use memory::keep_freed_buffers;

pub use config::parse as parse_pipeline;
pub use config::template::{Fields, Template};
pub use config::{DecodeMode, Expiration, Filter, TransformSettings, UploadEndpoint};
pub use deliver::chevereto::protocol::{
    read_json as read_json_answer, read_txt as read_txt_answer,
};
pub use media::{
    MediaFormat, Probe, jpeg_scan_offset, md5_hex, parse_iptc, parse_xmp, probe_bytes,
    read_metadata,
};
pub use record::html::ROWS_PER_FILE as PAGE_ROWS_PER_FILE;
pub use tools::bench::generated_jpeg;
pub use transform::codecs::Extras;
pub use transform::codecs::jpeg::{decode as decode_jpeg, encode as encode_jpeg};
pub use transform::{Output, Pixels, resize, transform};
