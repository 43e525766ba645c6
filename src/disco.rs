//! XEP-0030 service discovery on the two service domains: identities,
//! features and the XEP-0408 / XEP-0369 mirror forms; the channel list.

use xmpp_parsers::disco::{DiscoInfoResult, DiscoItemsQuery, DiscoItemsResult, Identity, Item};
use xmpp_parsers::rsm::{First, SetQuery, SetResult};
use xmpp_parsers::jid::{BareJid, Jid};
use xmpp_parsers::minidom::Element;

use crate::error::{Error, Result};
use crate::service::{Service, View};
use crate::xmpp::{form, ns};

/// disco#info on a service domain. The create-channel feature is shown only
/// to a requester who may create channels (XEP-0369).
pub fn service_info(svc: &Service, view: View, requester: &BareJid, node: Option<&str>) -> Result<Element> {
    if node.is_some() {
        return Err(Error::item_not_found());
    }
    let mut features = vec![ns::DISCO_INFO, ns::DISCO_ITEMS, ns::PING, ns::COMMANDS];
    let (identity, extensions) = match view {
        View::Mix => {
            // XEP-0404 "Requesting vCard": each vCard protocol relayed to
            // participants (`crate::relay`) is a feature of the service.
            features.extend([ns::MIX_CORE, ns::MIX_SEARCHABLE, ns::MIX_NICK_REGISTER, ns::VCARD_TEMP, ns::VCARD4]);
            if svc.channels.rights().may_create(requester) {
                features.push(ns::MIX_CREATE_CHANNEL);
            }
            let muc = svc.muc_domain.as_str();
            (
                Identity::new("conference", "mix", "en", "mixmuc MIX service"),
                vec![
                    form::jid_form(ns::MUC_MIRROR_FORM, "muc-mirror", "Location of MUC mirror service", muc),
                    form::jid_form(ns::MIX_SERVICEINFO, "muc-mirror", "Location of MUC mirror service", muc),
                ],
            )
        }
        View::Muc => {
            features.extend([ns::MUC, "http://jabber.org/protocol/muc#stable_id"]);
            let mix = svc.mix_domain.as_str();
            (
                Identity::new("conference", "text", "en", "mixmuc MUC service"),
                vec![
                    form::jid_form(ns::MIX_MIRROR_FORM, "mix-mirror", "Location of MIX mirror service", mix),
                    form::jid_form(ns::MIX_SERVICEINFO, "mix-mirror", "Location of MIX mirror service", mix),
                ],
            )
        }
    };
    Ok(DiscoInfoResult {
        node: None,
        identities: vec![identity],
        features: features.into_iter().map(str::to_string).collect(),
        extensions,
    }
    .into())
}

/// disco#items on a service domain: every channel but ad-hoc ones, as a
/// JID of that domain.
/// Items in one disco#items page when the client names no `max`, and at most.
pub const ITEMS_PAGE: usize = 100;
pub const ITEMS_PAGE_MAX: usize = 500;

/// The service's channels, a page at a time (XEP-0059 with XEP-0030): by
/// name; `after` / `before` name a channel; without `<set/>` the first page
/// of `ITEMS_PAGE`, with `<set/>` telling the count and where it ends, so a
/// large service never answers with one huge stanza.
pub async fn service_items(svc: &Service, view: View, payload: &Element) -> Result<Element> {
    let query = DiscoItemsQuery::try_from(payload.clone()).map_err(|_| Error::bad_request("malformed disco#items query"))?;
    if query.node.is_some() {
        return Err(Error::item_not_found());
    }
    let mut listed: Vec<_> = svc
        .channels
        .list()
        .await?
        .into_iter()
        // XEP-0369: ad-hoc channels are not discoverable; nor are hidden
        // (not public) rooms, nor rooms still locked (docs/muc.md).
        .filter(|c| !c.adhoc && c.public && !c.locked)
        .collect();
    listed.sort_by(|a, b| a.name.cmp(&b.name));
    let count = listed.len();
    let rsm = query.rsm.unwrap_or(SetQuery { max: None, after: None, before: None, index: None });
    let max = rsm.max.unwrap_or(ITEMS_PAGE).min(ITEMS_PAGE_MAX);
    let (start, end) = match (&rsm.after, &rsm.before) {
        (Some(after), _) => {
            let s = listed.partition_point(|c| c.name.as_str() <= after.as_str());
            (s, (s + max).min(count))
        }
        (None, Some(before)) => {
            let e = if before.is_empty() { count } else { listed.partition_point(|c| c.name.as_str() < before.as_str()) };
            (e.saturating_sub(max), e)
        }
        (None, None) => (0, max.min(count)),
    };
    let page = &listed[start..end];
    let items = page
        .iter()
        .map(|c| Item { jid: Jid::from(svc.channel_jid(view, &c.name)), node: None, name: (!c.title.is_empty()).then(|| c.title.clone()) })
        .collect();
    // The set tells where the page is whenever there is more than one.
    let set = (count > max || rsm.max.is_some() || rsm.after.is_some() || rsm.before.is_some()).then(|| SetResult {
        first: page.first().map(|c| First { index: Some(start), item: c.name.clone() }),
        last: page.last().map(|c| c.name.clone()),
        count: Some(count),
    });
    Ok(DiscoItemsResult { node: None, items, rsm: set }.into())
}
