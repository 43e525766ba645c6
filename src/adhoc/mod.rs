//! XEP-0050 ad-hoc commands, the same in both views, in the style of
//! XEP-0133: the service admins' commands on each service domain (list
//! channels, destroy a channel, ban and unban service-wide, kick from every
//! channel, statistics, announce) and the owners' commands on a room or
//! channel JID (clear its history). Each command is a domain operation of
//! `channel::service_admin` (or `Channels::destroy_with`) whose events
//! both renderers already know; this file parses the forms and writes the
//! answers (`xmpp::adhoc`).
//!
//! A command with a form takes two steps: `execute` answers the form and
//! a session id (`executing`); the submission (`complete`, or `execute` /
//! `next` with the form) with that session id runs it (`completed`); a
//! `cancel` ends the session (`canceled`). A form submitted with the first
//! `execute` runs at once. The statistics have no form: `execute` answers
//! them. Sessions belong to the full JID that opened them, last ten
//! minutes, and are kept in memory (a restart forgets them).

use xmpp_parsers::data_forms::{DataForm, DataFormType, Field, FieldType};
use xmpp_parsers::disco::{DiscoInfoResult, DiscoItemsResult, Identity, Item};
use xmpp_parsers::jid::{BareJid, Jid};
use xmpp_parsers::minidom::Element;

pub mod sessions;

use crate::channel::event::Event;
use crate::channel::ids::time_sorted_id;
use crate::channel::service_admin::MAX_PAGE;
use crate::error::{Error, Result};
use crate::service::{Reply, Service, View};
use crate::xmpp::adhoc::{self, Action, Command};
use crate::xmpp::{form, mam, ns};

pub const LIST_CHANNELS: &str = "urn:mixmuc:admin:0#list-channels";
pub const DESTROY_CHANNEL: &str = "urn:mixmuc:admin:0#destroy-channel";
pub const BAN: &str = "urn:mixmuc:admin:0#ban";
pub const UNBAN: &str = "urn:mixmuc:admin:0#unban";
pub const KICK: &str = "urn:mixmuc:admin:0#kick";
pub const STATISTICS: &str = "urn:mixmuc:admin:0#statistics";
/// XEP-0133 "Send Announcement to Online Users" (here: to every room).
pub const ANNOUNCE: &str = "http://jabber.org/protocol/admin#announce";
pub const CLEAR_HISTORY: &str = "urn:mixmuc:room:0#clear-history";

/// Channels on a page of the list when the form says nothing.
const DEFAULT_PAGE_SIZE: usize = 50;
/// Service-wide bans named in the unban form's instructions, at most.
const LISTED_BANS: usize = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// On a service domain, for service admins.
    Service,
    /// On a room / channel JID, for its owners (and service admins).
    Room,
}

/// (node, name shown in the list, where it runs)
const COMMANDS: &[(&str, &str, Scope)] = &[
    (LIST_CHANNELS, "List channels", Scope::Service),
    (STATISTICS, "Service statistics", Scope::Service),
    (DESTROY_CHANNEL, "Destroy a channel", Scope::Service),
    (BAN, "Ban a user or a domain from the whole service", Scope::Service),
    (UNBAN, "Lift a service-wide ban", Scope::Service),
    (KICK, "Kick a user from every channel", Scope::Service),
    (ANNOUNCE, "Send an announcement to every channel", Scope::Service),
    (CLEAR_HISTORY, "Clear the history", Scope::Room),
];

/// disco#items on node `http://jabber.org/protocol/commands` of a service
/// domain: the admin commands for a service admin, none for anyone else.
pub fn service_items(svc: &Service, view: View, from: &Jid) -> Result<Reply> {
    let admin = svc.channels.rights().is_admin(&from.to_bare());
    Ok(items(&Jid::from(svc.domain(view).clone()), Scope::Service, admin))
}

