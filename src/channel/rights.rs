//! Service-level rights: who may create channels, who is a service admin.

use xmpp_parsers::jid::BareJid;

use crate::config::{Config, CreatePolicy};

pub struct Rights {
    admins: Vec<BareJid>,
    policy: CreatePolicy,
    local_domains: Vec<String>,
}

impl Rights {
    /// The rights the configuration gives. `local_domains` left empty
    /// means the server the component belongs to: the parent domains of
    /// the MIX and MUC domains (`mix.example.org` → `example.org`).
    pub fn from_config(cfg: &Config) -> Self {
        let mut local_domains: Vec<String> = cfg.service.local_domains.iter().map(|d| d.to_lowercase()).collect();
        if local_domains.is_empty() {
            for d in [&cfg.mix.domain, &cfg.muc.domain] {
                if let Some((_, parent)) = d.to_lowercase().split_once('.') {
                    if !local_domains.iter().any(|l| l == parent) {
                        local_domains.push(parent.to_string());
                    }
                }
            }
        }
        Rights { admins: cfg.admins(), policy: cfg.service.create_channels.clone(), local_domains }
    }

    /// The service admins (`[service] admins`).
    pub fn admins(&self) -> &[BareJid] {
        &self.admins
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
