//! Golden transcripts for the MUC view of a channel (XEP-0045, with
//! XEP-0203 delay, XEP-0359 stanza-id, XEP-0421 occupant-id, XEP-0313 on the
//! room and XEP-0410 self-ping): entering (occupant list, status codes 110,
//! 100, 201, 210), discussion history and its limits, the subject, nick
//! changes (303), leaving, groupchat mirrored both ways with the MIX view,
//! the room archive, self-ping and room discovery; and every error case.
//!
//! The JIDs are XEP-0045's own: the room coven@chat.shakespeare.lit (whose
//! MIX view is coven@mix.shakespeare.lit) and the users
//! crone1@shakespeare.lit/desktop (firstwitch, the room's owner),
//! wiccarocks@shakespeare.lit/laptop (secondwitch),
//! hag66@shakespeare.lit/pda (thirdwitch) and hecate@shakespeare.lit
//! (a MIX participant). Stanzas are compared exactly (see tests/common);
//! only generated values (occupant ids, archive ids, time stamps) are
//! wildcards, captured and checked where they must agree.

mod common;

use std::sync::Arc;

use common::{assert_stanzas, canonical, config_toml, matches_xml, stanza, to_element, Captures};
use mixmuc::config::{Config, StoreConfig};
use mixmuc::service::Service;
use mixmuc::store::Store;
use xmpp_parsers::minidom::Element;

const CHAT: &str = "chat.shakespeare.lit";
const MIX: &str = "mix.shakespeare.lit";
const COVEN: &str = "coven@chat.shakespeare.lit";
const COVEN_MIX: &str = "coven@mix.shakespeare.lit";

const CRONE1: &str = "crone1@shakespeare.lit/desktop";
const CRONE1_LAPTOP: &str = "crone1@shakespeare.lit/laptop";
const WICCA: &str = "wiccarocks@shakespeare.lit/laptop";
const HAG66: &str = "hag66@shakespeare.lit/pda";
const HECATE_BARE: &str = "hecate@shakespeare.lit";
const ROMEO: &str = "romeo@montague.lit/orchard";

const MUC_NS: &str = "http://jabber.org/protocol/muc";
const MUC_USER: &str = "http://jabber.org/protocol/muc#user";
const MIX_NS: &str = "urn:xmpp:mix:core:1";
const MESSAGES: &str = "urn:xmpp:mix:nodes:messages";
const OCCUPANT_ID: &str = "urn:xmpp:occupant-id:0";
const SID: &str = "urn:xmpp:sid:0";
const DELAY: &str = "urn:xmpp:delay";
const MAM: &str = "urn:xmpp:mam:2";
const RSM: &str = "http://jabber.org/protocol/rsm";
const DISCO_INFO: &str = "http://jabber.org/protocol/disco#info";
const DISCO_ITEMS: &str = "http://jabber.org/protocol/disco#items";
const STANZAS: &str = "urn:ietf:params:xml:ns:xmpp-stanzas";

// ================================================================ harness

