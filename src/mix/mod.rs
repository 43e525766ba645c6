//! The MIX front end (XEP-0369 and family): one file per operation; each
//! parses its request, calls the channel service, and returns the answer
//! and the domain events to render.

pub mod admin;
pub mod anon;
pub mod avatar;
pub mod config;
pub mod create;
pub mod destroy;
pub mod disco;
pub mod info;
pub mod invite;
pub mod jids;
pub mod join;
pub mod leave;
pub mod mam;
pub mod message;
pub mod preferences;
pub mod presence;
pub mod private;
pub mod pubsub;
pub mod register;
pub mod render;
pub mod retract;
pub mod setnick;
pub mod subscription;

use xmpp_parsers::minidom::Element;

use crate::error::{Error, Result};

/// Parses a payload into a wire type, or `bad-request` naming the element.
pub fn parse<T: TryFrom<Element>>(payload: &Element) -> Result<T>
where
    T::Error: std::fmt::Display,
{
    T::try_from(payload.clone()).map_err(|_| Error::bad_request(format!("malformed <{}/>", crate::error::quote(payload.name()).trim_matches('\''))))
}