/// disco#items on node `http://jabber.org/protocol/commands` of a room or
/// channel: its commands for its owners and service admins.
pub async fn room_items(svc: &Service, view: View, channel: &str, from: &Jid) -> Result<Reply> {
    let owner = svc.channels.is_owner(channel, &from.to_bare()).await?;
    Ok(items(&Jid::from(svc.channel_jid(view, channel)), Scope::Room, owner))
}

fn items(at: &Jid, scope: Scope, allowed: bool) -> Reply {
    let items = COMMANDS
        .iter()
        .filter(|(_, _, s)| allowed && *s == scope)
        .map(|(node, name, _)| Item { jid: at.clone(), node: Some(node.to_string()), name: Some(name.to_string()) })
        .collect();
    Reply::payload(DiscoItemsResult { node: Some(ns::COMMANDS.to_string()), items, rsm: None }.into())
}

/// Whether `node` names one of the commands (on a service domain when
/// `room` is false, on a room or channel when true).
pub fn is_command(node: Option<&str>, room: bool) -> bool {
    let scope = if room { Scope::Room } else { Scope::Service };
    node.is_some_and(|n| known(n, scope).is_ok())
}

/// disco#info on a command's node (XEP-0050 §2.3): its identity and
/// features, to those who may run it (`forbidden` to others).
pub async fn node_info(svc: &Service, channel: Option<&str>, from: &Jid, node: &str) -> Result<Reply> {
    let bare = from.to_bare();
    let (scope, allowed) = match channel {
        None => (Scope::Service, svc.channels.rights().is_admin(&bare)),
        Some(c) => (Scope::Room, svc.channels.is_owner(c, &bare).await?),
    };
    let node = known(node, scope)?;
    if !allowed {
        return Err(Error::forbidden("you may not run this command"));
    }
    let name = COMMANDS.iter().find(|(n, _, _)| *n == node).map(|(_, name, _)| *name).unwrap_or(node);
    Ok(Reply::payload(
        DiscoInfoResult {
            node: Some(node.to_string()),
            identities: vec![Identity::new("automation", "command-node", "en", name)],
            features: [ns::COMMANDS, ns::DATA_FORMS].into_iter().map(str::to_string).collect(),
            extensions: vec![],
        }
        .into(),
    ))
}

/// A command on a service domain: service admins only (`forbidden`).
pub async fn service_command(svc: &Service, view: View, from: &Jid, payload: &Element) -> Result<Reply> {
    let cmd = adhoc::parse(payload)?;
    let node = known(&cmd.node, Scope::Service)?;
    svc.channels.require_service_admin(&from.to_bare())?;
    let target = svc.domain(view).to_string();
    run(svc, view, None, from, &target, node, cmd).await
}

/// A command on a room or channel JID: its owners and service admins
/// only (`forbidden`).
pub async fn room_command(svc: &Service, view: View, channel: &str, from: &Jid, payload: &Element) -> Result<Reply> {
    let cmd = adhoc::parse(payload)?;
    let node = known(&cmd.node, Scope::Room)?;
    if !svc.channels.is_owner(channel, &from.to_bare()).await? {
        return Err(Error::forbidden("only the room's owners may run its commands"));
    }
    let target = svc.channel_jid(view, channel).to_string();
    run(svc, view, Some(channel), from, &target, node, cmd).await
}

/// The command's node, or `item-not-found`.
fn known(node: &str, scope: Scope) -> Result<&'static str> {
    COMMANDS
        .iter()
        .find(|(n, _, s)| *n == node && *s == scope)
        .map(|(n, _, _)| *n)
        .ok_or_else(|| Error::item_not_found().with_text(format!("no command {} here", crate::error::quote(node))))
}

