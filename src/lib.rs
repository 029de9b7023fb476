//! pixpipe: scan photo archives, read their metadata, resize them and
//! publish them exactly once, driven by a pipeline file.

pub mod bench;
pub mod cli;
pub mod config;
pub mod container;
pub mod engine;
pub mod exit_codes;
pub mod fields;
pub mod format;
pub mod inspect;
pub mod jpeg;
pub mod ledger;
pub mod memory;
pub mod metadata;
pub mod probe;
pub mod progress;
pub mod publish;
pub mod report;
pub mod scan;
pub mod target;
pub mod template;
pub mod transform;
pub mod upload;
pub mod xmp;
