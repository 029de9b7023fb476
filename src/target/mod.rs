//! Where outputs go: a folder, or a Chevereto host.

pub mod dir;
