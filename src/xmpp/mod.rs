//! Wire types and helpers that xmpp-parsers lacks. No I/O here.

pub mod ns;
pub mod reply;
pub mod form;
pub mod mix;
