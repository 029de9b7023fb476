//! The Chevereto target: one upload of one prepared file through API v1.1.
//!
//! `protocol` is the pure contract (what each answer means), `client` one try of one
//! request, `names` what the host does to names and titles, `online` the check of a
//! key that sends nothing, and this file the target: the request for a file, its
//! tries through the shared [`Pacer`], and the answer as a [`Delivery`].

mod client;
pub(in crate::deliver) mod names;
mod online;
pub mod protocol;

use std::sync::Arc;

use super::pacer::{Paced, Pacer, Policy};
use super::{Checked, DeliverError, Delivery, Parcel, Pending, Placement, Ready, Sent, Target};
use crate::config::CheveretoPlan;
use crate::context::RunContext;
use crate::i18n::Localized;
use crate::ledger::KnownOutput;
use client::{Source, UploadRequest, Uploader};
use protocol::{Answer, Stored, dropped_tags};

/// Uploads to one host.
pub struct CheveretoTarget {
    plan: CheveretoPlan,
    key: String,
    uploader: Uploader,
    pacer: Pacer,
}

impl CheveretoTarget {
    pub fn open(plan: &CheveretoPlan, ctx: &RunContext) -> Result<CheveretoTarget, DeliverError> {
        let uploader = Uploader::new(plan).map_err(DeliverError::Client)?;
        let policy = Policy {
            retries: plan.retries,
            rate_limit: plan.rate_limit,
            outage_wait: plan.outage_wait,
            concurrency: plan.concurrency,
        };
        Ok(CheveretoTarget {
            key: format!("chevereto:{}", plan.endpoint.as_str()),
            pacer: Pacer::new(uploader.host(), policy, ctx),
            uploader,
            plan: plan.clone(),
        })
    }

    async fn upload(&self, parcel: &Parcel) -> Sent {
        let (request, warnings) = self.request_for(parcel);
        let (paced, maybe_sent, slot) = self.pacer.run(|| self.uploader.try_once(&request)).await;
        let delivery = match paced {
            Paced::Answered(answer) => delivery_of(answer),
            Paced::GaveUp(why) => Delivery::Failed(why),
            Paced::Fatal(why) => Delivery::Fatal(why),
            Paced::NotSent(why) => Delivery::NotSent(why),
        };
        Sent {
            delivery,
            possibly_duplicated: maybe_sent,
            warnings,
            slot,
        }
    }

    /// The request for a parcel, and what the person should know about how the host
    /// will take it (tags it drops, a title it cuts).
    fn request_for<'a>(&self, parcel: &'a Parcel) -> (UploadRequest<'a>, Vec<Localized>) {
        let r: &Ready = match parcel {
            Parcel::Url(u) => {
                let request = UploadRequest {
                    source: Source::Url(u.clone()),
                    title: String::new(),
                    description: String::new(),
                    tags: Vec::new(),
                    album_id: self.plan.album_id.clone(),
                };
                return (request, Vec::new());
            }
            Parcel::File(r) => r,
        };
        let mut warnings = Vec::new();
        if self.plan.send_metadata {
            warnings.extend(names::title_cut(&r.title));
            let dropped = dropped_tags(&r.tags);
            if !dropped.is_empty() {
                let tags = ("tags", dropped.join(", "));
                warnings.push(Localized::new("msg-warn-tags-dropped", &[tags]));
            }
        }
        let request = UploadRequest {
            source: Source::File {
                bytes: &r.output.bytes,
                name: names::readable(&r.upload_name, r.date_taken.as_deref(), &r.output.md5),
                mime: r.mime.to_string(),
            },
            title: r.title.clone(),
            description: r.description.clone(),
            tags: r.tags.clone(),
            album_id: self.plan.album_for(r.rel_dir.as_deref()),
        };
        (request, warnings)
    }
}

/// The host's last word on a file, as a delivery.
fn delivery_of(answer: Answer) -> Delivery {
    match answer {
        Answer::Stored(s) => Delivery::Delivered(placement(s)),
        Answer::Duplicate => {
            Delivery::AlreadyThere(None, Localized::new("msg-reason-host-had-bytes", &[]))
        }
        Answer::Fatal(why) => Delivery::Fatal(why),
        Answer::Rejected(why) | Answer::Transient(why) => Delivery::Failed(why),
        Answer::RetryAfter(d) => {
            let secs = ("seconds", d.as_secs().to_string());
            Delivery::Failed(Localized::new("msg-host-asked-wait", &[secs]))
        }
    }
}

/// Where the host put a file: the image URL people open, and the rest of its answer.
fn placement(s: Stored) -> Placement {
    let mut p = Placement {
        location: s.url.or_else(|| s.viewer_url.clone()),
        ..Placement::default()
    };
    let named = [
        ("viewer_url", s.viewer_url),
        ("short_url", s.short_url),
        ("delete_url", s.delete_url),
        ("id", s.id),
        ("md5", s.md5),
    ];
    for (name, value) in named {
        if let Some(v) = value {
            p.answer.insert(name.to_string(), v);
        }
    }
    p
}

impl Target for CheveretoTarget {
    fn key(&self) -> &str {
        &self.key
    }

    /// The upload URL: the key travels in a header or a form field, never in it.
    fn describe(&self) -> String {
        self.plan.endpoint.as_str().to_string()
    }

    fn remote(&self) -> bool {
        true
    }

    /// The host cannot be asked; what the ledger says holds.
    fn still_there(&self) -> Arc<dyn Fn(&KnownOutput) -> bool + Send + Sync> {
        Arc::new(|_: &KnownOutput| true)
    }

    fn concurrency(&self) -> usize {
        self.plan.concurrency
    }

    /// Four files per upload slot: while some wait out a backoff (holding no slot,
    /// see [`Pacer`]), the others keep the slots busy.
    fn under_way(&self) -> usize {
        self.plan.concurrency * 4
    }

    fn takes_urls(&self) -> bool {
        true
    }

    fn deliver<'a>(&'a self, parcel: &'a Parcel, _ctx: &'a RunContext) -> Pending<'a> {
        Box::pin(self.upload(parcel))
    }

    fn status(&self) -> Option<Localized> {
        self.pacer.status()
    }

    fn check_online(&self) -> Option<Checked> {
        let (ok, id, why) = match online::check_key(&self.plan) {
            online::KeyCheck::Good => (true, "msg-online-good", None),
            online::KeyCheck::BadKey(w) => (false, "msg-online-bad-key", Some(w)),
            online::KeyCheck::Unexpected(w) => (false, "msg-online-unexpected", Some(w)),
            online::KeyCheck::Unreachable(w) => (false, "msg-online-unreachable", Some(w)),
        };
        Some(Checked { ok, id, why })
    }
}
