//! The room of the old service, in neutral terms, and its mapping into
//! mixmuc's store: read from Prosody's frozen room (what `mod_muc`'s
//! `room:freeze()` stores: `_jid`, `_data`, `_affiliation_data` and one
//! item per affiliated bare JID; the older format's `jid` and
//! `_affiliations` too), whichever storage held it.

use xmpp_parsers::jid::BareJid;

use super::lua::{Table, Value};
use crate::channel::{names, nick};
use crate::store::{ChannelRow, JidVisibility, RoomImport};

/// A room as the old service kept it.
#[derive(Debug, Clone, PartialEq)]
pub struct Room {
    /// The localpart (the channel's name in mixmuc).
    pub name: String,
    /// A temporary room (Prosody removes it when the last occupant leaves).
    pub persistent: bool,
    /// A destroyed room's tombstone (Prosody's `muc_tombstones`: kept for
    /// a month to answer that the room is gone).
    pub destroyed: bool,
    pub title: String,
    pub description: String,
    pub members_only: bool,
    /// Listed in disco#items (Prosody: not `hidden`).
    pub public: bool,
    pub moderated: bool,
    /// Real JIDs shown to everyone (`whois` = anyone), else to moderators.
    pub whois_anyone: bool,
    pub subject: String,
    /// The occupant JID (`room@host/nick`) that set the subject.
    pub subject_from: String,
    /// When the subject was set (seconds).
    pub subject_time: i64,
    /// Members may invite (Prosody's `allow_member_invites`, which a
    /// members-only room asks; anyone may invite into an open room).
    pub allow_member_invites: bool,
    /// Occupants may change the subject (not only moderators).
    pub change_subject: bool,
    pub lang: String,
    /// Created and never configured.
    pub locked: bool,
    /// Set: the room is password-protected.
    pub password: bool,
    /// (bare JID, owner | admin | member | outcast), sorted by JID.
    pub affiliations: Vec<(String, String)>,
    /// (bare JID, reserved nick), sorted by JID.
    pub nicks: Vec<(String, String)>,
    /// What the old room had that mixmuc does not keep.
    pub notes: Vec<String>,
}

/// `_data` keys read, and those that have no counterpart (a note each when
/// set).
const READ: &[&str] = &[
    "persistent", "name", "description", "members_only", "hidden", "moderated", "whois", "subject", "subject_from", "subject_time",
    "allow_member_invites", "changesubject", "language", "locked", "password", "destroyed", "newjid", "reason",
];
const NOT_KEPT: &[(&str, &str)] = &[
    ("history_length", "the number of messages sent on join (mixmuc's own setting applies)"),
    ("default_history_messages", "the number of messages sent on join (mixmuc's own setting applies)"),
    ("presence_broadcast", "which roles' presence is broadcast (mixmuc broadcasts all)"),
];
/// `_data` keys Prosody keeps for itself.
const INTERNAL: &[&str] = &["occupant_id_salt", "hats", "affiliation_notify"];

