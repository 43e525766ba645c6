//! A strict reader of the Lua data Prosody's internal storage writes
//! (`util.serialization` with its default options, through
//! `util.datamanager`): a `.dat` file is `return <value>;`, a `.list` file
//! is a sequence of `item(<value>);`. Only that subset is read: `nil`,
//! `true`, `false`, numbers as `%d` / `%.18g` / `(1/0)` / `(-1/0)` /
//! `(0/0)`, double-quoted strings with the escapes Prosody writes (`\a \b
//! \f \n \r \t \v \\ \" \'` and `\ddd`), and tables of `value;` and
//! `[key] = value;` items. Anything else (code, comments, unquoted keys,
//! long strings) is refused with its line.
//!
//! The reader pulls bytes from a `BufRead`, so a long archive is read one
//! item at a time, never whole.

use std::fmt;
use std::io::BufRead;

/// A Lua value of the subset.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Table(Table),
}

/// A table: its array part (items written without a key, in order) and
/// its keyed items, in the order written.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    pub array: Vec<Value>,
    pub map: Vec<(Key, Value)>,
}

/// A table key (Prosody writes strings and numbers).
#[derive(Debug, Clone, PartialEq)]
pub enum Key {
    Str(String),
    Int(i64),
    Bool(bool),
}

impl Table {
    /// The value of a string key.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.map.iter().find(|(k, _)| matches!(k, Key::Str(s) if s == key)).map(|(_, v)| v)
    }

    /// The items with string keys.
    pub fn string_keyed(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.map.iter().filter_map(|(k, v)| match k {
            Key::Str(s) => Some((s.as_str(), v)),
            _ => None,
        })
    }

    /// The array part, with `[n] = v` items written out of order put at
    /// their place (Prosody writes `[n] =` when its `pairs` met them late).
    pub fn sequence(&self) -> Vec<&Value> {
        let mut out: Vec<&Value> = self.array.iter().collect();
        let mut keyed: Vec<(i64, &Value)> = self.map.iter().filter_map(|(k, v)| if let Key::Int(i) = k { Some((*i, v)) } else { None }).collect();
        keyed.sort_by_key(|(i, _)| *i);
        for (i, v) in keyed {
            if i == out.len() as i64 + 1 {
                out.push(v);
            }
        }
        out
    }
}

impl Value {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_table(&self) -> Option<&Table> {
        match self {
            Value::Table(t) => Some(t),
            _ => None,
        }
    }

    /// A number as a float (integers too).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// Lua's truth: everything but `nil` and `false`.
    pub fn truthy(&self) -> bool {
        !matches!(self, Value::Nil | Value::Bool(false))
    }
}

/// Why the data was refused, with the line it was found on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LuaError {
    pub line: usize,
    pub what: String,
}

impl fmt::Display for LuaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.what)
    }
}

impl std::error::Error for LuaError {}

/// Deepest nesting accepted (Prosody's own limit is 127).
const MAX_DEPTH: usize = 128;

/// A reader over Prosody's Lua data.
pub struct Reader<R> {
    input: R,
    line: usize,
}

impl<R: BufRead> Reader<R> {
    pub fn new(input: R) -> Self {
        Reader { input, line: 1 }
    }

    fn err<T>(&self, what: impl Into<String>) -> Result<T, LuaError> {
        Err(LuaError { line: self.line, what: what.into() })
    }

    fn peek(&mut self) -> Result<Option<u8>, LuaError> {
        match self.input.fill_buf() {
            Ok(buf) => Ok(buf.first().copied()),
            Err(e) => self.err(format!("read error: {e}")),
        }
    }

    fn bump(&mut self) -> Result<Option<u8>, LuaError> {
        let b = self.peek()?;
        if let Some(c) = b {
            self.input.consume(1);
            if c == b'\n' {
                self.line += 1;
            }
        }
        Ok(b)
    }

    /// The next byte, which must be there.
    fn need(&mut self, inside: &str) -> Result<u8, LuaError> {
        match self.bump()? {
            Some(c) => Ok(c),
            None => self.err(format!("the data ends inside {inside} (truncated file?)")),
        }
    }

    fn skip_space(&mut self) -> Result<(), LuaError> {
        while let Some(c) = self.peek()? {
            match c {
                b' ' | b'\t' | b'\n' | b'\r' => {
                    self.bump()?;
                }
                _ => break,
            }
        }
        Ok(())
    }

