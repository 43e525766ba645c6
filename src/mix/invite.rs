//! MIX invitations (XEP-0369 seed, "Inviting another User to join a
//! Channel"): an inviter asks the channel for an `<invitation/>` naming the
//! invitee (`<invite><invitee/></invite>`, IQ get), sends it to the invitee,
//! who joins with it (`join.rs`). Who may invite and the token are the
//! channel's (`channel::invite`); the MUC view's mediated invitations carry
//! the same invitation.

use xmpp_parsers::jid::{BareJid, Jid};
use xmpp_parsers::minidom::Element;

use crate::error::{Error, Result};
use crate::service::{Reply, Service, View};
use crate::xmpp::mix::{Invitation, Invite};

/// `<invite><invitee/></invite>` (IQ get) to a channel: the invitation.
pub async fn request(svc: &Service, channel: &str, from: &Jid, payload: &Element) -> Result<Reply> {
    let req: Invite = super::parse(payload)?;
    let invitee = req.invitee.ok_or_else(|| Error::bad_request("<invite/> needs an <invitee/>"))?;
    let invitee = BareJid::new(invitee.trim()).map_err(|_| Error::jid_malformed("the invitee is not a JID"))?;
    let inviter = from.to_bare();
    svc.channels.check_may_invite(channel, &inviter).await?;
    let invitation = svc.channels.invitation(channel, &inviter, &invitee).await?;
    tracing::info!(channel, invitee = %invitee, "invitation issued");
    let invitation = Invitation { inviter: invitation.inviter, invitee: invitation.invitee, channel: svc.channel_jid(View::Mix, channel).to_string(), token: invitation.token };
    Ok(Reply::payload(Invite { invitee: None, invitation: Some(invitation) }.into()))
}

/// Checks an invitation given in a `<join/>` by `joiner`: it names the
/// joiner and this channel, and its token is the channel's.
pub async fn accept(svc: &Service, channel: &str, joiner: &BareJid, inv: &Invitation) -> Result<()> {
    let same = |a: &str, b: &str| BareJid::new(a.trim()).ok().is_some_and(|j| j.as_str() == b);
    if !same(&inv.invitee, joiner.as_str()) || !same(&inv.channel, svc.channel_jid(View::Mix, channel).as_str()) {
        return Err(Error::forbidden("the invitation is not valid"));
    }
    svc.channels.accept_invitation(channel, joiner, inv.inviter.trim(), &inv.token).await
}
