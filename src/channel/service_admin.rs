//! What the service admins (`[service] admins`) do to the whole service,
//! and room owners to their room's archive: the operations behind the
//! ad-hoc commands (XEP-0050, `crate::adhoc`), the same in both views.
//!
//! A service-wide ban names a bare JID or a domain (every JID of it); it
//! holds in every channel whatever the channel's own affiliations say
//! (`check_not_banned`), and removes the users it covers from every channel
//! as a ban from inside each would (`Event::Removed` with `Removal::Banned`).
//! A service-wide kick removes a user from every channel (`Removal::Kicked`).
//! An announcement is a message from each channel itself, not archived
//! (`Event::Announced`).

use std::sync::Arc;

use xmpp_parsers::jid::BareJid;

use super::event::{Actor, Announcement, Event, Removal};
use super::Channels;
use crate::error::{Error, Result};
use crate::store::{now_ms, AdminChanges, ChannelFigures, ChannelRow, ServiceBan, ServiceFigures};

/// Most channels on one page of the admins' channel list.
pub const MAX_PAGE: usize = 500;

/// Most characters of an announcement.
pub const MAX_ANNOUNCEMENT: usize = 10_000;

/// One page of the channel list.
#[derive(Debug, Clone)]
pub struct ChannelPage {
    /// Channels on the page, by name, with their figures.
    pub channels: Vec<(ChannelRow, ChannelFigures)>,
    /// Channels on the service.
    pub total: usize,
    /// Pages of this size.
    pub pages: usize,
}

impl Channels {
    /// `forbidden` unless `jid` is a service admin.
    pub fn require_service_admin(&self, jid: &BareJid) -> Result<()> {
        if self.rights.is_admin(jid) {
            Ok(())
        } else {
            Err(Error::forbidden("only the service's admins may do this"))
        }
    }

    /// Whether `jid` (or its domain) is banned from the whole service.
    pub async fn service_banned(&self, jid: &BareJid) -> Result<bool> {
        self.store.service_banned(jid.as_str(), jid.domain().as_str()).await
    }

    /// Page `page` (from 1) of every channel, `per_page` a page, by name,
    /// with what each holds. An empty page past the last.
    pub async fn channel_page(&self, admin: &BareJid, page: usize, per_page: usize) -> Result<ChannelPage> {
        self.require_service_admin(admin)?;
        let per_page = per_page.clamp(1, MAX_PAGE);
        let all = self.store.list_channels().await?;
        let total = all.len();
        let rows: Vec<ChannelRow> = all.into_iter().skip(page.saturating_sub(1).saturating_mul(per_page)).take(per_page).collect();
        let names: Vec<String> = rows.iter().map(|r| r.name.clone()).collect();
        let channels = rows.into_iter().zip(self.store.channel_figures(&names).await?).collect();
        Ok(ChannelPage { channels, total, pages: total.div_ceil(per_page) })
    }

    /// The service's figures.
    pub async fn service_figures(&self, admin: &BareJid) -> Result<ServiceFigures> {
        self.require_service_admin(admin)?;
        self.store.service_figures().await
    }

    /// Every service-wide ban.
    pub async fn service_bans(&self, admin: &BareJid) -> Result<Vec<ServiceBan>> {
        self.require_service_admin(admin)?;
        self.store.service_bans().await
    }

    /// Bans `target` (a bare JID, or a domain: every JID of it) from every
    /// channel, and removes those it covers from every channel they are in.
    /// A service admin cannot be banned, nor a domain one of them is of.
    #[tracing::instrument(skip(self), fields(admin = %admin), level = "info")]
    pub async fn service_ban(&self, admin: &BareJid, target: &str, reason: Option<&str>) -> Result<Vec<Event>> {
        self.require_service_admin(admin)?;
        if target == admin.as_str() {
            return Err(Error::conflict("you may not ban yourself"));
        }
        if let Some(a) = self.rights.admins().iter().find(|a| a.as_str() == target || a.domain().as_str() == target) {
            return Err(Error::conflict(if a == admin { "you may not ban your own server".to_string() } else { format!("{target} covers a service admin") }));
        }
        self.store.add_service_ban(target, reason.unwrap_or(""), admin.as_str(), now_ms()).await?;
        tracing::info!(target, "service-wide ban");
        self.remove_everywhere(admin, target, Removal::Banned, reason).await
    }

