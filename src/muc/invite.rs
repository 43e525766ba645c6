//! Mediated invitations (XEP-0045 §7.8.2) and declines (§7.8.2, "decline"),
//! sent to the room as `<x xmlns='…muc#user'><invite to=…/></x>`.
//!
//! The room sends each invitee a message from the room with
//! `<invite from=inviter><reason/></invite>`, the XEP-0249 `jabber:x:conference`
//! element and a plain body (as Prosody does), and the MIX `<invitation/>`
//! for the same channel (`channel::invite`), so a MIX client can join through
//! the MIX domain (XEP-0408 §2.1; the room cannot tell which protocol the
//! invitee's client speaks). In a members-only room an invitation makes an
//! unaffiliated invitee a member (as Prosody does). Declines are relayed to
//! the inviter from the room, and only to one who invited the decliner
//! (`channel::invite::Pending`).
//!
//! The room relays nothing of the sender's message but the addresses and
//! the reason (no bodies, no other payloads: the room must not be a relay
//! for anyone's content), and at most `MAX_PER_STANZA` invitations a stanza.

use xmpp_parsers::jid::{BareJid, Jid};
use xmpp_parsers::message::{Lang, Message, MessageType};
use xmpp_parsers::minidom::Element;
use xmpp_parsers::stanza::Stanza;

use crate::channel::invite::MAX_PER_STANZA;
use crate::channel::nick;
use crate::error::{Error, Result};
use crate::service::Reply;
use crate::service::{Service, View};
use crate::xmpp::mix::Invitation;
use crate::xmpp::{el, ns, text_el};

/// XEP-0249 direct invitations (kept beside the mediated one, as Prosody does).
pub const CONFERENCE: &str = "jabber:x:conference";

/// Is this a message with MUC user data (an invite or a decline)?
pub fn is_user_x(m: &Message) -> bool {
    m.payloads.iter().any(|p| p.is("x", ns::MUC_USER))
}

/// A message to the room with `<x xmlns='…muc#user'/>`.
pub async fn handle(svc: &Service, room: &str, m: &Message) -> Result<Reply> {
    let from = m.from.as_ref().ok_or_else(|| Error::bad_request("message without a sender"))?;
    let x = m.payloads.iter().find(|p| p.is("x", ns::MUC_USER)).ok_or_else(|| Error::bad_request("no MUC user data"))?;
    let invites: Vec<&Element> = x.children().filter(|c| c.is("invite", ns::MUC_USER)).collect();
    if invites.len() > MAX_PER_STANZA {
        return Err(Error::policy_violation(format!("at most {MAX_PER_STANZA} invitations in one stanza")));
    }
    let out = match x.children().next() {
        Some(c) if c.is("invite", ns::MUC_USER) => invite(svc, room, from, &invites, m.id.as_ref()).await?,
        Some(c) if c.is("decline", ns::MUC_USER) => decline(svc, room, from, c, m.id.as_ref()).await?,
        _ => return Err(Error::bad_request("expected <invite/> or <decline/>")),
    };
    Ok(Reply { after: out, ..Default::default() })
}

fn target(e: &Element) -> Result<Jid> {
    let to = e.attr("to").ok_or_else(|| Error::bad_request(format!("<{}/> needs a 'to'", e.name())))?;
    to.parse::<Jid>().map_err(|_| Error::jid_malformed(format!("{} is not a JID", crate::error::quote(to))))
}

/// Longest reason relayed (characters); longer ones are cut.
const MAX_REASON: usize = 1024;

fn reason_of(e: &Element) -> String {
    e.get_child("reason", ns::MUC_USER).map(|r| r.text().chars().take(MAX_REASON).collect()).unwrap_or_default()
}

/// A message from the room, with the sender's id: only what the room
/// writes itself goes in.
fn from_room(from: Jid, to: Jid, id: Option<&xmpp_parsers::message::Id>) -> Message {
    let mut out = Message::new_with_type(MessageType::Normal, Some(to));
    out.from = Some(from);
    out.id = id.cloned();
    out
}

