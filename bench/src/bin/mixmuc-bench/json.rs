//! A tiny JSON writer for the result document (no serde_json dependency).

use std::fmt::Write;

#[derive(Debug, Clone)]
pub enum Json {
    Null,
    Bool(bool),
    Int(i64),
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    pub fn obj() -> Json {
        Json::Obj(vec![])
    }

    /// Adds a member (objects only).
    pub fn set(&mut self, key: &str, value: impl Into<Json>) -> &mut Self {
        if let Json::Obj(m) = self {
            m.retain(|(k, _)| k != key);
            m.push((key.to_string(), value.into()));
        }
        self
    }

    pub fn with(mut self, key: &str, value: impl Into<Json>) -> Self {
        self.set(key, value);
        self
    }

    pub fn pretty(&self) -> String {
        let mut s = String::new();
        self.write(&mut s, 0);
        s.push('\n');
        s
    }

    fn write(&self, s: &mut String, indent: usize) {
        match self {
            Json::Null => s.push_str("null"),
            Json::Bool(b) => s.push_str(if *b { "true" } else { "false" }),
            Json::Int(i) => {
                let _ = write!(s, "{i}");
            }
            Json::Num(f) if f.is_finite() => {
                let r = (f * 1000.0).round() / 1000.0;
                if r == r.trunc() && r.abs() < 1e15 {
                    let _ = write!(s, "{}.0", r as i64);
                } else {
                    let _ = write!(s, "{r}");
                }
            }
            Json::Num(_) => s.push_str("null"),
            Json::Str(t) => {
                s.push('"');
                for c in t.chars() {
                    match c {
                        '"' => s.push_str("\\\""),
                        '\\' => s.push_str("\\\\"),
                        '\n' => s.push_str("\\n"),
                        c if (c as u32) < 0x20 => {
                            let _ = write!(s, "\\u{:04x}", c as u32);
                        }
                        c => s.push(c),
                    }
                }
                s.push('"');
            }
            Json::Arr(items) if items.is_empty() => s.push_str("[]"),
            Json::Arr(items) => {
                s.push_str("[\n");
                for (k, v) in items.iter().enumerate() {
                    pad(s, indent + 1);
                    v.write(s, indent + 1);
                    s.push_str(if k + 1 < items.len() { ",\n" } else { "\n" });
                }
                pad(s, indent);
                s.push(']');
            }
            Json::Obj(m) if m.is_empty() => s.push_str("{}"),
            Json::Obj(m) => {
                s.push_str("{\n");
                for (k, (key, v)) in m.iter().enumerate() {
                    pad(s, indent + 1);
                    Json::Str(key.clone()).write(s, indent + 1);
                    s.push_str(": ");
                    v.write(s, indent + 1);
                    s.push_str(if k + 1 < m.len() { ",\n" } else { "\n" });
                }
                pad(s, indent);
                s.push('}');
            }
        }
    }
}

fn pad(s: &mut String, indent: usize) {
    for _ in 0..indent {
        s.push_str("  ");
    }
}

impl From<bool> for Json {
    fn from(v: bool) -> Self {
        Json::Bool(v)
    }
}
impl From<u64> for Json {
    fn from(v: u64) -> Self {
        Json::Int(v as i64)
    }
}
impl From<usize> for Json {
    fn from(v: usize) -> Self {
        Json::Int(v as i64)
    }
}
impl From<u32> for Json {
    fn from(v: u32) -> Self {
        Json::Int(v as i64)
    }
}
impl From<i64> for Json {
    fn from(v: i64) -> Self {
        Json::Int(v)
    }
}
impl From<f64> for Json {
    fn from(v: f64) -> Self {
        Json::Num(v)
    }
}
impl From<&str> for Json {
    fn from(v: &str) -> Self {
        Json::Str(v.to_string())
    }
}
impl From<String> for Json {
    fn from(v: String) -> Self {
        Json::Str(v)
    }
}
impl From<Vec<Json>> for Json {
    fn from(v: Vec<Json>) -> Self {
        Json::Arr(v)
    }
}
impl<T: Into<Json>> From<Option<T>> for Json {
    fn from(v: Option<T>) -> Self {
        v.map(Into::into).unwrap_or(Json::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_nested_documents() {
        let j = Json::obj().with("a", 1u64).with("b", "x\"y").with("c", Json::Arr(vec![Json::Num(1.5), Json::Null])).with("d", 2.0);
        assert_eq!(j.pretty(), "{\n  \"a\": 1,\n  \"b\": \"x\\\"y\",\n  \"c\": [\n    1.5,\n    null\n  ],\n  \"d\": 2.0\n}\n");
    }
}