    /// Lifts a service-wide ban; `item-not-found` when there is none.
    #[tracing::instrument(skip(self), fields(admin = %admin), level = "info")]
    pub async fn service_unban(&self, admin: &BareJid, target: &str) -> Result<()> {
        self.require_service_admin(admin)?;
        if !self.store.remove_service_ban(target).await? {
            return Err(Error::item_not_found().with_text(format!("{} is not banned from the service", crate::error::quote(target))));
        }
        tracing::info!(target, "service-wide ban lifted");
        Ok(())
    }

    /// Removes `jid` from every channel it is in (MUC sessions and MIX
    /// participant); `item-not-found` when it is in none.
    #[tracing::instrument(skip(self), fields(admin = %admin), level = "info")]
    pub async fn kick_everywhere(&self, admin: &BareJid, jid: &BareJid, reason: Option<&str>) -> Result<Vec<Event>> {
        self.require_service_admin(admin)?;
        if jid == admin {
            return Err(Error::conflict("you may not kick yourself"));
        }
        let events = self.remove_everywhere(admin, jid.as_str(), Removal::Kicked, reason).await?;
        if events.is_empty() {
            return Err(Error::item_not_found().with_text(format!("{} is in no channel", crate::error::quote(jid.as_str()))));
        }
        Ok(events)
    }

    /// Removes every participant `target` covers (a bare JID, or every JID
    /// of a domain) from each channel, one channel at a time.
    async fn remove_everywhere(&self, admin: &BareJid, target: &str, cause: Removal, reason: Option<&str>) -> Result<Vec<Event>> {
        let mut events = Vec::new();
        for (name, jid) in self.store.participants_matching(target).await? {
            let Some(channel) = self.get(&name).await? else { continue };
            let participants = self.participants(&name).await?;
            let Some(participant) = participants.iter().find(|p| p.jid == jid).cloned() else { continue };
            let sessions = self.occupants(&name).await?.iter().filter(|o| o.jid == jid).map(|o| o.full_jid.to_string()).collect();
            // As a ban from inside the channel (`administer`): the removal
            // alone is told (its online MIX clients go with the row).
            self.store.apply_admin_changes(&name, &AdminChanges { removals: vec![jid.clone()], ..Default::default() }).await?;
            self.forget_participants(&name).await;
            self.forget_occupants(&name).await;
            self.forget_mix_clients(&name).await;
            let nick = participants.iter().find(|p| p.jid == admin.as_str()).and_then(|p| p.nick.clone());
            let by = Actor { jid: admin.to_string(), nick, reason: reason.map(str::to_string) };
            events.push(Event::Removed { channel, participant, sessions, cause, by });
        }
        Ok(events)
    }

    /// A message from every channel to everyone in it, in both views (not
    /// archived: like a server's announcement, it reaches those there now).
    #[tracing::instrument(skip(self, text), fields(admin = %admin), level = "info")]
    pub async fn announce(&self, admin: &BareJid, text: &str) -> Result<Vec<Event>> {
        self.require_service_admin(admin)?;
        if text.trim().is_empty() {
            return Err(Error::bad_request("announcement: the text is empty"));
        }
        if text.chars().count() > MAX_ANNOUNCEMENT {
            return Err(Error::not_acceptable(format!("announcement: at most {MAX_ANNOUNCEMENT} characters")));
        }
        let mut events = Vec::new();
        for row in self.store.list_channels().await? {
            let Some(channel) = self.get(&row.name).await? else { continue };
            let participants = self.participants(&row.name).await?;
            let occupants = self.occupants(&row.name).await?;
            if participants.is_empty() && occupants.is_empty() {
                continue;
            }
            events.push(Event::Announced(Arc::new(Announcement { channel, participants, occupants, text: text.to_string() })));
        }
        tracing::info!(channels = events.len(), "announcement sent");
        Ok(events)
    }

    /// Deletes a channel's archive (MAM in both views, MUC history): its
    /// owners and service admins only. Returns how many messages went.
    #[tracing::instrument(skip(self), fields(by = %by), level = "info")]
    pub async fn clear_history(&self, name: &str, by: &BareJid) -> Result<u64> {
        self.require(name).await?;
        if !self.is_owner(name, by).await? {
            return Err(Error::forbidden("only the room's owners may clear its history"));
        }
        let n = self.store.clear_archive(name).await?;
        tracing::info!(channel = %name, messages = n, "history cleared");
        Ok(n)
    }
}
