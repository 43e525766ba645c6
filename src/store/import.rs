//! Writes of `mixmuc import` (src/import/): a room taken over from another
//! MUC service, written whole in one transaction, and its archive in
//! batches that keep the original archive ids (a row whose id is there
//! already is left as it is, so an import can run again).

use sqlx::Row;

use super::archive::{bind_rows, values_list, NewMessage, INSERT_COLUMNS};
use super::channels::ChannelRow;
use super::Store;
use crate::error::Result;

/// The most archive rows `import_archive` takes at once (9 values each:
/// within SQLite's and PostgreSQL's limits on a statement's parameters).
pub const IMPORT_BATCH: usize = 1000;

/// A room as an import writes it: the channel's row, its affiliations
/// (bare JID, affiliation) and the nicks registered with it (bare JID,
/// nick, comparison key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomImport {
    pub channel: ChannelRow,
    pub affiliations: Vec<(String, String)>,
    pub nicks: Vec<(String, String, String)>,
}

impl Store {
    /// The room as the store has it now, in the form an import writes.
    pub async fn room_for_import(&self, name: &str) -> Result<Option<RoomImport>> {
        let Some(channel) = self.get_channel(name).await? else { return Ok(None) };
        let mut affiliations = self.list_affiliations(name).await?;
        affiliations.sort();
        let rows = sqlx::query("SELECT jid, nick, nick_key FROM registered_nicks WHERE channel = $1 AND channel <> '' ORDER BY jid")
            .bind(name)
            .fetch_all(&mut *self.conn().await?)
            .await?;
        let nicks = rows.iter().map(|r| Ok((r.try_get("jid")?, r.try_get("nick")?, r.try_get("nick_key")?))).collect::<sqlx::Result<_>>()?;
        Ok(Some(RoomImport { channel, affiliations, nicks }))
    }

    /// Writes the room in one transaction: its channel row (created, or
    /// every column replaced when it exists), and its affiliations and
    /// registered nicks made exactly these. Participants, occupants and
    /// the archive are not touched.
    #[tracing::instrument(skip(self, room), fields(name = %room.channel.name), level = "debug")]
    pub async fn write_imported_room(&self, room: &RoomImport) -> Result<()> {
        let c = &room.channel;
        let mut conn = self.conn().await?;
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        sqlx::query(
            "INSERT INTO channels (name, creator, created_at, adhoc, title, description, subject, subject_by, subject_at, jid_visibility, \
             public, members_only, max_users, allow_pm, change_subject, moderated, allow_invites, lang, locked, user_retraction, \
             retraction_rights, config_by, config_at, avatar_hash, contact, end_of_life) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26) \
             ON CONFLICT (name) DO UPDATE SET creator = excluded.creator, created_at = excluded.created_at, adhoc = excluded.adhoc, \
             title = excluded.title, description = excluded.description, subject = excluded.subject, subject_by = excluded.subject_by, \
             subject_at = excluded.subject_at, jid_visibility = excluded.jid_visibility, public = excluded.public, \
             members_only = excluded.members_only, max_users = excluded.max_users, allow_pm = excluded.allow_pm, \
             change_subject = excluded.change_subject, moderated = excluded.moderated, allow_invites = excluded.allow_invites, \
             lang = excluded.lang, locked = excluded.locked, user_retraction = excluded.user_retraction, \
             retraction_rights = excluded.retraction_rights, config_by = excluded.config_by, config_at = excluded.config_at, \
             avatar_hash = excluded.avatar_hash, contact = excluded.contact, end_of_life = excluded.end_of_life",
        )
        .bind(&c.name)
        .bind(&c.creator)
        .bind(c.created_at)
        .bind(c.adhoc as i64)
        .bind(&c.title)
        .bind(&c.description)
        .bind(&c.subject)
        .bind(&c.subject_by)
        .bind(c.subject_at)
        .bind(c.jid_visibility.as_str())
        .bind(c.public as i64)
        .bind(c.members_only as i64)
        .bind(c.max_users)
        .bind(&c.allow_pm)
        .bind(c.change_subject as i64)
        .bind(c.moderated as i64)
        .bind(c.allow_invites as i64)
        .bind(&c.lang)
        .bind(c.locked as i64)
        .bind(c.user_retraction as i64)
        .bind(&c.retraction_rights)
        .bind(&c.config_by)
        .bind(c.config_at)
        .bind(&c.avatar_hash)
        .bind(&c.contact)
        .bind(c.end_of_life)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM affiliations WHERE channel = $1").bind(&c.name).execute(&mut *tx).await?;
        for (jid, affiliation) in &room.affiliations {
            sqlx::query("INSERT INTO affiliations (channel, jid, affiliation) VALUES ($1, $2, $3)")
                .bind(&c.name)
                .bind(jid)
                .bind(affiliation)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("DELETE FROM registered_nicks WHERE channel = $1 AND channel <> ''").bind(&c.name).execute(&mut *tx).await?;
        for (jid, nick, key) in &room.nicks {
            sqlx::query("INSERT INTO registered_nicks (channel, jid, nick, nick_key) VALUES ($1, $2, $3, $4)")
                .bind(&c.name)
                .bind(jid)
                .bind(nick)
                .bind(key)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Which of these archive ids the archive holds, and in which channel:
    /// (id, channel).
    pub async fn archive_ids_present(&self, ids: &[String]) -> Result<Vec<(String, String)>> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let list: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
        let sql = format!("SELECT id, channel FROM archive WHERE id IN ({})", list.join(", "));
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in ids {
            q = q.bind(id.clone());
        }
        let rows = q.fetch_all(&mut *self.conn().await?).await?;
        rows.iter().map(|r| Ok((r.try_get("id")?, r.try_get("channel")?))).collect::<sqlx::Result<_>>().map_err(Into::into)
    }

    /// Archives imported messages in the order given, each with the
    /// archive id it had, all or none (one multi-row INSERT, atomic by
    /// itself); a row whose id the archive holds already is skipped.
    /// Returns how many were added. At most `IMPORT_BATCH` rows.
    #[tracing::instrument(skip(self, rows), fields(n = rows.len()), level = "debug")]
    pub async fn import_archive(&self, rows: Vec<NewMessage>) -> Result<u64> {
        if rows.is_empty() {
            return Ok(0);
        }
        if rows.len() > IMPORT_BATCH {
            return Err(crate::error::Error::internal(format!("{} archive rows in one import batch (at most {IMPORT_BATCH})", rows.len())));
        }
        let sql = format!("INSERT INTO archive ({INSERT_COLUMNS}) VALUES {} ON CONFLICT (id) DO NOTHING", values_list(self.backend, rows.len()));
        let q = bind_rows(sqlx::query(sqlx::AssertSqlSafe(sql)), rows);
        Ok(q.execute(&mut *self.conn().await?).await?.rows_affected())
    }
}
