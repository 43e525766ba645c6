//! Prosody's internal (file) storage (`mod_storage_internal` through
//! `util.datamanager`): under the data folder, `<host>/config/<room>.dat`
//! holds a frozen room (`return {…};`) and `<host>/muc_log/<room>.list` its
//! archive, one `item({…});` per stanza, each a preserialised stanza
//! (`name`, `attr`, children in the array part) with its `key` (archive
//! id), `when` and `with`. Host and room names are written with every byte
//! but letters and digits as `%xx`.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use super::lua::{Reader, Table, Value};
use super::message::SourceMessage;

/// The host's folder in a Prosody data folder.
pub struct ProsodyFiles {
    host_dir: PathBuf,
    host: String,
}

/// `util.datamanager`'s name encoding.
pub fn encode(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02x}") }).collect()
}

/// Its inverse; `None` for a name it would not have written.
pub fn decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

impl ProsodyFiles {
    pub fn open(data_dir: &Path, host: &str) -> Result<ProsodyFiles, String> {
        let host_dir = data_dir.join(encode(host));
        if !host_dir.is_dir() {
            return Err(format!("{}: no folder for host {host} (expected {})", data_dir.display(), host_dir.display()));
        }
        Ok(ProsodyFiles { host_dir, host: host.to_string() })
    }

