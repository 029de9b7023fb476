//! Where outputs go: a folder, or a Chevereto host.

pub mod chevereto;
pub mod dir;