async fn invite(svc: &Service, room: &str, from: &Jid, invites: &[&Element], id: Option<&xmpp_parsers::message::Id>) -> Result<Vec<Stanza>> {
    let inviter = from.to_bare();
    // The inviter must be in the channel, in either view.
    if svc.channels.participants(room).await?.iter().all(|p| p.jid != inviter.as_str()) {
        return Err(Error::not_in_room());
    }
    svc.channels.check_may_invite(room, &inviter).await?;
    let room_jid = svc.channel_jid(View::Muc, room);
    let mut out = Vec::new();
    for inv in invites {
        let invitee = target(inv)?;
        let reason = reason_of(inv);
        let invitee_bare: BareJid = invitee.to_bare();
        svc.channels.admit_invitee(room, &invitee_bare).await?;
        svc.channels.invited(room, from.as_str(), &invitee_bare);
        let mut msg = from_room(room_jid.clone().into(), invitee.clone(), id);
        let mut x = Element::bare("x", ns::MUC_USER);
        let mut i = el("invite", ns::MUC_USER, &[("from", &from.to_string())]);
        i.append_child(text_el("reason", ns::MUC_USER, reason.clone()));
        x.append_child(i);
        msg.payloads.push(x);
        let mut conference = el("x", CONFERENCE, &[("jid", room_jid.as_str())]);
        if !reason.is_empty() {
            conference.append_text(reason.clone());
        }
        msg.payloads.push(conference);
        let invitation = svc.channels.invitation(room, &inviter, &invitee_bare).await?;
        let mix_channel = svc.channel_jid(View::Mix, room).to_string();
        msg.payloads.push(Invitation { inviter: invitation.inviter, invitee: invitation.invitee, channel: mix_channel, token: invitation.token }.into());
        let text = format!("{from} invited you to the room {room_jid}{}", if reason.is_empty() { String::new() } else { format!(" ({reason})") });
        msg.bodies.insert(Lang::default(), text);
        tracing::info!(room, invitee = %invitee, "mediated invitation sent");
        out.push(Stanza::Message(msg));
    }
    Ok(out)
}

/// A decline goes to the inviter named in `to`, if it invited the decliner
/// (else `item-not-found`); an in-room JID (`room@muc/nick`) means every
/// session of that occupant.
async fn decline(svc: &Service, room: &str, from: &Jid, d: &Element, id: Option<&xmpp_parsers::message::Id>) -> Result<Vec<Stanza>> {
    let to = target(d)?;
    let reason = reason_of(d);
    let room_jid = svc.channel_jid(View::Muc, room);
    let decliner = from.to_bare();
    let recipients: Vec<Jid> = match to.resource() {
        Some(nick) if to.to_bare() == room_jid => {
            let participants = svc.channels.participants(room).await?;
            let p = nick::find(&participants, nick.as_str()).ok_or_else(|| Error::item_not_found().with_text("Recipient not in room"))?;
            svc.channels.check_decline(room, &decliner, &p.jid)?;
            svc.channels.occupants(room).await?.iter().filter(|o| o.jid == p.jid).map(|o| o.full_jid.clone()).collect()
        }
        _ => {
            svc.channels.check_decline(room, &decliner, to.as_str())?;
            vec![to]
        }
    };
    let mut msg = from_room(room_jid.clone().into(), room_jid.clone().into(), id);
    let mut x = Element::bare("x", ns::MUC_USER);
    let mut dec = el("decline", ns::MUC_USER, &[("from", &from.to_string())]);
    dec.append_child(text_el("reason", ns::MUC_USER, reason.clone()));
    x.append_child(dec);
    msg.payloads.push(x);
    let text = format!("{from} declined your invite to the room {room_jid}{}", if reason.is_empty() { String::new() } else { format!(" ({reason})") });
    msg.bodies.insert(Lang::default(), text);
    tracing::info!(room, copies = recipients.len(), "invitation decline relayed");
    Ok(recipients
        .into_iter()
        .map(|to| {
            let mut copy = msg.clone();
            copy.to = Some(to);
            Stanza::Message(copy)
        })
        .collect())
}
