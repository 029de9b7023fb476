//! The expiration check and the host's answers.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(ok) = pixpipe::Expiration::parse(s) {
            // What passes is what the host understands: seconds or an upper-case duration.
            assert!(ok.0.starts_with('P') || ok.0.chars().all(|c| c.is_ascii_digit()));
        }
        let _ = pixpipe::UploadEndpoint::new(s, false);
    }
    let _ = pixpipe::read_json_answer(400, None, data);
    let _ = pixpipe::read_txt_answer(200, None, data);
});