/// One step of a command (module documentation).
async fn run(svc: &Service, view: View, channel: Option<&str>, from: &Jid, target: &str, node: &'static str, cmd: Command) -> Result<Reply> {
    let sessions = &svc.adhoc;
    if cmd.action == Action::Cancel {
        let id = cmd.sessionid.as_deref().ok_or_else(|| Error::bad_request("sessionid: a cancel names the session"))?;
        sessions.finish(id, from, node, target)?;
        return Ok(Reply::payload(adhoc::canceled(node, id)));
    }
    if cmd.action == Action::Prev {
        return Err(Error::bad_request("action: this command has no previous stage").with_app_condition("bad-action", ns::COMMANDS));
    }
    if node == STATISTICS {
        if cmd.sessionid.is_some() {
            return Err(Error::bad_request("sessionid: this command has one stage").with_app_condition("bad-sessionid", ns::COMMANDS));
        }
        let (note, result) = statistics(svc, &from.to_bare()).await?;
        return Ok(Reply::payload(adhoc::completed(node, &time_sorted_id(), &note, Some(result))));
    }
    let Some(id) = cmd.sessionid else {
        return match cmd.form {
            // Submitted with the first request: run at once.
            Some(submitted) => submit(svc, view, channel, from, node, &submitted, &time_sorted_id()).await,
            None => {
                let id = sessions.start(from, node, target)?;
                Ok(Reply::payload(adhoc::executing(node, &id, blank_form(svc, from, node).await?)))
            }
        };
    };
    sessions.finish(&id, from, node, target)?;
    // No form with the session: every field left empty.
    let submitted = cmd.form.unwrap_or_else(|| DataForm::new(DataFormType::Submit, ns::ADMIN, vec![]));
    let answer = submit(svc, view, channel, from, node, &submitted, &id).await;
    if matches!(answer, Err(Error::Stanza(_))) {
        sessions.reopen(&id, from, node, target);
    }
    answer
}

/// The form a command asks to be filled.
async fn blank_form(svc: &Service, from: &Jid, node: &str) -> Result<Element> {
    use FieldType::{Boolean, JidSingle, TextMulti, TextSingle};
    let reason = || adhoc::field("reason", TextSingle, "Reason (optional)", false);
    let (title, instructions, fields): (&str, Option<String>, Vec<Field>) = match node {
        LIST_CHANNELS => (
            "List channels",
            Some(format!("Channels by name, a page at a time (at most {MAX_PAGE} a page).")),
            vec![
                adhoc::field("page", TextSingle, "Page (from 1)", false).with_value("1"),
                adhoc::field("max", TextSingle, "Channels per page", false).with_value(&DEFAULT_PAGE_SIZE.to_string()),
            ],
        ),
        DESTROY_CHANNEL => (
            "Destroy a channel",
            Some("Everyone in it is told, in both views.".to_string()),
            vec![adhoc::field("channel", JidSingle, "Channel (its name, or its JID on either domain)", true), reason()],
        ),
        BAN => (
            "Ban from the whole service",
            Some("A bare JID, or a domain to ban every JID of it. Those it covers are removed from every channel.".to_string()),
            vec![adhoc::field("jid", JidSingle, "User (bare JID) or domain", true), reason()],
        ),
        UNBAN => {
            let bans = svc.channels.service_bans(&from.to_bare()).await?;
            let shown: Vec<&str> = bans.iter().take(LISTED_BANS).map(|b| b.jid.as_str()).collect();
            let listed = match bans.len() {
                0 => "Nobody is banned from the service.".to_string(),
                n if n > LISTED_BANS => format!("Banned now: {}, and {} more.", shown.join(", "), n - LISTED_BANS),
                _ => format!("Banned now: {}.", shown.join(", ")),
            };
            ("Lift a service-wide ban", Some(listed), vec![adhoc::field("jid", JidSingle, "User (bare JID) or domain", true)])
        }
        KICK => (
            "Kick from every channel",
            Some("The user leaves every room and channel it is in (it may come back).".to_string()),
            vec![adhoc::field("jid", JidSingle, "User (bare JID)", true), reason()],
        ),
        ANNOUNCE => (
            "Send an announcement",
            Some("A message from every room and channel to everyone in it now; it is not archived.".to_string()),
            vec![adhoc::field("announcement", TextMulti, "Announcement", true)],
        ),
        CLEAR_HISTORY => (
            "Clear the history",
            Some("Deletes every archived message of this room (MAM in both views, and the history shown on entering).".to_string()),
            vec![adhoc::field("confirm", Boolean, "Delete the whole history", true)],
        ),
        _ => return Err(Error::item_not_found()),
    };
    Ok(adhoc::form(DataFormType::Form, ns::ADMIN, title, instructions.as_deref(), fields).into())
}

