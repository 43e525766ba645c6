//! The `[metrics] listen` HTTP listener: `GET /metrics` (Prometheus text)
//! and `GET /health` (200 when both links are up and the store answers,
//! 503 otherwise, with a one-line reason). HTTP/1.1 through hyper; a few
//! connections at a time, each with a deadline for its request head.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, Mutex, Semaphore};
use xmpp_parsers::stanza::Stanza;

use super::{get, Domain};
use crate::link::QueueGauge;
use crate::store::{Store, Totals};

/// Connections served at once; more wait to be accepted.
const MAX_CONNECTIONS: usize = 16;
/// The store's totals are read at most this often (a scrape every second
/// costs one statement every 5 s).
const TOTALS_TTL: Duration = Duration::from_secs(5);
/// How long `/health` waits for the store's answer.
const STORE_PING: Duration = Duration::from_secs(2);

/// What the listener reads when asked.
pub struct Sources {
    pub store: Store,
    pub queues: [(Domain, QueueGauge); 2],
    /// The dispatcher's inbound queue (weak: it must not keep the channel
    /// open at shutdown).
    pub inbound: mpsc::WeakSender<Stanza>,
    pub inbound_bound: usize,
}

struct State {
    sources: Sources,
    totals: Mutex<Option<(Instant, Totals)>>,
}

/// Binds `addr` (an error here stops the start: the operator asked for
/// it); the returned future serves until dropped.
pub async fn bind(addr: SocketAddr, sources: Sources) -> std::io::Result<impl std::future::Future<Output = ()>> {
    let listener = TcpListener::bind(addr).await?;
    tracing::info!(listen = %listener.local_addr()?, "metrics and health listener up (/metrics, /health)");
    let state = Arc::new(State { sources, totals: Mutex::new(None) });
    Ok(serve(listener, state))
}

async fn serve(listener: TcpListener, state: Arc<State>) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(permit) = slots.clone().acquire_owned().await else { return };
        let (stream, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "metrics listener: accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let state = state.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req| {
                let state = state.clone();
                async move { Ok::<_, Infallible>(state.answer(req).await) }
            });
            let conn = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(5))
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), svc);
            // A connection kept open for long is closed (scrapers reconnect).
            match tokio::time::timeout(Duration::from_secs(60), conn).await {
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "metrics connection ended with an error"),
                Ok(Ok(())) | Err(_) => {}
            }
            drop(permit);
        });
    }
}

fn text(status: StatusCode, content_type: &'static str, body: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut().insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static(content_type));
    r
}

const PLAIN: &str = "text/plain; charset=utf-8";
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

impl State {
    async fn answer(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        if req.method() != Method::GET && req.method() != Method::HEAD {
            return text(StatusCode::METHOD_NOT_ALLOWED, PLAIN, "GET only\n".into());
        }
        match req.uri().path() {
            "/metrics" => {
                self.refresh().await;
                text(StatusCode::OK, OPENMETRICS, get().encode())
            }
            "/health" => match self.health().await {
                Ok(()) => text(StatusCode::OK, PLAIN, "ok\n".into()),
                Err(why) => text(StatusCode::SERVICE_UNAVAILABLE, PLAIN, format!("{why}\n")),
            },
            _ => text(StatusCode::NOT_FOUND, PLAIN, "/metrics or /health\n".into()),
        }
    }

    /// 200's condition: both links authenticated and the store answering.
    async fn health(&self) -> Result<(), String> {
        let down: Vec<&str> = Domain::ALL.into_iter().filter(|d| !get().link_is_up(*d)).map(Domain::label).collect();
        if !down.is_empty() {
            return Err(format!("link down: {}", down.join(", ")));
        }
        match tokio::time::timeout(STORE_PING, self.sources.store.ping()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(format!("store: {e}")),
            Err(_) => Err(format!("store: no answer within {} ms", STORE_PING.as_millis())),
        }
    }

    /// Sets the gauges read at scrape time.
    async fn refresh(&self) {
        let s = &get().scraped;
        for (d, q) in &self.sources.queues {
            s.queue(*d, q.queued(), q.bound());
        }
        let waiting = self.sources.inbound.upgrade().map(|tx| self.sources.inbound_bound.saturating_sub(tx.capacity())).unwrap_or(0);
        s.inbound.set(waiting as i64);
        s.store_up.set(!self.sources.store.health().is_down() as i64);
        // Under the lock: two scrapes at once add the difference once.
        let mut cached = self.totals.lock().await;
        let errors = crate::error::STORE_ERRORS.load(std::sync::atomic::Ordering::Relaxed);
        s.store_errors.inc_by(errors.saturating_sub(s.store_errors.get()));
        let fresh = cached.as_ref().is_some_and(|(at, _)| at.elapsed() < TOTALS_TTL);
        if !fresh {
            match tokio::time::timeout(STORE_PING, self.sources.store.totals()).await {
                Ok(Ok(t)) => *cached = Some((Instant::now(), t)),
                // The last totals stay (a scrape during an outage still
                // answers); store_up says why they do not move.
                Ok(Err(e)) => tracing::debug!(error = %e, "metrics: store totals not read"),
                Err(_) => tracing::debug!("metrics: store totals not read in time"),
            }
        }
        if let Some((_, t)) = cached.as_ref() {
            s.channels.set(t.channels);
            s.participants.set(t.participants);
            s.occupants.set(t.occupants);
            s.archive_rows.set(t.archive_rows);
        }
    }
}