    fn expect(&mut self, text: &str, inside: &str) -> Result<(), LuaError> {
        for want in text.bytes() {
            let got = self.need(inside)?;
            if got != want {
                return self.err(format!("expected `{text}` in {inside}, found `{}`", shown(got)));
            }
        }
        Ok(())
    }

    /// The whole of a `.dat` file: `return <value>;`.
    pub fn dat(mut self) -> Result<Value, LuaError> {
        self.skip_space()?;
        self.expect("return", "the file")?;
        match self.peek()? {
            Some(b' ' | b'\t' | b'\n' | b'\r' | b'{' | b'"') => {}
            Some(c) => return self.err(format!("expected a value after `return`, found `{}`", shown(c))),
            None => return self.err("the data ends after `return` (truncated file?)"),
        }
        self.skip_space()?;
        let v = self.value(0)?;
        self.skip_space()?;
        if self.peek()? == Some(b';') {
            self.bump()?;
        }
        self.skip_space()?;
        match self.peek()? {
            None => Ok(v),
            Some(c) => self.err(format!("unexpected `{}` after the value", shown(c))),
        }
    }

    /// The next item of a `.list` file (`item(<value>);`), `None` at its
    /// end.
    pub fn next_item(&mut self) -> Result<Option<Value>, LuaError> {
        self.skip_space()?;
        if self.peek()?.is_none() {
            return Ok(None);
        }
        self.expect("item(", "a list item")?;
        self.skip_space()?;
        let v = self.value(0)?;
        self.skip_space()?;
        self.expect(")", "a list item")?;
        self.skip_space()?;
        match self.peek()? {
            Some(b';') => {
                self.bump()?;
            }
            None => return self.err("the data ends after an item without its `;` (truncated file?)"),
            Some(c) => return self.err(format!("expected `;` after an item, found `{}`", shown(c))),
        }
        Ok(Some(v))
    }

    fn value(&mut self, depth: usize) -> Result<Value, LuaError> {
        if depth > MAX_DEPTH {
            return self.err("tables nested too deep");
        }
        let Some(c) = self.peek()? else { return self.err("the data ends where a value was expected (truncated file?)") };
        match c {
            b'{' => self.table(depth),
            b'"' => Ok(Value::Str(self.string()?)),
            b'(' => self.special_number(),
            b'-' | b'0'..=b'9' => self.number(),
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => {
                let word = self.word()?;
                match word.as_str() {
                    "nil" => Ok(Value::Nil),
                    "true" => Ok(Value::Bool(true)),
                    "false" => Ok(Value::Bool(false)),
                    _ => self.err(format!("`{word}` is not data Prosody writes (only nil, true, false, numbers, strings and tables)")),
                }
            }
            _ => self.err(format!("unexpected `{}` where a value was expected", shown(c))),
        }
    }

    fn word(&mut self) -> Result<String, LuaError> {
        let mut w = String::new();
        while let Some(c) = self.peek()? {
            if c.is_ascii_alphanumeric() || c == b'_' {
                w.push(c as char);
                self.bump()?;
            } else {
                break;
            }
        }
        Ok(w)
    }

    fn table(&mut self, depth: usize) -> Result<Value, LuaError> {
        self.expect("{", "a table")?;
        let mut t = Table::default();
        loop {
            self.skip_space()?;
            match self.peek()? {
                None => return self.err("the data ends inside a table (truncated file?)"),
                Some(b'}') => {
                    self.bump()?;
                    return Ok(Value::Table(t));
                }
                Some(b'[') => {
                    self.bump()?;
                    self.skip_space()?;
                    let key = match self.value(depth + 1)? {
                        Value::Str(s) => Key::Str(s),
                        Value::Int(i) => Key::Int(i),
                        Value::Bool(b) => Key::Bool(b),
                        other => return self.err(format!("a table key of a kind Prosody does not write: {other:?}")),
                    };
                    self.skip_space()?;
                    self.expect("]", "a table key")?;
                    self.skip_space()?;
                    self.expect("=", "a table item")?;
                    self.skip_space()?;
                    let v = self.value(depth + 1)?;
                    t.map.push((key, v));
                }
                Some(_) => {
                    let v = self.value(depth + 1)?;
                    t.array.push(v);
                }
            }
            self.skip_space()?;
            match self.need("a table")? {
                b';' => {}
                b'}' => return Ok(Value::Table(t)),
                c => return self.err(format!("expected `;` or `}}` after a table item, found `{}`", shown(c))),
            }
        }
    }