    /// The MUC domain read.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The localparts of the rooms stored for the host, sorted, and the
    /// files of the folder that are no room Prosody wrote (each a problem
    /// to report).
    pub fn rooms(&self) -> Result<(Vec<String>, Vec<String>), String> {
        let dir = self.host_dir.join("config");
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((vec![], vec![])),
            Err(e) => return Err(format!("{}: {e}", dir.display())),
        };
        let (mut rooms, mut strays) = (Vec::new(), Vec::new());
        for entry in entries {
            let entry = entry.map_err(|e| format!("{}: {e}", dir.display()))?;
            let file = entry.file_name().to_string_lossy().into_owned();
            let Some(stem) = file.strip_suffix(".dat") else { continue };
            match decode(stem).filter(|name| encode(name) == stem) {
                Some(name) => rooms.push(name),
                None => strays.push(format!("{}: a file name Prosody does not write", entry.path().display())),
            }
        }
        rooms.sort();
        strays.sort();
        Ok((rooms, strays))
    }

    /// The frozen room.
    pub fn room(&self, name: &str) -> Result<Table, String> {
        let path = self.host_dir.join("config").join(format!("{}.dat", encode(name)));
        let file = File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        match Reader::new(BufReader::new(file)).dat() {
            Ok(Value::Table(t)) => Ok(t),
            Ok(_) => Err(format!("{}: not a table", path.display())),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }

    /// The room's archive, read one item at a time.
    pub fn archive(&self, name: &str) -> Result<ArchiveFile, String> {
        let path = self.host_dir.join("muc_log").join(format!("{}.list", encode(name)));
        let reader = match File::open(&path) {
            Ok(f) => Some(Reader::new(BufReader::new(f))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        Ok(ArchiveFile { path, reader })
    }
}

/// A room's archive file being read.
pub struct ArchiveFile {
    path: PathBuf,
    reader: Option<Reader<BufReader<File>>>,
}

impl ArchiveFile {
    /// The next item; `None` at the end (or when the room has no archive).
    pub fn next_message(&mut self) -> Result<Option<SourceMessage>, String> {
        let Some(reader) = &mut self.reader else { return Ok(None) };
        let item = match reader.next_item() {
            Ok(Some(Value::Table(t))) => t,
            Ok(Some(_)) => return Err(format!("{}: an item that is not a table", self.path.display())),
            Ok(None) => return Ok(None),
            Err(e) => return Err(format!("{}: {e}", self.path.display())),
        };
        let id = item.get("key").and_then(Value::as_str).ok_or_else(|| format!("{}: an item without its key (archive id)", self.path.display()))?.to_string();
        let when = item.get("when").and_then(Value::as_f64).ok_or_else(|| format!("archived message {id}: no time"))?;
        let with = item.get("with").and_then(Value::as_str).unwrap_or("").to_string();
        let xml = stanza_xml(&item, true).map_err(|e| format!("archived message {id}: {e}"))?;
        Ok(Some(SourceMessage { id, when, with, xml }))
    }
}

const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

/// A preserialised stanza (`util.stanza.preserialize`) as XML. At the top,
/// the `stamp` attribute the archive added is left out.
fn stanza_xml(t: &Table, top: bool) -> Result<String, String> {
    let name = t.get("name").and_then(Value::as_str).ok_or("an element without a name")?;
    if name.is_empty() || name.contains(|c: char| c.is_whitespace() || "<>&'\"/=".contains(c)) {
        return Err(format!("element name {name:?}"));
    }
    let mut s = format!("<{name}");
    if let Some(attrs) = t.get("attr") {
        let attrs = attrs.as_table().ok_or("attributes that are not a table")?;
        for (k, v) in attrs.string_keyed() {
            if top && k == "stamp" {
                continue;
            }
            let v = v.as_str().ok_or_else(|| format!("attribute {k:?} is not a string"))?;
            let k = match k.split_once('\u{1}') {
                Some((ns, local)) if ns == XML_NS => format!("xml:{local}"),
                Some((ns, _)) => return Err(format!("an attribute in namespace {ns:?}, which mixmuc does not keep")),
                None => k.to_string(),
            };
            if k.is_empty() || k.contains(|c: char| c.is_whitespace() || "<>&'\"/=".contains(c)) {
                return Err(format!("attribute name {k:?}"));
            }
            s.push(' ');
            s.push_str(&k);
            s.push_str("='");
            escape(&mut s, v);
            s.push('\'');
        }
    }
    s.push('>');
    for child in t.sequence() {
        match child {
            Value::Str(text) => escape(&mut s, text),
            Value::Table(c) => s.push_str(&stanza_xml(c, false)?),
            other => return Err(format!("a child that is neither text nor element: {other:?}")),
        }
    }
    s.push_str(&format!("</{name}>"));
    Ok(s)
}

fn escape(s: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => s.push_str("&amp;"),
            '<' => s.push_str("&lt;"),
            '>' => s.push_str("&gt;"),
            '\'' => s.push_str("&apos;"),
            '"' => s.push_str("&quot;"),
            c => s.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::lua::parse_dat;
    use super::*;

    #[test]
    fn names_are_encoded_as_prosody_does() {
        assert_eq!(encode("rooms.localhost"), "rooms%2elocalhost");
        assert_eq!(encode("café-1"), "caf%c3%a9%2d1");
        assert_eq!(decode("caf%c3%a9%2d1").as_deref(), Some("café-1"));
        assert_eq!(decode("bad%2"), None);
    }

    #[test]
    fn a_preserialised_stanza_becomes_xml() {
        let v = parse_dat(
            "return {[\"name\"] = \"message\"; [\"attr\"] = {[\"from\"] = \"r@h/A'b\"; [\"stamp\"] = \"2024-12-03T18:20:00Z\"; [\"type\"] = \"groupchat\"};\
             {[\"name\"] = \"body\"; [\"attr\"] = {[\"http://www.w3.org/XML/1998/namespace\\001lang\"] = \"en\"}; \"a<b & c\"};\
             {[\"name\"] = \"x\"; [\"attr\"] = {[\"xmlns\"] = \"urn:x\"}}; [\"key\"] = \"k\"; [\"when\"] = 1.5};",
        )
        .unwrap();
        let xml = stanza_xml(v.as_table().unwrap(), true).unwrap();
        assert!(xml.starts_with("<message "), "{xml}");
        assert!(xml.contains("from='r@h/A&apos;b'") && !xml.contains("stamp"), "{xml}");
        assert!(xml.contains("<body xml:lang='en'>a&lt;b &amp; c</body><x xmlns='urn:x'></x></message>"), "{xml}");
        let bad = parse_dat("return {[\"name\"] = \"message\"; [\"attr\"] = {[\"urn:a\\001b\"] = \"c\"}};").unwrap();
        assert!(stanza_xml(bad.as_table().unwrap(), true).unwrap_err().contains("urn:a"));
    }
}
