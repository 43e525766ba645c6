//! Notices to the service manager (systemd `Type=notify`, through
//! `$NOTIFY_SOCKET`; nothing is sent when it is unset): `READY=1` once both
//! links have completed their handshake for the first time, a `STATUS=`
//! line whenever a link goes up or down, `STOPPING=1` at shutdown.
//! contrib/systemd/mixmuc.service relies on the first: `systemctl start`
//! returns when mixmuc serves both domains, and fails when it exits
//! before (a refused secret, an unreachable store).

use sd_notify::NotifyState;
use tokio::sync::watch;

use crate::link::LinkState;

/// Follows the two links until both senders are gone: says `READY=1` the
/// first time both are up, and the links' state at every change.
pub async fn follow_links(mix: (String, watch::Receiver<LinkState>), muc: (String, watch::Receiver<LinkState>)) {
    let (mix_domain, mut mix) = mix;
    let (muc_domain, mut muc) = muc;
    let mut ready = false;
    loop {
        let (a, b) = (*mix.borrow_and_update(), *muc.borrow_and_update());
        let status = format!("{mix_domain} {}, {muc_domain} {}", word(a), word(b));
        if !ready && a == LinkState::Up && b == LinkState::Up {
            ready = true;
            tracing::info!("both links up: ready");
            send(&[NotifyState::Ready, NotifyState::Status(&status)]);
        } else {
            send(&[NotifyState::Status(&status)]);
        }
        let changed = tokio::select! {
            r = mix.changed() => r,
            r = muc.changed() => r,
        };
        if changed.is_err() {
            return;
        }
    }
}

/// A standby (another process is active on the store): started as far as
/// systemd is concerned (READY=1, or a `Type=notify` unit would time out),
/// with a status that says it waits.
pub fn standing_by() {
    send(&[NotifyState::Ready, NotifyState::Status("standing by: another process is active on this store")]);
}

/// Says that mixmuc is stopping.
pub fn stopping() {
    send(&[NotifyState::Stopping, NotifyState::Status("stopping")]);
}

fn word(s: LinkState) -> &'static str {
    match s {
        LinkState::Down => "connecting",
        LinkState::Up => "up",
        LinkState::Stopped => "stopped",
    }
}

fn send(states: &[NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::warn!(error = %e, "cannot notify the service manager ($NOTIFY_SOCKET)");
    }
}
