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
//! The operations (`POST /t/<tenant>/v1/…`, see [`api`] and `v1`) need a
//! bearer token of the tenant; so do entry bundles, unless the server is a
//! public mirror ([`AppState::with_public_entries`]). `GET /metrics` is the
//! Prometheus exposition ([`metrics`]) and `GET /openapi.json` the OpenAPI
//! 3.1 document ([`openapi`]). Every request is logged with its request id
//! (`X-Request-Id`, echoed back).

use std::sync::Arc;
use std::time::{Duration, Instant};

use asom_governance::Governance;
use asom_ledger::Hash;
use asom_ledger::merkle;
use asom_ledger::receipt::Receipt;
use asom_ledger::tiles::{self, TilePath};
use asom_store::{Store, StoreError, TenantNodes};
use axum::Router;
use axum::extract::{MatchedPath, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use tracing::Instrument as _;

pub mod api;
pub mod metrics;
pub mod openapi;
mod v1;

pub use api::{ApiError, Operation, Policies};

/// Builds the governance service of a tenant: where the embedding program
/// attaches the tenant's outside systems (change system, planning).
pub type GovernanceFactory =
    Arc<dyn for<'a> Fn(&'a dyn Store, &str) -> Governance<'a> + Send + Sync>;

/// The server's limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The largest request body accepted (413 beyond).
    pub max_body_bytes: usize,
    /// How long an operation may take before the client gets a 503.
    pub request_timeout: Duration,
}

impl Default for Limits {
    /// 4 MiB bodies (a large JUnit report), 30 s per operation.
    fn default() -> Self {
        Self {
            max_body_bytes: 4 * 1024 * 1024,
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// What every handler reads from.
#[derive(Clone)]
pub struct AppState {
    store: Arc<dyn Store + Send + Sync>,
    governance: GovernanceFactory,
    policies: Arc<Policies>,
    metrics: Arc<metrics::Metrics>,
    idempotency: Arc<v1::Idempotency>,
    limits: Limits,
    public_entries: bool,
}

impl AppState {
    /// State over a store: the built-in policy pack, no outside systems,
    /// default limits, entry bundles for tenant tokens only.
    #[must_use]
    pub fn new(store: Arc<dyn Store + Send + Sync>) -> Self {
        Self {
            store,
            governance: Arc::new(|store: &dyn Store, tenant: &str| Governance::new(store, tenant)),
            policies: Arc::new(Policies::new(None)),
            metrics: Arc::new(metrics::Metrics::new()),
            idempotency: Arc::new(v1::Idempotency::default()),
            limits: Limits::default(),
            public_entries: false,
        }
    }

    /// With the governance service built by `factory`.
    #[must_use]
    pub fn with_governance(mut self, factory: GovernanceFactory) -> Self {
        self.governance = factory;
        self
    }

    /// With the gate policy of this pack.
    #[must_use]
    pub fn with_policies(mut self, policies: Policies) -> Self {
        self.policies = Arc::new(policies);
        self
    }

    /// With these limits.
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Serves entry bundles to anyone (a public mirror), not only to tokens
    /// of the tenant. Checkpoints, hash tiles, receipts and consistency
    /// proofs hold only hashes and are always public.
    #[must_use]
    pub fn with_public_entries(mut self, public: bool) -> Self {
        self.public_entries = public;
        self
    }

    /// The server's metrics.
    #[must_use]
    pub fn metrics(&self) -> &metrics::Metrics {
        &self.metrics
    }
}

/// Calls `$callback!(…every operation type…)`: the one list of operations
/// that the router serves and [`openapi::document`] describes.
macro_rules! with_operations {
    ($callback:ident ! ($($arg:expr),*)) => {
        $callback!($($arg,)* [
            $crate::api::ops::Whoami,
            $crate::api::ops::RecordEvidence,
            $crate::api::ops::CheckGate,
            $crate::api::ops::ReplayDecision,
            $crate::api::ops::Promote,
            $crate::api::ops::audits::Audit,
            $crate::api::ops::exports::Export,
            $crate::api::ops::releases::CreateRelease,
            $crate::api::ops::releases::ScopeRelease,
            $crate::api::ops::releases::ShowRelease,
            $crate::api::ops::releases::ListReleases,
            $crate::api::ops::releases::VerifyRelease,
            $crate::api::ops::releases::CreateCrq,
            $crate::api::ops::releases::LinkCrq,
            $crate::api::ops::releases::TransitionCrq,
            $crate::api::ops::releases::SetCrqWindow,
            $crate::api::ops::releases::ApproveCrq,
            $crate::api::ops::releases::RejectCrq,
            $crate::api::ops::releases::ShowCrq,
            $crate::api::ops::releases::CreateProduct,
            $crate::api::ops::releases::ShowProduct,
            $crate::api::ops::releases::ListProducts,
            $crate::api::ops::releases::RecordChanges,
            $crate::api::ops::releases::ShowChange,
            $crate::api::ops::people::CreatePrincipal,
            $crate::api::ops::people::ListPrincipals,
            $crate::api::ops::people::RegisterProducerKey,
            $crate::api::ops::people::CreateToken,
            $crate::api::ops::people::ListTokens,
            $crate::api::ops::people::RevokeToken,
            $crate::api::ops::people::MapIdentity,
            $crate::api::ops::people::ListIdentities,
            $crate::api::ops::stories::RecordStory,
            $crate::api::ops::stories::ShowStory,
            $crate::api::ops::stories::ListStories,
            $crate::api::ops::stories::SyncStories,
            $crate::api::ops::waivers::RequestOverride,
            $crate::api::ops::waivers::ApproveOverride,
            $crate::api::ops::waivers::RemediateOverride,
            $crate::api::ops::waivers::ListOverrides,
            $crate::api::ops::waivers::RequestException,
            $crate::api::ops::waivers::ApproveException,
            $crate::api::ops::waivers::ListExceptions,
        ])
    };
}
pub(crate) use with_operations;

macro_rules! add_routes {
    ($router:expr, [$($op:ty),+ $(,)?]) => {{
        let router = $router;
        $(let router = v1::route::<$op>(router);)+
        router
    }};
}

/// The router of everything the server serves.
pub fn router(state: AppState) -> Router {
    let routes = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .route("/openapi.json", get(openapi_json))
        .route("/t/{tenant}/checkpoint", get(checkpoint))
        .route("/t/{tenant}/tile/{*path}", get(tile))
        .route("/t/{tenant}/receipt/{index}", get(receipt))
        .route("/t/{tenant}/consistency", get(consistency));
    let routes = with_operations!(add_routes!(routes));
    routes
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), track))
        .fallback(|| async { Problem::new(StatusCode::NOT_FOUND, "no such path").into_response() })
        .with_state(state)
}

