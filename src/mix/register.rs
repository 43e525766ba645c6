//! Nick registration (XEP-0369 seed, "Registering a Nick"): `<register/>`
//! to the service reserves a nick in every channel, to a channel in that
//! channel (members only, as the MUC view's room registration: one
//! registry, `channel::registration`). Without `<nick/>` the service
//! assigns one (the user's nick in the channel, else a unique one). The
//! answer names the nick registered; the participant's nick becomes it in
//! the channel (or, with the service, in every channel the user is in), so
//! the participants node and the room's occupants see the change.

use xmpp_parsers::jid::Jid;
use xmpp_parsers::minidom::Element;

use crate::channel::registration::Scope;
use crate::error::Result;
use crate::service::{Reply, Service};
use crate::xmpp::ns;

pub async fn handle(svc: &Service, channel: Option<&str>, from: &Jid, payload: &Element) -> Result<Reply> {
    let bare = from.to_bare();
    let asked = payload.get_child("nick", ns::MIX_CORE).map(|n| n.text());
    let scope = match channel {
        Some(c) => Scope::Channel(c),
        None => Scope::Service,
    };
    let nick = svc.channels.register_nick(scope, &bare, asked.as_deref()).await?;
    let channels = match channel {
        Some(c) => vec![c.to_string()],
        None => svc.channels.channels_of(&bare).await?,
    };
    let mut events = Vec::new();
    for c in channels {
        let Some(p) = svc.channels.participants(&c).await?.iter().find(|p| p.jid == bare.as_str()).cloned() else { continue };
        if p.nick.as_deref() != Some(nick.as_str()) {
            events.extend(svc.channels.set_nick(&c, &bare, &nick).await?.1);
        }
    }
    let mut register = Element::bare("register", ns::MIX_CORE);
    let mut n = Element::bare("nick", ns::MIX_CORE);
    n.append_text_node(nick);
    register.append_child(n);
    Ok(Reply::events(Some(register), events))
}
