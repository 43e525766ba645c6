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
    ///
    /// A handler that panics costs only this stanza: it is answered
    /// `internal-server-error` (when it needs an answer), the panic is
    /// logged with the stanza, and the service goes on.
    pub async fn handle_out(&self, stanza: Stanza) -> Vec<Out> {
        async {
            match crate::panics::contain(self.answer(&stanza)).await {
                Ok(Ok(out)) => out,
                Ok(Err(err)) => refusal(&stanza, &err),
                Err(panic) => panicked(&stanza, panic.as_ref()),
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

/// The tracing span of one stanza, on every line logged while it is
/// handled: its kind and id, the channel addressed (the localpart of `to`;
/// empty for a service), the sender's bare JID, and the full `from` and
/// `to`. Its fields are only made when the span is enabled.
pub(crate) fn stanza_span(stanza: &Stanza) -> tracing::Span {
    let (kind, id, from, to) = header(stanza);
    tracing::info_span!(
        "stanza",
        kind,
        id = id.unwrap_or(""),
        channel = to.and_then(|j| j.node()).map(|n| n.as_str()).unwrap_or(""),
        sender = from.map(|j| j.to_bare().to_string()).unwrap_or_default(),
        from = from.map(|j| j.to_string()).unwrap_or_default(),
        to = to.map(|j| j.to_string()).unwrap_or_default()
    )
}

/// What a refused stanza is answered (its error reply), logged.
/// A handler's panic, contained: logged (with its message, in the
/// stanza's span), counted, and answered as an internal error.
pub(crate) fn panicked(stanza: &Stanza, panic: &(dyn std::any::Any + Send)) -> Vec<Out> {
    let what = panic.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| panic.downcast_ref::<String>().cloned()).unwrap_or_else(|| "(no message)".into());
    let n = PANICS.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
    tracing::error!(panic = %what, panics_so_far = n, "a handler panicked; the stanza is answered internal-server-error and the service goes on");
    refusal(stanza, &Error::internal("handler panicked"))
}

/// Handler panics contained since start.
pub(crate) static PANICS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

pub(crate) fn refusal(stanza: &Stanza, err: &Error) -> Vec<Out> {
    match err {
        Error::Internal(ctx) => tracing::error!(error = %ctx, "request failed"),
        // Logged once per outage by the store, not per stanza.
        Error::Unavailable => tracing::debug!("request failed: the store is unavailable"),
        e => tracing::debug!(error = %e, "request refused"),
    }
    reply::error_reply(stanza, err).into_iter().map(Out::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A contained panic answers the stanza `internal-server-error`, with
    /// no detail, and is counted.
    #[test]
    fn a_panic_is_answered_as_an_internal_error() {
        let iq: Stanza = xmpp_parsers::iq::Iq::from_get("q1", xmpp_parsers::ping::Ping).with_from("a@b/c".parse().unwrap()).with_to("mix.example".parse().unwrap()).into();
        let before = PANICS.load(std::sync::atomic::Ordering::Relaxed);
        let payload: Box<dyn std::any::Any + Send> = Box::new("index out of bounds");
        let out = panicked(&iq, payload.as_ref());
        assert_eq!(PANICS.load(std::sync::atomic::Ordering::Relaxed), before + 1);
        let [Out::Stanza(Stanza::Iq(xmpp_parsers::iq::Iq::Error { id, error, .. }))] = out.as_slice() else { panic!("{out:?}") };
        assert_eq!(id, "q1");
        assert_eq!(error.defined_condition, xmpp_parsers::stanza_error::DefinedCondition::InternalServerError);
        assert!(error.texts.values().all(|t| !t.contains("index")), "no detail shown");
    }
}
