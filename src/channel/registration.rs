//! Registered nicks, one registry for both views: a user registers a nick
//! in a channel (XEP-0045 §7.10 room registration; the MIX seed's
//! `<register/>` to a channel) or with the service (the seed's
//! `<register/>` to the service: every channel). A registered nick is
//! reserved for its owner: nobody else may take it as a nick, in either
//! view (`conflict`, 409), nor register it.
//!
//! Registering in a channel needs an affiliation (member, admin, owner),
//! as in Prosody: unaffiliated users are told `registration-required`
//! (membership is the admins' to give), outcasts `forbidden`. With the
//! service, any user may register one nick, not one another user holds or
//! uses anywhere.

use xmpp_parsers::jid::BareJid;

use super::roles::Affiliation;
use super::{ids, nick, Channels};
use crate::error::{Error, Result};
use crate::store::SERVICE_SCOPE;

/// Where a nick is registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope<'a> {
    /// With the service: every channel.
    Service,
    Channel(&'a str),
}

impl Scope<'_> {
    fn key(&self) -> &str {
        match self {
            Scope::Service => SERVICE_SCOPE,
            Scope::Channel(name) => name,
        }
    }
}

impl Channels {
    /// Refuses a nick (comparison key `key`) that another user registered
    /// in channel `name` or with the service.
    pub(crate) async fn check_reserved(&self, name: &str, jid: &str, key: &str) -> Result<()> {
        match self.store.nick_reserved_for_other(name, key, jid).await? {
            Some(_) => Err(Error::conflict("that nick is registered to another user")),
            None => Ok(()),
        }
    }

    /// The nick `jid` registered in `scope`.
    pub async fn registered_nick(&self, scope: Scope<'_>, jid: &BareJid) -> Result<Option<String>> {
        self.store.registered_nick(scope.key(), jid.as_str()).await
    }

    /// The nick `jid` should be known by in channel `name`: the one it
    /// registered there, else the one it registered with the service.
    pub async fn reserved_nick(&self, name: &str, jid: &BareJid) -> Result<Option<String>> {
        match self.store.registered_nick(name, jid.as_str()).await? {
            Some(n) => Ok(Some(n)),
            None => self.store.registered_nick(SERVICE_SCOPE, jid.as_str()).await,
        }
    }

    /// Whether `jid` may register in channel `name` (its affiliation).
    pub async fn check_may_register(&self, name: &str, jid: &BareJid) -> Result<()> {
        self.require(name).await?;
        if self.service_banned(jid).await? {
            return Err(Error::forbidden("you are banned from this service"));
        }
        match self.acting_affiliation(&self.affiliations(name).await?, jid.as_str()) {
            Affiliation::Outcast => Err(Error::forbidden("you are banned from this channel")),
            Affiliation::None => Err(Error::registration_required("only members may register a nick in this channel")),
            _ => Ok(()),
        }
    }

    /// Registers `raw` (or, without one, the user's nick in the channel, or
    /// a new unique one) for `jid` in `scope`; returns the nick registered
    /// (normalised: PRECIS Nickname profile).
    #[tracing::instrument(skip(self), level = "info")]
    pub async fn register_nick(&self, scope: Scope<'_>, jid: &BareJid, raw: Option<&str>) -> Result<String> {
        let current = match scope {
            Scope::Channel(name) => {
                self.check_may_register(name, jid).await?;
                self.store.get_participant(name, jid.as_str()).await?.and_then(|p| p.nick)
            }
            Scope::Service => None,
        };
        let raw = match raw.map(str::trim).filter(|r| !r.is_empty()) {
            Some(r) => r.to_string(),
            None => current.unwrap_or_else(ids::time_sorted_id),
        };
        let (nick, key) = nick::normalise(&raw)?;
        match scope {
            Scope::Channel(name) => {
                self.check_reserved(name, jid.as_str(), &key).await?;
                let participants = self.participants(name).await?;
                if nick::find(&participants, &nick).is_some_and(|p| p.jid != jid.as_str()) {
                    return Err(Error::conflict("another participant uses that nick in this channel"));
                }
            }
            Scope::Service => {
                if self.store.nick_taken_anywhere(&key, jid.as_str()).await?.is_some() {
                    return Err(Error::conflict("another user has registered or uses that nick"));
                }
            }
        }
        self.store.register_nick(scope.key(), jid.as_str(), &nick, &key).await?;
        tracing::info!(nick = %nick, "nick registered");
        Ok(nick)
    }

    /// Removes `jid`'s registration in `scope`; `item-not-found` when it
    /// had none.
    pub async fn unregister_nick(&self, scope: Scope<'_>, jid: &BareJid) -> Result<()> {
        if let Scope::Channel(name) = scope {
            self.require(name).await?;
        }
        match self.store.unregister_nick(scope.key(), jid.as_str()).await? {
            true => Ok(()),
            false => Err(Error::item_not_found().with_text("you have no registered nick here")),
        }
    }

    /// The channels where `jid` is a participant (a nick registered with
    /// the service becomes its nick in each).
    pub async fn channels_of(&self, jid: &BareJid) -> Result<Vec<String>> {
        self.store.channels_of(jid.as_str()).await
    }

    /// Registered nicks of channel `name`: (bare JID, nick).
    pub async fn registered_nicks(&self, name: &str) -> Result<Vec<(String, String)>> {
        self.store.registered_nicks(name).await
    }
}
