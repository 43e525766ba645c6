//! The link's stanza framer (src/link/framer.rs) and then the XML parser
//! the link uses (rxml's `Parser` with its default options, as
//! tokio-xmpp's stream sets it up), as the link does: the server's stream
//! header, then the fuzzed bytes of the stream.
//!
//! Input: one control byte (the stanza size limit and a chunk size), then
//! the stream's bytes. A byte 0xFF (never in UTF-8 text) followed by a count
//! `n` and a byte `b` stands for `b` repeated 64·n times, so that names and
//! values over the parser's 8 KiB token limit are within the fuzzer's reach.
//!
//! What the framer promises, checked here:
//! - it does not depend on how the bytes are cut into reads;
//! - what it holds back reaches the parser whole, starting with `<` and no
//!   longer than the stanza limit;
//! - the head of a dropped stanza is bounded (the error reply repeats it);
//! - on a well-formed stream (one the parser accepts with no token limit)
//!   the parser never fails on what the framer passes, and every complete
//!   stanza either reaches the parser or is reported dropped; with nothing
//!   dropped it passes the stream byte for byte (up to a stanza still
//!   incomplete at the end);
//! - whatever the stream, the parser never fails for a too-long name,
//!   value or reference (rxml's token limit, which would end the whole
//!   link) unless the stream was not well-formed anyway.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mixmuc::fuzzing::{Dropped, Framer, MAX_TOKEN};
use xmpp_parsers::minidom::rxml::error::EndOrError;
use xmpp_parsers::minidom::rxml::{Error as XmlError, Event, Options, Parse, Parser, WithOptions};

const HEADER: &[u8] = b"<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' id='x' from='mix.example'>";
/// Largest input after expansion.
const MAX_EXPANDED: usize = 48 * 1024;

/// The stream: the header, then the body with the 0xFF runs expanded.
fn stream(body: &[u8]) -> Vec<u8> {
    let mut out = HEADER.to_vec();
    let mut i = 0;
    while i < body.len() && out.len() < MAX_EXPANDED {
        if body[i] == 0xFF && i + 2 < body.len() {
            let n = 64 * (body[i + 1] as usize + 1);
            out.extend(std::iter::repeat(body[i + 2]).take(n.min(MAX_EXPANDED - out.len())));
            i += 3;
        } else {
            out.push(body[i]);
            i += 1;
        }
    }
    out
}

/// What the parser makes of `bytes` (no end of stream): the number of
/// complete top-level elements inside the stream, and the error if any.
/// Text between stanzas other than whitespace is not what a server sends:
/// counted as an error here (the framer does not judge it).
fn parse(bytes: &[u8], max_token: Option<usize>) -> (usize, Option<XmlError>) {
    let mut p = match max_token {
        None => Parser::default(),
        Some(n) => {
            // The judge of the raw stream: no token limit, and text seen as
            // soon as it comes (not held back until a limit or a tag).
            let mut p = Parser::with_options(Options { max_token_length: n, ..Options::default() });
            p.set_text_buffering(false);
            p
        }
    };
    let mut buf = bytes;
    let (mut depth, mut complete) = (0usize, 0usize);
    loop {
        match p.parse(&mut buf, false) {
            Ok(Some(Event::StartElement(..))) => depth += 1,
            Ok(Some(Event::EndElement(..))) => {
                depth -= 1;
                if depth == 1 {
                    complete += 1;
                }
            }
            Ok(Some(Event::Text(_, t))) if depth == 1 && !t.chars().all(|c| c.is_ascii_whitespace()) => {
                return (complete, Some(XmlError::RestrictedXml("text between stanzas")))
            }
            Ok(Some(_)) => {}
            Ok(None) | Err(EndOrError::NeedMoreData) => return (complete, None),
            Err(EndOrError::Error(e)) => return (complete, Some(e)),
        }
    }
}

fn is_token_limit(e: &XmlError) -> bool {
    matches!(e, XmlError::RestrictedXml(m) if m.contains("long"))
}

fn check_head(d: &Dropped) {
    assert!(d.why == "too large" || d.why == "a name or value too long", "{d:?}");
    assert!(d.kind.chars().count() <= 64, "a kind of {} characters", d.kind.chars().count());
    for v in [&d.from, &d.to, &d.id, &d.type_].into_iter().flatten() {
        assert!(v.len() <= 3 * 3072 + 16, "a head value of {} bytes", v.len());
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&ctl, body)) = data.split_first() else { return };
    let max_stanza = match ctl & 3 {
        0 => 256 * 1024, // the default (inputs stay below it)
        1 => 512,
        2 => 4096,
        _ => MAX_TOKEN + 1000,
    };
    let chunk = 1 + (ctl >> 2) as usize * 97;
    let input = stream(body);

    // Byte by byte: every release of held bytes is one whole construct.
    let mut f = Framer::new(max_stanza);
    let (mut out, mut dropped) = (Vec::new(), Vec::new());
    for &b in &input {
        let before = out.len();
        f.feed(&[b], &mut out, &mut dropped);
        let grown = out.len() - before;
        if grown > 1 {
            assert!(grown <= max_stanza, "{grown} bytes passed at once, over the limit of {max_stanza}");
            assert_eq!(out[before], b'<', "a held construct that does not start with '<'");
        }
    }
    dropped.iter().for_each(check_head);

    // Any chunking: the same.
    let mut f = Framer::new(max_stanza);
    let (mut out2, mut dropped2) = (Vec::new(), Vec::new());
    for c in input.chunks(chunk) {
        f.feed(c, &mut out2, &mut dropped2);
    }
    assert!(out == out2, "chunks of {chunk} change what passes");
    assert_eq!(dropped, dropped2, "chunks of {chunk} change what is dropped");

    // The parser, on what passes, against the parser without a token
    // limit on the raw stream.
    let (raw_complete, raw_err) = parse(&input, Some(1 << 22));
    let (out_complete, out_err) = parse(&out, None);
    if let Some(e) = &out_err {
        assert!(!is_token_limit(e) || raw_err.is_some(), "the parser fails on a too-long token the framer let through: {e}");
    }
    if raw_err.is_none() {
        assert!(out_err.is_none(), "a well-formed stream, and the parser fails on what the framer passes: {out_err:?}");
        let stanzas_dropped = dropped.iter().filter(|d| !d.kind.is_empty()).count();
        assert_eq!(raw_complete, out_complete + stanzas_dropped, "stanzas lost without a report ({dropped:?})");
        if dropped.is_empty() {
            // All of it, but what is held back (an incomplete stanza at the end).
            assert!(input.starts_with(&out), "nothing dropped, and yet the bytes changed");
        }
    }
});
