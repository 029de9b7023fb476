//! The template engine: parsing, then rendering what parsed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pixpipe::{Fields, Template};

struct Echo;

impl Fields for Echo {
    fn field(&self, name: &str, format: Option<&str>) -> Option<String> {
        (name != "description").then(|| format!("{name}{}", format.unwrap_or("")))
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(t) = Template::parse(s) {
            let _ = t.render(&Echo);
            assert_eq!(t.source(), s);
        }
    }
});
