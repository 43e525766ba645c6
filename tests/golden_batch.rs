//! The dispatcher's batch path (`Service::handle_batch`) answers exactly
//! what handling the same stanzas one by one answers: the same stanzas in
//! the same order, the same archive order, refusals in place. Two services
//! over two stores with the same participant id salt get the same stanzas;
//! the only differences allowed are the random archive ids (compared by
//! archive position) and delay stamps.
//!
//! hag66 (owner) and hag01 are in the room coven@chat.shakespeare.example
//! as "thirdwitch" and "firstwitch"; hecate is a MIX participant.

mod common;

use common::*;
use mixmuc::store::ArchiveQuery;
use xmpp_parsers::stanza::Stanza;

const MIX_NS: &str = "urn:xmpp:mix:core:1";
const ROOM: &str = "coven@chat.shakespeare.example";
const COVEN: &str = "coven@mix.shakespeare.example";
const HECATE: &str = "hecate@shakespeare.example/UUID-e3r/9264";
const HECATE_BARE: &str = "hecate@shakespeare.example";
const HAG66_2: &str = "hag66@shakespeare.example/broom";

async fn sql(h: &Harness, statement: &str) {
    use sqlx::ConnectOptions;
    let mut conn = sqlx::sqlite::SqliteConnectOptions::new().filename(&h.db_path).connect().await.expect("store file");
    sqlx::raw_sql(sqlx::AssertSqlSafe(statement.to_string())).execute(&mut conn).await.expect("statement");
}

/// The room, with a fixed participant id salt (set before anything reads it).
async fn room() -> Harness {
    let h = Harness::new().await;
    sql(&h, "UPDATE settings SET value = 'fixed-salt' WHERE key = 'participant_id_salt'").await;
    let out = h.send(&format!("<iq type='set' id='c0' from='{HAG66}' to='{MIX}'><create xmlns='{MIX_NS}' channel='coven'/></iq>")).await;
    assert_eq!(out[0].attr("type"), Some("result"));
    for (from, nick) in [(HAG66, "thirdwitch"), (HAG01, "firstwitch")] {
        let out = h.send(&format!("<presence from='{from}' to='{ROOM}/{nick}'><x xmlns='http://jabber.org/protocol/muc'/></presence>")).await;
        assert!(out.iter().all(|e| e.attr("type") != Some("error")), "entering as {nick} failed");
    }
    let out = h
        .send(&format!(
            "<iq type='set' id='j1' from='{HECATE_BARE}' to='{COVEN}'><join xmlns='{MIX_NS}'><subscribe node='urn:xmpp:mix:nodes:messages'/><nick>hecate</nick></join></iq>"
        ))
        .await;
    assert!(out.iter().any(|e| e.name() == "iq" && e.attr("type") == Some("result")), "hecate's join failed");
    h
}

fn muc_msg(from: &str, id: &str, body: &str) -> String {
    format!("<message type='groupchat' id='{id}' from='{from}' to='{ROOM}'><body>{body}</body></message>")
}

fn mix_msg(id: &str, body: &str) -> String {
    format!("<message type='groupchat' id='{id}' from='{HECATE}' to='{COVEN}'><body>{body}</body></message>")
}

/// Messages, a join, a refused message, an IQ, a subject change, a message
/// to a room that does not exist, interleaved.
fn queue() -> Vec<String> {
    vec![
        muc_msg(HAG01, "m1", "one"),
        mix_msg("m2", "two"),
        format!("<presence from='{ROMEO}' to='{ROOM}/romeo'><x xmlns='http://jabber.org/protocol/muc'/></presence>"),
        muc_msg(ROMEO, "m3", "three"),
        muc_msg(HAG66_2, "m4", "not in the room"),
        muc_msg(HAG01, "m5", "four"),
        format!("<iq type='get' id='p1' from='{HAG01}' to='{MUC}'><ping xmlns='urn:xmpp:ping'/></iq>"),
        muc_msg(HAG01, "m6", "five"),
        format!("<message type='groupchat' id='m7' from='{HAG66}' to='{ROOM}'><subject>Fire burn</subject></message>"),
        muc_msg(HAG66, "m8", "six"),
        mix_msg("m9", "seven"),
        format!("<message type='groupchat' id='m10' from='{HAG01}' to='nosuch@{MUC}'><body>lost</body></message>"),
        muc_msg(HAG01, "m11", "eight"),
    ]
}

/// The archive in `seq` order.
async fn archive(h: &Harness) -> Vec<mixmuc::store::ArchiveRow> {
    let q = ArchiveQuery { channel: "coven".into(), ..Default::default() };
    h.store.query_archive(&q, 1000, false).await.unwrap()
}

