//! `mixmuc admin channels`, `admin show NAME`, `admin destroy NAME`,
//! `admin ban JID`, `admin unban JID`.

use std::fmt::Write as _;

use super::{open_existing, refused_while_running, require_file, time, CliError};
use crate::channel::names;
use crate::config::Config;
use crate::store::{ChannelDetail, ServingLock, StoreError};

/// What `mixmuc admin` was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminCommand {
    /// Every channel with its counts.
    Channels,
    /// One channel: settings, affiliations, counts.
    Show { name: String },
    /// Removes a channel as the service's destroy does.
    Destroy {
        name: String,
        reason: Option<String>,
    },
    /// Bans a bare JID or a whole domain from the service, as the service
    /// admins' ad-hoc command does, and takes it out of every channel.
    Ban { jid: String, reason: Option<String> },
    /// Lifts a service-wide ban.
    Unban { jid: String },
}

/// Runs `cmd` on the store of `cfg`. Returns what to print on standard
/// output, and a note for standard error (or none). A channel is named as
/// in XMPP (`Coven` is `coven`), or by its MIX or MUC JID.
pub async fn run(cfg: &Config, cmd: &AdminCommand) -> Result<(String, Option<String>), CliError> {
    let cmd = &match cmd {
        AdminCommand::Channels => AdminCommand::Channels,
        AdminCommand::Show { name } => AdminCommand::Show {
            name: channel_name(cfg, name)?,
        },
        AdminCommand::Destroy { name, reason } => AdminCommand::Destroy {
            name: channel_name(cfg, name)?,
            reason: reason.clone(),
        },
        other => other.clone(),
    };
    match cmd {
        AdminCommand::Channels | AdminCommand::Show { .. } => {
            require_file(&cfg.store)?;
            let note = ServingLock::is_held(&cfg.store)
                .await?
                .then(|| "note: the service is running; these figures are a snapshot and may change as you read them".to_string());
            let store = open_existing(&cfg.store).await?;
            let out = async {
                match cmd {
                    AdminCommand::Show { name } => store
                        .channel_detail(name)
                        .await?
                        .map(|d| show(cfg, &d))
                        .ok_or_else(|| no_channel(name)),
                    _ => Ok(channels(&store.channel_summaries().await?)),
                }
            }
            .await;
            store.close().await;
            Ok((out?, note))
        }
        AdminCommand::Destroy { name, reason } => destroy(cfg, name, reason.as_deref())
            .await
            .map(|out| (out, None)),
        AdminCommand::Ban { jid, reason } => {
            service_ban(cfg, jid, Some(reason.as_deref().unwrap_or("")))
                .await
                .map(|out| (out, None))
        }
        AdminCommand::Unban { jid } => service_ban(cfg, jid, None).await.map(|out| (out, None)),
    }
}

/// A bare JID or a domain, as the service-wide ban takes it (`example.org`
/// bans every JID of that domain).
fn ban_target(cfg: &Config, raw: &str) -> Result<String, CliError> {
    let jid = xmpp_parsers::jid::BareJid::new(raw.trim())
        .map_err(|e| CliError::new(format!("'{raw}' is neither a bare JID nor a domain: {e}")))?;
    let target = jid.to_string();
    if let Some(a) = cfg
        .admins()
        .into_iter()
        .find(|a| a.as_str() == target || a.domain().as_str() == target)
    {
        return Err(CliError::new(format!(
            "{target} is or covers the service admin {a} ([service] admins): not banned"
        )));
    }
    Ok(target)
}

/// `admin ban` (`reason`: Some) or `admin unban` (None), with the service
/// stopped: the ban is stored, and whoever it covers leaves every channel
/// (its participant row and MUC sessions). Nobody is told; at the next
/// start, the ban holds in both views.
async fn service_ban(cfg: &Config, raw: &str, reason: Option<&str>) -> Result<String, CliError> {
    let target = ban_target(cfg, raw)?;
    let instead = format!(
        "`admin {}` changes the store and needs it stopped: stop it and run this again, or, as a service admin ([service] admins), \
         use the ad-hoc command \"{}\" from your client, which also removes and tells those it covers",
        if reason.is_some() { "ban" } else { "unban" },
        if reason.is_some() { "Ban from the service" } else { "Lift a service-wide ban" }
    );
    while_stopped(cfg, &instead, |store| async move {
        let Some(reason) = reason else {
            if !store.remove_service_ban(&target).await? {
                return Err(CliError::new(format!("{target} is not banned from the service")));
            }
            tracing::info!(target = %target, "service-wide ban lifted by the host (mixmuc admin unban)");
            return Ok(format!("lifted the service-wide ban of {target}\n"));
        };
        let new = store.add_service_ban(&target, reason, "mixmuc admin ban", crate::store::now_ms()).await?;
        let covered = store.participants_matching(&target).await?;
        for (channel, jid) in &covered {
            store.evict(channel, jid).await?;
        }
        tracing::info!(target = %target, reason, channels = covered.len(), "service-wide ban by the host (mixmuc admin ban)");
        let mut out = format!("{} {target} from the whole service", if new { "banned" } else { "still banned (reason updated):" });
        if covered.is_empty() {
            out.push_str("; it was in no channel\n");
        } else {
            let list: Vec<String> = covered.iter().map(|(c, j)| format!("{j} in {c}")).collect();
            let _ = writeln!(out, "; removed, without telling anyone (the service is stopped): {}", list.join(", "));
        }
        Ok(out)
    })
    .await
}

