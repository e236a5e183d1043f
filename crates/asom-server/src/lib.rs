//! `asom serve`: the ledger over HTTP.
//!
//! What this first part of the server serves, per tenant, read-only:
//!
//! | path | what |
//! |---|---|
//! | `GET /t/<tenant>/checkpoint` | the latest signed checkpoint (C2SP tlog-checkpoint) |
//! | `GET /t/<tenant>/tile/<L>/<N>[.p/<W>]` | a hash tile (C2SP tlog-tiles) |
//! | `GET /t/<tenant>/tile/entries/<N>[.p/<W>]` | an entry bundle |
//! | `GET /t/<tenant>/receipt/<index>[?size=S]` | an entry's C2SP tlog-proof@v1 receipt |
//! | `GET /t/<tenant>/consistency?from=A&to=B` | a consistency proof, base64, one hash a line |
//! | `GET /healthz` | the process answers |
//! | `GET /readyz` | the store answers and every tenant's latest checkpoint reads |
//!
//! Full tiles never change and are served `immutable`; partial tiles and the
//! checkpoint change as the log grows and are served `no-cache`. A witness or
//! mirror that follows only the checkpoint and tile paths recomputes every
//! root. Errors are RFC 9457 `application/problem+json`. The store is
//! synchronous; every read runs on tokio's blocking pool.
//!
//! Not built yet (issue 5): everything that writes (evidence, gates,
//! governance commands over HTTP), authentication, the OpenAPI document,
//! metrics, the PostgreSQL backend and the load benchmark.

use std::sync::Arc;

use asom_ledger::Hash;
use asom_ledger::merkle;
use asom_ledger::receipt::Receipt;
use asom_ledger::tiles::{self, TilePath};
use asom_store::{Store, StoreError, TenantNodes};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

/// What every handler reads from.
#[derive(Clone)]
pub struct AppState {
    store: Arc<dyn Store + Send + Sync>,
}

impl AppState {
    /// State over a store.
    #[must_use]
    pub fn new(store: Arc<dyn Store + Send + Sync>) -> Self {
        Self { store }
    }
}

/// The router of everything above.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/t/{tenant}/checkpoint", get(checkpoint))
        .route("/t/{tenant}/tile/{*path}", get(tile))
        .route("/t/{tenant}/receipt/{index}", get(receipt))
        .route("/t/{tenant}/consistency", get(consistency))
        .fallback(|| async { Problem::new(StatusCode::NOT_FOUND, "no such path").into_response() })
        .with_state(state)
}

/// Serves `router` on `listener` until `shutdown` completes, then finishes
/// the requests in flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

/// An RFC 9457 problem.
#[derive(Debug)]
pub struct Problem {
    status: StatusCode,
    title: &'static str,
    detail: String,
}

impl Problem {
    fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            status,
            title: status.canonical_reason().unwrap_or("error"),
            detail: detail.into(),
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "type": "about:blank",
            "title": self.title,
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        (
            self.status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body.to_string(),
        )
            .into_response()
    }
}

impl From<StoreError> for Problem {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { .. } => Self::new(StatusCode::NOT_FOUND, e.to_string()),
            e => {
                tracing::error!(error = %e, "store failed");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the store failed; see the server log",
                )
            }
        }
    }
}

/// Runs a store read on the blocking pool.
async fn blocking<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&dyn Store) -> Result<T, Problem> + Send + 'static,
) -> Result<T, Problem> {
    let store = Arc::clone(&state.store);
    tokio::task::spawn_blocking(move || f(store.as_ref()))
        .await
        .map_err(|e| {
            Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("the read did not finish: {e}"),
            )
        })?
}

