//! The channel's avatar, one image for both views: owners set it through
//! the MUC view (a vCard on the room, XEP-0486) or the MIX view (the
//! channel's XEP-0084 avatar nodes); the channel row keeps its SHA-1 hash
//! (disco, the MIX metadata), the store the image. A change is a
//! configuration change (MUC status 104).

use std::sync::Arc;

use base64::Engine;
use sha1::{Digest, Sha1};
use xmpp_parsers::jid::BareJid;

use super::event::Event;
use super::Channels;
use crate::error::{Error, Result};

/// Largest avatar image accepted (bytes, decoded).
pub const MAX_BYTES: usize = 64 * 1024;

/// An avatar as stored: media type and base64 data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Avatar {
    pub media_type: String,
    pub base64: String,
}

/// SHA-1 of the image, lower-case hex (XEP-0153, XEP-0084 item ids).
pub fn hash(bytes: &[u8]) -> String {
    Sha1::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

impl Channels {
    /// The channel's avatar, for those who may see the channel: anyone when
    /// it is public, else its participants and admins (`forbidden`).
    pub async fn avatar(&self, name: &str, asker: &BareJid) -> Result<Option<Avatar>> {
        let channel = self.require(name).await?;
        if !channel.public && self.participants(name).await?.iter().all(|p| p.jid != asker.as_str()) && !self.is_owner(name, asker).await? {
            return Err(Error::forbidden("only participants may see this channel's avatar"));
        }
        self.stored_avatar(name).await
    }

    /// The channel's avatar without an access check (for what the service
    /// itself sends: notifications to the metadata node's subscribers).
    pub async fn stored_avatar(&self, name: &str) -> Result<Option<Avatar>> {
        Ok(self.store.avatar(name).await?.map(|(media_type, base64)| Avatar { media_type, base64 }))
    }

    /// Sets (base64 data, media type) or, with `None`, removes the avatar;
    /// owners only. `not-acceptable` for data that is no base64 image of
    /// at most `MAX_BYTES`.
    #[tracing::instrument(skip(self, avatar), fields(by = %by), level = "info")]
    pub async fn set_avatar(&self, name: &str, by: &BareJid, avatar: Option<(&str, &str)>) -> Result<Vec<Event>> {
        let old = self.require_owner(name, by).await.map_err(|_| Error::forbidden("only owners may set the avatar"))?;
        let new_hash = match avatar {
            Some((base64_data, media_type)) => {
                let compact: String = base64_data.split_whitespace().collect();
                let bytes = base64::engine::general_purpose::STANDARD.decode(compact.as_bytes()).map_err(|_| Error::bad_request("the avatar is not base64"))?;
                if bytes.is_empty() {
                    return Err(Error::not_acceptable("the avatar is empty"));
                }
                if bytes.len() > MAX_BYTES {
                    return Err(Error::not_acceptable(format!("the avatar is larger than {MAX_BYTES} bytes")));
                }
                if !media_type.starts_with("image/") || media_type.len() > 100 {
                    return Err(Error::not_acceptable("the avatar's type must be an image type such as image/png"));
                }
                let h = hash(&bytes);
                self.store.set_avatar(name, Some((media_type, &compact, &h))).await?;
                h
            }
            None => {
                self.store.set_avatar(name, None).await?;
                String::new()
            }
        };
        self.invalidate(name).await;
        if new_hash == old.avatar_hash {
            return Ok(vec![]);
        }
        tracing::info!(channel = %name, hash = %new_hash, "avatar changed");
        let channel = self.require(name).await?;
        Ok(vec![Event::ConfigChanged { channel, old, affiliations: Arc::new(vec![]) }])
    }
}
