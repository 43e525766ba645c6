//! A join storm handled in one dispatcher turn: `outgoing::coalesce` turns
//! the occupant lists of the users entering together into one fan-out per
//! occupant, and every recipient still receives exactly what handling the
//! joins one by one sends it, in the same order (XEP-0045 §7.2.3: the
//! occupants already in, then its own presence, then history and subject).

mod common;

use std::collections::BTreeMap;

use common::*;
use mixmuc::outgoing::{coalesce, Out};

const MIX_NS: &str = "urn:xmpp:mix:core:1";
const ROOM: &str = "coven@chat.shakespeare.example";

/// Each recipient's stanzas (full JID), in order, in canonical form.
fn per_recipient(items: &[Out]) -> BTreeMap<String, Vec<String>> {
    let mut seen = BTreeMap::<String, Vec<String>>::new();
    let mut add = |s: &xmpp_parsers::stanza::Stanza| {
        let e = to_element(s);
        seen.entry(e.attr("to").unwrap_or_default().to_string()).or_default().push(canonical(&e));
    };
    for item in items {
        match item {
            Out::Stanza(s) => add(s),
            Out::FanOut(f) => f.stanzas().for_each(|s| add(&s)),
        }
    }
    seen
}

#[tokio::test]
async fn users_entering_in_one_turn_get_their_lists_as_fan_outs() {
    let h = Harness::new().await;
    let out = h.send(&format!("<iq type='set' id='c0' from='{HAG66}' to='{MIX}'><create xmlns='{MIX_NS}' channel='coven'/></iq>")).await;
    assert_eq!(out[0].attr("type"), Some("result"));
    h.send(&format!("<message type='groupchat' id='s' from='{HAG66}' to='{ROOM}'><subject>Storm</subject></message>")).await;
    h.send(&format!("<presence from='{HAG66}' to='{ROOM}/thirdwitch'><x xmlns='http://jabber.org/protocol/muc'/></presence>")).await;

    const N: usize = 30;
    let joins = (0..N)
        .map(|i| stanza(&format!("<presence from='user{i}@shakespeare.example/storm' to='{ROOM}/user{i}'><x xmlns='http://jabber.org/protocol/muc'/></presence>")))
        .collect();
    let items = h.service.handle_batch(joins).await;
    let expected = per_recipient(&items);
    let (before, stanzas) = (items.len(), items.iter().map(Out::stanzas).sum::<usize>());

    let merged = coalesce(items);
    assert_eq!(merged.iter().map(Out::stanzas).sum::<usize>(), stanzas, "no stanza lost or added");
    assert_eq!(per_recipient(&merged), expected, "every recipient gets the same stanzas in the same order");

    // Each newcomer received the owner and every earlier newcomer before its
    // own presence, then the others that came after it.
    for i in 0..N {
        let to = format!("user{i}@shakespeare.example/storm");
        let got = &expected[&to];
        let presences = got.iter().filter(|s| s.starts_with("<presence")).count();
        assert_eq!(presences, N + 1, "{to} sees the owner, the {} others and itself", N - 1);
        let own = got.iter().position(|s| s.contains("code='110'")).expect("self-presence");
        assert_eq!(own, i + 1, "{to}: the owner and {i} earlier newcomers come first");
    }
    // Instead of one stanza per (occupant, newcomer): per newcomer its
    // self-presence, one fan-out of its presence and the subject (which
    // must follow the self-presence); plus the owner's presence to all.
    assert!(merged.len() <= 3 * N + 1, "{before} items became {}, expected at most {}", merged.len(), 3 * N + 1);
    assert!(before > N * N / 2, "the storm had {before} items");
}
