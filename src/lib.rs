//! mixmuc: an XMPP component serving a MIX domain and a mirrored MUC domain
//! over one channel store (XEP-0369, XEP-0045, XEP-0408).
//!
//! Layers, from the wire inwards (docs/architecture.md): `link` (XEP-0114
//! connections) → `dispatch` (a stanza in, the stanzas out) → `router` (one
//! match from stanza to handler, and from event to renderers) → front ends
//! (`mix`, `muc`, and `disco`, `mam` shared by both) → the `channel` service
//! (domain operations and events) → the `store` (sqlx). `xmpp` holds the
//! wire types the link, the router and the front ends use.
//!
//! Public: what the binary, the tests and the bench tools need: start the
//! service (`app`, `config`), hand it stanzas (`service::Service::handle`),
//! the domain and the store to seed and inspect state (`channel`, `store`),
//! the link with its outgoing items (`link`, `outgoing`), and which panics
//! end the process (`panics`).

pub mod app;
mod adhoc;
mod bounce;
pub mod channel;
pub mod cli;
pub mod config;
mod disco;
mod dispatch;
pub mod error;
mod expire;
pub mod import;
/// For the libFuzzer targets only (fuzz/): `--cfg fuzzing` builds.
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing;
pub mod link;
pub mod logging;
pub mod metrics;
mod mam;
mod mix;
mod moderate;
mod muc;
mod notify;
pub mod outgoing;
pub mod panics;
mod relay;
mod router;
pub mod service;
pub mod store;
mod sweep;
mod xmpp;