/// Serves `router` on `listener` until `shutdown` completes, then finishes
/// the requests in flight (an operation that was acknowledged is durable:
/// the store acknowledges only what it committed).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

/// The request id: the client's `X-Request-Id` when it is short and
/// printable, otherwise a new random one.
fn request_id(headers: &HeaderMap) -> HeaderValue {
    headers
        .get("x-request-id")
        .filter(|v| {
            let b = v.as_bytes();
            !b.is_empty() && b.len() <= 64 && b.iter().all(u8::is_ascii_graphic)
        })
        .cloned()
        .unwrap_or_else(|| {
            let mut bytes = [0u8; 12];
            if getrandom::fill(&mut bytes).is_err() {
                bytes = [0; 12];
            }
            HeaderValue::from_str(&hex::encode(bytes)).unwrap_or(HeaderValue::from_static("-"))
        })
}

/// Logs, times and counts every routed request, under its request id.
async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let method = request.method().clone();
    let id = request_id(request.headers());
    let span = tracing::info_span!(
        "request",
        request_id = %id.to_str().unwrap_or("-"),
        method = %method,
        route = %route
    );
    let started = Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;
    let took = started.elapsed();
    let status = response.status().as_u16();
    state
        .metrics
        .observe_request(method.as_str(), &route, status, took);
    span.in_scope(|| {
        tracing::info!(status, ms = took.as_secs_f64() * 1000.0, "answered");
    });
    response.headers_mut().insert("x-request-id", id);
    response
}

async fn metrics_text(State(state): State<AppState>) -> Response {
    // The log sizes are read now, so a scrape sees the current ledger.
    let store = Arc::clone(&state.store);
    let sizes = tokio::task::spawn_blocking(move || -> Result<Vec<(String, u64)>, StoreError> {
        store
            .tenants()?
            .into_iter()
            .map(|t| Ok((t.slug.clone(), store.latest_checkpoint(&t.slug)?.size)))
            .collect()
    })
    .await;
    if let Ok(Ok(sizes)) = sizes {
        for (tenant, size) in sizes {
            state.metrics.set_ledger_size(&tenant, size);
        }
    }
    let mut r = state.metrics.encode().into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    r
}

async fn openapi_json() -> Response {
    let mut r = openapi::document_text().into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
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

impl Problem {
    fn api(e: &ApiError) -> Self {
        let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        Self::new(status, e.to_string())
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
    headers: HeaderMap,
) -> Response {
    let parsed = match tiles::parse_tile_path(&path) {
        Ok(p) => p,
        Err(e) => return Problem::new(StatusCode::BAD_REQUEST, e).into_response(),
    };
    // Entry bundles hold whole entries (principals, CRQs, evidence): only
    // the tenant's tokens read them, unless the server is a public mirror.
    let token = match (&parsed, state.public_entries) {
        (TilePath::Entries(_), false) => match v1::bearer(&headers) {
            Ok(t) => Some(t.to_owned()),
            Err(e) => return v1::problem(&e),
        },
        _ => None,
    };
    let result = blocking(&state, move |store| {
        if let Some(token) = token {
            api::authenticate(store, &tenant, &token).map_err(|e| Problem::api(&e))?;
        }
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