fn bytes(body: Vec<u8>, content_type: &'static str, immutable: bool) -> Response {
    let cache = if immutable {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let mut r = (StatusCode::OK, body).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    r
}

async fn readyz(State(state): State<AppState>) -> Response {
    let ready = blocking(&state, |store| {
        for t in store.tenants()? {
            store.latest_checkpoint(&t.slug)?;
        }
        Ok(())
    })
    .await;
    match ready {
        Ok(()) => "ready\n".into_response(),
        Err(p) => Problem::new(StatusCode::SERVICE_UNAVAILABLE, p.detail).into_response(),
    }
}

async fn checkpoint(State(state): State<AppState>, Path(tenant): Path<String>) -> Response {
    match blocking(&state, move |store| {
        Ok(store.latest_checkpoint(&tenant)?.note)
    })
    .await
    {
        Ok(note) => bytes(note.into_bytes(), "text/plain; charset=utf-8", false),
        Err(p) => p.into_response(),
    }
}

async fn tile(
    State(state): State<AppState>,
    Path((tenant, path)): Path<(String, String)>,
) -> Response {
    let parsed = match tiles::parse_tile_path(&path) {
        Ok(p) => p,
        Err(e) => return Problem::new(StatusCode::BAD_REQUEST, e).into_response(),
    };
    let result = blocking(&state, move |store| {
        let size = store.latest_checkpoint(&tenant)?.size;
        let id = match parsed {
            TilePath::Hashes(id) | TilePath::Entries(id) => id,
        };
        if !tiles::tile_exists(size, id) {
            return Err(Problem::new(
                StatusCode::NOT_FOUND,
                format!("the log of {size} entries has no complete tile {path}"),
            ));
        }
        let nodes = TenantNodes {
            store,
            tenant: &tenant,
        };
        let body = match parsed {
            TilePath::Hashes(id) => nodes.tile(id)?,
            TilePath::Entries(id) => nodes.entry_bundle(id)?,
        };
        Ok((body, u64::from(id.width) == tiles::TILE_WIDTH))
    })
    .await;
    match result {
        Ok((body, full)) => bytes(body, "application/octet-stream", full),
        Err(p) => p.into_response(),
    }
}

#[derive(Debug, Deserialize)]
struct SizeQuery {
    size: Option<u64>,
}

async fn receipt(
    State(state): State<AppState>,
    Path((tenant, index)): Path<(String, u64)>,
    Query(q): Query<SizeQuery>,
) -> Response {
    let result = blocking(&state, move |store| {
        let checkpoint = match q.size {
            Some(s) => store.checkpoint_at(&tenant, s)?,
            None => store.latest_checkpoint(&tenant)?,
        };
        if index >= checkpoint.size {
            return Err(Problem::new(
                StatusCode::NOT_FOUND,
                format!(
                    "entry {index} is not in the tree of size {}",
                    checkpoint.size
                ),
            ));
        }
        let proof = merkle::inclusion_proof(
            &TenantNodes {
                store,
                tenant: &tenant,
            },
            index,
            checkpoint.size,
        )
        .map_err(|e| Problem::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
        Ok(Receipt {
            index,
            extra: None,
            proof,
            checkpoint: checkpoint.note,
        }
        .to_text())
    })
    .await;
    match result {
        Ok(text) => bytes(text.into_bytes(), "text/plain; charset=utf-8", true),
        Err(p) => p.into_response(),
    }
}

#[derive(Debug, Deserialize)]
struct ConsistencyQuery {
    from: u64,
    to: u64,
}

async fn consistency(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    Query(q): Query<ConsistencyQuery>,
) -> Response {
    let result = blocking(&state, move |store| {
        let size = store.latest_checkpoint(&tenant)?.size;
        if q.from > q.to || q.to > size {
            return Err(Problem::new(
                StatusCode::BAD_REQUEST,
                format!("a consistency proof needs 0 <= from <= to <= {size} (the log's size)"),
            ));
        }
        let proof = merkle::consistency_proof(
            &TenantNodes {
                store,
                tenant: &tenant,
            },
            q.from,
            q.to,
        )
        .map_err(|e| Problem::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
        Ok(proof
            .iter()
            .map(|h: &Hash| h.to_base64() + "\n")
            .collect::<String>())
    })
    .await;
    match result {
        Ok(text) => bytes(text.into_bytes(), "text/plain; charset=utf-8", true),
        Err(p) => p.into_response(),
    }
}
