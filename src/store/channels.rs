//! Channels: create, look up, list, delete.

use sqlx::any::AnyRow;
use sqlx::{FromRow, Row};

use super::preferences::JidVisibility;
use super::Store;
use crate::error::Result;

/// A channel as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelRow {
    pub name: String,
    pub creator: String,
    pub created_at: i64,
    pub adhoc: bool,
    pub title: String,
    pub description: String,
    pub subject: String,
    pub subject_by: String,
    /// When the subject was set (ms), 0 if never.
    pub subject_at: i64,
    /// Who sees participants' real JIDs (XEP-0404 mode; MUC anonymity).
    pub jid_visibility: JidVisibility,
    /// Listed in disco#items (MUC public / hidden).
    pub public: bool,
    /// Only members (MIX allowed node) may enter or join.
    pub members_only: bool,
    /// Most users in the room at once; 0 = no limit.
    pub max_users: i64,
    /// Who may send private messages: `anyone`, `participants`, `moderators`, `none`.
    pub allow_pm: String,
    /// Participants (not only moderators) may change the subject.
    pub change_subject: bool,
    /// Only occupants with voice may speak.
    pub moderated: bool,
    /// Participants (not only admins) may invite.
    pub allow_invites: bool,
    /// muc#roomconfig_lang, '' if unset.
    pub lang: String,
    /// Created by MUC presence and not yet configured (XEP-0045 10.1).
    pub locked: bool,
    /// Senders may retract their own messages (MIX 'User Message Retraction').
    pub user_retraction: bool,
    /// Who may retract anyone's message: `nobody`, `owners`, `admins`,
    /// `moderators` (MIX 'Administrator Message Retraction Rights').
    pub retraction_rights: String,
    /// Who changed the configuration last (bare JID; '' if nobody has
    /// since its creation), and when (ms; 0).
    pub config_by: String,
    pub config_at: i64,
    /// SHA-1 (hex) of the channel's avatar, '' when it has none (the image:
    /// `Store::avatar`).
    pub avatar_hash: String,
    /// Who is responsible for the channel (MIX 'Contact'): bare JIDs, one
    /// per line; '' for none (`contacts()`).
    pub contact: String,
    /// When the service removes the channel (ms; MIX 'End of Life'); 0:
    /// permanent.
    pub end_of_life: i64,
}

impl ChannelRow {
    /// Every participant's real JID is shown to everyone (jid-visible,
    /// MUC non-anonymous).
    pub fn jid_visible(&self) -> bool {
        self.jid_visibility == JidVisibility::Visible
    }

    /// The contacts' bare JIDs.
    pub fn contacts(&self) -> Vec<String> {
        self.contact.lines().filter(|l| !l.is_empty()).map(str::to_string).collect()
    }
}

impl<'r> FromRow<'r, AnyRow> for ChannelRow {
    fn from_row(r: &'r AnyRow) -> sqlx::Result<Self> {
        Ok(ChannelRow {
            name: r.try_get("name")?,
            creator: r.try_get("creator")?,
            created_at: r.try_get("created_at")?,
            adhoc: r.try_get::<i64, _>("adhoc")? != 0,
            title: r.try_get("title")?,
            description: r.try_get("description")?,
            subject: r.try_get("subject")?,
            subject_by: r.try_get("subject_by")?,
            subject_at: r.try_get("subject_at")?,
            jid_visibility: JidVisibility::parse(&r.try_get::<String, _>("jid_visibility")?).unwrap_or_default(),
            public: r.try_get::<i64, _>("public")? != 0,
            members_only: r.try_get::<i64, _>("members_only")? != 0,
            max_users: r.try_get("max_users")?,
            allow_pm: r.try_get("allow_pm")?,
            change_subject: r.try_get::<i64, _>("change_subject")? != 0,
            moderated: r.try_get::<i64, _>("moderated")? != 0,
            allow_invites: r.try_get::<i64, _>("allow_invites")? != 0,
            lang: r.try_get("lang")?,
            locked: r.try_get::<i64, _>("locked")? != 0,
            user_retraction: r.try_get::<i64, _>("user_retraction")? != 0,
            retraction_rights: r.try_get("retraction_rights")?,
            config_by: r.try_get("config_by")?,
            config_at: r.try_get("config_at")?,
            avatar_hash: r.try_get("avatar_hash")?,
            contact: r.try_get("contact")?,
            end_of_life: r.try_get("end_of_life")?,
        })
    }
}