    fn string(&mut self) -> Result<String, LuaError> {
        self.expect("\"", "a string")?;
        let start = self.line;
        let mut bytes = Vec::new();
        loop {
            match self.need("a string")? {
                b'"' => break,
                b'\n' | b'\r' => return self.err("a line break inside a string (Prosody writes `\\n`)"),
                b'\\' => {
                    let c = self.need("a string")?;
                    let b = match c {
                        b'a' => 7,
                        b'b' => 8,
                        b'f' => 12,
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'v' => 11,
                        b'\\' => b'\\',
                        b'"' => b'"',
                        b'\'' => b'\'',
                        b'0'..=b'9' => {
                            let mut n = u32::from(c - b'0');
                            for _ in 0..2 {
                                match self.peek()? {
                                    Some(d @ b'0'..=b'9') => {
                                        self.bump()?;
                                        n = n * 10 + u32::from(d - b'0');
                                    }
                                    _ => break,
                                }
                            }
                            match u8::try_from(n) {
                                Ok(b) => b,
                                Err(_) => return self.err(format!("escape `\\{n}` is not a byte")),
                            }
                        }
                        other => return self.err(format!("escape `\\{}` is not one Prosody writes", shown(other))),
                    };
                    bytes.push(b);
                }
                b => bytes.push(b),
            }
        }
        String::from_utf8(bytes).map_err(|_| LuaError { line: start, what: "a string that is not UTF-8".into() })
    }

    fn number(&mut self) -> Result<Value, LuaError> {
        let mut text = String::new();
        while let Some(c) = self.peek()? {
            if c.is_ascii_digit() || matches!(c, b'-' | b'+' | b'.' | b'e' | b'E') {
                text.push(c as char);
                self.bump()?;
            } else {
                break;
            }
        }
        if text.starts_with("--") {
            return self.err("comments are not part of the data Prosody writes");
        }
        let integer = text.bytes().enumerate().all(|(i, c)| c.is_ascii_digit() || (i == 0 && c == b'-'));
        if integer {
            if let Ok(i) = text.parse::<i64>() {
                return Ok(Value::Int(i));
            }
        }
        match text.parse::<f64>() {
            Ok(f) if !text.starts_with('+') && !text.starts_with('.') => Ok(Value::Float(f)),
            _ => self.err(format!("`{text}` is not a number as Prosody writes them")),
        }
    }

    /// `(1/0)`, `(-1/0)`, `(0/0)`.
    fn special_number(&mut self) -> Result<Value, LuaError> {
        self.expect("(", "a number")?;
        let mut text = String::new();
        loop {
            match self.need("a number")? {
                b')' => break,
                c if text.len() < 8 => text.push(c as char),
                _ => return self.err("`(` starts only (1/0), (-1/0) or (0/0) in Prosody's data"),
            }
        }
        match text.as_str() {
            "1/0" => Ok(Value::Float(f64::INFINITY)),
            "-1/0" => Ok(Value::Float(f64::NEG_INFINITY)),
            "0/0" => Ok(Value::Float(f64::NAN)),
            _ => self.err(format!("`({text})` is not data Prosody writes")),
        }
    }
}

/// A byte for an error message.
fn shown(c: u8) -> String {
    if c.is_ascii_graphic() {
        (c as char).to_string()
    } else {
        format!("\\x{c:02x}")
    }
}