impl Room {
    /// Reads a frozen room. `name` is the localpart the storage filed it
    /// under; `host` the MUC domain.
    pub fn from_frozen(name: &str, host: &str, frozen: &Table) -> Result<Room, String> {
        let jid = frozen.get("_jid").or_else(|| frozen.get("jid")).and_then(Value::as_str).unwrap_or("");
        if !jid.is_empty() && !jid.eq_ignore_ascii_case(&format!("{name}@{host}")) {
            return Err(format!("the stored room says it is {jid}, not {name}@{host}"));
        }
        let data = match frozen.get("_data") {
            Some(Value::Table(t)) => t,
            Some(_) => return Err("`_data` is not a table".into()),
            None => return Err("no `_data` (not a room Prosody stored)".into()),
        };
        let text = |key: &str| -> Result<String, String> {
            match data.get(key) {
                None | Some(Value::Nil) => Ok(String::new()),
                Some(Value::Str(s)) => Ok(s.clone()),
                Some(other) => Err(format!("`{key}` is not a string: {other:?}")),
            }
        };
        let flag = |key: &str| data.get(key).is_some_and(Value::truthy);
        let whois = text("whois")?;
        let whois_anyone = match whois.as_str() {
            "anyone" => true,
            "" | "moderators" => false,
            other => return Err(format!("unknown `whois` value {other:?}")),
        };
        let subject_time = match data.get("subject_time") {
            None | Some(Value::Nil) => 0,
            Some(v) => v.as_f64().filter(|t| t.is_finite() && *t >= 0.0).ok_or("`subject_time` is not a time")? as i64,
        };
        let mut notes = Vec::new();
        for (key, value) in data.string_keyed() {
            if READ.contains(&key) || INTERNAL.contains(&key) || matches!(value, Value::Nil) {
                continue;
            }
            match NOT_KEPT.iter().find(|(k, _)| *k == key) {
                Some((_, what)) => notes.push(format!("`{key}` not kept: {what}")),
                None => notes.push(format!("`{key}` not kept: a setting mixmuc does not know")),
            }
        }

        let mut affiliations = Vec::new();
        let mut add = |jid: &str, value: &Value| -> Result<(), String> {
            let Value::Str(a) = value else { return Err(format!("the affiliation of {jid} is not a string")) };
            if !matches!(a.as_str(), "owner" | "admin" | "member" | "outcast") {
                return Err(format!("unknown affiliation {a:?} of {jid}"));
            }
            let bare = BareJid::new(jid).map_err(|e| format!("affiliated JID {jid:?}: {e}"))?;
            affiliations.push((bare.to_string(), a.clone()));
            Ok(())
        };
        match frozen.get("_affiliations") {
            Some(Value::Table(old)) => {
                for (jid, value) in old.string_keyed() {
                    add(jid, value)?;
                }
            }
            Some(_) => return Err("`_affiliations` is not a table".into()),
            None => {
                for (key, value) in frozen.string_keyed() {
                    if key.starts_with('_') || key == "jid" || matches!(value, Value::Table(_)) {
                        continue;
                    }
                    add(key, value)?;
                }
            }
        }
        affiliations.sort();
        affiliations.dedup();

        let mut nicks = Vec::new();
        match frozen.get("_affiliation_data") {
            None | Some(Value::Nil) => {}
            Some(Value::Table(t)) => {
                for (jid, value) in t.string_keyed() {
                    let Value::Table(d) = value else { return Err(format!("`_affiliation_data` of {jid} is not a table")) };
                    if let Some(n) = d.get("reserved_nickname") {
                        let n = n.as_str().ok_or_else(|| format!("the reserved nick of {jid} is not a string"))?;
                        nicks.push((jid.to_string(), n.to_string()));
                    }
                    if let Some(r) = d.get("reason").and_then(Value::as_str) {
                        notes.push(format!("reason of {jid}'s affiliation ({r:?}) not kept: mixmuc stores none"));
                    }
                }
            }
            Some(_) => return Err("`_affiliation_data` is not a table".into()),
        }
        nicks.sort();

        Ok(Room {
            name: name.to_string(),
            persistent: flag("persistent"),
            destroyed: flag("destroyed"),
            title: text("name")?,
            description: text("description")?,
            members_only: flag("members_only"),
            public: !flag("hidden"),
            moderated: flag("moderated"),
            whois_anyone,
            subject: text("subject")?,
            subject_from: text("subject_from")?,
            subject_time,
            allow_member_invites: flag("allow_member_invites"),
            change_subject: flag("changesubject"),
            lang: text("language")?,
            locked: flag("locked"),
            password: data.get("password").is_some_and(|p| p.as_str().is_some_and(|s| !s.is_empty())),
            affiliations,
            nicks,
            notes,
        })
    }

    /// The room as mixmuc stores it; `base` is the channel as the store
    /// has it (its settings that the old service has no word for are
    /// kept), `now` (ms) the creation time of a new one. Refuses what
    /// mixmuc cannot serve as the old service did.
    pub fn to_store(&self, base: Option<&ChannelRow>, now: i64) -> Result<(RoomImport, Vec<String>), String> {
        let name = names::normalise(&self.name).map_err(|e| format!("{e}"))?;
        if name != self.name {
            return Err(format!("the room name is not in normal form (mixmuc would call it {name})"));
        }
        if self.password {
            return Err("password-protected: mixmuc offers no room passwords (make it members-only, or remove the password, in Prosody first)".into());
        }
        let mut notes = self.notes.clone();
        let owners: Vec<&str> = self.affiliations.iter().filter(|(_, a)| a == "owner").map(|(j, _)| j.as_str()).collect();
        let mut nicks = Vec::new();
        let mut keys = std::collections::BTreeSet::new();
        for (jid, raw) in &self.nicks {
            match nick::normalise(raw) {
                Ok((n, key)) if keys.insert(key.clone()) => nicks.push((jid.clone(), n, key)),
                Ok(_) => notes.push(format!("nick {raw:?} of {jid} not registered: another user registered the same nick")),
                Err(e) => notes.push(format!("nick {raw:?} of {jid} not registered: {e}")),
            }
        }
        // Who set the subject: the user whose reserved nick it was, if any.
        let subject_nick = self.subject_from.rsplit_once('/').map(|(_, n)| n).unwrap_or("");
        let subject_by = nicks.iter().find(|(_, n, _)| n == subject_nick).map(|(j, _, _)| j.clone()).unwrap_or_default();
        let mut channel = base.cloned().unwrap_or_else(|| ChannelRow {
            name: name.clone(),
            creator: owners.first().map(|s| s.to_string()).unwrap_or_default(),
            created_at: now,
            adhoc: false,
            title: String::new(),
            description: String::new(),
            subject: String::new(),
            subject_by: String::new(),
            subject_at: 0,
            jid_visibility: JidVisibility::Hidden,
            public: true,
            members_only: false,
            max_users: 0,
            allow_pm: "anyone".into(),
            change_subject: true,
            moderated: false,
            allow_invites: true,
            lang: String::new(),
            locked: false,
            user_retraction: true,
            retraction_rights: "moderators".into(),
            config_by: String::new(),
            config_at: 0,
            avatar_hash: String::new(),
            contact: String::new(),
            end_of_life: 0,
        });
        channel.title = self.title.clone();
        channel.description = self.description.clone();
        channel.subject = self.subject.clone();
        channel.subject_by = subject_by;
        channel.subject_at = if self.subject.is_empty() { 0 } else { self.subject_time.saturating_mul(1000) };
        channel.jid_visibility = if self.whois_anyone { JidVisibility::Visible } else { JidVisibility::Hidden };
        channel.public = self.public;
        channel.members_only = self.members_only;
        channel.moderated = self.moderated;
        channel.allow_invites = !self.members_only || self.allow_member_invites;
        channel.change_subject = self.change_subject;
        channel.lang = self.lang.clone();
        channel.locked = self.locked;
        Ok((RoomImport { channel, affiliations: self.affiliations.clone(), nicks }, notes))
    }
}

