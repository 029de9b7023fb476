//! Tools beside the pipeline: `bench` measures the transform on this machine,
//! `inspect` shows what pixpipe reads from files. Neither delivers nor records.

pub mod bench;
pub mod inspect;
