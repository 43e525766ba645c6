//! Channels whose end of life has come (MIX 'End of Life', set in the
//! config node) are removed by the service, in rounds between the
//! dispatcher's turns (`app.rs`, every `PERIOD`), and rendered like a
//! destroy in both views.

use std::time::Duration;

use crate::outgoing::Out;
use crate::service::Service;

/// How often the service looks for channels whose end of life has come.
pub const PERIOD: Duration = Duration::from_secs(60);

impl Service {
    /// Removes the channels whose end of life is at or before `now` (ms);
    /// returns what to send.
    pub async fn expire_channels(&self, now: i64) -> Vec<Out> {
        let events = match self.channels.expire(now).await {
            Ok(events) => events,
            Err(e) => {
                tracing::error!(error = %e, "end-of-life round failed");
                return vec![];
            }
        };
        let mut out = Vec::new();
        for ev in &events {
            if let Err(e) = self.render(ev, &mut out).await {
                tracing::error!(error = %e, "end-of-life round: a removal not rendered");
            }
        }
        out
    }
}
