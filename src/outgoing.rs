//! What the service hands to a link: single stanzas, and fan-outs (one
//! message or presence to many recipients, identical but for `to`), so
//! that the link serialises a room message once per message instead of
//! once per recipient, and can hand it to the server's multicast service in
//! one stanza (docs/architecture.md, "Fan-out").

use std::collections::HashMap;

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

    fn from(&self) -> Option<&Jid> {
        match self {
            Template::Message(m) => m.from.as_ref(),
            Template::Presence(p) => p.from.as_ref(),
        }
    }

    /// What two templates must share to be compared: kind and sender.
    fn key(&self) -> Option<(bool, &Jid)> {
        Some((matches!(self, Template::Presence(_)), self.from()?))
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

/// Merges the answers of one dispatcher turn: an item identical but for
/// `to` to an earlier one (same kind, sender and content) gives each of its
/// recipients that received nothing since that earlier item to it, which
/// becomes (or grows as) a fan-out; the others keep the item where it was.
/// No recipient's stanzas change order (a user's resources count as one
/// recipient, which the bare JID's server may route to any of them).
///
/// This is what makes a join storm cheap for the server: the occupant list
/// of N users entering in the same turn is one multicast per occupant
/// instead of N stanzas (XEP-0045 only orders what each occupant receives).
/// Items are merged as they are pushed, so a turn's answers are never all
/// held at once; until a first repeat appears, nothing is tracked per
/// recipient.
#[derive(Default)]
pub struct Coalescer {
    out: Vec<Out>,
    /// The latest fan-out (index in `out`) of each (kind, sender).
    latest: HashMap<(bool, Jid), usize>,
    /// Once a repeat was seen: the latest item (index in `out`) addressed
    /// to each bare JID, by hash (two JIDs with one hash share the later
    /// position, which only keeps more items apart).
    last: Option<HashMap<u64, usize>>,
}

impl Coalescer {
    pub fn push(&mut self, item: Out) {
        let f = match item {
            Out::FanOut(f) => f,
            Out::Stanza(s) => match split(s) {
                Ok((template, to)) => FanOut { template, to },
                Err(s) => {
                    if let (Some(last), Some(to)) = (&mut self.last, stanza_to(&s)) {
                        note(last, to, self.out.len());
                    }
                    self.out.push(Out::Stanza(s));
                    return;
                }
            },
        };
        let key = f.template.key().map(|(kind, from)| (kind, from.clone()));
        let earlier = key.as_ref().and_then(|k| self.latest.get(k)).copied().filter(|&e| matches!(&self.out[e], Out::FanOut(g) if g.template == f.template));
        if earlier.is_some() && self.last.is_none() {
            self.last = Some(self.positions());
        }
        let at = self.out.len();
        let rest = match (&mut self.last, earlier) {
            (Some(last), Some(e)) => {
                let mut rest = Vec::new();
                for r in f.to {
                    let h = bare_hash(&r);
                    if last.get(&h).is_none_or(|&l| l < e) {
                        last.insert(h, e);
                        if let Out::FanOut(g) = &mut self.out[e] {
                            g.to.push(r);
                        }
                    } else {
                        last.insert(h, at);
                        rest.push(r);
                    }
                }
                rest
            }
            (Some(last), None) => {
                f.to.iter().for_each(|r| note(last, r, at));
                f.to
            }
            (None, _) => f.to,
        };
        if !rest.is_empty() {
            if let Some(k) = key {
                self.latest.insert(k, at);
            }
            self.out.push(Out::FanOut(FanOut { template: f.template, to: rest }));
        }
    }

    /// Where each recipient got its latest item so far.
    fn positions(&self) -> HashMap<u64, usize> {
        let mut last = HashMap::new();
        for (i, item) in self.out.iter().enumerate() {
            match item {
                Out::FanOut(f) => f.to.iter().for_each(|r| note(&mut last, r, i)),
                Out::Stanza(s) => {
                    if let Some(to) = stanza_to(s) {
                        note(&mut last, to, i);
                    }
                }
            }
        }
        last
    }

    /// The merged items, in order.
    pub fn finish(mut self) -> Vec<Out> {
        self.drain().collect()
    }

    /// The merged items, in order; the coalescer is empty afterwards and
    /// keeps its capacity for the next turn.
    pub fn drain(&mut self) -> impl Iterator<Item = Out> + '_ {
        self.latest.clear();
        self.last = None;
        self.out.drain(..).map(|item| match item {
            Out::FanOut(mut f) if f.to.len() == 1 => {
                *f.template.to_mut() = f.to.pop();
                Out::Stanza(f.template.into_stanza())
            }
            other => other,
        })
    }
}

