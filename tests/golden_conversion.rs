//! Golden transcript of the XEP-0369 seed's "Converting a 1:1 Conversation
//! to a Channel": hag66 creates an ad hoc channel, shares two messages of
//! her 1:1 chat with hag67 by forwarding them (XEP-0297, no body in the
//! outer message), then invites hag67, who joins with the invitation and
//! finds the shared history in MAM, as forwarded by hag66 (the channel
//! vouches only for who forwarded them: docs/mix.md), in both views.

mod common;

use common::*;
use xmpp_parsers::minidom::Element;

const MIX_NS: &str = "urn:xmpp:mix:core:1";
const MAM: &str = "urn:xmpp:mam:2";
const HAG67_BARE: &str = "hag67@shakespeare.example";

fn forwarded(id: &str, stamp: &str, from: &str, body: &str) -> String {
    format!(
        "<message type='groupchat' id='{id}' from='{HAG66}' to='{{channel}}'>
           <forwarded xmlns='urn:xmpp:forward:0'>
             <delay xmlns='urn:xmpp:delay' stamp='{stamp}'/>
             <message xmlns='jabber:client' from='{from}' to='{HAG66}' type='chat' id='o-{id}'><body>{body}</body></message>
           </forwarded>
         </message>"
    )
}

/// The MAM results' forwarded messages.
fn results(out: &[Element]) -> Vec<Element> {
    out.iter()
        .filter_map(|m| m.get_child("result", MAM))
        .filter_map(|r| r.get_child("forwarded", "urn:xmpp:forward:0")?.children().find(|c| c.name() == "message").cloned())
        .collect()
}

#[tokio::test]
async fn one_to_one_conversation_becomes_a_channel() {
    let h = Harness::new().await;
    // An ad hoc channel: the service names it.
    let out = h.send(&format!("<iq type='set' id='c' from='{HAG66}' to='{MIX}'><create xmlns='{MIX_NS}'/></iq>")).await;
    let name = out[0].get_child("create", MIX_NS).and_then(|c| c.attr("channel")).expect("a channel name").to_string();
    let channel = format!("{name}@{MIX}");
    let out = h
        .send(&format!("<iq type='set' id='j' from='{HAG66_BARE}' to='{channel}'><join xmlns='{MIX_NS}'><subscribe node='urn:xmpp:mix:nodes:messages'/><nick>hag66</nick></join></iq>"))
        .await;
    assert!(out.iter().any(|e| e.attr("type") == Some("result")));
    // The shared history, before anyone is invited.
    for (id, stamp, from, body) in [
        ("f1", "2010-07-10T23:08:25Z", "hag67@shakespeare.example/pda", "Harpier cries: 'tis time, 'tis time."),
        ("f2", "2010-07-10T23:09:00Z", "hag66@shakespeare.example/UUID-a1j/7533", "Round about the cauldron go."),
    ] {
        let out = h.send(&forwarded(id, stamp, from, body).replace("{channel}", &channel)).await;
        assert!(out.iter().all(|e| e.attr("type") != Some("error")), "{}", out.iter().map(canonical).collect::<String>());
    }
    // The invitation and the join.
    let out = h.send(&format!("<iq type='get' id='i' from='{HAG66}' to='{channel}'><invite xmlns='{MIX_NS}'><invitee>{HAG67_BARE}</invitee></invite></iq>")).await;
    let invitation = out[0].get_child("invite", MIX_NS).and_then(|i| i.get_child("invitation", MIX_NS)).expect("an invitation").clone();
    let join = format!(
        "<iq type='set' id='j2' from='{HAG67_BARE}' to='{channel}'><join xmlns='{MIX_NS}'><subscribe node='urn:xmpp:mix:nodes:messages'/><nick>hag67</nick>{}</join></iq>",
        String::from(&invitation)
    );
    let out = h.send(&join).await;
    assert!(out.iter().any(|e| e.name() == "iq" && e.attr("type") == Some("result")), "{}", out.iter().map(canonical).collect::<String>());
    // hag67 finds the shared messages, as forwarded by hag66, in order.
    let out = h.send(&format!("<iq type='set' id='q' from='{HAG67_BARE}/pda' to='{channel}'><query xmlns='{MAM}' queryid='q'/></iq>")).await;
    let msgs = results(&out);
    assert_eq!(msgs.len(), 2, "{}", out.iter().map(canonical).collect::<String>());
    for (m, body) in msgs.iter().zip(["Harpier cries: 'tis time, 'tis time.", "Round about the cauldron go."]) {
        assert!(m.get_child("body", "jabber:client").is_none(), "no body in the outer message");
        let inner = m.get_child("forwarded", "urn:xmpp:forward:0").and_then(|f| f.children().find(|c| c.name() == "message")).expect("the forwarded message");
        assert_eq!(inner.get_child("body", "jabber:client").map(|b| b.text()).as_deref(), Some(body));
        let nick = m.get_child("mix", MIX_NS).and_then(|x| x.get_child("nick", MIX_NS)).map(|n| n.text());
        assert_eq!(nick.as_deref(), Some("hag66"), "the channel says who forwarded it");
    }
}
