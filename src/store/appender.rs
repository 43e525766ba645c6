//! The connection the archive's appends go through, kept out of the pool.
//!
//! Every use of a pooled connection costs two more round trips besides the
//! statement: sqlx tests the connection when it is acquired (a ping; off for
//! SQLite) and again when it is given back (always). For SQLite each round
//! trip is a hand-over to the connection's own thread and back (two thread
//! wake-ups); for PostgreSQL a network round trip. Appends are the one
//! statement run for every batch of room messages, so they keep one
//! connection of their own: one round trip per batch. It is taken from the
//! pool once (`detach`, so it was set up by the pool's `after_connect`) and
//! counts as one of `[store] max_connections`.
//!
//! The connection is out of its slot while a statement runs: if the caller
//! is cancelled, or the statement fails on the connection itself (I/O,
//! protocol, or the server ending the session: a PostgreSQL shutdown sends
//! SQLSTATE 57P01 before it closes the socket), the slot stays empty and
//! the next append takes a fresh one. Such a failure also takes the store
//! for down (`health.rs`): the connection is not tested before each
//! append, so this is often where an outage is seen first.

use std::sync::Arc;

use sqlx::{AnyConnection, Connection};
use tokio::sync::Mutex;

use super::health::{is_outage, Gate};
use super::AnyQuery;
use crate::error::Result;

#[derive(Clone)]
pub struct Appender {
    gate: Gate,
    slot: Arc<Mutex<Option<AnyConnection>>>,
}

impl Appender {
    pub fn new(gate: Gate) -> Self {
        Appender { gate, slot: Arc::new(Mutex::new(None)) }
    }

    /// Runs one write statement on the appender's connection. Appends are
    /// serialised by the slot's lock, in the order they ask.
    pub async fn execute(&self, q: AnyQuery<'_>) -> Result<()> {
        let mut slot = self.slot.lock().await;
        let mut conn = match slot.take() {
            Some(c) => c,
            None => self.gate.acquire().await?.detach(),
        };
        match q.execute(&mut conn).await {
            Ok(_done) => {
                *slot = Some(conn);
                Ok(())
            }
            Err(e) => {
                if is_statement_error(&e) {
                    *slot = Some(conn);
                } else if !is_outage(&e) {
                    tracing::warn!(error = %e, "archive connection failed; the next append opens another");
                }
                Err(self.gate.failed(e))
            }
        }
    }

    /// Closes the connection, if one is open.
    pub async fn close(&self) {
        if let Some(c) = self.slot.lock().await.take() {
            let _closed = c.close().await;
        }
    }
}

/// An error of the statement (a constraint, bad SQL), after which the
/// connection is still fine to use. A database error that says the session
/// or the server is going away (`is_outage`) is not one.
fn is_statement_error(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(_) | sqlx::Error::Encode(_) | sqlx::Error::TypeNotFound { .. } | sqlx::Error::ColumnNotFound(_)) && !is_outage(e)
}
