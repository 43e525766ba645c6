//! Registered nicks: one registry for both views (migration 11). A
//! registration is with one channel, or with the service (channel `''`:
//! every channel).

use super::participants::is_unique_violation;
use super::Store;
use crate::error::{Error, Result};

/// The scope of a registration: the service (`""`) or a channel's name.
pub const SERVICE: &str = "";

impl Store {
    /// The nick `jid` registered in `scope` (a channel, or `SERVICE`).
    pub async fn registered_nick(&self, scope: &str, jid: &str) -> Result<Option<String>> {
        Ok(sqlx::query_scalar::<_, String>("SELECT nick FROM registered_nicks WHERE channel = $1 AND jid = $2")
            .bind(scope)
            .bind(jid)
            .fetch_optional(&mut *self.conn().await?)
            .await?)
    }

    /// Who else than `jid` holds a nick with this key in channel `name`:
    /// registered there or with the service.
    pub async fn nick_reserved_for_other(&self, name: &str, key: &str, jid: &str) -> Result<Option<String>> {
        Ok(sqlx::query_scalar::<_, String>("SELECT jid FROM registered_nicks WHERE nick_key = $1 AND (channel = $2 OR channel = '') AND jid <> $3 LIMIT 1")
            .bind(key)
            .bind(name)
            .bind(jid)
            .fetch_optional(&mut *self.conn().await?)
            .await?)
    }

    /// Who else than `jid` holds a nick with this key anywhere: registered
    /// in any channel or with the service, or in use by a participant.
    pub async fn nick_taken_anywhere(&self, key: &str, jid: &str) -> Result<Option<String>> {
        let registered = sqlx::query_scalar::<_, String>("SELECT jid FROM registered_nicks WHERE nick_key = $1 AND jid <> $2 LIMIT 1")
            .bind(key)
            .bind(jid)
            .fetch_optional(&mut *self.conn().await?)
            .await?;
        if registered.is_some() {
            return Ok(registered);
        }
        Ok(sqlx::query_scalar::<_, String>("SELECT jid FROM participants WHERE nick_key = $1 AND jid <> $2 LIMIT 1")
            .bind(key)
            .bind(jid)
            .fetch_optional(&mut *self.conn().await?)
            .await?)
    }

    /// Registers (or changes) `jid`'s nick in `scope`; `conflict` when
    /// another user holds the key there.
    pub async fn register_nick(&self, scope: &str, jid: &str, nick: &str, key: &str) -> Result<()> {
        let r = sqlx::query(
            "INSERT INTO registered_nicks (channel, jid, nick, nick_key) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (channel, jid) DO UPDATE SET nick = excluded.nick, nick_key = excluded.nick_key",
        )
        .bind(scope)
        .bind(jid)
        .bind(nick)
        .bind(key)
        .execute(&mut *self.conn().await?)
        .await;
        match r {
            Ok(_) => Ok(()),
            Err(e) if is_unique_violation(&e) => Err(Error::conflict("that nick is registered to another user")),
            Err(e) => Err(e.into()),
        }
    }

    /// Removes `jid`'s registration in `scope`; whether there was one.
    pub async fn unregister_nick(&self, scope: &str, jid: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM registered_nicks WHERE channel = $1 AND jid = $2").bind(scope).bind(jid).execute(&mut *self.conn().await?).await?;
        Ok(done.rows_affected() > 0)
    }

    /// Registered nicks in channel `name` (not the service's): (jid, nick).
    pub async fn registered_nicks(&self, name: &str) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query_as::<_, (String, String)>("SELECT jid, nick FROM registered_nicks WHERE channel = $1 AND channel <> ''")
            .bind(name)
            .fetch_all(&mut *self.conn().await?)
            .await?;
        Ok(rows)
    }

    /// The channels where `jid` is a participant.
    pub async fn channels_of(&self, jid: &str) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar::<_, String>("SELECT channel FROM participants WHERE jid = $1").bind(jid).fetch_all(&mut *self.conn().await?).await?)
    }
}
