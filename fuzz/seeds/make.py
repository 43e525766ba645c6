#!/usr/bin/env python3
"""Writes the seed corpora of the framer and parsers targets from the
dispatcher's (fuzz/corpus/dispatch: stanzas of the golden transcripts).
Run once; the committed corpora grow by merges of fuzzing runs since.

    python3 fuzz/seeds/make.py
"""
import os
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape, quoteattr

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "corpus")
stanzas = []
for name in sorted(os.listdir(os.path.join(root, "dispatch"))):
    with open(os.path.join(root, "dispatch", name), "rb") as f:
        stanzas.append(f.read().strip())


def split(tag):
    return tag[1:].split("}", 1) if tag.startswith("{") else ("", tag)


def ser(e, parent_ns=None):
    ns, name = split(e.tag)
    out = "<" + name
    if ns != parent_ns:
        out += " xmlns=" + quoteattr(ns)
    for k, v in e.attrib.items():
        kns, kname = split(k)
        if kns == "http://www.w3.org/XML/1998/namespace":
            kname = "xml:" + kname
        out += " " + kname + "=" + quoteattr(v)
    if len(e) == 0 and not e.text:
        return out + "/>"
    out += ">" + escape(e.text or "")
    for c in e:
        out += ser(c, ns) + escape(c.tail or "")
    return out + "</" + name + ">"


def write(target, items):
    d = os.path.join(root, target)
    os.makedirs(d, exist_ok=True)
    for i, data in enumerate(items):
        with open(os.path.join(d, "seed-%02d" % i), "wb") as f:
            f.write(data)


# parsers: each stanza, and each of its payloads (and their children) alone.
elements = []
for s in stanzas:
    e = ET.fromstring(s)
    elements.append(s)
    for c in e:
        elements.append(ser(c).encode())
        for g in c:
            elements.append(ser(g).encode())
seen, unique = set(), []
for x in elements:
    if x not in seen:
        seen.add(x)
        unique.append(x)
write("parsers", unique)

# framer: a control byte (limit, chunking: see fuzz_targets/framer.rs),
# then stream bytes. 0xFF n b: b repeated 64·(n+1) times.
def run(b, n):
    return bytes([0xFF, n, ord(b)])

footer = b"</stream:stream>"
framer = [
    b"\x00" + b" ".join(stanzas) + footer,
    b"\x05" + b"".join(stanzas[:10]),
    b"\x01" + b"".join(stanzas[10:20]),  # 512-byte limit: some dropped
    b"\x02" + b"\n".join(stanzas[20:]),
    # an over-long attribute value, name and reference, each between two stanzas
    b"\x00" + stanzas[3] + b"<iq type='get' id='q1' from='a@b/c' to='mix.example'><query xmlns='http://jabber.org/protocol/disco#info' node='" + run("x", 140) + b"'/></iq>" + stanzas[6],
    b"\x08" + stanzas[3] + b"<message from='a@b/c' to='r@mix.example' id='" + run("y", 140) + b"'><body>x</body></message><presence from='a@b/c' to='r@mix.example'/><" + run("z", 140) + b"/>",
    b"\x00" + stanzas[3] + b"<message to='r@mix.example'><body>&#" + run("0", 140) + b"65;</body></message>" + stanzas[6],
    # long text and CDATA (the parser splits them: must pass)
    b"\x00<message from='a@b/c' to='r@mix.example' id='t'><body>" + run("a", 200) + b"<![CDATA[" + run("<", 200) + b"]]></body></message>",
    # quoted '>' and '/', a self-closing stanza, whitespace keepalives
    b"\x04 <message from='a@b/c' to='r@mix.example' id='g' type='groupchat'><body a='&gt;' b=\"/>\">a &lt; b &amp; c</body></message>\n \n<presence from='a@b/c' to='r@mix.example'/>",
    b"\x03" + stanzas[0] + stanzas[1] + b"<message from='a@b/c' to='r@mix.example' id='big'><body>" + run("b", 180) + b"</body></message>" + stanzas[2],
]
write("framer", framer)
