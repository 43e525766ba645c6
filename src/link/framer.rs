//! Stanza framing below the XML parser: the bytes from the server are
//! split into top-level elements (stanzas), each held back until it is
//! complete, and a stanza that is too big (`max_stanza` bytes) or that
//! holds a name, attribute value or reference the parser refuses (over
//! `MAX_TOKEN` bytes: rxml's limit, which would otherwise end the whole
//! stream) is dropped here instead. What is dropped is reported with the
//! stanza's head (kind, from, to, id, type) so that the sender gets an
//! error; everything else reaches the parser byte for byte as it came.
//!
//! The scanner knows just enough XML to find element boundaries: tags,
//! quoted attribute values (which may hold `>`), references, comments,
//! CDATA sections and processing instructions. Whatever it does not
//! understand it passes on for the parser to judge.

/// rxml's token limit (its default `max_token_length`, 8192 bytes, counted
/// after references are resolved) with room to spare: raw bytes are
/// counted here, which are never fewer.
pub const MAX_TOKEN: usize = 8000;

/// Longest head attribute kept for the error reply.
const HEAD_ATTR: usize = 3072;
/// Longest element name kept for the error reply (bytes).
const HEAD_KIND: usize = 64;

/// The head of a dropped stanza.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dropped {
    /// `message`, `presence`, `iq` or another element name.
    pub kind: String,
    pub from: Option<String>,
    pub to: Option<String>,
    pub id: Option<String>,
    pub type_: Option<String>,
    /// Why: "too large" or "a name or value too long".
    pub why: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lex {
    /// Character data (or whitespace between stanzas).
    Text,
    /// In a reference `&…;` in text.
    TextRef,
    /// Just after `<`.
    Open,
    /// In a start tag's name.
    StartName,
    /// In a start tag, between attributes.
    InTag,
    /// In an attribute name.
    AttrName,
    /// After an attribute name, before `=` or the quote.
    AttrEq,
    /// In an attribute value quoted by this byte.
    AttrValue(u8),
    /// After `/` in a start tag (expects `>`).
    SelfClose,
    /// In an end tag.
    EndTag,
    /// In `<!…` or `<?…`: until the closing sequence (`-->`, `]]>`, `?>`, or `>`).
    Special(Special),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Special {
    /// Just after `<!`: which kind it is is not known yet.
    Bang,
    Comment,
    Cdata,
    Pi,
    Other,
}

/// The framer of one stream.
pub struct Framer {
    max_stanza: usize,
    lex: Lex,
    /// Element depth: 1 inside the stream header, 2 inside a stanza.
    depth: u32,
    /// Bytes of the current top-level construct held back (when `holding`).
    held: Vec<u8>,
    holding: bool,
    /// The current stanza is being dropped.
    dropping: Option<&'static str>,
    /// Length of the token being read (name, value, reference, special).
    token: usize,
    /// The last bytes of a special construct, to find its end.
    tail: [u8; 3],
    /// The current stanza's head, filled while its start tag is read.
    head: Dropped,
    /// In the stanza's own start tag (depth 1 → 2).
    in_head: bool,
    /// The stanza's element name (its first `HEAD_KIND` bytes).
    kind: Vec<u8>,
    attr_name: Vec<u8>,
    attr_value: Vec<u8>,
}

impl Framer {
    pub fn new(max_stanza: usize) -> Self {
        Framer {
            max_stanza,
            lex: Lex::Text,
            depth: 0,
            held: Vec::new(),
            holding: false,
            dropping: None,
            token: 0,
            tail: [0; 3],
            head: Dropped::default(),
            in_head: false,
            kind: Vec::new(),
            attr_name: Vec::new(),
            attr_value: Vec::new(),
        }
    }

    /// Scans `input`: what may go to the parser is appended to `out`, the
    /// heads of dropped stanzas to `dropped`.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>, dropped: &mut Vec<Dropped>) {
        for &b in input {
            self.byte(b, out, dropped);
        }
    }

    fn byte(&mut self, b: u8, out: &mut Vec<u8>, dropped: &mut Vec<Dropped>) {
        // A '<' at stream level starts something to hold until it is whole.
        if self.lex == Lex::Text && b == b'<' && self.depth <= 1 && !self.holding {
            self.holding = true;
            self.dropping = None;
        }
        if self.holding {
            if self.dropping.is_none() {
                self.held.push(b);
                if self.held.len() > self.max_stanza {
                    self.drop_current("too large");
                }
            }
        } else {
            out.push(b);
        }
        let ended = self.lex_byte(b);
        if ended && self.holding && self.depth <= 1 {
            // A whole top-level construct: a stanza, the stream header or
            // footer, or something only the parser may judge.
            self.holding = false;
            match self.dropping.take() {
                None => out.append(&mut self.held),
                Some(why) => {
                    self.held.clear();
                    let mut head = std::mem::take(&mut self.head);
                    head.kind = String::from_utf8_lossy(&self.kind).into_owned();
                    head.why = why;
                    dropped.push(head);
                }
            }
            self.head = Dropped::default();
            self.kind.clear();
        }
    }

    fn drop_current(&mut self, why: &'static str) {
        if self.dropping.is_none() {
            self.dropping = Some(why);
            self.held = Vec::new();
        }
    }

    /// A token grows by one byte; too long drops the stanza (at stanza level).
    fn grow(&mut self) {
        self.token += 1;
        if self.token > MAX_TOKEN && self.depth >= 1 {
            self.drop_current("a name or value too long");
        }
    }

    /// Advances the scanner; true when a tag or special construct ended here.
    fn lex_byte(&mut self, b: u8) -> bool {
        match self.lex {
            Lex::Text => {
                if b == b'<' {
                    self.lex = Lex::Open;
                } else if b == b'&' {
                    self.lex = Lex::TextRef;
                    self.token = 0;
                }
                false
            }
            Lex::TextRef => {
                if b == b';' || b == b'<' {
                    self.lex = if b == b'<' { Lex::Open } else { Lex::Text };
                } else {
                    self.grow();
                }
                false
            }
            Lex::Open => {
                self.token = 0;
                match b {
                    b'/' => self.lex = Lex::EndTag,
                    b'?' => {
                        self.lex = Lex::Special(Special::Pi);
                        self.tail = [0; 3];
                    }
                    b'!' => {
                        self.lex = Lex::Special(Special::Bang);
                        self.tail = [0; 3];
                    }
                    _ => {
                        self.lex = Lex::StartName;
                        self.in_head = self.depth == 1;
                        if self.in_head {
                            self.head = Dropped::default();
                            self.kind.clear();
                            self.kind.push(b);
                        }
                        self.grow();
                    }
                }
                false
            }
            Lex::StartName => match b {
                b'>' => self.start_tag_end(false),
                b'/' => {
                    self.lex = Lex::SelfClose;
                    false
                }
                _ if b.is_ascii_whitespace() => {
                    self.lex = Lex::InTag;
                    false
                }
                // Not well-formed, but the parser's lexer reads a value
                // here (up to its token limit): so does the framer.
                b'\'' | b'"' => {
                    self.open_value(b);
                    false
                }
                _ => {
                    if self.in_head && self.kind.len() < HEAD_KIND {
                        self.kind.push(b);
                    }
                    self.grow();
                    false
                }
            },
            Lex::InTag => match b {
                b'>' => self.start_tag_end(false),
                b'/' => {
                    self.lex = Lex::SelfClose;
                    false
                }
                _ if b.is_ascii_whitespace() => false,
                b'\'' | b'"' => {
                    self.open_value(b);
                    false
                }
                _ => {
                    self.lex = Lex::AttrName;
                    self.token = 0;
                    self.attr_name.clear();
                    self.attr_name.push(b);
                    self.grow();
                    false
                }
            },
            Lex::AttrName => {
                match b {
                    b'=' => self.lex = Lex::AttrEq,
                    b'\'' | b'"' => self.open_value(b),
                    _ if b.is_ascii_whitespace() => self.lex = Lex::AttrEq,
                    _ => {
                        if self.attr_name.len() < 16 {
                            self.attr_name.push(b);
                        }
                        self.grow();
                    }
                }
                false
            }
            Lex::AttrEq => {
                if b == b'\'' || b == b'"' {
                    self.open_value(b);
                } else if b == b'>' {
                    // Not well-formed; the parser says so.
                    return self.start_tag_end(false);
                }
                false
            }
            Lex::AttrValue(q) => {
                if b == q {
                    self.lex = Lex::InTag;
                    if self.in_head {
                        self.keep_head_attr();
                    }
                } else {
                    if self.in_head && self.attr_value.len() <= HEAD_ATTR {
                        self.attr_value.push(b);
                    }
                    self.grow();
                }
                false
            }
            Lex::SelfClose => {
                if b == b'>' {
                    self.start_tag_end(true)
                } else {
                    // Not well-formed: read on as in the tag.
                    self.lex = Lex::InTag;
                    self.lex_byte(b)
                }
            }
            Lex::EndTag => {
                if b == b'>' {
                    self.lex = Lex::Text;
                    self.depth = self.depth.saturating_sub(1);
                    true
                } else {
                    self.grow();
                    false
                }
            }
            Lex::Special(kind) => self.special(kind, b),
        }
    }

    fn open_value(&mut self, q: u8) {
        self.lex = Lex::AttrValue(q);
        self.token = 0;
        self.attr_value.clear();
    }

    /// The end of a start tag: one level deeper unless it closed itself.
    fn start_tag_end(&mut self, self_closing: bool) -> bool {
        self.lex = Lex::Text;
        self.in_head = false;
        if !self_closing {
            self.depth += 1;
        }
        // The stream header (depth 0 → 1) is whole once its tag ends.
        self_closing || self.depth == 1
    }

    /// Keeps from, to, id and type of the stanza's start tag.
    fn keep_head_attr(&mut self) {
        if self.attr_value.len() > HEAD_ATTR {
            return;
        }
        let value = unescape(&self.attr_value);
        match self.attr_name.as_slice() {
            b"from" => self.head.from = Some(value),
            b"to" => self.head.to = Some(value),
            b"id" => self.head.id = Some(value),
            b"type" => self.head.type_ = Some(value),
            _ => {}
        }
    }

    /// `<!--…-->`, `<![CDATA[…]]>`, `<?…?>` and other `<!…>`.
    fn special(&mut self, kind: Special, b: u8) -> bool {
        self.tail = [self.tail[1], self.tail[2], b];
        // CDATA is character data, which the parser splits: no token limit.
        if kind != Special::Cdata {
            self.grow();
        }
        match kind {
            Special::Bang => {
                self.lex = Lex::Special(match b {
                    b'-' => Special::Comment,
                    b'[' => Special::Cdata,
                    _ => Special::Other,
                });
                false
            }
            Special::Comment if self.token > 3 && &self.tail == b"-->" => self.special_end(),
            Special::Cdata if &self.tail == b"]]>" => self.special_end(),
            Special::Pi if self.tail[1..] == *b"?>" => self.special_end(),
            Special::Other if b == b'>' => self.special_end(),
            _ => false,
        }
    }

    fn special_end(&mut self) -> bool {
        self.lex = Lex::Text;
        self.token = 0;
        true
    }
}

