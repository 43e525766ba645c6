//! Service-level rights: who may create channels, who is a service admin.

use xmpp_parsers::jid::BareJid;

use crate::config::{Config, CreatePolicy};

pub struct Rights {
    admins: Vec<BareJid>,
    policy: CreatePolicy,
    local_domains: Vec<String>,
}

impl Rights {
    pub fn from_config(cfg: &Config) -> Self {
        Rights {
            admins: cfg.admins(),
            policy: cfg.service.create_channels.clone(),
            local_domains: cfg.service.local_domains.iter().map(|d| d.to_lowercase()).collect(),
        }
    }

    pub fn is_admin(&self, jid: &BareJid) -> bool {
        self.admins.contains(jid)
    }

    /// `is_admin` for a bare JID as the store keeps it.
    pub fn is_admin_str(&self, jid: &str) -> bool {
        self.admins.iter().any(|a| a.as_str() == jid)
    }

    pub fn may_create(&self, jid: &BareJid) -> bool {
        self.is_admin(jid)
            || match &self.policy {
                CreatePolicy::Anyone => true,
                CreatePolicy::Local => jid.node().is_some() && self.local_domains.iter().any(|d| d == jid.domain().as_str()),
                CreatePolicy::Listed(list) => list.contains(jid),
            }
    }
}
