//! One XML element through mixmuc's own wire parsing (src/xmpp/ and the
//! form readers of the front ends), each parser given the element whatever
//! its name: MAM queries, MIX core payloads, muc#admin items, muc#owner
//! sets, the MIX info and preference forms, message content (what is
//! archived and relayed), presence filtering (what is kept), nicknames and
//! JID attributes, error replies.
//!
//! Besides not panicking, each must keep its promises:
//! - an error is one the sender may see (never an internal one), with a
//!   short text (error texts never repeat more than a short piece of input);
//! - what a wire type parses, it serialises, and that parses back equal;
//! - the archived form of a message reads back, as the whole message
//!   would have been written; what is kept of a presence reads back and is
//!   kept the same;
//! - a nick or a JID, once normalised, normalises to itself;
//! - an error reply can be written and read back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mixmuc::error::Error;
use mixmuc::fuzzing::{bare_or_domain, content, mam, mix, mix_info, mix_preference_form, mix_preferences, muc_admin, muc_owner_set, nick, presence, reply};
use xmpp_parsers::data_forms::DataForm;
use xmpp_parsers::message::Message;
use xmpp_parsers::minidom::Element;
use xmpp_parsers::presence::Presence;
use xmpp_parsers::stanza::Stanza;

/// Longest error text a parser may give.
const MAX_TEXT: usize = 256;

fn check_err(e: &Error) {
    match e {
        Error::Stanza(r) => {
            if let Some(t) = &r.text {
                assert!(t.chars().count() <= MAX_TEXT, "an error text of {} characters: {t:?}", t.chars().count());
            }
        }
        Error::Internal(why) => panic!("an internal error from a parser: {why}"),
        // Parsers never touch the store.
        Error::Unavailable => panic!("a store outage from a parser"),
    }
}

fn check<T>(r: &Result<T, Error>) {
    if let Err(e) = r {
        check_err(e);
    }
}

/// Serialised and parsed back: the same value.
fn round_trip<T>(e: &Element)
where
    T: TryFrom<Element> + Into<Element> + Clone + PartialEq + std::fmt::Debug,
{
    let Ok(v) = T::try_from(e.clone()) else { return };
    let back: Element = v.clone().into();
    let text = String::from(&back);
    let reread: Element = text.parse().unwrap_or_else(|err| panic!("own serialisation {text:?} does not parse: {err}"));
    match T::try_from(reread) {
        Ok(again) => assert_eq!(v, again, "parsed back differently from {text:?}"),
        Err(_) => panic!("own serialisation {text:?} is refused"),
    }
}

fn wrapped(name: &str, ns: &str, child: &Element) -> Element {
    let mut q = Element::bare(name, ns);
    q.append_child(child.clone());
    q
}

fn forms(e: &Element) {
    let Ok(form) = DataForm::try_from(e.clone()) else { return };
    check(&mix_info(&form));
    check(&mix_preferences(&form));
    // The same form where the service meets it: in a MAM query, a muc#owner
    // set, a MIX-ANON `<user-preference/>`.
    check(&mam::parse(&wrapped("query", "urn:xmpp:mam:2", e)));
    check(&muc_owner_set(&wrapped("query", "http://jabber.org/protocol/muc#owner", e)));
    if let Some(f) = mix_preference_form(&wrapped("user-preference", "urn:xmpp:mix:anon:0", e)) {
        check(&mix_preferences(&f));
    }
}

fn message(e: &Element) {
    let Ok(m) = Message::try_from(e.clone()) else { return };
    let stripped = content::strip_for_archive(&m, |by| by == "coven@mix.example" || by == "coven@muc.example");
    let archived = content::to_archive_xml(&stripped);
    let read = content::from_archive_xml(&archived).unwrap_or_else(|| panic!("the archived form {archived:?} does not parse"));
    let whole = content::to_client_ns(Element::from(stripped.clone()));
    assert_eq!(read, whole, "the archived form {archived:?} is not the message");
    let back = content::to_component_ns(read);
    Message::try_from(back).unwrap_or_else(|err| panic!("the archived form {archived:?} is not a message: {err}"));
    let relayed = Element::from(content::relay_content(&m));
    let _ = content::is_subject_change(&m);
    let text = String::from(&relayed);
    text.parse::<Element>().unwrap_or_else(|err| panic!("the relayed message {text:?} does not parse: {err}"));
}

fn presence_kept(e: &Element) {
    let Ok(p) = Presence::try_from(e.clone()) else { return };
    for kept in [presence::stored(&p), presence::leaving(&p)].into_iter().flatten() {
        let read = presence::parse(&kept).unwrap_or_else(|| panic!("the kept presence {kept:?} does not read back"));
        let again = if read.type_ == xmpp_parsers::presence::Type::Unavailable { presence::leaving(&read) } else { presence::stored(&read) };
        assert_eq!(again.as_deref(), Some(kept.as_str()), "what is kept of the presence changes when kept again");
        let mut out = Presence::new(xmpp_parsers::presence::Type::None);
        presence::apply(&mut out, Some(&kept));
    }
}

/// Normalised once, normalised for good.
fn names(v: &str) {
    match nick(v) {
        Ok((n, key)) => match nick(&n) {
            Ok((n2, key2)) => assert_eq!((n2.as_str(), key2.as_str()), (n.as_str(), key.as_str()), "the nick {v:?} normalises differently twice"),
            Err(e) => panic!("the nick {n:?} (from {v:?}) is refused: {e}"),
        },
        Err(e) => check_err(&e),
    }
    match bare_or_domain(v) {
        Ok(j) => assert_eq!(bare_or_domain(&j).ok().as_deref(), Some(j.as_str()), "the JID {v:?} normalises differently twice"),
        Err(e) => check_err(&e),
    }
}

fn error_replies(e: &Element) {
    let err = Error::bad_request("fuzzed");
    let a = |n: &'static str| e.attr(n);
    let replies = [
        reply::raw_error_reply(e.name(), a("from"), a("to"), a("id"), a("type"), &err),
        Stanza::try_from(e.clone()).ok().and_then(|s| reply::error_reply(&s, &err)),
    ];
    for r in replies.into_iter().flatten() {
        let text = String::from(&Element::from(r));
        text.parse::<Element>().unwrap_or_else(|err| panic!("the error reply {text:?} does not parse: {err}"));
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(e) = text.parse::<Element>() else { return };

    check(&mam::parse(&e));
    check(&muc_owner_set(&e));
    forms(&e);
    round_trip::<mix::Create>(&e);
    round_trip::<mix::Join>(&e);
    round_trip::<mix::Invite>(&e);
    round_trip::<mix::Invitation>(&e);
    round_trip::<mix::Leave>(&e);
    round_trip::<mix::SetNick>(&e);
    round_trip::<mix::UpdateSubscription>(&e);
    round_trip::<mix::Destroy>(&e);
    round_trip::<mix::Participant>(&e);
    round_trip::<mix::Mix>(&e);
    round_trip::<muc_admin::AdminQuery>(&e);
    message(&e);
    presence_kept(&e);
    error_replies(&e);
    // Every child's form, and names from the text and attribute values.
    for child in e.children() {
        forms(child);
        for grandchild in child.children() {
            names(&grandchild.text());
        }
        names(&child.text());
    }
    names(&e.text());
    for v in e.attrs().values() {
        names(v);
    }
});
