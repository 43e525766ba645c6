//! mixmuc: an XMPP component serving a MIX domain and a mirrored MUC domain
//! over one channel store (XEP-0369, XEP-0045, XEP-0408).
//!
//! Layers, from the wire inwards: `link` (XEP-0114 connections) → `router`
//! (one match from stanza to handler) → front ends (`mix`, `disco`) → the
//! `channel` service (domain operations) → the `store` (sqlx).

pub mod app;
pub mod channel;
pub mod config;
pub mod disco;
pub mod dispatch;
pub mod error;
pub mod link;
pub mod mam;
pub mod mix;
pub mod muc;
pub mod outgoing;
pub mod router;
pub mod service;
pub mod store;
pub mod xmpp;