impl Extend<Out> for Coalescer {
    fn extend<I: IntoIterator<Item = Out>>(&mut self, items: I) {
        items.into_iter().for_each(|item| self.push(item));
    }
}

/// `items` through a [`Coalescer`].
pub fn coalesce(items: Vec<Out>) -> Vec<Out> {
    let mut c = Coalescer::default();
    c.extend(items);
    c.finish()
}

/// `to` got an item at `at` (positions only grow: see `Coalescer::last`).
fn note(last: &mut HashMap<u64, usize>, to: &Jid, at: usize) {
    let l = last.entry(bare_hash(to)).or_insert(at);
    *l = (*l).max(at);
}

fn bare_hash(j: &Jid) -> u64 {
    use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
    BuildHasherDefault::<DefaultHasher>::default().hash_one(bare(j))
}

/// A message or presence with a `to`: its template and recipient.
fn split(s: Stanza) -> Result<(Template, Vec<Jid>), Stanza> {
    let mut t = match s {
        Stanza::Message(m) => Template::Message(m),
        Stanza::Presence(p) => Template::Presence(p),
        iq @ Stanza::Iq(_) => return Err(iq),
    };
    match t.to_mut().take() {
        Some(to) => Ok((t, vec![to])),
        None => Err(t.into_stanza()),
    }
}

fn stanza_to(s: &Stanza) -> Option<&Jid> {
    match s {
        Stanza::Message(m) => m.to.as_ref(),
        Stanza::Presence(p) => p.to.as_ref(),
        Stanza::Iq(iq) => crate::xmpp::reply::iq_to(iq),
    }
}

