//! One file as the page shows it: a few fields of its outcome (or ledger row), in the
//! page's embedded JSON.

use std::path::{Component, Path, PathBuf};

use base64::Engine;
use serde::{Serialize, Serializer};

use crate::ledger::OutputRow;
use crate::media::Sources;
use crate::record::Outcome;

/// A file on the page. Field names are short: there may be 10,000 of them.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Entry {
    /// The state's one spelling (`written`, `failed`, …).
    pub state: String,
    /// The source path.
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// Where the title, description, keywords and date came from.
    #[serde(rename = "src", skip_serializing_if = "Sources::is_empty")]
    pub sources: Sources,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The target it went to, when the page covers several (the ledger's page).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Where it went: the output file or the host's pages.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link>,
    /// A small JPEG, embedded as base64.
    #[serde(
        rename = "thumb",
        skip_serializing_if = "Option::is_none",
        serialize_with = "base64_jpeg"
    )]
    pub thumbnail: Option<Vec<u8>>,
    #[serde(rename = "dup", skip_serializing_if = "std::ops::Not::not")]
    pub possibly_duplicated: bool,
}

/// A link of a row: what it is, and where.
#[derive(Debug, Clone, Serialize)]
pub struct Link {
    pub label: &'static str,
    pub href: String,
}

fn base64_jpeg<S: Serializer>(t: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(bytes) => s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes)),
        None => s.serialize_none(),
    }
}

impl Entry {
    /// A file of this run; links to a folder's outputs are relative to `folder`, the page's.
    pub fn from_outcome(o: &Outcome, folder: &Path) -> Entry {
        let mut links = Vec::new();
        if let Some(viewer) = o.viewer_url.as_deref().and_then(web_url) {
            links.push(Link {
                label: "viewer",
                href: viewer,
            });
        }
        if let Some(output) = &o.output {
            links.extend(output_link(output, folder));
        }
        Entry {
            state: o.state.word().to_string(),
            path: o.path.clone(),
            title: o.title.clone(),
            date: o.date_taken.clone(),
            sources: o.sources,
            bytes: o.output_bytes,
            width: o.width,
            height: o.height,
            reason: o.reason.clone(),
            target: None,
            links,
            thumbnail: o.thumbnail.clone(),
            possibly_duplicated: o.possibly_duplicated,
        }
    }

    /// A row of the ledger, with the thumbnail made from its output file if any.
    pub fn from_row(r: &OutputRow, folder: &Path, thumbnail: Option<Vec<u8>>) -> Entry {
        let mut links = Vec::new();
        if let Some(viewer) = r.answer("viewer_url").and_then(web_url) {
            links.push(Link {
                label: "viewer",
                href: viewer,
            });
        }
        if let Some(location) = &r.location {
            links.extend(output_link(location, folder));
        }
        Entry {
            state: r.state.as_str().to_string(),
            path: r.source_path.clone(),
            title: r.title.clone(),
            date: Some(r.at.clone()),
            sources: Sources::default(),
            bytes: r.bytes,
            width: r.width,
            height: r.height,
            reason: r.reason.clone(),
            target: Some(r.target.clone()),
            links,
            thumbnail,
            possibly_duplicated: false,
        }
    }
}

/// A link to an output: the image's URL on a host, or the file relative to `folder`.
fn output_link(output: &str, folder: &Path) -> Option<Link> {
    if output.contains("://") {
        return web_url(output).map(|href| Link {
            label: "image",
            href,
        });
    }
    Some(Link {
        label: "file",
        href: relative_href(Path::new(output), folder),
    })
}

/// Only web addresses become links: a host's answer must not smuggle in `javascript:`.
fn web_url(url: &str) -> Option<String> {
    let lower = url.to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://")).then(|| url.to_string())
}

/// `file` as a URL relative to `folder`, percent-encoded (`../out/2024/01/a%20b.jpg`).
pub fn relative_href(file: &Path, folder: &Path) -> String {
    let file = absolute(file);
    let folder = absolute(folder);
    let (f, d): (Vec<Component>, Vec<Component>) =
        (file.components().collect(), folder.components().collect());
    let common = f.iter().zip(&d).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = d[common..].iter().map(|_| "..".to_string()).collect();
    parts.extend(
        f[common..]
            .iter()
            .map(|c| percent_encode(&c.as_os_str().to_string_lossy())),
    );
    parts.join("/")
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// Percent-encodes all but the unreserved characters of a URL path segment.
fn percent_encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_are_linked_relative_to_the_page_and_encoded() {
        let href = relative_href(Path::new("/a/out/2024/x y#.jpg"), Path::new("/a/pages"));
        assert_eq!(href, "../out/2024/x%20y%23.jpg");
        assert_eq!(
            relative_href(Path::new("/a/b.jpg"), Path::new("/a")),
            "b.jpg"
        );
    }

    #[test]
    fn an_upload_links_to_the_host_and_keeps_its_marks() {
        let mut o = Outcome::new(Path::new("/in/a.jpg"), crate::record::State::Uploaded);
        o.viewer_url = Some("https://h.example/image/x".into());
        o.output = Some("https://h.example/images/x.jpg".into());
        o.possibly_duplicated = true;
        o.thumbnail = Some(vec![1, 2, 3]);
        let json = serde_json::to_value(Entry::from_outcome(&o, Path::new("/pages"))).unwrap();
        assert_eq!(json["links"][0]["label"], "viewer");
        assert_eq!(json["links"][1]["href"], "https://h.example/images/x.jpg");
        assert_eq!(json["dup"], true);
        assert_eq!(json["thumb"], "AQID");
        o.viewer_url = Some("javascript:alert(1)".into());
        o.possibly_duplicated = false;
        let json = serde_json::to_value(Entry::from_outcome(&o, Path::new("/pages"))).unwrap();
        assert_eq!(json["links"].as_array().unwrap().len(), 1, "{json}");
        assert!(json.get("dup").is_none());
    }

    #[test]
    fn only_web_addresses_become_links() {
        assert_eq!(web_url("javascript:alert(1)"), None);
        assert_eq!(web_url("HTTPS://h/x").as_deref(), Some("HTTPS://h/x"));
    }
}
