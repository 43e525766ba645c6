//! IQs relayed between participants, both legs on the wire: a request a
//! front end sends on (the channel chose the real JID, `channel::relay`)
//! and the answer that comes back. Shared by both views, like `mam` and
//! `disco`.
//!
//! The relayed request gets an id of our own (never the requester's: two
//! requesters using the same id cannot collide, and no one can answer for
//! the target without having seen the request). `PendingIqs` keeps, under
//! that id, where the answer goes. An answer is relayed only when it comes
//! from the real JID the request went to and is addressed to the JID it
//! came from; anything else is dropped (logged at debug). An entry lives
//! `TTL` at most; a request that is not answered by then is forgotten and
//! nothing is sent (the requester's own client has timed out by then).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use xmpp_parsers::iq::Iq;
use xmpp_parsers::jid::Jid;
use xmpp_parsers::minidom::Element;
use xmpp_parsers::stanza::Stanza;

use crate::channel::ids::time_sorted_id;
use crate::error::{Error, Result};
use crate::xmpp::ns;

/// How long a relayed request waits for its answer.
pub const TTL: Duration = Duration::from_secs(60);
/// Requests waiting for an answer, service-wide.
pub const CAPACITY: u64 = 10_000;
/// Requests waiting for an answer per requesting session.
pub const PER_REQUESTER: usize = 16;

/// An IQ get or set as the router received it.
pub struct Request<'a> {
    pub from: &'a Jid,
    /// The JID the requester addressed (`room@muc/nick`, a proxy JID).
    pub to: &'a Jid,
    pub id: &'a str,
    pub set: bool,
    pub payload: &'a Element,
}

impl Request<'_> {
    /// Is it a vCard request (vcard-temp, XEP-0054; vCard4, XEP-0292)?
    pub fn is_vcard(&self) -> bool {
        self.payload.is("vCard", ns::VCARD_TEMP) || self.payload.is("vcard", ns::VCARD4)
    }
}

/// Where the answer to a relayed request goes.
#[derive(Debug, Clone)]
struct Pending {
    /// The requester's full JID and its id.
    requester: Jid,
    id: String,
    /// The JID it asked: the answer comes from it.
    asked: Jid,
    /// The `from` of the relayed request: the answer comes to it.
    relayed_from: Jid,
    /// The real JID the request went to: the answer must come from it.
    target: Jid,
}

/// Relayed requests not answered yet, by the id we gave them.
pub struct PendingIqs {
    waiting: moka::future::Cache<String, Arc<Pending>>,
    /// Entries per requesting session (kept by the cache's eviction listener).
    per_requester: Arc<Mutex<HashMap<Jid, usize>>>,
}

impl Default for PendingIqs {
    fn default() -> Self {
        Self::new(CAPACITY, TTL)
    }
}

impl PendingIqs {
    pub fn new(capacity: u64, ttl: Duration) -> Self {
        let per_requester: Arc<Mutex<HashMap<Jid, usize>>> = Arc::default();
        let counts = per_requester.clone();
        let waiting = moka::future::Cache::builder()
            .max_capacity(capacity)
            .time_to_live(ttl)
            .eviction_listener(move |_id, p: Arc<Pending>, _cause| {
                let mut counts = counts.lock().expect("not poisoned");
                if let Some(n) = counts.get_mut(&p.requester) {
                    *n -= 1;
                    if *n == 0 {
                        counts.remove(&p.requester);
                    }
                }
            })
            .build();
        PendingIqs { waiting, per_requester }
    }

    fn outstanding(&self, requester: &Jid) -> usize {
        self.per_requester.lock().expect("not poisoned").get(requester).copied().unwrap_or(0)
    }

    /// The request sent on: from `relayed_from` to `target` (a real JID),
    /// with a fresh id and the requester's payload as it is. Refused with
    /// `resource-constraint` when the requester already waits for
    /// `PER_REQUESTER` answers.
    pub async fn forward(&self, req: &Request<'_>, relayed_from: Jid, target: Jid) -> Result<Stanza> {
        if self.outstanding(req.from) >= PER_REQUESTER {
            // Entries past their time are counted until the cache's housekeeping drops them.
            self.waiting.run_pending_tasks().await;
            if self.outstanding(req.from) >= PER_REQUESTER {
                return Err(Error::resource_constraint("too many requests waiting for an answer"));
            }
        }
        let id = time_sorted_id();
        let pending = Pending { requester: req.from.clone(), id: req.id.to_string(), asked: req.to.clone(), relayed_from: relayed_from.clone(), target: target.clone() };
        *self.per_requester.lock().expect("not poisoned").entry(req.from.clone()).or_default() += 1;
        self.waiting.insert(id.clone(), Arc::new(pending)).await;
        tracing::debug!(relayed_id = %id, "request relayed");
        let (from, to, payload) = (Some(relayed_from), Some(target), req.payload.clone());
        Ok(Stanza::Iq(if req.set { Iq::Set { from, to, id, payload } } else { Iq::Get { from, to, id, payload } }))
    }

    /// The answer (result or error) to a relayed request, for the requester:
    /// from the JID it asked, with its id, the payload as it came; an
    /// error keeps its type and condition but not its `by` (which could
    /// name the target's real JID). None when `iq` answers nothing we
    /// relayed, or comes from or to another JID than the request's.
    pub async fn answer(&self, iq: &Iq) -> Option<Stanza> {
        let (id, from, to, error, payload) = match iq {
            Iq::Result { id, from, to, payload } => (id, from.as_ref(), to.as_ref(), None, payload),
            Iq::Error { id, from, to, error, payload } => (id, from.as_ref(), to.as_ref(), Some(error), payload),
            Iq::Get { .. } | Iq::Set { .. } => return None,
        };
        let p = self.waiting.get(id).await?;
        if from != Some(&p.target) || to != Some(&p.relayed_from) {
            tracing::debug!(relayed_id = %id, from = ?from, "answer from another JID than the request went to; dropped");
            return None;
        }
        self.waiting.remove(id).await;
        let (from, to, id, payload) = (Some(p.asked.clone()), Some(p.requester.clone()), p.id.clone(), payload.clone());
        Some(Stanza::Iq(match error {
            None => Iq::Result { from, to, id, payload },
            Some(error) => {
                let mut error = error.clone();
                error.by = None;
                Iq::Error { from, to, id, error, payload }
            }
        }))
    }
}
