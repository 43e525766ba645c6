//! Prosody's SQL storage (`mod_storage_sql`) on SQLite, read only.
//!
//! Rooms are in the key-value table `prosody` (host, user = the room's
//! localpart, store `config`, one row per key of the frozen room, typed
//! `string`, `number`, `boolean` or `json`); their archives in
//! `prosodyarchive` (store `muc_log`, key = archive id, `when` in seconds,
//! `with` = `message<groupchat`, value = the stanza's XML), in `sort_id`
//! order. The queries are on Prosody's database, not mixmuc's store, so
//! they live here rather than in `store/`.

use std::path::Path;

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Row};

use super::lua::{Key, Table, Value};
use super::message::SourceMessage;

/// An open Prosody database.
pub struct ProsodySql {
    conn: SqliteConnection,
    host: String,
}

impl ProsodySql {
    pub async fn open(path: &Path, host: &str) -> Result<ProsodySql, String> {
        if !path.is_file() {
            return Err(format!("{}: no such file", path.display()));
        }
        let conn = SqliteConnectOptions::new()
            .filename(path)
            .read_only(true)
            .connect()
            .await
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let mut db = ProsodySql { conn, host: host.to_string() };
        for table in ["prosody", "prosodyarchive"] {
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $1")
                .bind(table)
                .fetch_one(&mut db.conn)
                .await
                .map_err(|e| format!("{}: {e}", path.display()))?;
            if n == 0 {
                return Err(format!("{}: no table `{table}`; not a database of Prosody's mod_storage_sql", path.display()));
            }
        }
        Ok(db)
    }

    /// The MUC domain read.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The localparts of the rooms stored for the host, sorted.
    pub async fn rooms(&mut self) -> Result<Vec<String>, String> {
        sqlx::query_scalar::<_, String>("SELECT DISTINCT \"user\" FROM prosody WHERE host = $1 AND store = 'config' ORDER BY \"user\"")
            .bind(&self.host)
            .fetch_all(&mut self.conn)
            .await
            .map_err(|e| format!("reading the rooms: {e}"))
    }

    /// The frozen room: a table of its keys.
    pub async fn room(&mut self, name: &str) -> Result<Table, String> {
        let rows = sqlx::query("SELECT \"key\", \"type\", \"value\" FROM prosody WHERE host = $1 AND \"user\" = $2 AND store = 'config' ORDER BY \"key\"")
            .bind(&self.host)
            .bind(name)
            .fetch_all(&mut self.conn)
            .await
            .map_err(|e| format!("reading the room: {e}"))?;
        let mut t = Table::default();
        for r in rows {
            let key: String = r.try_get("key").map_err(|e| e.to_string())?;
            let kind: String = r.try_get("type").map_err(|e| e.to_string())?;
            let value: String = r.try_get("value").map_err(|e| e.to_string())?;
            let v = typed(&kind, &value).map_err(|e| format!("key {key:?}: {e}"))?;
            t.map.push((Key::Str(key), v));
        }
        Ok(t)
    }

    /// Up to `limit` archive items of the room after `after` (a
    /// `sort_id`; 0 from the start), with the last one's `sort_id`.
    pub async fn archive_page(&mut self, name: &str, after: i64, limit: i64) -> Result<(Vec<SourceMessage>, i64), String> {
        let rows = sqlx::query(
            "SELECT sort_id, \"key\", \"when\", \"with\", \"type\", \"value\" FROM prosodyarchive \
             WHERE host = $1 AND \"user\" = $2 AND store = 'muc_log' AND sort_id > $3 ORDER BY sort_id LIMIT $4",
        )
        .bind(&self.host)
        .bind(name)
        .bind(after)
        .bind(limit)
        .fetch_all(&mut self.conn)
        .await
        .map_err(|e| format!("reading the archive: {e}"))?;
        let mut last = after;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            last = r.try_get("sort_id").map_err(|e| e.to_string())?;
            let id: String = r.try_get("key").map_err(|e| e.to_string())?;
            let kind: String = r.try_get("type").map_err(|e| e.to_string())?;
            if kind != "xml" {
                return Err(format!("archived message {id}: stored as {kind:?}, not as XML"));
            }
            out.push(SourceMessage {
                when: r.try_get::<i64, _>("when").map_err(|e| format!("archived message {id}: {e}"))? as f64,
                with: r.try_get("with").map_err(|e| e.to_string())?,
                xml: r.try_get("value").map_err(|e| e.to_string())?,
                id,
            });
        }
        Ok((out, last))
    }
}

/// A value as `mod_storage_sql` serialised it.
fn typed(kind: &str, value: &str) -> Result<Value, String> {
    match kind {
        "string" => Ok(Value::Str(value.to_string())),
        "boolean" => match value {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(format!("{value:?} is not a boolean")),
        },
        "number" => match value.parse::<i64>() {
            Ok(i) => Ok(Value::Int(i)),
            Err(_) => value.parse::<f64>().map(Value::Float).map_err(|_| format!("{value:?} is not a number")),
        },
        "json" => {
            let j: serde_json::Value = serde_json::from_str(value).map_err(|e| format!("bad JSON: {e}"))?;
            Ok(from_json(j))
        }
        other => Err(format!("a value of type {other:?}, which rooms do not have")),
    }
}

/// Prosody's JSON of a Lua table: an object's members are keyed items, an
/// array's elements the array part.
fn from_json(j: serde_json::Value) -> Value {
    match j {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        serde_json::Value::String(s) => Value::Str(s),
        serde_json::Value::Array(a) => Value::Table(Table { array: a.into_iter().map(from_json).collect(), map: vec![] }),
        serde_json::Value::Object(o) => Value::Table(Table { array: vec![], map: o.into_iter().map(|(k, v)| (Key::Str(k), from_json(v))).collect() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_typed_values() {
        assert_eq!(typed("boolean", "true").unwrap(), Value::Bool(true));
        assert_eq!(typed("number", "1733250000").unwrap(), Value::Int(1733250000));
        assert_eq!(typed("number", "0.5").unwrap(), Value::Float(0.5));
        let t = typed("json", r#"{"persistent":true,"name":"Coven","hats":[]}"#).unwrap();
        let t = t.as_table().unwrap();
        assert_eq!(t.get("name"), Some(&Value::Str("Coven".into())));
        assert_eq!(t.get("hats"), Some(&Value::Table(Table::default())));
        assert!(typed("boolean", "yes").is_err());
        assert!(typed("json", "{").is_err());
        assert!(typed("xml", "<a/>").is_err());
    }
}