/// The bare part of a JID, as text.
fn bare(j: &Jid) -> &str {
    let s = j.as_str();
    &s[..s.find('/').unwrap_or(s.len())]
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

    /// Each bare recipient's stanzas, in order, as text.
    fn per_recipient(items: Vec<Out>) -> std::collections::BTreeMap<String, Vec<String>> {
        let mut seen = std::collections::BTreeMap::<String, Vec<String>>::new();
        for s in expand(items) {
            let to = stanza_to(&s).map(|j| bare(j).to_string()).unwrap_or_default();
            seen.entry(to).or_default().push(format!("{s:?}"));
        }
        seen
    }

    fn copy(items: &[Out]) -> Vec<Out> {
        items
            .iter()
            .map(|o| match o {
                Out::FanOut(f) => Out::FanOut(f.clone()),
                Out::Stanza(Stanza::Message(m)) => Out::Stanza(Stanza::Message(m.clone())),
                Out::Stanza(Stanza::Presence(p)) => Out::Stanza(Stanza::Presence(p.clone())),
                Out::Stanza(Stanza::Iq(_)) => unreachable!(),
            })
            .collect()
    }

    fn occupant(nick: &str, to: &str, status: &str) -> Out {
        let mut p = Presence::new(Type::None);
        p.from = Some(format!("r@muc.example/{nick}").parse().unwrap());
        p.to = Some(to.parse().unwrap());
        p.statuses.insert(Default::default(), status.into());
        Out::Stanza(Stanza::Presence(p))
    }

    #[test]
    fn a_join_storm_is_one_fan_out_per_occupant() {
        // a and b are in; j1, j2, j3 enter in one turn. Each joiner gets the
        // occupants already in, then its own presence (status "self"), and
        // the others get its presence.
        let mut items = vec![];
        let mut inside = vec!["a", "b"];
        for j in ["j1", "j2", "j3"] {
            for o in &inside {
                items.push(occupant(o, &format!("{j}@x/r"), "here"));
            }
            items.push(occupant(j, &format!("{j}@x/r"), "self"));
            let others: Vec<Jid> = inside.iter().map(|o| format!("{o}@x/r").parse().unwrap()).collect();
            items.push(Out::FanOut(FanOut { template: Template::Presence(match occupant(j, "z@x", "here") { Out::Stanza(Stanza::Presence(mut p)) => { p.to = None; p } _ => unreachable!() }), to: others }));
            inside.push(j);
        }
        let before = per_recipient(copy(&items));
        let merged = coalesce(items);
        // a and b to all three; j1 to a, b, j2, j3; j2 to a, b, j1, j3; j3 to the
        // four others; three self-presences: 8 items for 21 stanzas.
        let shape: Vec<usize> = merged.iter().map(Out::stanzas).collect();
        assert_eq!(shape, vec![3, 3, 1, 4, 1, 4, 1, 4]);
        assert_eq!(per_recipient(merged), before);
    }

    #[test]
    fn a_recipient_that_received_something_since_keeps_its_place() {
        let items = vec![occupant("a", "j1@x/r", "here"), occupant("b", "j2@x/r", "here"), occupant("a", "j2@x/r", "here"), occupant("a", "j3@x/r", "here")];
        let before = per_recipient(copy(&items));
        let merged = coalesce(items);
        let shape: Vec<usize> = merged.iter().map(Out::stanzas).collect();
        // j2 got b's presence after a's went to j1: a's to j2 stays; j3 joins that one.
        assert_eq!(shape, vec![1, 1, 2]);
        assert_eq!(per_recipient(merged), before);
    }

    #[test]
    fn coalescing_never_reorders_a_recipient_or_loses_a_stanza() {
        // Random turns of presences and messages from a few senders with a
        // few contents to a few recipients (two resources of one user among them).
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let recipients = ["u1@x/a", "u1@x/b", "u2@x/a", "u3@x/a", "u4@x/a"];
        let (mut items_in, mut items_out) = (0, 0);
        for _ in 0..500 {
            let mut items = vec![];
            for _ in 0..(1 + next(12)) {
                let from = ["a", "b", "c"][next(3) as usize];
                let status = ["here", "away"][next(2) as usize];
                let mut to: Vec<Jid> = vec![];
                for _ in 0..(1 + next(3)) {
                    to.push(recipients[next(5) as usize].parse().unwrap());
                }
                let item = if next(2) == 0 {
                    occupant(from, to[0].as_str(), status)
                } else if next(2) == 0 {
                    let mut m = Message::new_with_type(MessageType::Groupchat, None);
                    m.from = Some(format!("r@muc.example/{from}").parse().unwrap());
                    m.bodies.insert(Default::default(), status.into());
                    Out::FanOut(FanOut::message(m, to))
                } else {
                    let Out::Stanza(Stanza::Presence(mut p)) = occupant(from, "z@x", status) else { unreachable!() };
                    p.to = None;
                    Out::FanOut(FanOut { template: Template::Presence(p), to })
                };
                items.push(item);
            }
            let n: usize = items.iter().map(Out::stanzas).sum();
            let before = per_recipient(copy(&items));
            items_in += items.len();
            let merged = coalesce(items);
            items_out += merged.len();
            assert_eq!(merged.iter().map(Out::stanzas).sum::<usize>(), n);
            assert_eq!(per_recipient(merged), before);
        }
        assert!(items_out + 100 < items_in, "the turns merged: {items_in} items became {items_out}");
    }
}
