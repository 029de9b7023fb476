//! `pixpipe check --online`: is the URL a Chevereto API, and does it know the key?
//! One upload request without a `source` answers that and stores nothing: a host
//! that knows the key says `Empty upload source`, one that does not says
//! `Invalid API key.` (probed on a real 4.2.5).

use super::client::{Source, UploadRequest, Uploader};
use super::protocol::Answer;
use crate::config::CheveretoPlan;
use crate::deliver::pacer::Try;
use crate::i18n::Localized;

/// What the host said of the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyCheck {
    /// The host knows the key (and nothing was uploaded).
    Good,
    /// The host refused the key; its words.
    BadKey(Localized),
    /// The host answered, but not as a Chevereto API with that key would.
    Unexpected(Localized),
    /// No answer at all.
    Unreachable(Localized),
}

/// Asks the host about the key, without uploading anything.
pub fn check_key(plan: &CheveretoPlan) -> KeyCheck {
    let uploader = match Uploader::new(plan) {
        Ok(u) => u,
        Err(e) => return unreachable(&e.to_string()),
    };
    let request = UploadRequest {
        source: Source::Nothing,
        title: String::new(),
        description: String::new(),
        tags: Vec::new(),
        album_id: None,
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return unreachable(&e.to_string()),
    };
    read(runtime.block_on(uploader.try_once(&request)))
}

fn unreachable(cause: &str) -> KeyCheck {
    KeyCheck::Unreachable(Localized::new(
        "msg-reason-as-said",
        &[("words", cause.to_string())],
    ))
}

/// The meaning of the answer to a request without a source.
fn read(answer: Try<Answer>) -> KeyCheck {
    match answer {
        Try::Answered(Answer::Rejected(why)) if words(&why).contains("empty upload source") => {
            KeyCheck::Good
        }
        Try::Answered(Answer::Fatal(why)) if why.id == "msg-host-bad-key" => KeyCheck::BadKey(why),
        Try::Answered(Answer::Fatal(why) | Answer::Rejected(why) | Answer::Transient(why)) => {
            KeyCheck::Unexpected(why)
        }
        Try::Again { why, .. } | Try::Fatal(why) => KeyCheck::Unexpected(why),
        Try::Answered(Answer::Stored(_) | Answer::Duplicate) => {
            KeyCheck::Unexpected(Localized::new("msg-online-stored", &[]))
        }
        Try::Answered(Answer::RetryAfter(d)) | Try::Wait(d) => {
            KeyCheck::Unexpected(Localized::new(
                "msg-host-asked-wait",
                &[("seconds", d.as_secs().to_string())],
            ))
        }
        Try::Unreachable(cause) => unreachable(&cause),
    }
}

/// The host's words carried by a message, in lower case.
fn words(l: &Localized) -> String {
    l.args
        .iter()
        .find(|(k, _)| *k == "words")
        .map(|(_, v)| v.to_lowercase())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::super::protocol::read_json;
    use super::*;

    fn error(code: u32, message: &str) -> Try<Answer> {
        let body = format!(
            r#"{{"status_code":400,"error":{{"message":"{message}","code":{code}}},"status_txt":"Bad Request"}}"#
        );
        Try::Answered(read_json(400, None, body.as_bytes()))
    }

    #[test]
    fn the_real_hosts_answers_to_a_request_without_a_source() {
        assert_eq!(read(error(130, "Empty upload source")), KeyCheck::Good);
        assert!(matches!(
            read(error(100, "Invalid API key.")),
            KeyCheck::BadKey(_)
        ));
        assert!(matches!(
            read(error(100, "No key provided")),
            KeyCheck::BadKey(_)
        ));
        assert!(matches!(
            read(Try::Answered(read_json(
                404,
                None,
                b"<html>not found</html>"
            ))),
            KeyCheck::Unexpected(_)
        ));
        assert!(matches!(
            read(Try::Unreachable("connection refused".into())),
            KeyCheck::Unreachable(_)
        ));
    }
}
