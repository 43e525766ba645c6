//! Namespaces, each with the specification that defines it.

/// XEP-0369 MIX core, current wire namespace (DESIGN.md: namespace decision).
pub const MIX_CORE: &str = "urn:xmpp:mix:core:1";
/// XEP-0369: the service lets the requester create channels.
pub const MIX_CREATE_CHANNEL: &str = "urn:xmpp:mix:core:1#create-channel";
/// XEP-0369: the service's channels can be listed.
pub const MIX_SEARCHABLE: &str = "urn:xmpp:mix:core:1#searchable";
/// XEP-0369 seed (0.9.6) service info form type, advertised beside XEP-0408's.
pub const MIX_SERVICEINFO: &str = "urn:xmpp:mix:1#serviceinfo";
/// XEP-0408: form type on the MIX domain naming its MUC mirror.
pub const MUC_MIRROR_FORM: &str = "urn:xmpp:mix:muc:0#muc-mirror";
/// XEP-0408: form type on the MUC domain naming its MIX mirror.
pub const MIX_MIRROR_FORM: &str = "urn:xmpp:mix:muc:0#mix-mirror";
/// XEP-0403 MIX-PRESENCE.
pub const MIX_PRESENCE: &str = "urn:xmpp:mix:presence:0";
/// XEP-0045 MUC.
pub const MUC: &str = "http://jabber.org/protocol/muc";
/// XEP-0030 disco#info.
pub const DISCO_INFO: &str = "http://jabber.org/protocol/disco#info";
/// XEP-0030 disco#items.
pub const DISCO_ITEMS: &str = "http://jabber.org/protocol/disco#items";
/// XEP-0199 ping.
pub const PING: &str = "urn:xmpp:ping";
/// XEP-0004 data forms.
pub const DATA_FORMS: &str = "jabber:x:data";
/// XEP-0045 MUC user data.
pub const MUC_USER: &str = "http://jabber.org/protocol/muc#user";
/// XEP-0359 unique and stable stanza ids.
pub const SID: &str = "urn:xmpp:sid:0";
/// XEP-0421 occupant ids.
pub const OCCUPANT_ID: &str = "urn:xmpp:occupant-id:0";
/// XEP-0313 MAM.
pub const MAM: &str = "urn:xmpp:mam:2";
/// XEP-0313 extended MAM (before-id / after-id / ids).
pub const MAM_EXTENDED: &str = "urn:xmpp:mam:2#extended";
/// XEP-0059 result set management.
pub const RSM: &str = "http://jabber.org/protocol/rsm";
/// XEP-0297 forwarding.
pub const FORWARD: &str = "urn:xmpp:forward:0";
/// XEP-0203 delayed delivery.
pub const DELAY: &str = "urn:xmpp:delay";
/// XEP-0060 PubSub.
pub const PUBSUB: &str = "http://jabber.org/protocol/pubsub";
/// XEP-0060 PubSub events.
pub const PUBSUB_EVENT: &str = "http://jabber.org/protocol/pubsub#event";
/// XEP-0045 MUC administration (affiliation and role lists).
pub const MUC_ADMIN: &str = "http://jabber.org/protocol/muc#admin";
/// XEP-0369 channel node of JIDs allowed to participate.
pub const MIX_NODE_ALLOWED: &str = "urn:xmpp:mix:nodes:allowed";
/// XEP-0404 MIX-ANON: user preferences, the JID map node's items.
pub const MIX_ANON: &str = "urn:xmpp:mix:anon:0";
/// XEP-0404 JID map node: proxy JID → real bare JID, for administrators.
pub const MIX_NODE_JIDMAP: &str = "urn:xmpp:mix:nodes:jidmap";
/// XEP-0369 channel node of JIDs banned from the channel.
pub const MIX_NODE_BANNED: &str = "urn:xmpp:mix:nodes:banned";
/// XEP-0045 room owner requests (configuration, destroy).
pub const MUC_OWNER: &str = "http://jabber.org/protocol/muc#owner";
/// XEP-0054 vcard-temp.
pub const VCARD_TEMP: &str = "vcard-temp";
/// XEP-0292 vCard4 over XMPP (RFC 6351).
pub const VCARD4: &str = "urn:ietf:params:xml:ns:vcard-4.0";
/// XEP-0424 Message Retraction (1.0 wire namespace).
pub const RETRACT: &str = "urn:xmpp:message-retract:1";
/// XEP-0424 tombstones in the archive.
pub const RETRACT_TOMBSTONE: &str = "urn:xmpp:message-retract:1#tombstone";
/// XEP-0424 before 0.4 (inside a XEP-0422 `<apply-to/>`), still sent by clients.
pub const RETRACT_0: &str = "urn:xmpp:message-retract:0";
/// XEP-0425 Message Moderation (0.3).
pub const MODERATE: &str = "urn:xmpp:message-moderate:1";
/// XEP-0425 before 0.3 (inside a XEP-0422 `<apply-to/>`), still sent by clients.
pub const MODERATE_0: &str = "urn:xmpp:message-moderate:0";
/// XEP-0422 Message Fastening (the carrier of the older forms).
pub const FASTEN: &str = "urn:xmpp:fasten:0";
/// XEP-0428 Fallback Indication.
pub const FALLBACK: &str = "urn:xmpp:fallback:0";
/// XEP-0077 In-Band Registration (XEP-0045 §7.10 room registration).
pub const REGISTER: &str = "jabber:iq:register";
/// XEP-0045 §7.10 registration form.
pub const MUC_REGISTER: &str = "http://jabber.org/protocol/muc#register";
/// The MIX seed's nick registration feature (in the namespace we speak).
pub const MIX_NICK_REGISTER: &str = "urn:xmpp:mix:core:1#nick-register";
/// XEP-0084 User Avatar nodes (on a MIX channel: the channel's avatar).
pub const AVATAR_DATA: &str = "urn:xmpp:avatar:data";
pub const AVATAR_METADATA: &str = "urn:xmpp:avatar:metadata";
/// XEP-0050 Ad-Hoc Commands.
pub const COMMANDS: &str = "http://jabber.org/protocol/commands";
/// XEP-0133 Service Administration (its forms' FORM_TYPE, its announce node).
pub const ADMIN: &str = "http://jabber.org/protocol/admin";