/// Parses a whole `.dat` text.
pub fn parse_dat(text: &str) -> Result<Value, LuaError> {
    Reader::new(text.as_bytes()).dat()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Value {
        Value::Str(v.to_string())
    }

    /// What `util.serialization` writes for a room (`mod_muc`'s frozen
    /// form), and its reading.
    #[test]
    fn reads_a_room_as_prosody_writes_it() {
        let text = "return {\n\t[\"_jid\"] = \"coven@rooms.localhost\";\n\t[\"_data\"] = {\n\t\t[\"persistent\"] = true;\n\t\t[\"subject_time\"] = 1733250000;\n\t\t[\"name\"] = \"Caf\\195\\169 \\\"q\\\"\\n\";\n\t\t[\"whois\"] = \"anyone\";\n\t};\n\t[\"alice@localhost\"] = \"owner\";\n\t[\"_affiliation_data\"] = {};\n};\n";
        let v = parse_dat(text).unwrap();
        let t = v.as_table().unwrap();
        assert_eq!(t.get("_jid"), Some(&s("coven@rooms.localhost")));
        assert_eq!(t.get("alice@localhost"), Some(&s("owner")));
        let data = t.get("_data").unwrap().as_table().unwrap();
        assert_eq!(data.get("persistent"), Some(&Value::Bool(true)));
        assert_eq!(data.get("subject_time"), Some(&Value::Int(1733250000)));
        assert_eq!(data.get("name"), Some(&s("Café \"q\"\n")));
        assert_eq!(t.get("_affiliation_data"), Some(&Value::Table(Table::default())));
    }

    /// A preserialised stanza in an archive list: array part, floats,
    /// `[n] =` keys, escapes.
    #[test]
    fn reads_list_items_one_at_a_time() {
        let text = "item({\n\t[\"attr\"] = {\n\t\t[\"xml:lang\"] = \"en\";\n\t};\n\t{\n\t\t[\"name\"] = \"body\";\n\t\t[\"attr\"] = {};\n\t\t\"a\\tb\\\\c\\'\";\n\t};\n\t[\"when\"] = 1733250000.125;\n\t[\"name\"] = \"message\";\n\t[3] = \"late\";\n\t[\"key\"] = \"k1\";\n});\nitem({[\"key\"] = \"k2\"; [\"n\"] = -7; [\"x\"] = 1.5e+20; [\"i\"] = (1/0); [\"f\"] = false; [\"z\"] = nil;});\n";
        let mut r = Reader::new(text.as_bytes());
        let first = r.next_item().unwrap().unwrap();
        let t = first.as_table().unwrap();
        assert_eq!(t.get("key"), Some(&s("k1")));
        assert_eq!(t.get("when"), Some(&Value::Float(1733250000.125)));
        let body = t.array[0].as_table().unwrap();
        assert_eq!(body.array, vec![s("a\tb\\c'")]);
        assert_eq!(t.sequence().len(), 1, "[3] does not follow [1]: not part of the sequence");
        let second = r.next_item().unwrap().unwrap();
        let t = second.as_table().unwrap();
        assert_eq!(t.get("n"), Some(&Value::Int(-7)));
        assert_eq!(t.get("x"), Some(&Value::Float(1.5e20)));
        assert_eq!(t.get("i"), Some(&Value::Float(f64::INFINITY)));
        assert_eq!(t.get("f"), Some(&Value::Bool(false)));
        assert_eq!(t.get("z"), Some(&Value::Nil));
        assert_eq!(r.next_item().unwrap(), None);
    }

    #[test]
    fn sequence_puts_keyed_items_in_place() {
        let v = parse_dat("return {\"a\"; [2] = \"b\"; [3] = \"c\"};").unwrap();
        let seq: Vec<&str> = v.as_table().unwrap().sequence().iter().map(|v| v.as_str().unwrap()).collect();
        assert_eq!(seq, ["a", "b", "c"]);
    }

    /// Everything outside the subset is refused, with its line.
    #[test]
    fn refuses_what_prosody_does_not_write() {
        let cases = [
            ("return os.exit()", "`os` is not data"),
            ("return {\n[\"a\"] = print;\n}", "line 2: `print` is not data"),
            ("return { a = 1 }", "`a` is not data"),
            ("return { -- hi\n}", "comments"),
            ("return 1 -- hi", "unexpected `-` after the value"),
            ("return [[long]]", "unexpected `[`"),
            ("return \"\\x41\"", "escape `\\x`"),
            ("return \"two\nlines\"", "a line break inside a string"),
            ("return {} {}", "unexpected `{` after the value"),
            ("return \"\\255\"", "not UTF-8"),
            ("return (2/0)", "is not data"),
            ("return 1..2", "is not a number"),
        ];
        for (text, want) in cases {
            let err = parse_dat(text).unwrap_err().to_string();
            assert!(err.contains(want), "{text:?}: {err}");
        }
    }

    /// A file cut short says so, and where.
    #[test]
    fn a_truncated_file_is_named_as_such() {
        let err = parse_dat("return {\n\t[\"_data\"] = {\n\t\t[\"name\"] = \"Cov").unwrap_err();
        assert_eq!(err.line, 3);
        assert!(err.what.contains("truncated"), "{err}");
        let mut r = Reader::new("item({[\"key\"] = \"a\"});\nitem({[\"key\"] = ".as_bytes());
        assert!(r.next_item().unwrap().is_some());
        let err = r.next_item().unwrap_err();
        assert!(err.what.contains("truncated") && err.line == 2, "{err}");
        let mut r = Reader::new("item({})".as_bytes());
        assert!(r.next_item().unwrap_err().what.contains("truncated"));
    }
}
