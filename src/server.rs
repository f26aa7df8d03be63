//! /metrics (OpenMetrics text), /healthz and /readyz.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

use crate::controller::Listing;
use crate::metrics::Metrics;

#[derive(Clone)]
struct Shared {
    metrics: Arc<Metrics>,
    listing: Listing,
}

pub fn router(metrics: Arc<Metrics>, listing: Listing) -> Router {
    Router::new()
        .route("/metrics", get(metrics_text))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .with_state(Shared { metrics, listing })
}

async fn metrics_text(State(shared): State<Shared>) -> impl IntoResponse {
    // prometheus-client writes the OpenMetrics text format (it ends in "# EOF").
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], shared.metrics.render())
}

/// Ready once every watch has listed its objects (and on standby replicas,
/// which are ready to take over).
async fn ready(State(shared): State<Shared>) -> impl IntoResponse {
    if shared.listing.all_listed() {
        (StatusCode::OK, "ok")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "watch not synced yet")
    }
}

pub async fn serve(
    addr: SocketAddr,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(%addr, "serving /metrics, /healthz and /readyz");
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}