/// Each stanza in canonical form, archive ids replaced by their archive
/// position, delay stamps blanked.
async fn normalised(h: &Harness, out: &[Stanza]) -> Vec<String> {
    let rows = archive(h).await;
    out.iter()
        .map(|s| {
            let mut c = canonical(&to_element(s));
            for (i, r) in rows.iter().enumerate() {
                c = c.replace(&r.id, &format!("ARCHIVE#{i}"));
            }
            while let Some(at) = c.find(" stamp='2") {
                let end = at + 8 + c[at + 8..].find('\'').expect("stamp ends");
                c.replace_range(at..=end, " stamp='*'");
            }
            c
        })
        .collect()
}

async fn one_by_one(h: &Harness, input: &[String]) -> Vec<Stanza> {
    let mut out = Vec::new();
    for xml in input {
        out.extend(h.service.handle(stanza(xml)).await);
    }
    out
}

async fn batched(h: &Harness, input: &[String]) -> Vec<Stanza> {
    mixmuc::outgoing::expand(h.service.handle_batch(input.iter().map(|x| stanza(x)).collect()).await)
}

#[tokio::test]
async fn a_batch_answers_what_one_by_one_answers() {
    let (a, b) = (room().await, room().await);
    let before = archive(&a).await.len();
    let input = queue();
    let (out_a, out_b) = (one_by_one(&a, &input).await, batched(&b, &input).await);
    let (na, nb) = (normalised(&a, &out_a).await, normalised(&b, &out_b).await);
    assert_eq!(na.len(), nb.len(), "one by one:\n{}\nbatched:\n{}", na.join(""), nb.join(""));
    for (i, (x, y)) in na.iter().zip(&nb).enumerate() {
        assert_eq!(x, y, "stanza #{i} differs");
    }
    // The archive: arrival order, same rows.
    let (ra, rb) = (archive(&a).await, archive(&b).await);
    let key = |r: &mixmuc::store::ArchiveRow| (r.sender_jid.clone(), r.nick.clone(), r.submission_id.clone(), r.payload.clone());
    assert_eq!(ra.iter().map(key).collect::<Vec<_>>(), rb.iter().map(key).collect::<Vec<_>>());
    let subs: Vec<_> = rb[before..].iter().map(|r| r.submission_id.clone().unwrap_or_default()).collect();
    assert_eq!(subs, ["m1", "m2", "m3", "m5", "m6", "m7", "m8", "m9", "m11"]);
    // The refusals are in place: m4 between romeo's m3 and m5, m10 before m11.
    let errors: Vec<_> = out_b.iter().filter_map(|s| match s {
        Stanza::Message(m) if m.type_ == xmpp_parsers::message::MessageType::Error => m.id.as_ref().map(|i| i.0.clone()),
        _ => None,
    }).collect();
    assert_eq!(errors, ["m4", "m10"]);
}

#[tokio::test]
async fn a_lone_message_is_handled_as_alone() {
    let (a, b) = (room().await, room().await);
    let input = vec![muc_msg(HAG01, "solo", "alone")];
    let (out_a, out_b) = (one_by_one(&a, &input).await, batched(&b, &input).await);
    assert_eq!(normalised(&a, &out_a).await, normalised(&b, &out_b).await);
    assert!(!out_b.is_empty());
}

/// A failed multi-row INSERT: none of its rows is archived, each of its
/// messages is answered `internal-server-error` (as a failed single insert
/// is), nothing is reflected, and what follows is still handled.
#[tokio::test]
async fn a_failed_batch_insert_refuses_each_of_its_messages() {
    let h = room().await;
    let before = archive(&h).await.len();
    sql(&h, "CREATE TRIGGER fail_boom BEFORE INSERT ON archive WHEN NEW.payload LIKE '%boom%' BEGIN SELECT RAISE(ABORT, 'boom'); END").await;
    let input = vec![
        muc_msg(HAG01, "f1", "fine"),
        muc_msg(HAG66, "f2", "boom"),
        muc_msg(HAG01, "f3", "fine too"),
        format!("<iq type='get' id='p1' from='{HAG01}' to='{MUC}'><ping xmlns='urn:xmpp:ping'/></iq>"),
    ];
    let out: Vec<_> = batched(&h, &input).await.iter().map(to_element).collect();
    let e = |from: &str, id: &str| {
        format!(
            "<message type='error' id='{id}' from='{ROOM}' to='{from}'><error type='wait' by='{ROOM}'><internal-server-error xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>"
        )
    };
    assert_stanzas(
        &out,
        &[&e(HAG01, "f1"), &e(HAG66, "f2"), &e(HAG01, "f3"), &format!("<iq type='result' id='p1' from='{MUC}' to='{HAG01}'/>")],
    );
    assert_eq!(archive(&h).await.len(), before, "all or nothing");
}
