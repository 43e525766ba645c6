//! The dispatcher's side of the service: a stanza in, the stanzas to send
//! out. The router says which handler answers (`Service::route`); this
//! turns the handler's `Reply` into stanzas in their order (stanzas before,
//! the IQ result, the rendered events, stanzas after), and is the one place
//! where a handler's error becomes an error stanza. `batch` is the path for
//! runs of room messages taken from the queue together.

mod batch;

use tracing::Instrument;
use xmpp_parsers::stanza::Stanza;

use crate::error::{Error, Result};
use crate::outgoing::Out;
use crate::service::Service;
use crate::xmpp::reply::{self, header};

impl Service {
    /// Handles one incoming stanza; returns every stanza to send in answer.
    pub async fn handle(&self, stanza: Stanza) -> Vec<Stanza> {
        crate::outgoing::expand(self.handle_out(stanza).await)
    }

    /// Handles one incoming stanza; returns what to send in answer, room
    /// messages as fan-outs (what the links take).
    pub async fn handle_out(&self, stanza: Stanza) -> Vec<Out> {
        async {
            match self.answer(&stanza).await {
                Ok(out) => out,
                Err(err) => refusal(&stanza, &err),
            }
        }
        .instrument(stanza_span(&stanza))
        .await
    }

    /// The routed handler's reply as stanzas, in order.
    async fn answer(&self, stanza: &Stanza) -> Result<Vec<Out>> {
        let routed = self.route(stanza).await?;
        let reply = routed.reply;
        // Sized once: an event is mostly two items (a fan-out per view).
        let mut out: Vec<Out> = Vec::with_capacity(reply.before.len() + 1 + 2 * reply.events.len() + reply.after.len());
        out.extend(reply.before.into_iter().map(Out::from));
        if let Some(id) = routed.iq_id {
            let (_, _, from, to) = header(stanza);
            out.push(reply::iq_result(&from.cloned(), &to.cloned(), &id, reply.payload).into());
        }
        for ev in &reply.events {
            self.render(ev, &mut out).await?;
        }
        out.extend(reply.after.into_iter().map(Out::from));
        Ok(out)
    }
}

/// The tracing span of one stanza: its kind, id, from and to.
pub(crate) fn stanza_span(stanza: &Stanza) -> tracing::Span {
    let (kind, id, from, to) = header(stanza);
    tracing::info_span!("stanza", kind, id = id.unwrap_or(""), from = from.map(|j| j.to_string()).unwrap_or_default(), to = to.map(|j| j.to_string()).unwrap_or_default())
}

/// What a refused stanza is answered (its error reply), logged.
pub(crate) fn refusal(stanza: &Stanza, err: &Error) -> Vec<Out> {
    match err {
        Error::Internal(ctx) => tracing::error!(error = %ctx, "request failed"),
        e => tracing::debug!(error = %e, "request refused"),
    }
    reply::error_reply(stanza, err).into_iter().map(Out::from).collect()
}
