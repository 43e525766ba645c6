//! What the service hands to a link: single stanzas, and fan-outs (one
//! message to many recipients, identical but for `to`), so that the link
//! serialises a room message once per message instead of once per
//! recipient, and can hand it to the server's multicast service in one
//! stanza (docs/architecture.md, "Fan-out").

use xmpp_parsers::jid::Jid;
use xmpp_parsers::message::Message;
use xmpp_parsers::stanza::Stanza;

/// One item of outgoing traffic.
#[derive(Debug)]
pub enum Out {
    Stanza(Stanza),
    FanOut(FanOut),
}

/// `template` (whose `to` is ignored) to each of `to`, in that order.
#[derive(Debug, Clone)]
pub struct FanOut {
    pub template: Message,
    pub to: Vec<Jid>,
}

impl Out {
    /// The sender: it names the link (domain) the item leaves through.
    pub fn sender(&self) -> Option<&Jid> {
        match self {
            Out::Stanza(Stanza::Iq(iq)) => crate::xmpp::reply::iq_from(iq),
            Out::Stanza(Stanza::Message(m)) => m.from.as_ref(),
            Out::Stanza(Stanza::Presence(p)) => p.from.as_ref(),
            Out::FanOut(f) => f.template.from.as_ref(),
        }
    }

    /// Number of stanzas the item stands for.
    pub fn stanzas(&self) -> usize {
        match self {
            Out::Stanza(_) => 1,
            Out::FanOut(f) => f.to.len(),
        }
    }
}

impl From<Stanza> for Out {
    fn from(s: Stanza) -> Self {
        Out::Stanza(s)
    }
}

impl FanOut {
    /// The stanzas this fan-out stands for, one per recipient.
    pub fn stanzas(&self) -> impl Iterator<Item = Stanza> + '_ {
        self.to.iter().map(|to| {
            let mut m = self.template.clone();
            m.to = Some(to.clone());
            Stanza::Message(m)
        })
    }
}

/// Every stanza of `items`, in order, fan-outs expanded.
pub fn expand(items: Vec<Out>) -> Vec<Stanza> {
    let mut out = Vec::with_capacity(items.iter().map(Out::stanzas).sum());
    for item in items {
        match item {
            Out::Stanza(s) => out.push(s),
            Out::FanOut(f) => out.extend(f.stanzas()),
        }
    }
    out
}