const COLUMNS: &str = "name, creator, created_at, adhoc, title, description, subject, subject_by, subject_at, jid_visibility, \
                       public, members_only, max_users, allow_pm, change_subject, moderated, allow_invites, lang, locked, \
                       user_retraction, retraction_rights, config_by, config_at, avatar_hash, contact, end_of_life";

impl Store {
    /// Inserts a channel with its creator as owner. Returns false when the
    /// name is taken (nothing is changed then).
    #[tracing::instrument(skip(self), level = "debug")]
    pub async fn create_channel(&self, name: &str, creator: &str, adhoc: bool, jid_visibility: JidVisibility, now: i64) -> Result<bool> {
        let mut conn = self.conn().await?;
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        let inserted = sqlx::query(
            "INSERT INTO channels (name, creator, created_at, adhoc, jid_visibility) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(creator)
        .bind(now)
        .bind(adhoc as i64)
        .bind(jid_visibility.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if inserted {
            sqlx::query("INSERT INTO affiliations (channel, jid, affiliation) VALUES ($1, $2, 'owner')")
                .bind(name)
                .bind(creator)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(inserted)
    }

    /// The channel of that name, if any.
    pub async fn get_channel(&self, name: &str) -> Result<Option<ChannelRow>> {
        Ok(sqlx::query_as::<_, ChannelRow>(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM channels WHERE name = $1")))
            .bind(name)
            .fetch_optional(&mut *self.conn().await?)
            .await?)
    }

    /// Every channel, by name.
    pub async fn list_channels(&self) -> Result<Vec<ChannelRow>> {
        Ok(sqlx::query_as::<_, ChannelRow>(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM channels ORDER BY name")))
            .fetch_all(&mut *self.conn().await?)
            .await?)
    }

    /// Removes a channel with everything of it: its participants (with
    /// their online MIX clients), MUC sessions, affiliations, avatar and
    /// the nicks registered in it; the archive (and its count) too when
    /// `drop_archive`. Returns false when there was no such channel. The
    /// service's destroys and the host's `mixmuc admin destroy` alike.
    #[tracing::instrument(skip(self), level = "debug")]
    pub async fn delete_channel(&self, name: &str, drop_archive: bool) -> Result<bool> {
        let mut conn = self.conn().await?;
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        for table in ["occupants", "mix_presence", "participants", "affiliations", "avatars"] {
            sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table} WHERE channel = $1")))
                .bind(name)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("DELETE FROM registered_nicks WHERE channel = $1 AND channel <> ''").bind(name).execute(&mut *tx).await?;
        if drop_archive {
            sqlx::query("DELETE FROM archive WHERE channel = $1").bind(name).execute(&mut *tx).await?;
            // Its count, 0 now, would otherwise stay behind.
            sqlx::query("DELETE FROM archive_counts WHERE channel = $1").bind(name).execute(&mut *tx).await?;
        }
        let gone = sqlx::query("DELETE FROM channels WHERE name = $1").bind(name).execute(&mut *tx).await?.rows_affected() == 1;
        tx.commit().await?;
        Ok(gone)
    }
}

impl Store {
    /// Channels whose end of life is at or before `now` (ms).
    pub async fn expired_channels(&self, now: i64) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar::<_, String>("SELECT name FROM channels WHERE end_of_life > 0 AND end_of_life <= $1")
            .bind(now)
            .fetch_all(&mut *self.conn().await?)
            .await?)
    }

    /// The channel's avatar: (media type, base64 data).
    pub async fn avatar(&self, name: &str) -> Result<Option<(String, String)>> {
        Ok(sqlx::query_as::<_, (String, String)>("SELECT media_type, data FROM avatars WHERE channel = $1")
            .bind(name)
            .fetch_optional(&mut *self.conn().await?)
            .await?)
    }

    /// Sets (media type, base64 data, SHA-1 hex) or removes the channel's
    /// avatar, with the hash on the channel row, in one transaction.
    pub async fn set_avatar(&self, name: &str, avatar: Option<(&str, &str, &str)>) -> Result<()> {
        let mut conn = self.conn().await?;
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        sqlx::query("DELETE FROM avatars WHERE channel = $1").bind(name).execute(&mut *tx).await?;
        let hash = match avatar {
            Some((media_type, data, hash)) => {
                sqlx::query("INSERT INTO avatars (channel, media_type, data) VALUES ($1, $2, $3)").bind(name).bind(media_type).bind(data).execute(&mut *tx).await?;
                hash
            }
            None => "",
        };
        sqlx::query("UPDATE channels SET avatar_hash = $1 WHERE name = $2").bind(hash).bind(name).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets the subject (shown in both views).
    pub async fn set_subject(&self, name: &str, subject: &str, by: &str) -> Result<()> {
        sqlx::query("UPDATE channels SET subject = $1, subject_by = $2, subject_at = $3 WHERE name = $4")
            .bind(subject)
            .bind(by)
            .bind(super::now_ms())
            .bind(name)
            .execute(&mut *self.conn().await?)
            .await?;
        Ok(())
    }
}

impl Store {
    /// How many channels `creator` (a bare JID) created, and how many users
    /// of its domain did (for the creation quotas).
    pub async fn channels_created(&self, creator: &str) -> Result<(i64, i64)> {
        let domain = creator.rsplit_once('@').map(|(_, d)| d).unwrap_or(creator);
        let by_user: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM channels WHERE creator = $1").bind(creator).fetch_one(&mut *self.conn().await?).await?;
        // A suffix compared as text: no LIKE, whose wildcards differ between the backends.
        let by_domain: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM channels WHERE substr(creator, length(creator) - length($1) + 1) = $1")
            .bind(format!("@{domain}"))
            .fetch_one(&mut *self.conn().await?)
            .await?;
        Ok((by_user, by_domain))
    }
}

impl Store {
    /// Writes the configurable settings of `row` (everything but name,
    /// creator, creation time, ad-hoc flag and subject) to its channel.
    #[tracing::instrument(skip(self, row), fields(name = %row.name), level = "debug")]
    pub async fn update_config(&self, row: &ChannelRow) -> Result<()> {
        sqlx::query(
            "UPDATE channels SET title = $1, description = $2, jid_visibility = $3, public = $4, members_only = $5, max_users = $6, \
             allow_pm = $7, change_subject = $8, moderated = $9, allow_invites = $10, lang = $11, locked = $12, \
             user_retraction = $13, retraction_rights = $14, config_by = $15, config_at = $16, contact = $17, end_of_life = $18 WHERE name = $19",
        )
        .bind(&row.title)
        .bind(&row.description)
        .bind(row.jid_visibility.as_str())
        .bind(row.public as i64)
        .bind(row.members_only as i64)
        .bind(row.max_users)
        .bind(&row.allow_pm)
        .bind(row.change_subject as i64)
        .bind(row.moderated as i64)
        .bind(row.allow_invites as i64)
        .bind(&row.lang)
        .bind(row.locked as i64)
        .bind(row.user_retraction as i64)
        .bind(&row.retraction_rights)
        .bind(&row.config_by)
        .bind(row.config_at)
        .bind(&row.contact)
        .bind(row.end_of_life)
        .bind(&row.name)
        .execute(&mut *self.conn().await?)
        .await?;
        Ok(())
    }
}

impl Store {
    /// An installation-wide setting.
    pub async fn setting(&self, key: &str) -> Result<Option<String>> {
        Ok(sqlx::query_scalar::<_, String>("SELECT value FROM settings WHERE key = $1").bind(key).fetch_optional(&mut *self.conn().await?).await?)
    }
}