/// The stored name of a channel an operator named: its local part when
/// given a JID of one of the service's domains, normalised as a request
/// over XMPP is (`channel::names`).
fn channel_name(cfg: &Config, raw: &str) -> Result<String, CliError> {
    let local = match raw.split_once('@') {
        Some((local, domain)) if domain == cfg.mix.domain || domain == cfg.muc.domain => local,
        Some(_) => {
            return Err(CliError::new(format!(
                "{raw} is not a channel of this service (its domains: {} and {})",
                cfg.mix.domain, cfg.muc.domain
            )))
        }
        None => raw,
    };
    names::normalise(local).map_err(|e| CliError::new(format!("'{raw}': {e}")))
}

fn no_channel(name: &str) -> CliError {
    CliError::new(format!(
        "no channel named '{name}' (`mixmuc admin channels` lists them)"
    ))
}

/// The table of `admin channels`.
fn channels(rows: &[crate::store::ChannelSummary]) -> String {
    let header = [
        "NAME",
        "PARTICIPANTS",
        "OCCUPANTS",
        "MESSAGES",
        "LAST ACTIVITY",
    ];
    let cells: Vec<[String; 5]> = rows
        .iter()
        .map(|r| {
            [
                r.name.clone(),
                r.participants.to_string(),
                r.occupants.to_string(),
                r.messages.to_string(),
                time(r.last_activity),
            ]
        })
        .collect();
    let mut width = header.map(str::len);
    for row in &cells {
        for (w, c) in width.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, row: [&str; 5]| {
        // Name and time to the left, numbers to the right.
        let _ = writeln!(
            out,
            "{:<w0$}  {:>w1$}  {:>w2$}  {:>w3$}  {}",
            row[0],
            row[1],
            row[2],
            row[3],
            row[4],
            w0 = width[0],
            w1 = width[1],
            w2 = width[2],
            w3 = width[3]
        );
    };
    line(&mut out, header);
    for row in &cells {
        line(&mut out, [&row[0], &row[1], &row[2], &row[3], &row[4]]);
    }
    let _ = writeln!(
        out,
        "{} channel{}",
        rows.len(),
        if rows.len() == 1 { "" } else { "s" }
    );
    out
}

fn yes(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// The text of `admin show`.
fn show(cfg: &Config, d: &ChannelDetail) -> String {
    let r = &d.row;
    let s = &d.summary;
    let fields: Vec<(&str, String)> = vec![
        ("MIX JID", format!("{}@{}", r.name, cfg.mix.domain)),
        ("MUC JID", format!("{}@{}", r.name, cfg.muc.domain)),
        (
            "created",
            format!(
                "{} by {}{}",
                time(r.created_at),
                r.creator,
                if r.adhoc { " (ad-hoc)" } else { "" }
            ),
        ),
        ("title", r.title.clone()),
        ("description", r.description.clone()),
        (
            "subject",
            if r.subject.is_empty() {
                "-".into()
            } else {
                format!(
                    "{:?} by {} at {}",
                    r.subject,
                    r.subject_by,
                    time(r.subject_at)
                )
            },
        ),
        (
            "last configured",
            if r.config_at == 0 {
                "never".into()
            } else {
                format!("{} by {}", time(r.config_at), r.config_by)
            },
        ),
        ("jid visibility", r.jid_visibility.as_str().into()),
        ("public", yes(r.public).into()),
        ("members only", yes(r.members_only).into()),
        (
            "max users",
            if r.max_users == 0 {
                "no limit".into()
            } else {
                r.max_users.to_string()
            },
        ),
        ("moderated", yes(r.moderated).into()),
        ("private messages", r.allow_pm.clone()),
        (
            "change subject",
            if r.change_subject {
                "participants".into()
            } else {
                "moderators".into()
            },
        ),
        (
            "invitations",
            if r.allow_invites {
                "participants".into()
            } else {
                "admins".into()
            },
        ),
        (
            "language",
            if r.lang.is_empty() {
                "-".into()
            } else {
                r.lang.clone()
            },
        ),
        ("locked", yes(r.locked).into()),
        ("own retraction", yes(r.user_retraction).into()),
        ("retraction rights", r.retraction_rights.clone()),
        (
            "contacts",
            if r.contact.is_empty() {
                "-".into()
            } else {
                r.contacts().join(", ")
            },
        ),
        (
            "avatar",
            if r.avatar_hash.is_empty() {
                "none".into()
            } else {
                format!("sha1 {}", r.avatar_hash)
            },
        ),
        (
            "end of life",
            if r.end_of_life == 0 {
                "never".into()
            } else {
                time(r.end_of_life)
            },
        ),
    ];
    let mut out = format!("channel {}\n", r.name);
    for (k, v) in fields {
        let _ = writeln!(out, "  {k:<18} {v}");
    }
    let _ = writeln!(out, "affiliations ({})", d.affiliations.len());
    for (jid, aff) in &d.affiliations {
        let _ = writeln!(out, "  {aff:<8} {jid}");
    }
    let _ = writeln!(out, "counts");
    let _ = writeln!(
        out,
        "  {:<18} {} ({} through MIX)",
        "participants", s.participants, s.mix_participants
    );
    let _ = writeln!(out, "  {:<18} {}", "occupants", s.occupants);
    let _ = writeln!(out, "  {:<18} {}", "online MIX clients", d.mix_clients);
    let _ = writeln!(out, "  {:<18} {}", "registered nicks", d.registered_nicks);
    let _ = writeln!(out, "  {:<18} {}", "messages", s.messages);
    let _ = writeln!(
        out,
        "  {:<18} {}",
        "last message",
        d.last_message_at.map(time).unwrap_or_else(|| "-".into())
    );
    let _ = writeln!(out, "  {:<18} {}", "last activity", time(s.last_activity));
    out
}

/// `admin destroy`: with the service stopped only (its lock is held while
/// this works), the store's `delete_channel` as the service's destroys
/// call it (`[service] keep_archive_on_destroy` decides for the archive).
async fn destroy(cfg: &Config, name: &str, reason: Option<&str>) -> Result<String, CliError> {
    while_stopped(
        cfg,
                "`admin destroy` changes the store and needs it stopped: stop it (e.g. `systemctl stop mixmuc`) and run this again, \
                 or destroy the channel over XMPP as its owner or a service admin ([service] admins): a MUC owner's destroy or a MIX destroy, which also tells its users",
        |store| async move {
        let d = store.channel_detail(name).await?.ok_or_else(|| no_channel(name))?;
        let drop_archive = !cfg.service.keep_archive_on_destroy;
        if !store.delete_channel(name, drop_archive).await? {
            return Err(no_channel(name));
        }
        tracing::info!(channel = %name, reason = reason.unwrap_or(""), "channel destroyed by the host (mixmuc admin destroy)");
        let s = &d.summary;
        let mut out = format!(
            "destroyed channel '{name}': {} participant{} ({} through MIX), {} MUC session{}, {} affiliation{}, {} registered nick{} removed; ",
            s.participants,
            plural(s.participants),
            s.mix_participants,
            s.occupants,
            plural(s.occupants),
            d.affiliations.len(),
            plural(d.affiliations.len() as i64),
            d.registered_nicks,
            plural(d.registered_nicks),
        );
        if drop_archive {
            let _ = writeln!(out, "its archive of {} message{} removed", s.messages, plural(s.messages));
        } else {
            let _ = writeln!(out, "its archive of {} message{} kept ([service] keep_archive_on_destroy)", s.messages, plural(s.messages));
        }
        if let Some(r) = reason {
            let _ = writeln!(out, "reason (in the log only): {r}");
        }
        if s.participants > 0 {
            let _ = writeln!(out, "nobody was told (the service is stopped): its users find it gone when they next write to it");
        }
        Ok(out)
        },
    )
    .await
}

/// Runs `work` on the store with the service stopped: the serving lock is
/// taken exclusively for as long as it works (and the command refused,
/// saying what to do `instead`, while a service holds it); the store is
/// opened before and closed after.
async fn while_stopped<F, Fut>(cfg: &Config, instead: &str, work: F) -> Result<String, CliError>
where
    F: FnOnce(crate::store::Store) -> Fut,
    Fut: std::future::Future<Output = Result<String, CliError>>,
{
    require_file(&cfg.store)?;
    let lock = match ServingLock::admin(&cfg.store).await {
        Ok(l) => l,
        Err(StoreError::Running(why)) => return Err(refused_while_running(&why, instead)),
        Err(e) => return Err(e.into()),
    };
    let done = async {
        let store = open_existing(&cfg.store).await?;
        let outcome = work(store.clone()).await;
        store.close().await;
        outcome
    }
    .await;
    lock.release().await;
    done
}

fn plural(n: i64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
