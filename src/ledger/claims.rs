//! Claims on content within one run, so two copies of a photo met in one run are
//! sent once. A claim is held from the moment a worker takes a source md5 until
//! the ledger holds its row (or the file failed); from then on the ledger answers.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The source md5s of the files in flight, and the path that took each.
#[derive(Default)]
pub struct Claims {
    held: Mutex<HashMap<String, PathBuf>>,
    /// Keep claims for the whole run (dry runs record nothing, so the ledger cannot take over).
    keep: bool,
}

impl Claims {
    pub fn new(keep: bool) -> Claims {
        Claims {
            held: Mutex::new(HashMap::new()),
            keep,
        }
    }

    /// Claims `md5` for `path`; returns the path that holds it already, if any.
    pub fn claim(&self, md5: &str, path: &Path) -> Option<PathBuf> {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        match held.get(md5) {
            Some(other) => Some(other.clone()),
            None => {
                held.insert(md5.to_string(), path.to_path_buf());
                None
            }
        }
    }

    /// Lets go of claims once the ledger holds their rows (or their file failed).
    pub fn release<'a>(&self, md5s: impl IntoIterator<Item = &'a String>) {
        if self.keep {
            return;
        }
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        for m in md5s {
            held.remove(m);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claim_is_held_until_released_unless_kept() {
        let c = Claims::new(false);
        assert_eq!(c.claim("m", Path::new("a")), None);
        assert_eq!(c.claim("m", Path::new("b")), Some(PathBuf::from("a")));
        c.release([&"m".to_string()]);
        assert_eq!(c.claim("m", Path::new("b")), None);
        let kept = Claims::new(true);
        kept.claim("m", Path::new("a"));
        kept.release([&"m".to_string()]);
        assert_eq!(kept.claim("m", Path::new("b")), Some(PathBuf::from("a")));
    }
}