/// How the room in the store differs from the imported one, in what an
/// import writes: one line per difference, none when it is the same.
pub fn differences(store: &RoomImport, import: &RoomImport) -> Vec<String> {
    let (a, b) = (&store.channel, &import.channel);
    let mut out = Vec::new();
    let mut field = |name: &str, here: String, there: String| {
        if here != there {
            out.push(format!("{name}: {here:?} in mixmuc, {there:?} imported"));
        }
    };
    field("title", a.title.clone(), b.title.clone());
    field("description", a.description.clone(), b.description.clone());
    field("subject", a.subject.clone(), b.subject.clone());
    field("subject set by", a.subject_by.clone(), b.subject_by.clone());
    field("subject set at", a.subject_at.to_string(), b.subject_at.to_string());
    field("jid visibility", a.jid_visibility.as_str().into(), b.jid_visibility.as_str().into());
    field("public", a.public.to_string(), b.public.to_string());
    field("members only", a.members_only.to_string(), b.members_only.to_string());
    field("moderated", a.moderated.to_string(), b.moderated.to_string());
    field("allow invites", a.allow_invites.to_string(), b.allow_invites.to_string());
    field("change subject", a.change_subject.to_string(), b.change_subject.to_string());
    field("language", a.lang.clone(), b.lang.clone());
    field("locked", a.locked.to_string(), b.locked.to_string());
    let mut affs = (store.affiliations.clone(), import.affiliations.clone());
    affs.0.sort();
    affs.1.sort();
    if affs.0 != affs.1 {
        out.push(format!("affiliations: {} in mixmuc, {} imported", list(&affs.0), list(&affs.1)));
    }
    let (mut n0, mut n1) = (store.nicks.clone(), import.nicks.clone());
    n0.sort();
    n1.sort();
    if n0 != n1 {
        let show = |v: &[(String, String, String)]| list(&v.iter().map(|(j, n, _)| (j.clone(), n.clone())).collect::<Vec<_>>());
        out.push(format!("registered nicks: {} in mixmuc, {} imported", show(&n0), show(&n1)));
    }
    out
}