/// A service whose domains are those of XEP-0045 (chat.shakespeare.lit),
/// over a fresh SQLite store.
struct Muc {
    service: Arc<Service>,
    db_path: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Muc {
    async fn new() -> Muc {
        Self::with_toml("").await
    }

    async fn with_toml(extra: &str) -> Muc {
        let toml = config_toml(extra).replace("mix.shakespeare.example", MIX).replace("chat.shakespeare.example", CHAT);
        let config = Config::from_toml(&toml).unwrap_or_else(|e| panic!("configuration: {e}"));
        let dir = tempfile::tempdir().expect("temporary folder");
        let db_path = dir.path().join("mixmuc.db");
        let store_cfg = StoreConfig { url: format!("sqlite://{}", db_path.display()), ..StoreConfig::default() };
        let store = Store::open(&store_cfg).await.unwrap_or_else(|e| panic!("opening the test store: {e}"));
        Muc { service: Service::new(&config, store), db_path, _dir: dir }
    }

    async fn send(&self, xml: &str) -> Vec<Element> {
        self.service.handle(stanza(xml)).await.iter().map(to_element).collect()
    }

    async fn exchange(&self, input: &str, expected: &[String]) -> Vec<Captures> {
        let actual = self.send(input).await;
        let exp: Vec<&str> = expected.iter().map(String::as_str).collect();
        assert_stanzas(&actual, &exp)
    }

    async fn exchange1(&self, input: &str, expected: String) -> Captures {
        self.exchange(input, &[expected]).await.pop().expect("one answer")
    }

    /// Runs SQL on the store file (for states no protocol request makes yet:
    /// bans, old messages).
    async fn sql(&self, sql: &str) {
        use sqlx::ConnectOptions;
        let mut conn = sqlx::sqlite::SqliteConnectOptions::new().filename(&self.db_path).connect().await.expect("store file");
        sqlx::query(sqlx::AssertSqlSafe(sql.to_string())).execute(&mut conn).await.expect("setup SQL");
    }
}

// ================================================================ stanzas

fn occ(nick: &str) -> String {
    format!("{COVEN}/{nick}")
}

/// A join presence from `from` to coven/`nick`; `x` is the inside of the
/// `<x xmlns='…muc'/>` (e.g. a `<history/>`).
fn join(from: &str, id: &str, nick: &str, x: &str) -> String {
    format!("<presence id='{id}' from='{from}' to='{}'><x xmlns='{MUC_NS}'>{x}</x></presence>", occ(nick))
}

fn unavailable(from: &str, nick: &str) -> String {
    format!("<presence type='unavailable' from='{from}' to='{}'/>", occ(nick))
}

/// Occupant presence from coven/`nick` to `to` (XEP-0045 §7.2.3): the
/// muc#user item (full JID: the room is non-anonymous), `codes`, then the
/// occupant id (`{*}`, `{*name}` or a value). `new_nick` for a 303.
#[allow(clippy::too_many_arguments)]
fn occupant(nick: &str, to: &str, type_: Option<&str>, aff: &str, role: &str, jid: &str, new_nick: Option<&str>, codes: &[u16], oid: &str) -> String {
    let type_ = type_.map(|t| format!(" type='{t}'")).unwrap_or_default();
    let new_nick = new_nick.map(|n| format!(" nick='{n}'")).unwrap_or_default();
    let codes: String = codes.iter().map(|c| format!("<status code='{c}'/>")).collect();
    format!(
        "<presence from='{}' to='{to}'{type_}>
           <priority>0</priority>
           <x xmlns='{MUC_USER}'><item affiliation='{aff}' role='{role}' jid='{jid}'{new_nick}/>{codes}</x>
           <occupant-id xmlns='{OCCUPANT_ID}' id='{oid}'/>
         </presence>",
        occ(nick)
    )
}

/// Available presence of an occupant.
fn present(nick: &str, to: &str, aff: &str, role: &str, jid: &str, codes: &[u16], oid: &str) -> String {
    occupant(nick, to, None, aff, role, jid, None, codes, oid)
}

/// The subject a room sends last on entering (§7.2.15): from the room,
/// delay from the room.
fn subject_msg(to: &str, subject: &str) -> String {
    let subject = if subject.is_empty() { "<subject/>".to_string() } else { format!("<subject>{subject}</subject>") };
    format!("<message type='groupchat' from='{COVEN}' to='{to}'>{subject}<delay xmlns='{DELAY}' from='{COVEN}' stamp='{{*}}'/></message>")
}

/// A groupchat as the room reflects it to `to`: from the occupant JID,
/// the sender's id, stanza-id by the room, occupant-id.
fn reflected(nick: &str, to: &str, id: &str, inner: &str, aid: &str, oid: &str) -> String {
    format!(
        "<message type='groupchat' id='{id}' from='{}' to='{to}'>{inner}<stanza-id xmlns='{SID}' id='{aid}' by='{COVEN}'/><occupant-id xmlns='{OCCUPANT_ID}' id='{oid}'/></message>",
        occ(nick)
    )
}

/// A history message (§7.2.14): as reflected, with a delay from the room.
fn history(nick: &str, to: &str, id: &str, body: &str, aid: &str, oid: &str) -> String {
    format!(
        "<message type='groupchat' id='{id}' from='{}' to='{to}'><body>{body}</body><stanza-id xmlns='{SID}' id='{aid}' by='{COVEN}'/><occupant-id xmlns='{OCCUPANT_ID}' id='{oid}'/><delay xmlns='{DELAY}' stamp='{{*}}' from='{COVEN}'/></message>",
        occ(nick)
    )
}

fn groupchat(from: &str, id: &str, body: &str) -> String {
    format!("<message type='groupchat' id='{id}' from='{from}' to='{COVEN}'><body>{body}</body></message>")
}

/// An `<error/>` by `by`.
fn error_el(by: &str, type_: &str, condition: &str, text: bool) -> String {
    let text = if text { format!("<text xmlns='{STANZAS}' xml:lang='en'>{{*}}</text>") } else { String::new() };
    format!("<error type='{type_}' by='{by}'><{condition} xmlns='{STANZAS}'/>{text}</error>")
}

/// A presence error answering a join to coven/`nick` (§7.2: the error
/// echoes `<x xmlns='…muc'/>`; `by` is the room).
fn join_error(nick: &str, to: &str, id: &str, type_: &str, condition: &str, text: bool) -> String {
    format!("<presence type='error' id='{id}' from='{}' to='{to}'><priority>0</priority><x xmlns='{MUC_NS}'/>{}</presence>", occ(nick), error_el(COVEN, type_, condition, text))
}

fn message_error(from: &str, to: &str, id: &str, type_: &str, condition: &str, text: bool) -> String {
    let by = from.split('/').next().unwrap_or(from);
    format!("<message type='error' id='{id}' from='{from}' to='{to}'>{}</message>", error_el(by, type_, condition, text))
}

fn iq_error(from: &str, to: &str, id: &str, type_: &str, condition: &str, text: bool) -> String {
    let by = from.split('/').next().unwrap_or(from);
    format!("<iq type='error' id='{id}' from='{from}' to='{to}'>{}</iq>", error_el(by, type_, condition, text))
}

fn iq_result(from: &str, to: &str, id: &str, payload: &str) -> String {
    format!("<iq type='result' id='{id}' from='{from}' to='{to}'>{payload}</iq>")
}

// ================================================================ set-up

/// Occupant ids of the cast.
struct Coven {
    h: Muc,
    crone1: String,
}

/// crone1 creates coven by entering it as firstwitch (status 201 besides
/// 110 and 100; owner and moderator) and accepts the instant room, which
/// unlocks it (§10.1.2).
async fn coven() -> Coven {
    let h = Muc::new().await;
    let caps = h
        .exchange(
            &join(CRONE1, "create", "firstwitch", ""),
            &[present("firstwitch", CRONE1, "owner", "moderator", CRONE1, &[110, 100, 201], "{*oid}"), subject_msg(CRONE1, "")],
        )
        .await;
    let crone1 = caps[0].named("oid").to_string();
    h.exchange1(
        &format!("<iq type='set' id='instant' from='{CRONE1}' to='{COVEN}'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'/></query></iq>"),
        iq_result(COVEN, CRONE1, "instant", ""),
    )
    .await;
    Coven { h, crone1 }
}

/// `from` enters as `nick` (set-up step); returns its occupant id.
async fn enter(h: &Muc, from: &str, nick: &str) -> String {
    let out = h.send(&join(from, "setup", nick, "<history maxchars='0'/>")).await;
    let me = out
        .iter()
        .find(|e| e.name() == "presence" && e.attr("to") == Some(from) && e.attr("from") == Some(occ(nick).as_str()))
        .unwrap_or_else(|| panic!("{from} did not enter as {nick}: {}", out.iter().map(canonical).collect::<String>()));
    me.get_child("occupant-id", OCCUPANT_ID).and_then(|o| o.attr("id")).expect("occupant-id").to_string()
}

/// `from` says `body` (set-up step); returns the archive id.
async fn say(h: &Muc, from: &str, id: &str, body: &str) -> String {
    let out = h.send(&groupchat(from, id, body)).await;
    let first = out.first().unwrap_or_else(|| panic!("nothing reflected for {body:?}"));
    assert_eq!(first.attr("type"), Some("groupchat"), "post failed:\n{}", canonical(first));
    first.get_child("stanza-id", SID).and_then(|s| s.attr("id")).expect("stanza-id").to_string()
}

/// hecate joins coven through MIX with `nick`, subscribed to messages;
/// returns her participant id.
async fn mix_join(h: &Muc, nick: &str) -> String {
    let out = h
        .send(&format!(
            "<iq type='set' id='mj' from='{HECATE_BARE}' to='{COVEN_MIX}'><join xmlns='{MIX_NS}'><subscribe node='{MESSAGES}'/><nick>{nick}</nick></join></iq>"
        ))
        .await;
    let result = out.iter().find(|e| e.name() == "iq").expect("join answer");
    assert_eq!(result.attr("type"), Some("result"), "MIX join failed:\n{}", canonical(result));
    result.get_child("join", MIX_NS).and_then(|j| j.attr("id")).expect("participant id").to_string()
}

// ================================================================ entering

/// §7.2.2–7.2.4, §7.1 order of events: the newcomer gets the presence of
/// every occupant already there, then its own (110, and 100: the room is
/// non-anonymous), then the subject; the occupants already there get the
/// newcomer's presence with its full JID. Every presence carries the
/// occupant's XEP-0421 id.
#[tokio::test]
async fn entering_an_occupied_room() {
    let Coven { h, crone1 } = coven().await;
    let caps = h
        .exchange(
            &join(WICCA, "n1", "secondwitch", ""),
            &[
                present("firstwitch", WICCA, "owner", "moderator", CRONE1, &[], &crone1),
                present("secondwitch", WICCA, "none", "participant", WICCA, &[110, 100], "{*wicca}"),
                present("secondwitch", CRONE1, "none", "participant", WICCA, &[], "{*wicca}"),
                subject_msg(WICCA, ""),
            ],
        )
        .await;
    let wicca = caps[1].named("wicca").to_string();
    assert_eq!(caps[2].named("wicca"), wicca, "one occupant id for the newcomer");
    assert_ne!(wicca, crone1);
    h.exchange(
        &join(HAG66, "n13mt3l", "thirdwitch", ""),
        &[
            present("firstwitch", HAG66, "owner", "moderator", CRONE1, &[], &crone1),
            present("secondwitch", HAG66, "none", "participant", WICCA, &[], &wicca),
            present("thirdwitch", HAG66, "none", "participant", HAG66, &[110, 100], "{*}"),
            present("thirdwitch", CRONE1, "none", "participant", HAG66, &[], "{*}"),
            present("thirdwitch", WICCA, "none", "participant", HAG66, &[], "{*}"),
            subject_msg(HAG66, ""),
        ],
    )
    .await;
}

/// The service's default (`[service] jid_visibility`, "hidden" unless the
/// operator says otherwise): a new room is semi-anonymous, as Prosody's and
/// ejabberd's are: no status 100, real JIDs to moderators and to each user
/// for itself only, and disco says `muc_semianonymous`.
#[tokio::test]
async fn new_rooms_are_semi_anonymous_by_default() {
    let h = Muc::with_toml("[service]\njid_visibility = \"hidden\"\n").await;
    let hidden = |nick: &str, to: &str, aff: &str, role: &str, codes: &[u16]| {
        let codes: String = codes.iter().map(|c| format!("<status code='{c}'/>")).collect();
        format!(
            "<presence from='{}' to='{to}'><priority>0</priority><x xmlns='{MUC_USER}'><item affiliation='{aff}' role='{role}'/>{codes}</x><occupant-id xmlns='{OCCUPANT_ID}' id='{{*}}'/></presence>",
            occ(nick)
        )
    };
    h.exchange(&join(CRONE1, "create", "firstwitch", ""), &[present("firstwitch", CRONE1, "owner", "moderator", CRONE1, &[110, 201], "{*}"), subject_msg(CRONE1, "")]).await;
    h.exchange1(
        &format!("<iq type='set' id='instant' from='{CRONE1}' to='{COVEN}'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'/></query></iq>"),
        iq_result(COVEN, CRONE1, "instant", ""),
    )
    .await;
    h.exchange(
        &join(HAG66, "e1", "thirdwitch", ""),
        &[
            hidden("firstwitch", HAG66, "owner", "moderator", &[]),
            present("thirdwitch", HAG66, "none", "participant", HAG66, &[110], "{*}"),
            present("thirdwitch", CRONE1, "none", "participant", HAG66, &[], "{*}"),
            subject_msg(HAG66, ""),
        ],
    )
    .await;
    let out = h.send(&format!("<iq type='get' id='d1' from='{HAG66}' to='{COVEN}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>")).await;
    let features: Vec<&str> = out[0].get_child("query", "http://jabber.org/protocol/disco#info").expect("disco answer").children().filter_map(|f| f.attr("var")).collect();
    assert!(features.contains(&"muc_semianonymous") && !features.contains(&"muc_nonanonymous"), "{features:?}");
}

/// §7.2.3: "The service MAY rewrite the new occupant's roomnick … and
/// include a status code of 210": a nick the PRECIS nickname profile
/// changes (spaces collapsed) is used as changed, with 210 to the newcomer.
#[tokio::test]
async fn entering_with_a_nick_the_service_changes_gives_210() {
    let Coven { h, crone1 } = coven().await;
    h.exchange(
        &join(HAG66, "n1", "third  witch", ""),
        &[
            present("firstwitch", HAG66, "owner", "moderator", CRONE1, &[], &crone1),
            present("third witch", HAG66, "none", "participant", HAG66, &[110, 100, 210], "{*}"),
            present("third witch", CRONE1, "none", "participant", HAG66, &[], "{*}"),
            subject_msg(HAG66, ""),
        ],
    )
    .await;
}

/// §7.2.1 and §17.3 rule 3: a join from a session already in the room is a
/// full resynchronisation: the occupant list, the self-presence, history
/// and subject again. The others see nothing new.
#[tokio::test]
async fn join_from_a_session_already_in_resynchronises() {
    let Coven { h, crone1 } = coven().await;
    let hag = enter(&h, HAG66, "thirdwitch").await;
    let aid = say(&h, CRONE1, "m1", "Thrice the brinded cat hath mew'd.").await;
    h.exchange(
        &join(HAG66, "again", "thirdwitch", ""),
        &[
            present("firstwitch", HAG66, "owner", "moderator", CRONE1, &[], &crone1),
            present("thirdwitch", HAG66, "none", "participant", HAG66, &[110, 100], &hag),
            history("firstwitch", HAG66, "m1", "Thrice the brinded cat hath mew'd.", &aid, &crone1),
            subject_msg(HAG66, ""),
        ],
    )
    .await;
}

/// §7.2.9 and §7.2.1 (several sessions of one user): a second session of
/// crone1 with the same nick enters (110, 100, the occupant list) and the
/// others are not told again; with another nick it gets conflict.
#[tokio::test]
async fn second_session_of_a_user() {
    let Coven { h, crone1 } = coven().await;
    let hag = enter(&h, HAG66, "thirdwitch").await;
    h.exchange(
        &join(CRONE1_LAPTOP, "s2", "firstwitch", ""),
        &[
            present("thirdwitch", CRONE1_LAPTOP, "none", "participant", HAG66, &[], &hag),
            present("firstwitch", CRONE1_LAPTOP, "owner", "moderator", CRONE1_LAPTOP, &[110, 100], &crone1),
            subject_msg(CRONE1_LAPTOP, ""),
        ],
    )
    .await;
    h.exchange(
        &join("crone1@shakespeare.lit/broom", "s3", "crone", ""),
        &[join_error("crone", "crone1@shakespeare.lit/broom", "s3", "cancel", "conflict", true)],
    )
    .await;
}

// ================================================================ entry errors

/// §7.2.9: a nick in use by another user: conflict, from the occupant JID
/// asked for, `by` the room, with `<x xmlns='…muc'/>`; nicks are compared
/// case-insensitively (PRECIS nickname profile).
#[tokio::test]
async fn nick_in_use_is_conflict() {
    let Coven { h, .. } = coven().await;
    for (id, nick) in [("c1", "firstwitch"), ("c2", "FirstWitch")] {
        h.exchange1(&join(HAG66, id, nick, ""), join_error(nick, HAG66, id, "cancel", "conflict", true)).await;
    }
}

/// The nick namespace is shared with the MIX view: a nick held by a MIX
/// participant is a conflict too; the MIX participant is shown to MUC
/// occupants as an occupant (bare JID: MIX has no session).
#[tokio::test]
async fn nick_held_by_a_mix_participant_is_conflict() {
    let Coven { h, crone1 } = coven().await;
    let out = h
        .send(&format!(
            "<iq type='set' id='mj' from='{HECATE_BARE}' to='{COVEN_MIX}'><join xmlns='{MIX_NS}'><subscribe node='{MESSAGES}'/><nick>secondwitch</nick></join></iq>"
        ))
        .await;
    let pid = out[0].get_child("join", MIX_NS).and_then(|j| j.attr("id")).expect("participant id").to_string();
    // crone1 sees hecate arrive as secondwitch.
    assert!(out.iter().any(|e| common::matches_xml(e, &present("secondwitch", CRONE1, "none", "participant", HECATE_BARE, &[], &pid))));
    h.exchange1(&join(HAG66, "c1", "SecondWitch", ""), join_error("SecondWitch", HAG66, "c1", "cancel", "conflict", true)).await;
    // Entering with a free nick shows the MIX participant in the occupant list.
    h.exchange(
        &join(HAG66, "c2", "thirdwitch", ""),
        &[
            present("firstwitch", HAG66, "owner", "moderator", CRONE1, &[], &crone1),
            present("secondwitch", HAG66, "none", "participant", HECATE_BARE, &[], &pid),
            present("thirdwitch", HAG66, "none", "participant", HAG66, &[110, 100], "{*}"),
            present("thirdwitch", CRONE1, "none", "participant", HAG66, &[], "{*}"),
            subject_msg(HAG66, ""),
        ],
    )
    .await;
}

/// §7.2.8: a banned user (affiliation outcast): forbidden (auth).
#[tokio::test]
async fn banned_user_is_forbidden() {
    let Coven { h, .. } = coven().await;
    h.sql("INSERT INTO affiliations (channel, jid, affiliation) VALUES ('coven', 'hag66@shakespeare.lit', 'outcast')").await;
    h.exchange1(&join(HAG66, "b1", "thirdwitch", ""), join_error("thirdwitch", HAG66, "b1", "auth", "forbidden", true)).await;
}

/// §7.2.1: a presence to the room without a nick: jid-malformed (modify),
/// from the room, whether or not the room exists. Other presence types
/// to the room are not answered.
#[tokio::test]
async fn presence_without_a_nick_is_jid_malformed() {
    let Coven { h, .. } = coven().await;
    for room in [COVEN, "nosuch@chat.shakespeare.lit"] {
        h.exchange1(
            &format!("<presence id='273hs51g' from='{HAG66}' to='{room}'><x xmlns='{MUC_NS}'/></presence>"),
            format!("<presence type='error' id='273hs51g' from='{room}' to='{HAG66}'><priority>0</priority><x xmlns='{MUC_NS}'/>{}</presence>", error_el(room, "modify", "jid-malformed", true)),
        )
        .await;
        h.exchange(&format!("<presence type='unavailable' from='{HAG66}' to='{room}'/>"), &[]).await;
    }
}

/// §17.1 (no empty or invisible nicks): a nick the PRECIS nickname
/// profile refuses (only spaces): jid-malformed, on entering and on
/// changing nick.
#[tokio::test]
async fn bad_nick_is_jid_malformed() {
    let Coven { h, .. } = coven().await;
    h.exchange1(&join(HAG66, "j1", " ", ""), join_error(" ", HAG66, "j1", "modify", "jid-malformed", true)).await;
    enter(&h, HAG66, "thirdwitch").await;
    h.exchange1(
        &format!("<presence id='j2' from='{HAG66}' to='{}'/>", occ("  ")),
        format!("<presence type='error' id='j2' from='{}' to='{HAG66}'><priority>0</priority>{}</presence>", occ("  "), error_el(COVEN, "modify", "jid-malformed", true)),
    )
    .await;
}

/// §7.2.7 / §10.1.1: a room that does not exist is created only by users
/// who may create channels; the others get not-allowed.
#[tokio::test]
async fn room_creation_not_allowed() {
    let h = Muc::with_toml("[service]\ncreate_channels = [\"crone1@shakespeare.lit\"]\n").await;
    h.exchange1(&join(HAG66, "r1", "thirdwitch", ""), join_error("thirdwitch", HAG66, "r1", "cancel", "not-allowed", true)).await;
    h.exchange(
        &join(CRONE1, "r2", "firstwitch", ""),
        &[present("firstwitch", CRONE1, "owner", "moderator", CRONE1, &[110, 100, 201], "{*}"), subject_msg(CRONE1, "")],
    )
    .await;
}

/// §17.3 rules 1, 2 and 5: presence types other than available and
/// unavailable are not joins or exits, and an unavailable presence from a
/// session not in the room is ignored: no answer, nobody told.
#[tokio::test]
async fn other_presence_types_are_ignored() {
    let Coven { h, .. } = coven().await;
    for type_ in ["probe", "subscribe", "unavailable"] {
        h.exchange(&format!("<presence type='{type_}' from='{HAG66}' to='{}'/>", occ("thirdwitch")), &[]).await;
    }
}

// ================================================================ history

/// §7.2.14: history after the self-presence, before the subject: the
/// archived messages from their occupant JIDs with the sender's id,
/// stanza-id and occupant-id, and a delay from the room.
#[tokio::test]
async fn history_on_entering() {
    let Coven { h, crone1 } = coven().await;
    let wicca = enter(&h, WICCA, "secondwitch").await;
    let a1 = say(&h, CRONE1, "162BEBB1", "Thrice the brinded cat hath mew'd.").await;
    let a2 = say(&h, WICCA, "90057840", "Thrice and once the hedge-pig whined.").await;
    h.exchange(
        &join(HAG66, "n1", "thirdwitch", ""),
        &[
            present("firstwitch", HAG66, "owner", "moderator", CRONE1, &[], &crone1),
            present("secondwitch", HAG66, "none", "participant", WICCA, &[], &wicca),
            present("thirdwitch", HAG66, "none", "participant", HAG66, &[110, 100], "{*}"),
            present("thirdwitch", CRONE1, "none", "participant", HAG66, &[], "{*}"),
            present("thirdwitch", WICCA, "none", "participant", HAG66, &[], "{*}"),
            history("firstwitch", HAG66, "162BEBB1", "Thrice the brinded cat hath mew'd.", &a1, &crone1),
            history("secondwitch", HAG66, "90057840", "Thrice and once the hedge-pig whined.", &a2, &wicca),
            subject_msg(HAG66, ""),
        ],
    )
    .await;
}

/// crone1's five messages; returns their archive ids.
async fn five_messages(h: &Muc) -> Vec<String> {
    let mut aids = Vec::new();
    for i in 1..=5 {
        aids.push(say(h, CRONE1, &format!("m{i}"), &format!("message {i}")).await);
    }
    aids
}

/// The history messages `wanted` (1-based indexes into five_messages)
/// between hag66's self-presence and the subject.
fn entry_with_history(crone1: &str, aids: &[String], wanted: &[usize]) -> Vec<String> {
    let mut out = vec![
        present("firstwitch", HAG66, "owner", "moderator", CRONE1, &[], crone1),
        present("thirdwitch", HAG66, "none", "participant", HAG66, &[110, 100], "{*}"),
        present("thirdwitch", CRONE1, "none", "participant", HAG66, &[], "{*}"),
    ];
    for &i in wanted {
        out.push(history("firstwitch", HAG66, &format!("m{i}"), &format!("message {i}"), &aids[i - 1], crone1));
    }
    out.push(subject_msg(HAG66, ""));
    out
}

/// §7.2.15 `maxstanzas`: the newest N messages; `maxstanzas='0'` and
/// `maxchars='0'`: none.
#[tokio::test]
async fn history_maxstanzas_and_none() {
    let Coven { h, crone1 } = coven().await;
    let aids = five_messages(&h).await;
    for (x, wanted) in [
        ("<history maxstanzas='2'/>", &[4, 5][..]),
        ("<history maxstanzas='0'/>", &[][..]),
        ("<history maxchars='0'/>", &[][..]),
        ("<history maxstanzas='20'/>", &[1, 2, 3, 4, 5][..]),
    ] {
        h.exchange(&join(HAG66, "h", "thirdwitch", x), &entry_with_history(&crone1, &aids, wanted)).await;
        h.send(&unavailable(HAG66, "thirdwitch")).await;
    }
}

/// §7.2.15 `maxchars`: "the largest number of complete stanzas" within the
/// limit, counting whole stanzas: the newest ones, not the oldest.
#[tokio::test]
async fn history_maxchars_keeps_the_newest_messages_that_fit() {
    let Coven { h, crone1 } = coven().await;
    let aids = five_messages(&h).await;
    // The size of one history stanza as sent (they differ by a few
    // characters at most: the same nick, ids and bodies of one length).
    let out = h.send(&join(HAG66, "h", "thirdwitch", "<history maxstanzas='1'/>")).await;
    let one = out.iter().find(|e| e.get_child("delay", DELAY).is_some()).expect("a history message");
    let size = String::from(one).chars().count();
    h.send(&unavailable(HAG66, "thirdwitch")).await;
    let x = format!("<history maxchars='{}'/>", size * 2 + size / 2);
    h.exchange(&join(HAG66, "h", "thirdwitch", &x), &entry_with_history(&crone1, &aids, &[4, 5])).await;
}

/// §7.2.15 `seconds` and `since`, combined with the other limits: the
/// smallest amount of history that meets every one.
#[tokio::test]
async fn history_seconds_and_since() {
    let Coven { h, crone1 } = coven().await;
    let aids = five_messages(&h).await;
    // Messages 1 and 2 were sent two hours ago.
    h.sql(&format!("UPDATE archive SET ts = ts - 7200000 WHERE id IN ('{}', '{}')", aids[0], aids[1])).await;
    let an_hour_ago = chrono::DateTime::from_timestamp_millis(mixmuc::store::now_ms() - 3_600_000).expect("time").to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let since = format!("<history since='{an_hour_ago}'/>");
    let since_2 = format!("<history since='{an_hour_ago}' maxstanzas='2'/>");
    for (x, wanted) in [
        ("<history seconds='3600'/>", &[3, 4, 5][..]),
        ("<history seconds='36000'/>", &[1, 2, 3, 4, 5][..]),
        (since.as_str(), &[3, 4, 5][..]),
        (since_2.as_str(), &[4, 5][..]),
        ("<history since='1970-01-01T00:00:00Z' maxstanzas='1'/>", &[5][..]),
        ("<history since='2100-01-01T00:00:00Z'/>", &[][..]),
        ("<history seconds='36000' since='2100-01-01T00:00:00Z'/>", &[][..]),
    ] {
        h.exchange(&join(HAG66, "h", "thirdwitch", x), &entry_with_history(&crone1, &aids, wanted)).await;
        h.send(&unavailable(HAG66, "thirdwitch")).await;
    }
}

// ================================================================ subject

/// §8.1 / §7.2.15: a groupchat with a subject and no body changes the
/// subject and is reflected like any message; a later entrant gets it last,
/// from the room with a delay, and not in the history (where it does not
/// count against `maxstanzas` either).
#[tokio::test]
async fn subject_change_and_subject_on_entering() {
    let Coven { h, crone1 } = coven().await;
    let a1 = say(&h, CRONE1, "m1", "Thrice the brinded cat hath mew'd.").await;
    let caps = h
        .exchange(
            &format!("<message type='groupchat' id='s1' from='{CRONE1}' to='{COVEN}'><subject>Fire Burn and Cauldron Bubble!</subject></message>"),
            &[reflected("firstwitch", CRONE1, "s1", "<subject>Fire Burn and Cauldron Bubble!</subject>", "{*}", &crone1)],
        )
        .await;
    assert_ne!(caps[0].get(0), a1);
    h.exchange(
        &join(HAG66, "n1", "thirdwitch", "<history maxstanzas='1'/>"),
        &[
            present("firstwitch", HAG66, "owner", "moderator", CRONE1, &[], &crone1),
            present("thirdwitch", HAG66, "none", "participant", HAG66, &[110, 100], "{*}"),
            present("thirdwitch", CRONE1, "none", "participant", HAG66, &[], "{*}"),
            history("firstwitch", HAG66, "m1", "Thrice the brinded cat hath mew'd.", &a1, &crone1),
            subject_msg(HAG66, "Fire Burn and Cauldron Bubble!"),
        ],
    )
    .await;
}

// ================================================================ nick change

/// §7.6: a presence to a new occupant JID changes the nick: unavailable
/// from the old nick with the new one and 303 to everyone (110 to the
/// user), then available from the new nick; the occupant id stays.
#[tokio::test]
async fn nick_change_303() {
    let Coven { h, .. } = coven().await;
    let hag = enter(&h, HAG66, "thirdwitch").await;
    h.exchange(
        &format!("<presence id='ifd1c35' from='{HAG66}' to='{}'/>", occ("oldhag")),
        &[
            occupant("thirdwitch", CRONE1, Some("unavailable"), "none", "participant", HAG66, Some("oldhag"), &[303], &hag),
            occupant("thirdwitch", HAG66, Some("unavailable"), "none", "participant", HAG66, Some("oldhag"), &[303, 110], &hag),
            present("oldhag", CRONE1, "none", "participant", HAG66, &[], &hag),
            present("oldhag", HAG66, "none", "participant", HAG66, &[110], &hag),
        ],
    )
    .await;
    // The new nick is the one in use: messages come from it.
    h.exchange(
        &groupchat(HAG66, "g1", "Harpier cries"),
        &[reflected("oldhag", CRONE1, "g1", "<body>Harpier cries</body>", "{*}", &hag), reflected("oldhag", HAG66, "g1", "<body>Harpier cries</body>", "{*}", &hag)],
    )
    .await;
}

/// §7.6: changing to a nick in use by another occupant: conflict, `by` the
/// room; the nick stays.
#[tokio::test]
async fn nick_change_conflict() {
    let Coven { h, .. } = coven().await;
    enter(&h, HAG66, "thirdwitch").await;
    h.exchange1(
        &format!("<presence id='ifd1c35' from='{HAG66}' to='{}'/>", occ("firstwitch")),
        format!("<presence type='error' id='ifd1c35' from='{}' to='{HAG66}'><priority>0</priority>{}</presence>", occ("firstwitch"), error_el(COVEN, "cancel", "conflict", true)),
    )
    .await;
}

// ================================================================ leaving

/// §7.14: unavailable presence: to the leaving session with 110, to the
/// others, both with role none. A session of a user with other sessions
/// in the room leaves alone: only it is told.
#[tokio::test]
async fn leaving() {
    let Coven { h, crone1 } = coven().await;
    let hag = enter(&h, HAG66, "thirdwitch").await;
    enter(&h, CRONE1_LAPTOP, "firstwitch").await;
    h.exchange(
        &unavailable(HAG66, "thirdwitch"),
        &[
            occupant("thirdwitch", HAG66, Some("unavailable"), "none", "none", HAG66, None, &[110], &hag),
            occupant("thirdwitch", CRONE1, Some("unavailable"), "none", "none", HAG66, None, &[], &hag),
            occupant("thirdwitch", CRONE1_LAPTOP, Some("unavailable"), "none", "none", HAG66, None, &[], &hag),
        ],
    )
    .await;
    h.exchange(
        &unavailable(CRONE1_LAPTOP, "firstwitch"),
        &[occupant("firstwitch", CRONE1_LAPTOP, Some("unavailable"), "owner", "none", CRONE1_LAPTOP, None, &[110], &crone1)],
    )
    .await;
    // A session that is not in the room leaving again: nothing.
    h.exchange(&unavailable(HAG66, "thirdwitch"), &[]).await;
}

// ================================================================ groupchat

/// §7.4: a groupchat from an occupant is reflected to every occupant from
/// its occupant JID with the sender's id, the stanza-id by the room and the
/// occupant id; MIX participants get the same archived message in the MIX
/// form. Without an id, one is given (the archive id) to every copy.
#[tokio::test]
async fn groupchat_reflected_to_both_views() {
    let Coven { h, crone1 } = coven().await;
    let hag = enter(&h, HAG66, "thirdwitch").await;
    let pid = mix_join(&h, "hecate").await;
    let caps = h
        .exchange(
            &groupchat(HAG66, "hysf1v37", "Harpier cries: 'tis time, 'tis time."),
            &[
                format!(
                    "<message type='groupchat' id='{{*aid}}' from='{COVEN_MIX}/{hag}' to='{HECATE_BARE}'>
                       <body>Harpier cries: 'tis time, 'tis time.</body>
                       <mix xmlns='{MIX_NS}'><nick>thirdwitch</nick><jid>hag66@shakespeare.lit</jid></mix>
                       <stanza-id xmlns='{SID}' by='{COVEN_MIX}' id='{{*aid}}'/>
                     </message>"
                ),
                reflected("thirdwitch", CRONE1, "hysf1v37", "<body>Harpier cries: 'tis time, 'tis time.</body>", "{*aid}", &hag),
                reflected("thirdwitch", HAG66, "hysf1v37", "<body>Harpier cries: 'tis time, 'tis time.</body>", "{*aid}", &hag),
            ],
        )
        .await;
    let aid = caps[0].named("aid");
    assert!(caps.iter().all(|c| c.values.iter().all(|(_, v)| v == aid)), "one archive id everywhere: {caps:?}");
    // Without an id: the archive id, the same in every copy.
    let out = h.send(&format!("<message type='groupchat' from='{CRONE1}' to='{COVEN}'><body>no id</body></message>")).await;
    let muc: Vec<&Element> = out.iter().filter(|e| e.attr("from") == Some(occ("firstwitch").as_str())).collect();
    assert_eq!(muc.len(), 2, "{}", out.iter().map(canonical).collect::<String>());
    let sid = muc[0].get_child("stanza-id", SID).and_then(|s| s.attr("id")).expect("stanza-id");
    assert!(muc.iter().all(|m| m.attr("id") == Some(sid)), "{}", out.iter().map(canonical).collect::<String>());
    let _ = (crone1, pid);
}

/// A message a MIX participant sends reaches the MUC occupants from its
/// nick, with its stanza-id and occupant id (its participant id).
#[tokio::test]
async fn mix_message_reaches_occupants() {
    let Coven { h, .. } = coven().await;
    let pid = mix_join(&h, "hecate").await;
    let caps = h
        .exchange(
            &format!("<message type='groupchat' id='mx1' from='{HECATE_BARE}/broom' to='{COVEN_MIX}'><body>Double, double toil and trouble</body></message>"),
            &[
                format!(
                    "<message type='groupchat' id='{{*aid}}' from='{COVEN_MIX}/{pid}' to='{HECATE_BARE}'>
                       <body>Double, double toil and trouble</body>
                       <mix xmlns='{MIX_NS}'><nick>hecate</nick><jid>{HECATE_BARE}</jid><submission-id>mx1</submission-id></mix>
                       <stanza-id xmlns='{SID}' by='{COVEN_MIX}' id='{{*aid}}'/>
                     </message>"
                ),
                reflected("hecate", CRONE1, "mx1", "<body>Double, double toil and trouble</body>", "{*aid}", &pid),
            ],
        )
        .await;
    assert_eq!(caps[1].named("aid"), caps[0].named("aid"));
}

/// §7.4: a groupchat from a session not in the room: not-acceptable, typed
/// cancel (as in XEP-0045's and XEP-0410's examples and Prosody: the same
/// stanza cannot succeed before entering), `by` the room; nobody gets it.
/// A session of an occupant's user that is not itself in the room is not
/// an occupant either.
#[tokio::test]
async fn groupchat_from_outside_the_room_is_not_acceptable() {
    let Coven { h, .. } = coven().await;
    for (id, from) in [("o1", ROMEO), ("o2", CRONE1_LAPTOP)] {
        h.exchange1(&groupchat(from, id, "outsider"), message_error(COVEN, from, id, "cancel", "not-acceptable", true)).await;
    }
}

/// §17.2 rule 1: messages of other types to the room: bad-request; errors
/// are never answered.
#[tokio::test]
async fn other_message_types_are_bad_request() {
    let Coven { h, .. } = coven().await;
    for type_ in ["normal", "chat", "headline"] {
        h.exchange1(
            &format!("<message type='{type_}' id='t1' from='{CRONE1}' to='{COVEN}'><body>hi</body></message>"),
            message_error(COVEN, CRONE1, "t1", "modify", "bad-request", true),
        )
        .await;
    }
    h.exchange(&format!("<message type='error' id='t2' from='{CRONE1}' to='{COVEN}'/>"), &[]).await;
}

/// §17.2 rule 3: a message to a room that does not exist: item-not-found
/// from the room; and any IQ to it.
#[tokio::test]
async fn room_that_does_not_exist_is_item_not_found() {
    let h = Muc::new().await;
    let nosuch = "nosuch@chat.shakespeare.lit";
    h.exchange1(
        &format!("<message type='groupchat' id='x1' from='{CRONE1}' to='{nosuch}'><body>hi</body></message>"),
        message_error(nosuch, CRONE1, "x1", "cancel", "item-not-found", false),
    )
    .await;
    h.exchange1(
        &format!("<iq type='get' id='x2' from='{CRONE1}' to='{nosuch}'><query xmlns='{DISCO_INFO}'/></iq>"),
        iq_error(nosuch, CRONE1, "x2", "cancel", "item-not-found", false),
    )
    .await;
    let member = format!("{nosuch}/firstwitch");
    h.exchange1(
        &format!("<iq type='get' id='x3' from='{CRONE1}' to='{member}'><ping xmlns='urn:xmpp:ping'/></iq>"),
        iq_error(&member, CRONE1, "x3", "cancel", "item-not-found", false),
    )
    .await;
}

// ================================================================ self-ping

/// XEP-0410: a ping to one's own occupant JID is answered by the room for
/// a session in the room; a session that is not gets not-acceptable
/// (cancel, as XEP-0410's example), `by` the room.
#[tokio::test]
async fn self_ping() {
    let Coven { h, .. } = coven().await;
    let me = occ("firstwitch");
    h.exchange1(&format!("<iq type='get' id='p1' from='{CRONE1}' to='{me}'><ping xmlns='urn:xmpp:ping'/></iq>"), iq_result(&me, CRONE1, "p1", ""))
        .await;
    let them = occ("thirdwitch");
    h.exchange1(
        &format!("<iq type='get' id='p2' from='{HAG66}' to='{them}'><ping xmlns='urn:xmpp:ping'/></iq>"),
        iq_error(&them, HAG66, "p2", "cancel", "not-acceptable", true),
    )
    .await;
}

// ================================================================ disco

/// §6.4: the room's identity, features and muc#roominfo form.
#[tokio::test]
async fn room_disco_info() {
    let Coven { h, .. } = coven().await;
    enter(&h, HAG66, "thirdwitch").await;
    // In the order the service lists them (sorted).
    let features: String = [
        "http://jabber.org/protocol/commands",
        DISCO_INFO,
        "http://jabber.org/protocol/muc",
        "http://jabber.org/protocol/muc#self-ping-optimization",
        "http://jabber.org/protocol/muc#stable_id",
        "jabber:iq:register",
        "muc_nonanonymous",
        "muc_open",
        "muc_persistent",
        "muc_public",
        "muc_unmoderated",
        "muc_unsecured",
        MAM,
        "urn:xmpp:message-moderate:0",
        "urn:xmpp:message-moderate:1",
        "urn:xmpp:message-retract:0",
        "urn:xmpp:message-retract:1",
        "urn:xmpp:message-retract:1#tombstone",
        OCCUPANT_ID,
        SID,
        "vcard-temp",
    ]
    .iter()
    .map(|f| format!("<feature var='{f}'/>"))
    .collect();
    h.exchange1(
        &format!("<iq type='get' id='ik3vs715' from='{HAG66}' to='{COVEN}'><query xmlns='{DISCO_INFO}'/></iq>"),
        iq_result(
            COVEN,
            HAG66,
            "ik3vs715",
            &format!(
                "<query xmlns='{DISCO_INFO}'>
                   <identity category='conference' type='text' name='coven' xml:lang='en'/>
                   {features}
                   <x xmlns='jabber:x:data' type='result'>
                     <field var='FORM_TYPE' type='hidden'><value>http://jabber.org/protocol/muc#roominfo</value></field>
                     <field var='muc#roominfo_description'><value/></field>
                     <field var='muc#roominfo_occupants'><value>2</value></field>
                     <field var='muc#roominfo_subject'><value/></field>
                     <field var='muc#roominfo_subjectmod' type='boolean'><value>1</value></field>
                     <field var='muc#roomconfig_changesubject' type='boolean'><value>1</value></field>
                     <field var='muc#roomconfig_roomname'><value>coven</value></field>
                     <field var='muc#roomconfig_allowpm'><value>anyone</value></field>
                   </x>
                 </query>"
            ),
        ),
    )
    .await;
}

/// §6.5: the occupant list is not public: an empty disco#items. A node the
/// room does not have: item-not-found; §17.1.1 the `muc#traffic` node of a
/// room that passes every payload through: service-unavailable.
#[tokio::test]
async fn room_disco_items_and_nodes() {
    let Coven { h, .. } = coven().await;
    h.exchange1(
        &format!("<iq type='get' id='kl2fax27' from='{HAG66}' to='{COVEN}'><query xmlns='{DISCO_ITEMS}'/></iq>"),
        iq_result(COVEN, HAG66, "kl2fax27", &format!("<query xmlns='{DISCO_ITEMS}'/>")),
    )
    .await;
    for (id, ns) in [("n1", DISCO_INFO), ("n2", DISCO_ITEMS)] {
        h.exchange1(
            &format!("<iq type='get' id='{id}' from='{HAG66}' to='{COVEN}'><query xmlns='{ns}' node='x-unknown'/></iq>"),
            iq_error(COVEN, HAG66, id, "cancel", "item-not-found", false),
        )
        .await;
    }
    h.exchange1(
        &format!("<iq type='get' id='allow1' from='{HAG66}' to='{COVEN}'><query xmlns='{DISCO_INFO}' node='http://jabber.org/protocol/muc#traffic'/></iq>"),
        iq_error(COVEN, HAG66, "allow1", "cancel", "service-unavailable", false),
    )
    .await;
}

/// §6.7: disco to an occupant JID by a non-occupant: bad-request. An
/// occupant's query is passed through to the occupant's session, from the
/// asker's occupant JID (tests/golden_iq_relay.rs follows the answers).
#[tokio::test]
async fn disco_to_an_occupant() {
    let Coven { h, .. } = coven().await;
    enter(&h, HAG66, "thirdwitch").await;
    let crone = occ("firstwitch");
    for (id, ns) in [("d1", DISCO_INFO), ("d2", DISCO_ITEMS)] {
        h.exchange1(
            &format!("<iq type='get' id='{id}' from='{ROMEO}' to='{crone}'><query xmlns='{ns}'/></iq>"),
            iq_error(&crone, ROMEO, id, "modify", "bad-request", true),
        )
        .await;
        h.exchange1(
            &format!("<iq type='get' id='{id}' from='{HAG66}' to='{crone}'><query xmlns='{ns}'/></iq>"),
            format!("<iq type='get' id='{{*}}' from='{}' to='{CRONE1}'><query xmlns='{ns}'/></iq>", occ("thirdwitch")),
        )
        .await;
    }
}

// ================================================================ MAM

fn mam_iq(from: &str, id: &str, fields: &str, rsm: &str) -> String {
    let form = if fields.is_empty() {
        String::new()
    } else {
        format!("<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>{MAM}</value></field>{fields}</x>")
    };
    let set = if rsm.is_empty() { String::new() } else { format!("<set xmlns='{RSM}'>{rsm}</set>") };
    format!("<iq type='set' id='{id}' from='{from}' to='{COVEN}'><query xmlns='{MAM}' queryid='q'>{form}{set}</query></iq>")
}

/// One MAM result: the archived message as the room shows it.
fn mam_result(to: &str, aid: &str, nick: &str, id: &str, body: &str, oid: &str) -> String {
    format!(
        "<message id='{{*}}' from='{COVEN}' to='{to}'>
           <result xmlns='{MAM}' queryid='q' id='{aid}'>
             <forwarded xmlns='urn:xmpp:forward:0'>
               <delay xmlns='{DELAY}' stamp='{{*}}'/>
               <message xmlns='jabber:client' from='{}' id='{id}' type='groupchat'>
                 <body>{body}</body>
                 <stanza-id xmlns='{SID}' id='{aid}' by='{COVEN}'/>
                 <occupant-id xmlns='{OCCUPANT_ID}' id='{oid}'/>
               </message>
             </forwarded>
           </result>
         </message>",
        occ(nick)
    )
}

fn fin(complete: bool, first: &str, last: &str, count: usize) -> String {
    let complete = if complete { " complete='true'" } else { "" };
    format!("<fin xmlns='{MAM}'{complete}><set xmlns='{RSM}'><first>{first}</first><last>{last}</last><count>{count}</count></set></fin>")
}

/// XEP-0313 on the room (XEP-0045 has no archive of its own): the same
/// archive ids as the stanza-ids, messages from occupant JIDs; `with` an
/// occupant JID filters by nick; paging with RSM.
#[tokio::test]
async fn mam_on_the_room() {
    let Coven { h, crone1 } = coven().await;
    let hag = enter(&h, HAG66, "thirdwitch").await;
    let a1 = say(&h, CRONE1, "m1", "When shall we three meet again").await;
    let a2 = say(&h, HAG66, "m2", "In thunder, lightning, or in rain?").await;
    let a3 = say(&h, CRONE1, "m3", "When the hurlyburly's done").await;
    h.exchange(
        &mam_iq(HAG66, "q1", "", "<max>2</max>"),
        &[
            mam_result(HAG66, &a1, "firstwitch", "m1", "When shall we three meet again", &crone1),
            mam_result(HAG66, &a2, "thirdwitch", "m2", "In thunder, lightning, or in rain?", &hag),
            iq_result(COVEN, HAG66, "q1", &fin(false, &a1, &a2, 3)),
        ],
    )
    .await;
    h.exchange(
        &mam_iq(HAG66, "q2", &format!("<field var='with'><value>{}</value></field>", occ("firstwitch")), ""),
        &[
            mam_result(HAG66, &a1, "firstwitch", "m1", "When shall we three meet again", &crone1),
            mam_result(HAG66, &a3, "firstwitch", "m3", "When the hurlyburly's done", &crone1),
            iq_result(COVEN, HAG66, "q2", &fin(true, &a1, &a3, 2)),
        ],
    )
    .await;
    h.exchange(
        &mam_iq(HAG66, "q3", "", &format!("<max>10</max><after>{a2}</after>")),
        &[mam_result(HAG66, &a3, "firstwitch", "m3", "When the hurlyburly's done", &crone1), iq_result(COVEN, HAG66, "q3", &fin(true, &a3, &a3, 3))],
    )
    .await;
}

/// A MIX participant's groupchat with a subject and no body is a subject
/// change of the one channel, as from the MUC view: refused (`forbidden`)
/// where only moderators may change the subject; otherwise stored (a
/// newcomer to the room gets it) and reflected.
#[tokio::test]
async fn subject_change_through_mix() {
    let Coven { h, .. } = coven().await;
    mix_join(&h, "hecate").await;
    let changesubject = |allowed: &str| {
        format!(
            "<iq type='set' id='cs' from='{CRONE1}' to='{COVEN}'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'>\
             <field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>\
             <field var='muc#roomconfig_changesubject'><value>{allowed}</value></field></x></query></iq>"
        )
    };
    let subject = |id: &str| format!("<message type='groupchat' id='{id}' from='{HECATE_BARE}' to='{COVEN_MIX}'><subject>Fire burn</subject></message>");
    h.send(&changesubject("0")).await;
    h.exchange1(&subject("s1"), message_error(COVEN_MIX, HECATE_BARE, "s1", "auth", "forbidden", true)).await;
    let out = h.send(&join(ROMEO, "r1", "romeo", "<history maxchars='0'/>")).await;
    assert!(out.iter().any(|e| matches_xml(e, &subject_msg(ROMEO, ""))), "the subject is unchanged:\n{}", out.iter().map(canonical).collect::<String>());
    h.send(&changesubject("1")).await;
    let out = h.send(&subject("s2")).await;
    assert!(out.iter().any(|e| e.attr("to") == Some(ROMEO) && e.get_child("subject", "jabber:component:accept").is_some_and(|s| s.text() == "Fire burn")), "romeo is told:\n{}", out.iter().map(canonical).collect::<String>());
    let out = h.send(&join(WICCA, "w1", "wicca", "<history maxchars='0'/>")).await;
    assert!(out.iter().any(|e| matches_xml(e, &subject_msg(WICCA, "Fire burn"))), "a newcomer gets the new subject:\n{}", out.iter().map(canonical).collect::<String>());
}

/// In a semi-anonymous room a `with` naming a real JID would tell anyone
/// which nick that JID writes under: refused (`forbidden`) to a participant
/// who may not see real JIDs; allowed for one's own JID and for moderators.
#[tokio::test]
async fn mam_with_a_real_jid_in_a_semi_anonymous_room() {
    let Coven { h, .. } = coven().await;
    let hag = enter(&h, HAG66, "thirdwitch").await;
    h.send(&format!(
        "<iq type='set' id='whois' from='{CRONE1}' to='{COVEN}'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'>\
         <field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>\
         <field var='muc#roomconfig_whois'><value>moderators</value></field></x></query></iq>"
    ))
    .await;
    say(&h, CRONE1, "m1", "When shall we three meet again").await;
    let a2 = say(&h, HAG66, "m2", "In thunder, lightning, or in rain?").await;
    let with = |jid: &str| format!("<field var='with'><value>{jid}</value></field>");
    h.exchange1(&mam_iq(HAG66, "w1", &with("crone1@shakespeare.lit"), ""), iq_error(COVEN, HAG66, "w1", "auth", "forbidden", true)).await;
    h.exchange(
        &mam_iq(HAG66, "w2", &with("hag66@shakespeare.lit"), ""),
        &[mam_result(HAG66, &a2, "thirdwitch", "m2", "In thunder, lightning, or in rain?", &hag), iq_result(COVEN, HAG66, "w2", &fin(true, &a2, &a2, 1))],
    )
    .await;
    h.exchange(
        &mam_iq(CRONE1, "w3", &with("hag66@shakespeare.lit"), ""),
        &[mam_result(CRONE1, &a2, "thirdwitch", "m2", "In thunder, lightning, or in rain?", &hag), iq_result(COVEN, CRONE1, "w3", &fin(true, &a2, &a2, 1))],
    )
    .await;
}

/// MAM errors on the room: a user who is not in the room (nor a MIX
/// participant): forbidden; an unknown id: item-not-found; a malformed
/// form: bad-request; RSM `<index/>`: feature-not-implemented.
#[tokio::test]
async fn mam_errors() {
    let Coven { h, .. } = coven().await;
    say(&h, CRONE1, "m1", "When shall we three meet again").await;
    h.exchange1(&mam_iq(ROMEO, "e1", "", ""), iq_error(COVEN, ROMEO, "e1", "auth", "forbidden", true)).await;
    h.exchange1(
        &mam_iq(CRONE1, "e2", "<field var='after-id'><value>nosuchid</value></field>", ""),
        iq_error(COVEN, CRONE1, "e2", "cancel", "item-not-found", true),
    )
    .await;
    h.exchange1(&mam_iq(CRONE1, "e3", "", "<max>10</max><after>nosuchid</after>"), iq_error(COVEN, CRONE1, "e3", "cancel", "item-not-found", true)).await;
    h.exchange1(
        &mam_iq(CRONE1, "e4", "<field var='start'><value>yesterday</value></field>", ""),
        iq_error(COVEN, CRONE1, "e4", "modify", "bad-request", true),
    )
    .await;
    h.exchange1(&mam_iq(CRONE1, "e5", "", "<max>10</max><index>3</index>"), iq_error(COVEN, CRONE1, "e5", "cancel", "feature-not-implemented", true))
        .await;
}


/// A MIX participant (with a nick, so already an occupant to the MUC view)
/// entering through MUC with the same nick: its session gets the occupant
/// list and its self-presence; the others, who already see it, are not
/// told again. Leaving with its last MUC session, it stays in the channel:
/// only its session is told (110).
#[tokio::test]
async fn mix_participant_entering_and_leaving_through_muc() {
    let Coven { h, crone1 } = coven().await;
    let pid = mix_join(&h, "hecate").await;
    let broom = "hecate@shakespeare.lit/broom";
    h.exchange(
        &join(broom, "e1", "hecate", "<history maxchars='0'/>"),
        &[
            present("firstwitch", broom, "owner", "moderator", CRONE1, &[], &crone1),
            present("hecate", broom, "none", "participant", broom, &[110, 100], &pid),
            subject_msg(broom, ""),
        ],
    )
    .await;
    h.exchange(&unavailable(broom, "hecate"), &[occupant("hecate", broom, Some("unavailable"), "none", "none", broom, None, &[110], &pid)]).await;
    // A newcomer still sees hecate, as a MIX participant (bare JID).
    h.exchange(
        &join(HAG66, "n1", "thirdwitch", "<history maxchars='0'/>"),
        &[
            present("firstwitch", HAG66, "owner", "moderator", CRONE1, &[], &crone1),
            present("hecate", HAG66, "none", "participant", HECATE_BARE, &[], &pid),
            present("thirdwitch", HAG66, "none", "participant", HAG66, &[110, 100], "{*}"),
            present("thirdwitch", CRONE1, "none", "participant", HAG66, &[], "{*}"),
            subject_msg(HAG66, ""),
        ],
    )
    .await;
}
