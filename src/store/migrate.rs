//! Versioned migrations, embedded in the binary, one set per backend.

use std::borrow::Cow;

use sqlx::migrate::{MigrateError, Migration, MigrationType, Migrator};

use super::{Backend, Store};

/// (version, description, SQLite text, PostgreSQL text)
const MIGRATIONS: &[(i64, &str, &str, &str)] = &[
    (1, "initial", include_str!("../../migrations/sqlite/0001_initial.sql"), include_str!("../../migrations/postgres/0001_initial.sql")),
    (2, "occupants", include_str!("../../migrations/sqlite/0002_occupants.sql"), include_str!("../../migrations/postgres/0002_occupants.sql")),
    (3, "settings", include_str!("../../migrations/sqlite/0003_settings.sql"), include_str!("../../migrations/postgres/0003_settings.sql")),
    (4, "room_config", include_str!("../../migrations/sqlite/0004_room_config.sql"), include_str!("../../migrations/postgres/0004_room_config.sql")),
    (5, "presence", include_str!("../../migrations/sqlite/0005_presence.sql"), include_str!("../../migrations/postgres/0005_presence.sql")),
    (6, "archive_counts", include_str!("../../migrations/sqlite/0006_archive_counts.sql"), include_str!("../../migrations/postgres/0006_archive_counts.sql")),
    (7, "archive_visibility", include_str!("../../migrations/sqlite/0007_archive_visibility.sql"), include_str!("../../migrations/postgres/0007_archive_visibility.sql")),
    (8, "user_preferences", include_str!("../../migrations/sqlite/0008_user_preferences.sql"), include_str!("../../migrations/postgres/0008_user_preferences.sql")),
    (9, "seen_at", include_str!("../../migrations/sqlite/0009_seen_at.sql"), include_str!("../../migrations/postgres/0009_seen_at.sql")),
    (10, "retraction", include_str!("../../migrations/sqlite/0010_retraction.sql"), include_str!("../../migrations/postgres/0010_retraction.sql")),
    (11, "registered_nicks", include_str!("../../migrations/sqlite/0011_registered_nicks.sql"), include_str!("../../migrations/postgres/0011_registered_nicks.sql")),
    (12, "avatars", include_str!("../../migrations/sqlite/0012_avatars.sql"), include_str!("../../migrations/postgres/0012_avatars.sql")),
    (13, "service_bans", include_str!("../../migrations/sqlite/0013_service_bans.sql"), include_str!("../../migrations/postgres/0013_service_bans.sql")),
];

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store URL {0} is neither sqlite: nor postgres://")]
    Url(String),
    #[error("cannot open the store at {0}: {1}")]
    Connect(String, String),
    #[error("the database has schema version {found}, newer than this mixmuc knows (up to {known}); run a newer mixmuc or restore a matching backup")]
    TooNew { found: i64, known: i64 },
    #[error("migration failed: {0}")]
    Migrate(String),
    /// A service is using the store (`serving.rs`): who holds its lock.
    #[error("{0}")]
    Running(String),
    /// A backup was not made (`backup.rs`): why.
    #[error("backup: {0}")]
    Backup(String),
}

/// What `migrate` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrateReport {
    pub before: Option<i64>,
    pub after: i64,
}

fn migrator(backend: Backend) -> Migrator {
    Migrator::with_migrations(
        MIGRATIONS
            .iter()
            .map(|(v, d, lite, pg)| {
                let sql = match backend {
                    Backend::Sqlite => *lite,
                    Backend::Postgres => *pg,
                };
                Migration::new(*v, Cow::Borrowed(*d), MigrationType::Simple, sqlx::SqlSafeStr::into_sql_str(sql), false)
            })
            .collect(),
    )
}

/// The schema version this mixmuc writes: its newest migration.
pub fn known_version() -> i64 {
    MIGRATIONS.last().map(|m| m.0).unwrap_or(0)
}

impl Store {
    /// Applies pending migrations; refuses a database newer than the code.
    pub async fn migrate(&self) -> Result<MigrateReport, StoreError> {
        let known = known_version();
        let before = self.schema_version().await;
        if let Some(found) = before {
            if found > known {
                return Err(StoreError::TooNew { found, known });
            }
        }
        migrator(self.backend).run(&self.pool).await.map_err(|e| match e {
            MigrateError::VersionMissing(found) | MigrateError::VersionTooNew(found, _) => StoreError::TooNew { found, known },
            other => StoreError::Migrate(other.to_string()),
        })?;
        Ok(MigrateReport { before, after: known })
    }

    /// The newest applied migration, if any has been applied.
    pub async fn schema_version(&self) -> Option<i64> {
        sqlx::query_scalar::<_, i64>("SELECT MAX(version) FROM _sqlx_migrations WHERE success = TRUE")
            .fetch_one(&self.pool)
            .await
            .ok()
    }
}