fn list(pairs: &[(String, String)]) -> String {
    if pairs.is_empty() {
        return "none".into();
    }
    pairs.iter().map(|(a, b)| format!("{a}={b}")).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::super::lua::parse_dat;
    use super::*;

    fn room(text: &str) -> Result<Room, String> {
        let v = parse_dat(text).unwrap();
        Room::from_frozen("coven", "rooms.localhost", v.as_table().unwrap())
    }

    const NEW_FORMAT: &str = r#"return {
        ["_jid"] = "coven@rooms.localhost";
        ["_data"] = {
            ["persistent"] = true; ["name"] = "The Coven"; ["description"] = "Witches"; ["members_only"] = true;
            ["hidden"] = true; ["whois"] = "anyone"; ["subject"] = "Brooms"; ["subject_from"] = "coven@rooms.localhost/Al";
            ["subject_time"] = 1733250000; ["changesubject"] = true; ["language"] = "en"; ["history_length"] = 20;
            ["occupant_id_salt"] = "x";
        };
        ["alice@localhost"] = "owner"; ["bob@localhost"] = "admin"; ["carol@localhost"] = "member"; ["eve@localhost"] = "outcast";
        ["_affiliation_data"] = { ["alice@localhost"] = { ["reserved_nickname"] = "Al"; }; };
    };"#;

    #[test]
    fn maps_a_configured_room() {
        let r = room(NEW_FORMAT).unwrap();
        assert!(r.persistent && r.members_only && !r.public && r.whois_anyone && r.change_subject);
        assert_eq!(r.affiliations.len(), 4);
        assert_eq!(r.nicks, vec![("alice@localhost".to_string(), "Al".to_string())]);
        assert_eq!(r.notes.len(), 1, "{:?}", r.notes);
        let (imp, _) = r.to_store(None, 5).unwrap();
        let c = &imp.channel;
        assert_eq!((c.title.as_str(), c.description.as_str(), c.subject.as_str(), c.lang.as_str()), ("The Coven", "Witches", "Brooms", "en"));
        assert_eq!(c.subject_by, "alice@localhost", "the reserved nick names who set the subject");
        assert_eq!(c.subject_at, 1_733_250_000_000);
        assert_eq!(c.jid_visibility, JidVisibility::Visible);
        assert!(c.members_only && !c.public && !c.allow_invites && c.change_subject && !c.moderated);
        assert_eq!(c.creator, "alice@localhost");
        assert_eq!(c.created_at, 5);
        assert!(imp.affiliations.contains(&("eve@localhost".into(), "outcast".into())));
        assert_eq!(imp.nicks[0].2, "al");
        assert!(differences(&imp, &imp).is_empty());
        let mut other = imp.clone();
        other.affiliations.pop();
        other.channel.title = "x".into();
        assert_eq!(differences(&other, &imp).len(), 2);
    }

    /// What mod_muc leaves of a destroyed room: a tombstone.
    #[test]
    fn a_tombstone_is_a_destroyed_room() {
        let r = room(r#"return { ["_jid"] = "coven@rooms.localhost"; ["_data"] = { ["destroyed"] = true; ["persistent"] = true;
            ["hidden"] = true; ["reason"] = "gone"; ["newjid"] = "new@rooms.localhost"; ["locked"] = 1796325032; }; };"#)
        .unwrap();
        assert!(r.destroyed && r.persistent);
        assert!(r.notes.is_empty(), "{:?}", r.notes);
    }

    #[test]
    fn reads_the_old_storage_format() {
        let r = room(r#"return { ["jid"] = "coven@rooms.localhost"; ["_data"] = { ["persistent"] = true; };
            ["_affiliations"] = { ["alice@localhost"] = "owner"; }; ["_affiliation_data"] = {}; };"#)
        .unwrap();
        assert_eq!(r.affiliations, vec![("alice@localhost".to_string(), "owner".to_string())]);
        assert!(!r.whois_anyone && r.public && !r.members_only && !r.change_subject);
        let (imp, _) = r.to_store(None, 0).unwrap();
        assert_eq!(imp.channel.jid_visibility, JidVisibility::Hidden);
        assert!(imp.channel.allow_invites, "anyone may invite into an open Prosody room");
    }

    #[test]
    fn refuses_what_mixmuc_cannot_serve() {
        let e = room(r#"return { ["_jid"] = "other@rooms.localhost"; ["_data"] = {}; };"#).unwrap_err();
        assert!(e.contains("other@rooms.localhost"), "{e}");
        assert!(room(r#"return { ["_data"] = {}; ["a@b"] = "king"; };"#).unwrap_err().contains("king"));
        assert!(room(r#"return { ["_jid"] = "coven@rooms.localhost"; };"#).unwrap_err().contains("_data"));
        assert!(room(r#"return { ["_data"] = { ["whois"] = "nobody"; }; };"#).unwrap_err().contains("whois"));
        let r = room(r#"return { ["_data"] = { ["password"] = "secret"; }; };"#).unwrap();
        assert!(r.to_store(None, 0).unwrap_err().contains("password"));
        let r = Room { name: "Bad#Name".into(), ..room(r#"return { ["_data"] = {}; };"#).unwrap() };
        assert!(r.to_store(None, 0).is_err());
    }

    #[test]
    fn keeps_what_the_store_has_beyond_the_import() {
        let r = room(NEW_FORMAT).unwrap();
        let (first, _) = r.to_store(None, 1).unwrap();
        let mut stored = first.channel.clone();
        stored.avatar_hash = "abc".into();
        stored.created_at = 1;
        let (again, _) = r.to_store(Some(&stored), 99).unwrap();
        assert_eq!(again.channel.avatar_hash, "abc");
        assert_eq!(again.channel.created_at, 1);
    }
}
