//! The service: what both protocol front ends share (domains, the channel
//! service, the store), passed explicitly to every handler.

use std::sync::Arc;

use xmpp_parsers::jid::BareJid;
use xmpp_parsers::message::Message;
use xmpp_parsers::minidom::Element;
use xmpp_parsers::stanza::Stanza;

use crate::channel::rights::Rights;
use crate::channel::event::Event;
use crate::channel::payload::Payload;
use crate::channel::post::NewPost;
use crate::channel::Channels;
use crate::config::Config;
use crate::store::Store;
use crate::xmpp::content;

/// Which protocol view a stanza addressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum View {
    Mix,
    Muc,
}

pub struct Service {
    pub mix_domain: BareJid,
    pub muc_domain: BareJid,
    pub store: Store,
    pub channels: Channels,
    /// Keep a destroyed channel's archive (`[service] keep_archive_on_destroy`).
    pub keep_archive: bool,
    /// IQs relayed between participants, waiting for their answers.
    pub(crate) relay: crate::relay::PendingIqs,
    /// Sessions asked whether they are still there (`crate::sweep`).
    pub(crate) sweep: crate::sweep::state::IdleSweep,
    /// Ad-hoc command sessions waiting for their form (`crate::adhoc`).
    pub(crate) adhoc: crate::adhoc::sessions::Sessions,
}

impl Service {
    pub fn new(cfg: &Config, store: Store) -> Arc<Service> {
        let rights = Arc::new(Rights::from_config(cfg));
        let mix_domain = BareJid::new(&cfg.mix.domain).expect("checked at load");
        let muc_domain = BareJid::new(&cfg.muc.domain).expect("checked at load");
        Arc::new(Service {
            channels: Channels::new(store.clone(), rights, mix_domain.clone(), muc_domain.clone(), cfg.service.jid_visibility, &cfg.limits),
            mix_domain,
            muc_domain,
            store,
            keep_archive: cfg.service.keep_archive_on_destroy,
            relay: crate::relay::PendingIqs::default(),
            sweep: crate::sweep::state::IdleSweep::new(&cfg.service),
            adhoc: crate::adhoc::sessions::Sessions::default(),
        })
    }

    /// How often the idle-session check runs (`Service::idle_sweep`); None
    /// when it is off.
    pub fn idle_sweep_period(&self) -> Option<std::time::Duration> {
        self.sweep.period()
    }

    /// The domain of a view.
    pub fn domain(&self, view: View) -> &BareJid {
        match view {
            View::Mix => &self.mix_domain,
            View::Muc => &self.muc_domain,
        }
    }

    /// The view a domain belongs to, if it is one of ours.
    pub fn view_of(&self, domain: &str) -> Option<View> {
        if domain == self.mix_domain.as_str() {
            Some(View::Mix)
        } else if domain == self.muc_domain.as_str() {
            Some(View::Muc)
        } else {
            None
        }
    }

    /// `name@<domain of view>`.
    pub fn channel_jid(&self, view: View, name: &str) -> BareJid {
        match view {
            View::Mix => self.channels.mix_jid(name),
            View::Muc => self.channels.muc_jid(name),
        }
    }

    /// A user's message to channel `name` as `post` takes it: what the
    /// service passes through of it (`content::strip_for_archive`), the
    /// archived form of that, and the id the sender gave it.
    pub fn new_post(&self, name: &str, m: &Message) -> NewPost {
        let ours = |by: &str| by.split_once('@').is_some_and(|(n, d)| n == name && (d == self.mix_domain.as_str() || d == self.muc_domain.as_str()));
        let content = content::strip_for_archive(m, ours);
        NewPost { submission_id: m.id.as_ref().map(|i| i.0.clone()), archived: content::to_archive_xml(&content), content: Payload::new(content) }
    }

    /// The XEP-0359 `<stanza-id/>` of archive id `id`, by the channel's
    /// JID in `view` (written as a string: no JID parsing per message).
    pub fn stanza_id(&self, view: View, channel: &str, id: &str) -> xmpp_parsers::minidom::Element {
        let by = format!("{channel}@{}", self.domain(view));
        crate::xmpp::el("stanza-id", crate::xmpp::ns::SID, &[("id", id), ("by", &by)])
    }
}

/// What a handler answers: an IQ result payload (for IQs), stanzas to send
/// before it (MAM results), and domain events to render after it.
#[derive(Debug, Default)]
pub struct Reply {
    pub payload: Option<Element>,
    pub before: Vec<Stanza>,
    pub events: Vec<Event>,
    /// Stanzas to send after the rendered events (MUC history on entering).
    pub after: Vec<Stanza>,
    /// The IQ was sent on to another entity (`crate::relay`): its answer
    /// comes later, so no result now.
    pub relayed: bool,
}

impl Reply {
    pub fn none() -> Self {
        Reply::default()
    }
    pub fn payload(p: Element) -> Self {
        Reply { payload: Some(p), ..Default::default() }
    }
    pub fn events(payload: Option<Element>, events: Vec<Event>) -> Self {
        Reply { payload, events, ..Default::default() }
    }
    /// An IQ sent on (`relayed`): this stanza instead of a result.
    pub fn relayed(request: Stanza) -> Self {
        Reply { after: vec![request], relayed: true, ..Default::default() }
    }
}
