//! The dispatcher's batch path (`Service::handle_batch`): of the stanzas
//! taken from the queue together, each run of consecutive plain room
//! messages (MUC groupchat that is not a subject change, MIX groupchat to a
//! channel) is archived with one statement, then reflected in input order;
//! every other stanza is handled by `handle_out` where it stands.

use tracing::Instrument;
use xmpp_parsers::stanza::Stanza;

use crate::error::{Error, Result};
use crate::outgoing::Out;
use super::{panicked, refusal, stanza_span};
use crate::service::Service;

impl Service {
    /// Handles stanzas in queue order and answers what `handle_out` on each
    /// in turn would: the same stanzas in the same order, the same archive
    /// order. A run of room messages is archived (one multi-row INSERT)
    /// before any of it is reflected; a lone message goes through
    /// `handle_out`.
    pub async fn handle_batch(&self, stanzas: Vec<Stanza>) -> Vec<Out> {
        let mut out = Vec::new();
        self.handle_batch_into(stanzas, &mut out).await;
        out
    }

    /// `handle_batch`, each stanza's answers handed to `out` as soon as
    /// they are made (the dispatcher's `Coalescer`).
    /// `stanzas` may be a `drain` of the dispatcher's buffer, kept from
    /// turn to turn (a `Stanza` is a few hundred bytes: growing a vector of
    /// them anew every turn was a reallocation, and for glibc's allocator a
    /// consolidation of its free lists, at each doubling).
    pub async fn handle_batch_into<I, O>(&self, stanzas: I, out: &mut O)
    where
        I: IntoIterator<Item = Stanza>,
        I::IntoIter: ExactSizeIterator + Send,
        O: Extend<Out> + Send,
    {
        let stanzas = stanzas.into_iter();
        let mut run = Vec::with_capacity(stanzas.len());
        for stanza in stanzas {
            if self.room_message(&stanza).is_some() {
                run.push(stanza);
                continue;
            }
            self.flush(std::mem::take(&mut run), out).await;
            out.extend(self.handle_out(stanza).await);
        }
        self.flush(run, out).await;
    }

    async fn flush<O: Extend<Out> + Send>(&self, run: Vec<Stanza>, out: &mut O) {
        match run.len() {
            0 => {}
            1 => out.extend(self.handle_out(run.into_iter().next().expect("one")).await),
            _ => self.post_many(run, out).await,
        }
    }

    /// Checks every message of the run in order (nothing between them
    /// changes what the checks see), archives those that pass with one
    /// statement, then answers each in order: its refusal, or its fan-outs.
    async fn post_many<O: Extend<Out> + Send>(&self, run: Vec<Stanza>, out: &mut O) {
        // Per message: checked (Some(Ok)), refused (Some(Err)), or answered
        // already because its checks panicked (None).
        let mut checked: Vec<Option<Result<()>>> = Vec::with_capacity(run.len());
        let mut pending = Vec::with_capacity(run.len());
        for stanza in &run {
            // A panic in the checks costs that message only (`handle_out`).
            match crate::panics::contain(self.prepare_room_message(stanza)).instrument(stanza_span(stanza)).await {
                Ok(Ok(p)) => {
                    pending.push(p);
                    checked.push(Some(Ok(())));
                }
                Ok(Err(e)) => checked.push(Some(Err(e))),
                Err(panic) => {
                    out.extend(panicked(stanza, panic.as_ref()));
                    checked.push(None);
                }
            }
        }
        let committed = if pending.is_empty() {
            Ok(vec![])
        } else {
            let n = pending.len();
            match crate::panics::contain(self.channels.commit_posts(pending)).instrument(tracing::debug_span!("archive_batch", n)).await {
                Ok(r) => r,
                Err(_) => {
                    tracing::error!(n, "archiving a run of messages panicked; each is answered internal-server-error");
                    super::PANICS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    Err(Error::internal("archiving panicked"))
                }
            }
        };
        let mut events = committed.map(Vec::into_iter);
        for (stanza, check) in run.iter().zip(checked) {
            let event = match (check, &mut events) {
                (None, _) => continue,
                (Some(Err(e)), _) => Err(e),
                // A failed INSERT: each of its messages is answered as if its own had failed.
                (Some(Ok(())), Err(e)) => Err(e.clone()),
                (Some(Ok(())), Ok(events)) => Ok(events.next().expect("one event per archived message")),
            };
            let answer = async {
                let rendered = async {
                    let mut rendered = Vec::with_capacity(2);
                    self.render(&event?, &mut rendered).await?;
                    Ok::<_, Error>(rendered)
                };
                match crate::panics::contain(rendered).await {
                    Ok(Ok(rendered)) => rendered,
                    Ok(Err(e)) => refusal(stanza, &e),
                    Err(panic) => panicked(stanza, panic.as_ref()),
                }
            };
            out.extend(answer.instrument(stanza_span(stanza)).await);
        }
    }
}
