//! pixpipe's integration tests, in one binary: the support code (fixtures and the fake image
//! host) compiles once, and every test runs against the pixpipe binary Cargo builds for them.

mod support;

mod bench;
mod cli_conventions;
mod config_and_scan;
mod config_words;
mod crash_safety;
#[cfg(feature = "heic")]
mod heic;
mod host_seams;
mod hostile;
mod html_page;
mod import_tree;
mod inspect;
mod kept_metadata;
mod languages;
mod ledger_place;
mod newcomer;
mod pairs;
mod run_dir;
mod shared_ledger;
mod shrink_on_load;
mod sidecars;
mod upload;