/// Runs a command with its submitted form: the `completed` answer and the
/// events to render.
async fn submit(svc: &Service, view: View, channel: Option<&str>, from: &Jid, node: &str, submitted: &DataForm, id: &str) -> Result<Reply> {
    let admin = from.to_bare();
    let optional = |name: &str| -> Result<Option<String>> { Ok(form::find(submitted, name).map(form::text).transpose()?.filter(|v| !v.is_empty())) };
    let (note, result, events): (String, Option<Element>, Vec<Event>) = match node {
        LIST_CHANNELS => {
            let page = form::find(submitted, "page").map(|f| form::number(f, 1, 1_000_000)).transpose()?.flatten().unwrap_or(1);
            let max = form::find(submitted, "max").map(|f| form::number(f, 1, MAX_PAGE)).transpose()?.flatten().unwrap_or(DEFAULT_PAGE_SIZE);
            let (note, x) = list_channels(svc, view, &admin, page, max).await?;
            (note, Some(x), vec![])
        }
        DESTROY_CHANNEL => {
            let raw = form::required(submitted, "channel")?;
            let name = channel_name(svc, &raw)?;
            if svc.channels.get(&name).await?.is_none() {
                return Err(Error::item_not_found().with_text(format!("channel: there is no channel {}", crate::error::quote(&raw))));
            }
            let reason = optional("reason")?;
            let event = svc.channels.destroy_with(&name, &admin, svc.keep_archive, None, reason).await?;
            (format!("The channel {name} was destroyed."), None, vec![event])
        }
        BAN => {
            let jid = form::find(submitted, "jid").map(form::jid_or_domain).transpose()?.flatten().ok_or_else(|| Error::bad_request("jid: a value is required"))?;
            let events = svc.channels.service_ban(&admin, &jid, optional("reason")?.as_deref()).await?;
            let channels = events.iter().filter(|e| matches!(e, Event::Removed { .. })).count();
            (format!("{jid} is banned from the service; removed from {channels} channel(s)."), None, events)
        }
        UNBAN => {
            let jid = form::find(submitted, "jid").map(form::jid_or_domain).transpose()?.flatten().ok_or_else(|| Error::bad_request("jid: a value is required"))?;
            svc.channels.service_unban(&admin, &jid).await?;
            (format!("{jid} is no longer banned from the service."), None, vec![])
        }
        KICK => {
            let jid = form::find(submitted, "jid").map(form::jid_or_domain).transpose()?.flatten().ok_or_else(|| Error::bad_request("jid: a value is required"))?;
            let user = BareJid::new(&jid).ok().filter(|j| j.node().is_some()).ok_or_else(|| Error::bad_request(format!("jid: {} is not a user's bare JID", crate::error::quote(&jid))))?;
            let events = svc.channels.kick_everywhere(&admin, &user, optional("reason")?.as_deref()).await?;
            let channels = events.iter().filter(|e| matches!(e, Event::Removed { .. })).count();
            (format!("{jid} was removed from {channels} channel(s)."), None, events)
        }
        ANNOUNCE => {
            let f = form::find(submitted, "announcement").ok_or_else(|| Error::bad_request("announcement: a value is required"))?;
            let text = f.values.join("\n");
            if text.trim().is_empty() {
                return Err(Error::bad_request("announcement: a value is required"));
            }
            let events = svc.channels.announce(&admin, text.trim()).await?;
            (format!("Announced in {} channel(s).", events.len()), None, events)
        }
        CLEAR_HISTORY => {
            let channel = channel.ok_or_else(Error::item_not_found)?;
            let confirm = form::find(submitted, "confirm").map(form::boolean).transpose()?.flatten().ok_or_else(|| Error::bad_request("confirm: a value is required"))?;
            if confirm {
                let n = svc.channels.clear_history(channel, &admin).await?;
                (format!("{n} archived message(s) deleted."), None, vec![])
            } else {
                ("Nothing was deleted.".to_string(), None, vec![])
            }
        }
        _ => return Err(Error::item_not_found()),
    };
    Ok(Reply::events(Some(adhoc::completed(node, id, &note, result)), events))
}

