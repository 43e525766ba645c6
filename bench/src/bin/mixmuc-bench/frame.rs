//! A minimal XML stream framer: splits the bytes of an XMPP stream into the
//! stream header and its top-level elements (stanzas and nonzas), without
//! building a tree. The hot path of the tool only needs the raw bytes of each
//! stanza (a token search and one or two attributes); the rare stanzas of the
//! setup phase are parsed with minidom (`parse`).

use std::ops::Range;

use xmpp_parsers::minidom::Element;

/// What the framer found next.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// The opening `<stream:stream …>` tag.
    Header(Range<usize>),
    /// One complete top-level element.
    Stanza(Range<usize>),
    /// `</stream:stream>`.
    End,
}

#[derive(Debug, Default)]
pub struct Framer {
    pub buf: Vec<u8>,
    /// Where scanning resumes (always at a `<` or in text).
    pos: usize,
    /// Element depth: 0 before the header, 1 inside the stream, 2+ inside a stanza.
    depth: u32,
    /// Start of the top-level element being read (valid while depth >= 2).
    start: usize,
}

impl Framer {
    pub fn new() -> Self {
        Framer { buf: Vec::with_capacity(64 * 1024), ..Default::default() }
    }

    /// Forget everything (after a stream restart, e.g. SASL success).
    pub fn reset(&mut self) {
        let keep = self.pos;
        self.buf.drain(..keep);
        self.pos = 0;
        self.depth = 0;
        self.start = 0;
    }

    /// Drops the bytes no pending element needs; call before reading more.
    /// Ranges handed out before are invalid afterwards.
    pub fn compact(&mut self) {
        let keep_from = if self.depth >= 2 { self.start } else { self.pos };
        if keep_from > 0 {
            self.buf.drain(..keep_from);
            self.pos -= keep_from;
            if self.depth >= 2 {
                self.start = 0;
            }
        }
    }

    /// Room to read into: the buffer's spare capacity is at least `min`.
    pub fn reserve(&mut self, min: usize) {
        if self.buf.capacity() - self.buf.len() < min {
            self.buf.reserve(min.max(64 * 1024));
        }
    }

    /// The next frame among the bytes read so far, if complete.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, String> {
        loop {
            let buf = &self.buf;
            let Some(lt) = buf[self.pos..].iter().position(|&b| b == b'<') else {
                self.pos = buf.len();
                return Ok(None);
            };
            let i = self.pos + lt;
            if i + 1 >= buf.len() {
                self.pos = i;
                return Ok(None);
            }
            match buf[i + 1] {
                b'?' => match find(&buf[i..], b"?>") {
                    Some(e) => self.pos = i + e + 2,
                    None => {
                        self.pos = i;
                        return Ok(None);
                    }
                },
                b'!' => {
                    let (close, skip): (&[u8], usize) = if buf[i..].starts_with(b"<![CDATA[") {
                        (b"]]>", 3)
                    } else if buf.len() - i < 9 {
                        self.pos = i;
                        return Ok(None);
                    } else {
                        (b"-->", 3)
                    };
                    match find(&buf[i..], close) {
                        Some(e) => self.pos = i + e + skip,
                        None => {
                            self.pos = i;
                            return Ok(None);
                        }
                    }
                }
                b'/' => {
                    let Some(e) = buf[i..].iter().position(|&b| b == b'>') else {
                        self.pos = i;
                        return Ok(None);
                    };
                    let end = i + e + 1;
                    self.pos = end;
                    match self.depth {
                        0 => return Err("end tag before the stream header".into()),
                        1 => {
                            self.depth = 0;
                            return Ok(Some(Frame::End));
                        }
                        2 => {
                            self.depth = 1;
                            return Ok(Some(Frame::Stanza(self.start..end)));
                        }
                        _ => self.depth -= 1,
                    }
                }
                _ => {
                    let Some(e) = tag_end(&buf[i..]) else {
                        self.pos = i;
                        return Ok(None);
                    };
                    let end = i + e + 1;
                    let empty = buf[end - 2] == b'/';
                    self.pos = end;
                    match self.depth {
                        0 => {
                            self.depth = 1;
                            return Ok(Some(Frame::Header(i..end)));
                        }
                        1 if empty => return Ok(Some(Frame::Stanza(i..end))),
                        1 => {
                            self.start = i;
                            self.depth = 2;
                        }
                        _ if empty => {}
                        _ => self.depth += 1,
                    }
                }
            }
        }
    }

    pub fn bytes(&self, r: &Range<usize>) -> &[u8] {
        &self.buf[r.clone()]
    }
}

/// Offset of the `>` closing the start tag at the beginning of `s`, honouring quotes.
fn tag_end(s: &[u8]) -> Option<usize> {
    let mut quote = 0u8;
    for (k, &b) in s.iter().enumerate().skip(1) {
        match (quote, b) {
            (0, b'"') | (0, b'\'') => quote = b,
            (0, b'>') => return Some(k),
            (q, c) if q == c => quote = 0,
            _ => {}
        }
    }
    None
}

pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    let first = needle[0];
    let mut from = 0;
    while let Some(p) = hay[from..hay.len() - needle.len() + 1].iter().position(|&b| b == first) {
        let at = from + p;
        if &hay[at..at + needle.len()] == needle {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// The element name of a stanza (`message`, `presence`, `iq`, `stream:features`…).
pub fn name(stanza: &[u8]) -> &[u8] {
    let s = &stanza[1..];
    let n = s.iter().position(|&b| b == b' ' || b == b'>' || b == b'/' || b == b'\t' || b == b'\n' || b == b'\r').unwrap_or(s.len());
    &s[..n]
}

/// The raw (still escaped) value of attribute `attr` of the element's start tag.
pub fn attr<'a>(stanza: &'a [u8], attr: &str) -> Option<&'a [u8]> {
    let head = &stanza[..tag_end(stanza).unwrap_or(stanza.len() - 1) + 1];
    let a = attr.as_bytes();
    let mut from = 0;
    while let Some(p) = find(&head[from..], a) {
        let at = from + p;
        from = at + 1;
        let before = head[at - 1];
        if !(before == b' ' || before == b'\t' || before == b'\n' || before == b'\r') {
            continue;
        }
        let mut k = at + a.len();
        while k < head.len() && (head[k] == b' ' || head[k] == b'\t' || head[k] == b'\n' || head[k] == b'\r') {
            k += 1;
        }
        if k >= head.len() || head[k] != b'=' {
            continue;
        }
        k += 1;
        while k < head.len() && (head[k] == b' ' || head[k] == b'\t' || head[k] == b'\n' || head[k] == b'\r') {
            k += 1;
        }
        if k >= head.len() {
            return None;
        }
        let q = head[k];
        if q != b'"' && q != b'\'' {
            return None;
        }
        let v = k + 1;
        let len = head[v..].iter().position(|&b| b == q)?;
        return Some(&head[v..v + len]);
    }
    None
}

/// Parses one top-level element of a `jabber:client` or
/// `jabber:component:accept` stream into a minidom tree (setup phase only).
pub fn parse(stanza: &[u8], default_ns: &str) -> Result<Element, String> {
    let mut doc = Vec::with_capacity(stanza.len() + 120);
    doc.extend_from_slice(b"<w xmlns='");
    doc.extend_from_slice(default_ns.as_bytes());
    doc.extend_from_slice(b"' xmlns:stream='http://etherx.jabber.org/streams'>");
    doc.extend_from_slice(stanza);
    doc.extend_from_slice(b"</w>");
    let w = Element::from_reader(&doc[..]).map_err(|e| format!("unparsable stanza ({e}): {}", String::from_utf8_lossy(stanza)))?;
    w.children().next().cloned().ok_or_else(|| "empty element".to_string())
}

/// Escapes text or an attribute value.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '\'' => o.push_str("&apos;"),
            '"' => o.push_str("&quot;"),
            c => o.push(c),
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(input: &[&[u8]]) -> Vec<String> {
        let mut f = Framer::new();
        let mut out = vec![];
        for chunk in input {
            f.buf.extend_from_slice(chunk);
            while let Some(fr) = f.next_frame().unwrap() {
                out.push(match fr {
                    Frame::Header(r) => format!("H:{}", String::from_utf8_lossy(f.bytes(&r))),
                    Frame::Stanza(r) => format!("S:{}", String::from_utf8_lossy(f.bytes(&r))),
                    Frame::End => "E".into(),
                });
            }
            f.compact();
        }
        out
    }

    #[test]
    fn splits_stanzas_across_chunks() {
        let out = frames(&[
            b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' id='a>b'>",
            b"<message to='x' a=\"1>2\"><body>hi &amp; <",
            b"/body><x/></message><presence/><iq id='1'><q",
            b"/></iq></stream:stream>",
        ]);
        assert_eq!(
            out,
            vec![
                "H:<stream:stream xmlns='jabber:client' id='a>b'>",
                "S:<message to='x' a=\"1>2\"><body>hi &amp; </body><x/></message>",
                "S:<presence/>",
                "S:<iq id='1'><q/></iq>",
                "E",
            ]
        );
    }

    #[test]
    fn attributes() {
        let s = b"<presence from='r@m/n' xto=\"no\" to = \"u@d/r\" type='error'><x type='no'/></presence>";
        assert_eq!(attr(s, "to"), Some(&b"u@d/r"[..]));
        assert_eq!(attr(s, "from"), Some(&b"r@m/n"[..]));
        assert_eq!(attr(s, "type"), Some(&b"error"[..]));
        assert_eq!(attr(s, "id"), None);
        assert_eq!(name(s), b"presence");
        let e = parse(s, "jabber:client").unwrap();
        assert_eq!(e.attr("type"), Some("error"));
    }
}
