//! What the service hands to a link: single stanzas, and fan-outs (one
//! message or presence to many recipients, identical but for `to`), so
//! that the link serialises a room message once per message instead of
//! once per recipient, and can hand it to the server's multicast service in
//! one stanza (docs/architecture.md, "Fan-out").

use xmpp_parsers::jid::Jid;
use xmpp_parsers::message::Message;
use xmpp_parsers::presence::Presence;
use xmpp_parsers::stanza::Stanza;

/// One item of outgoing traffic.
#[derive(Debug)]
pub enum Out {
    Stanza(Stanza),
    FanOut(FanOut),
}

/// `template` (a message or a presence, whose `to` is ignored) to each of
/// `to`, in that order.
#[derive(Debug, Clone)]
pub struct FanOut {
    pub template: Template,
    pub to: Vec<Jid>,
}

/// What a fan-out sends.
#[derive(Debug, Clone, PartialEq)]
pub enum Template {
    Message(Message),
    Presence(Presence),
}

impl Template {
    fn into_stanza(self) -> Stanza {
        match self {
            Template::Message(m) => Stanza::Message(m),
            Template::Presence(p) => Stanza::Presence(p),
        }
    }

    fn to_mut(&mut self) -> &mut Option<Jid> {
        match self {
            Template::Message(m) => &mut m.to,
            Template::Presence(p) => &mut p.to,
        }
    }
}

impl Out {
    /// The sender: it names the link (domain) the item leaves through.
    pub fn sender(&self) -> Option<&Jid> {
        match self {
            Out::Stanza(Stanza::Iq(iq)) => crate::xmpp::reply::iq_from(iq),
            Out::Stanza(Stanza::Message(m)) => m.from.as_ref(),
            Out::Stanza(Stanza::Presence(p)) => p.from.as_ref(),
            Out::FanOut(f) => match &f.template {
                Template::Message(m) => m.from.as_ref(),
                Template::Presence(p) => p.from.as_ref(),
            },
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
            let mut t = self.template.clone();
            *t.to_mut() = Some(to.clone());
            t.into_stanza()
        })
    }

    /// A message to each of `to`.
    pub fn message(template: Message, to: Vec<Jid>) -> FanOut {
        FanOut { template: Template::Message(template), to }
    }
}

/// `stanzas` with each run of consecutive messages or presences that are
/// identical but for `to` made one fan-out (order kept).
pub fn group(stanzas: Vec<Stanza>) -> Vec<Out> {
    let mut out = Vec::new();
    let mut run: Option<FanOut> = None;
    for s in stanzas {
        let mut t = match s {
            Stanza::Message(m) => Template::Message(m),
            Stanza::Presence(p) => Template::Presence(p),
            iq @ Stanza::Iq(_) => {
                flush(&mut out, run.take());
                out.push(Out::Stanza(iq));
                continue;
            }
        };
        match (&mut run, t.to_mut().take()) {
            (Some(r), Some(to)) if r.template == t => r.to.push(to),
            (_, Some(to)) => {
                flush(&mut out, run.take());
                run = Some(FanOut { template: t, to: vec![to] });
            }
            (_, None) => {
                flush(&mut out, run.take());
                out.push(Out::Stanza(t.into_stanza()));
            }
        }
    }
    flush(&mut out, run);
    out
}

fn flush(out: &mut Vec<Out>, run: Option<FanOut>) {
    match run {
        Some(mut r) if r.to.len() == 1 => {
            *r.template.to_mut() = r.to.pop();
            out.push(Out::Stanza(r.template.into_stanza()));
        }
        Some(r) => out.push(Out::FanOut(r)),
        None => {}
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

#[cfg(test)]
mod tests {
    use super::*;
    use xmpp_parsers::message::MessageType;
    use xmpp_parsers::presence::Type;

    fn msg(to: &str, body: &str) -> Stanza {
        let mut m = Message::new_with_type(MessageType::Groupchat, Some(to.parse().unwrap()));
        m.from = Some("r@muc.example/n".parse().unwrap());
        m.bodies.insert(Default::default(), body.into());
        Stanza::Message(m)
    }

    fn pres(to: &str, status: &str) -> Stanza {
        let mut p = Presence::new(Type::None);
        p.from = Some("r@muc.example/n".parse().unwrap());
        p.to = Some(to.parse().unwrap());
        p.statuses.insert(Default::default(), status.into());
        Stanza::Presence(p)
    }

    #[test]
    fn group_keeps_order_and_merges_only_identical_neighbours() {
        let input = vec![
            pres("a@x/1", "s"), pres("b@x/1", "s"), pres("c@x/1", "other"), pres("d@x/1", "s"),
            msg("a@x", "hi"), msg("b@x", "hi"), msg("c@x", "hi"),
        ];
        let copy = |v: &[Stanza]| -> Vec<Stanza> { v.iter().map(|s| match s { Stanza::Message(m) => Stanza::Message(m.clone()), Stanza::Presence(p) => Stanza::Presence(p.clone()), Stanza::Iq(_) => unreachable!() }).collect() };
        let grouped = group(copy(&input));
        let shape: Vec<usize> = grouped.iter().map(Out::stanzas).collect();
        assert_eq!(shape, vec![2, 1, 1, 3]);
        assert!(matches!(grouped[1], Out::Stanza(_)) && matches!(grouped[0], Out::FanOut(_)));
        let back = expand(grouped);
        assert_eq!(back.len(), input.len());
        for (a, b) in back.iter().zip(&input) {
            match (a, b) {
                (Stanza::Message(x), Stanza::Message(y)) => assert_eq!(x, y),
                (Stanza::Presence(x), Stanza::Presence(y)) => assert_eq!(x, y),
                _ => panic!("kind changed"),
            }
        }
    }
}