/// An attribute value with XML's predefined entities resolved (character
/// references are left as they are: heads need only be close enough to
/// address an error).
fn unescape(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw).replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&apos;", "'").replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' id='x' from='mix.example'>";

    /// Feeds `input` in chunks of `chunk` bytes; what passes and what is dropped.
    fn run(input: &str, chunk: usize, max: usize) -> (String, Vec<Dropped>) {
        let mut f = Framer::new(max);
        let (mut out, mut dropped) = (Vec::new(), Vec::new());
        for c in input.as_bytes().chunks(chunk) {
            f.feed(c, &mut out, &mut dropped);
        }
        (String::from_utf8(out).unwrap(), dropped)
    }

    #[test]
    fn passes_a_stream_unchanged_in_any_chunking() {
        let stream = format!(
            "{HEADER}<message from='a@b/c' to='r@mix.example' id='1' type='groupchat'><body>a &lt; b &amp; c &#x263A; 'q' \"q\" &gt;</body></message> \
             <presence from='a@b/c' to='r@mix.example' type='unavailable'/>\
             <iq type='get' id='x&apos;y' from='a@b/c' to='mix.example'><query xmlns='http://jabber.org/protocol/disco#info' node='a>b/c'/></iq>\
             <message to=\"r@mix.example\" from=\"a@b\"><body><![CDATA[<not a tag>]]></body><x xmlns='y'><z a=\"1\"/></x></message></stream:stream>"
        );
        for chunk in [1, 2, 3, 7, 64, 100_000] {
            let (out, dropped) = run(&stream, chunk, 256 * 1024);
            assert_eq!(out, stream, "chunk {chunk}");
            assert!(dropped.is_empty());
        }
    }

    #[test]
    fn drops_a_stanza_with_an_over_long_value_and_keeps_its_neighbours() {
        let long = "x".repeat(9000);
        let before = "<message from='a@b/c' to='r@mix.example' id='m1' type='groupchat'><body>one</body></message>";
        let bad = format!("<iq type='get' id='q1' from='a@b/c' to='mix.example'><query xmlns='http://jabber.org/protocol/disco#info' node='{long}'/></iq>");
        let after = "<message from='a@b/c' to='r@mix.example' id='m2' type='groupchat'><body>two</body></message>";
        for chunk in [1, 5, 4096, 100_000] {
            let (out, dropped) = run(&format!("{HEADER}{before}{bad}{after}"), chunk, 256 * 1024);
            assert_eq!(out, format!("{HEADER}{before}{after}"), "chunk {chunk}");
            assert_eq!(
                dropped,
                vec![Dropped { kind: "iq".into(), from: Some("a@b/c".into()), to: Some("mix.example".into()), id: Some("q1".into()), type_: Some("get".into()), why: "a name or value too long" }]
            );
        }
    }

    #[test]
    fn drops_an_over_long_name_or_head_value_without_its_head_value() {
        let long = "y".repeat(9000);
        let bad = format!("<message from='a@b/c' to='r@mix.example' id='{long}'><body>x</body></message><presence from='a@b/c' to='r@mix.example'/><{long}/>");
        let (out, dropped) = run(&format!("{HEADER}{bad}"), 333, 256 * 1024);
        assert_eq!(out, format!("{HEADER}<presence from='a@b/c' to='r@mix.example'/>"));
        assert_eq!(dropped.len(), 2);
        assert_eq!((dropped[0].kind.as_str(), dropped[0].id.as_deref()), ("message", None));
    }

    /// Found by fuzzing (fuzz/fuzz_targets/framer.rs): a name's bytes were
    /// taken as Latin-1 characters, so a non-ASCII name came out garbled
    /// and over the 64 bytes kept.
    #[test]
    fn keeps_a_non_ascii_name_of_a_dropped_stanza_whole_and_bounded() {
        let long = "x".repeat(9000);
        let name = "ñ".repeat(40);
        let (_, dropped) = run(&format!("{HEADER}<{name} id='{long}'/><nachricht id='{long}'/>"), 7, 256 * 1024);
        assert_eq!(dropped.len(), 2);
        assert_eq!(dropped[0].kind, "ñ".repeat(32));
        assert_eq!(dropped[1].kind, "nachricht");
    }

    /// Found by fuzzing (fuzz/fuzz_targets/framer.rs): a quote right after
    /// an element name (not well-formed) was taken as part of the name,
    /// while the parser's lexer reads a value there; an over-long one then
    /// reached the parser and ended the stream. Now a value, counted.
    #[test]
    fn counts_a_quoted_value_anywhere_in_a_tag() {
        let long = "v".repeat(9000);
        let ok = "<presence from='a@b/c' to='r@mix.example'/>";
        for bad in [format!("<message'{long}'/>"), format!("<message '{long}'/>"), format!("<message a='1'/\"{long}\"/>")] {
            let (out, dropped) = run(&format!("{HEADER}{bad}{ok}"), 100, 256 * 1024);
            assert_eq!(out, format!("{HEADER}{ok}"), "{}", &bad[..20]);
            assert_eq!((dropped.len(), dropped[0].why), (1, "a name or value too long"));
        }
    }

    #[test]
    fn drops_a_stanza_over_the_size_limit() {
        let body = "z".repeat(5000);
        let big = format!("<message from='a@b/c' to='r@mix.example' id='big'><body>{body}</body><body xml:lang='de'>{body}</body></message>");
        let small = "<message from='a@b/c' to='r@mix.example' id='small'><body>ok</body></message>";
        let (out, dropped) = run(&format!("{HEADER}{big}{small}"), 1000, 8192);
        assert_eq!(out, format!("{HEADER}{small}"));
        assert_eq!((dropped[0].id.as_deref(), dropped[0].why), (Some("big"), "too large"));
        // Text longer than a token is fine (the parser splits it).
        let (out, dropped) = run(&format!("{HEADER}{big}"), 1000, 256 * 1024);
        assert_eq!(out, format!("{HEADER}{big}"));
        assert!(dropped.is_empty());
    }
}