/// A channel named by its name or its JID on either domain.
fn channel_name(svc: &Service, raw: &str) -> Result<String> {
    let bad = || Error::bad_request(format!("channel: {} is not a channel of this service", crate::error::quote(raw)));
    if !raw.contains('@') {
        if raw.contains('/') || raw.is_empty() {
            return Err(bad());
        }
        return Ok(raw.to_lowercase());
    }
    let jid: Jid = raw.parse().map_err(|_| bad())?;
    if jid.resource().is_some() || svc.view_of(jid.domain().as_str()).is_none() {
        return Err(bad());
    }
    jid.node().map(|n| n.to_string()).ok_or_else(bad)
}

/// A page of the channel list as a result form with a table.
async fn list_channels(svc: &Service, view: View, admin: &BareJid, page: usize, max: usize) -> Result<(String, Element)> {
    let listed = svc.channels.channel_page(admin, page, max).await?;
    let rows: Vec<Vec<String>> = listed
        .channels
        .iter()
        .map(|(c, f)| {
            vec![
                svc.channel_jid(view, &c.name).to_string(),
                c.title.clone(),
                f.participants.to_string(),
                f.online.to_string(),
                f.messages.to_string(),
                f.last_message_at.map(mam::stamp).unwrap_or_default(),
            ]
        })
        .collect();
    let fields = vec![
        adhoc::field("page", FieldType::TextSingle, "Page", false).with_value(&page.to_string()),
        adhoc::field("pages", FieldType::TextSingle, "Pages", false).with_value(&listed.pages.to_string()),
        adhoc::field("total", FieldType::TextSingle, "Channels", false).with_value(&listed.total.to_string()),
    ];
    let columns = [
        ("channel", "Channel"),
        ("name", "Name"),
        ("participants", "Participants"),
        ("online", "Online (MUC sessions and MIX clients)"),
        ("messages", "Archived messages"),
        ("last-activity", "Last message"),
    ];
    let x = adhoc::with_table(adhoc::form(DataFormType::Result_, ns::ADMIN, "Channels", None, fields), &columns, &rows);
    Ok((format!("Page {page} of {}: {} of {} channel(s).", listed.pages, rows.len(), listed.total), x))
}

/// The service's figures as a result form.
async fn statistics(svc: &Service, admin: &BareJid) -> Result<(String, Element)> {
    let f = svc.channels.service_figures(admin).await?;
    let value = |var: &str, label: &str, n: i64| adhoc::field(var, FieldType::TextSingle, label, false).with_value(&n.to_string());
    let fields = vec![
        value("channels", "Channels", f.channels),
        value("participants", "Participants", f.participants),
        value("occupants", "MUC sessions in rooms", f.occupants),
        value("mix-clients", "Online MIX clients", f.mix_clients),
        value("messages", "Archived messages", f.messages),
        value("bans", "Service-wide bans", f.bans),
    ];
    Ok(("Service statistics.".to_string(), adhoc::form(DataFormType::Result_, ns::ADMIN, "Service statistics", None, fields).into()))
}
