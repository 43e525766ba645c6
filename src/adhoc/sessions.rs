//! Sessions of multi-stage ad-hoc commands (`crate::adhoc`): which full
//! JID opened which command at which JID, waiting for its form. In memory
//! only; ten minutes each, at most a thousand at once.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use xmpp_parsers::jid::Jid;

use crate::channel::ids::time_sorted_id;
use crate::error::{Error, Result};

/// How long a session waits for its form.
const SESSION_TTL: Duration = Duration::from_secs(600);
/// Most sessions open at once (`resource-constraint` beyond).
const MAX_SESSIONS: usize = 1_000;

/// Sessions of commands waiting for their form.
#[derive(Default)]
pub struct Sessions {
    open: Mutex<HashMap<String, Session>>,
}

struct Session {
    /// The full JID that opened it.
    requester: String,
    node: String,
    /// The JID the command runs at.
    target: String,
    started: Instant,
}

impl Sessions {
    pub(crate) fn start(&self, requester: &Jid, node: &str, target: &str) -> Result<String> {
        let mut open = self.open.lock().map_err(|_| Error::internal("ad-hoc sessions poisoned"))?;
        open.retain(|_, s| s.started.elapsed() < SESSION_TTL);
        if open.len() >= MAX_SESSIONS {
            return Err(Error::resource_constraint("too many ad-hoc command sessions; try again later"));
        }
        let id = time_sorted_id();
        open.insert(id.clone(), Session { requester: requester.to_string(), node: node.to_string(), target: target.to_string(), started: Instant::now() });
        Ok(id)
    }

    /// Ends the session `id` when it is this requester's, for this command
    /// at this JID, and not expired; otherwise `bad-request` with XEP-0050's
    /// `<bad-sessionid/>`.
    pub(crate) fn finish(&self, id: &str, requester: &Jid, node: &str, target: &str) -> Result<()> {
        let mut open = self.open.lock().map_err(|_| Error::internal("ad-hoc sessions poisoned"))?;
        match open.get(id) {
            Some(s) if s.requester == requester.to_string() && s.node == node && s.target == target && s.started.elapsed() < SESSION_TTL => {
                open.remove(id);
                Ok(())
            }
            _ => Err(Error::bad_request("sessionid: no such session (unknown, expired or not yours)").with_app_condition("bad-sessionid", crate::xmpp::ns::COMMANDS)),
        }
    }

    /// Opens a finished session again (its submission was refused: the
    /// requester may correct the form and submit again).
    pub(crate) fn reopen(&self, id: &str, requester: &Jid, node: &str, target: &str) {
        if let Ok(mut open) = self.open.lock() {
            open.insert(id.to_string(), Session { requester: requester.to_string(), node: node.to_string(), target: target.to_string(), started: Instant::now() });
        }
    }
}
