//! MIX invitations (XEP-0369 seed, "Inviting another User to join a
//! Channel"): an inviter asks the channel for an `<invitation/>` naming the
//! invitee (`<invite><invitee/></invite>`, IQ get), sends it to the invitee,
//! who joins with it. The token is a salted hash over channel, inviter,
//! invitee and expiry time, so the channel keeps no state for invitations.
//! Joining a members-only channel with a valid invitation makes the invitee
//! a member (the seed's "allowed node") when it has no affiliation yet. The MUC view's mediated
//! invitations carry the same invitation (`muc::invite`).

use xmpp_parsers::jid::{BareJid, Jid};
use xmpp_parsers::minidom::Element;

use crate::error::{Error, Result};
use crate::service::Reply;
use crate::service::{Service, View};
use crate::store::now_ms;
use crate::xmpp::mix::{Invitation, Invite};

/// How long an invitation may be used (7 days).
pub const VALIDITY_MS: i64 = 7 * 24 * 3600 * 1000;

/// May `inviter` invite others into the channel? Participants may when the
/// channel allows invitations (`allow_invites`), owners and admins always;
/// visitors never. Returns `forbidden` otherwise.
pub async fn check_may_invite(svc: &Service, channel: &str, inviter: &BareJid) -> Result<()> {
    let ch = svc.channels.require(channel).await?;
    let participant = svc.channels.require_participant(channel, inviter).await?;
    let affiliation = svc.store.get_affiliation(channel, inviter.as_str()).await?;
    let admin = matches!(affiliation.as_deref(), Some("owner" | "admin"));
    let role = crate::muc::voice::effective_role(&ch, affiliation.as_deref(), &participant);
    if role == "visitor" {
        return Err(Error::forbidden("visitors may not invite"));
    }
    if !ch.allow_invites && !admin {
        return Err(Error::forbidden("only owners and admins may invite to this room"));
    }
    Ok(())
}

/// An invitation from `inviter` for `invitee` into `channel`.
pub async fn make(svc: &Service, channel: &str, inviter: &BareJid, invitee: &BareJid) -> Result<Invitation> {
    let expires = now_ms() + VALIDITY_MS;
    Ok(Invitation {
        inviter: inviter.to_string(),
        invitee: invitee.to_string(),
        channel: svc.channel_jid(View::Mix, channel).to_string(),
        token: token(svc, channel, inviter.as_str(), invitee.as_str(), expires).await?,
    })
}

async fn token(svc: &Service, channel: &str, inviter: &str, invitee: &str, expires: i64) -> Result<String> {
    let hash = svc.channels.salted_hash(channel, &format!("invitation\n{inviter}\n{invitee}\n{expires}")).await?;
    Ok(format!("{expires}-{hash}"))
}

/// `<invite><invitee/></invite>` (IQ get) to a channel: the invitation.
pub async fn request(svc: &Service, channel: &str, from: &Jid, payload: &Element) -> Result<Reply> {
    let req: Invite = super::parse(payload)?;
    let invitee = req.invitee.ok_or_else(|| Error::bad_request("<invite/> needs an <invitee/>"))?;
    let invitee = BareJid::new(invitee.trim()).map_err(|_| Error::jid_malformed("the invitee is not a JID"))?;
    let inviter = from.to_bare();
    check_may_invite(svc, channel, &inviter).await?;
    let invitation = make(svc, channel, &inviter, &invitee).await?;
    tracing::info!(channel, invitee = %invitee, "invitation issued");
    Ok(Reply::payload(Invite { invitee: None, invitation: Some(invitation) }.into()))
}

/// Checks an invitation given in a `<join/>` by `joiner`; in a members-only
/// channel a valid one makes the invitee a member when it has no affiliation.
pub async fn accept(svc: &Service, channel: &str, joiner: &BareJid, inv: &Invitation) -> Result<()> {
    let invalid = || Error::forbidden("the invitation is not valid");
    let same = |a: &str, b: &str| BareJid::new(a.trim()).ok().is_some_and(|j| j.as_str() == b);
    if !same(&inv.invitee, joiner.as_str()) || !same(&inv.channel, svc.channel_jid(View::Mix, channel).as_str()) {
        return Err(invalid());
    }
    let expires: i64 = inv.token.split_once('-').and_then(|(e, _)| e.parse().ok()).ok_or_else(invalid)?;
    if expires < now_ms() || token(svc, channel, inv.inviter.trim(), joiner.as_str(), expires).await? != inv.token {
        return Err(invalid());
    }
    if svc.channels.require(channel).await?.members_only && svc.store.add_member_if_unaffiliated(channel, joiner.as_str()).await? {
        tracing::info!(channel, invitee = %joiner, inviter = %inv.inviter, "invitee made a member");
    }
    Ok(())
}
