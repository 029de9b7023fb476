//! The expiration check and the host's answers.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pixpipe::target::chevereto;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(ok) = chevereto::check_expiration(s) {
            // What passes is what the host understands: seconds or an upper-case duration.
            assert!(ok.starts_with('P') || ok.chars().all(|c| c.is_ascii_digit()));
        }
        let _ = chevereto::endpoint(s, false);
    }
    let _ = chevereto::read_json(400, None, data);
    let _ = chevereto::read_txt(200, None, data);
});
