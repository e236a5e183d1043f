//! The operations over HTTP: `POST /t/{tenant}/v1/<operation>`, one route
//! per [`Operation`], all handled by [`handle`].
//!
//! What every request goes through, in order:
//!
//! 1. **Body limit.** A body over the server's limit is a 413 before any of
//!    it is parsed.
//! 2. **Content type.** `application/json` only (415 otherwise).
//! 3. **Authentication.** `Authorization: Bearer <token>`; the token must be
//!    live, of this tenant, and its principal enabled (401 otherwise). The
//!    [`crate::api::Acting`] it yields is the only way to run an operation.
//! 4. **Idempotency.** With an `Idempotency-Key` header
//!    (draft-ietf-httpapi-idempotency-key-header), the first answer for the
//!    (tenant, principal, key) is kept for 24 hours and replayed for a
//!    retry with the same body (`Idempotent-Replayed: true`); the same key
//!    with another body is a 422, and a retry while the first is running a 409
//!    with `Retry-After: 1`.
//!    Server errors (5xx) are not kept, so a retry runs again. The record is
//!    kept in the store when it keeps request keys (PostgreSQL: every replica
//!    on the database shares it), else in the process. Either way the ledger
//!    stores identical content once.
//! 5. **Decoding.** The body must be the operation's JSON; unknown fields are
//!    errors (400).
//! 6. **Running.** Steps 3 to 6 run in one task on the blocking pool, with a
//!    timeout: past it the client gets a 503 that says the operation may still
//!    complete. The key stays claimed until the operation ends and then keeps
//!    its answer, so a retry with the key gets a 409 with `Retry-After` while it
//!    runs and the late answer afterwards; it never runs the operation twice.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use asom_ledger::Hash;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use crate::AppState;
use crate::api::{self, ApiError, OpContext, Operation};
use asom_store::{KeyClaim, RequestKey, Store};

/// How long an idempotent answer is kept.
const IDEMPOTENCY_TTL: Duration = Duration::from_hours(24);
/// How many idempotent answers are kept at most (the oldest go first).
const IDEMPOTENCY_CAPACITY: usize = 100_000;
/// How long a claim of a shared `Idempotency-Key` that was never settled
/// (its process died mid-operation) holds before a retry may take it over.
/// Longer than any operation runs, so a slow one is not run twice.
const SHARED_KEY_LEASE: Duration = Duration::from_mins(10);

fn other_request() -> ApiError {
    ApiError::Rule(
        "this Idempotency-Key was used with another request body; use a new key for a new request"
            .to_owned(),
    )
}

/// The longest `Idempotency-Key` accepted.
const MAX_IDEMPOTENCY_KEY: usize = 255;

/// Adds the route of operation `O`.
pub(crate) fn route<O: Operation>(router: Router<AppState>) -> Router<AppState> {
    router.route(&format!("/t/{{tenant}}/v1{}", O::PATH), post(handle::<O>))
}

/// An error as an RFC 9457 problem document.
pub(crate) fn problem(e: &ApiError) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut r = (status, problem_body(e).to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    if matches!(e, ApiError::Unauthenticated(_)) {
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"asom\""),
        );
    }
    r
}

fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// The bearer token of a request.
pub(crate) fn bearer(headers: &HeaderMap) -> Result<&str, ApiError> {
    let value = headers.get(header::AUTHORIZATION).ok_or_else(|| {
        ApiError::Unauthenticated(
            "no Authorization header: send `Authorization: Bearer <token>` (asom token create makes one)"
                .to_owned(),
        )
    })?;
    let text = value.to_str().map_err(|_| {
        ApiError::Unauthenticated("the Authorization header is not text".to_owned())
    })?;
    match text.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(token.trim())
        }
        _ => Err(ApiError::Unauthenticated(
            "the Authorization header must be `Bearer <token>`".to_owned(),
        )),
    }
}

fn content_type_is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"))
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let text = value
        .to_str()
        .ok()
        .map(|t| t.trim().trim_matches('"'))
        .filter(|t| !t.is_empty() && t.len() <= MAX_IDEMPOTENCY_KEY)
        .ok_or_else(|| {
            ApiError::Invalid(format!(
                "Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} visible characters"
            ))
        })?;
    Ok(Some(text.to_owned()))
}

/// Handles one operation request (see the module docs for the steps).
async fn handle<O: Operation>(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match handle_inner::<O>(&state, tenant, &headers, body).await {
        Ok(r) => r,
        Err(e) => problem(&e),
    }
}

async fn handle_inner<O: Operation>(
    state: &AppState,
    tenant: String,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let limit = state.limits.max_body_bytes;
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| {
        ApiError::TooLarge(format!(
            "the request body is larger than {limit} bytes (asom serve --max-body-bytes)"
        ))
    })?;
    if !content_type_is_json(headers) {
        return Err(ApiError::UnsupportedMediaType(
            "send the request body as JSON with `Content-Type: application/json`".to_owned(),
        ));
    }
    let token = bearer(headers)?.to_owned();
    let key = idempotency_key(headers)?.filter(|_| O::KEEPS_ANSWER);
    // Everything else runs in one task on the blocking pool: the store is
    // synchronous, and one hand-off per request is cheaper than one per step.
    let state2 = state.clone();
    let span = tracing::Span::current();
    let task = tokio::task::spawn_blocking(move || {
        let _entered = span.enter();
        serve::<O>(&state2, &tenant, &token, key, &bytes)
    });
    match tokio::time::timeout(state.limits.request_timeout, task).await {
        Ok(Ok(answer)) => answer,
        Ok(Err(e)) => {
            tracing::error!(error = %e, "operation task failed");
            Err(ApiError::Unavailable(
                "the operation failed; the server log has the cause".to_owned(),
            ))
        }
        Err(_) => Err(ApiError::Unavailable(format!(
            "the operation took longer than {} s and may still complete; a retry with the same \
             Idempotency-Key gets its answer once it has one (409 until then)",
            state.limits.request_timeout.as_secs()
        ))),
    }
}

/// Steps 3 to 6 (see the module docs), on the blocking pool.
fn serve<O: Operation>(
    state: &AppState,
    tenant: &str,
    token: &str,
    key: Option<String>,
    bytes: &[u8],
) -> Result<Response, ApiError> {
    let acting = api::authenticate(state.store.as_ref(), tenant, token)?;
    let claim = match key {
        None => None,
        Some(key) => {
            let slot = (
                tenant.to_owned(),
                acting.principal().slug().as_str().to_owned(),
                key,
            );
            let fingerprint = Hash::of(&[O::PATH.as_bytes(), b"\n", bytes].concat());
            let (begun, shared) = state
                .idempotency
                .begin(state.store.as_ref(), &slot, fingerprint);
            match begun {
                Begin::Run => Some(Claim {
                    idempotency: &state.idempotency,
                    store: state.store.as_ref(),
                    shared,
                    slot: Some(slot),
                }),
                Begin::Replay(status, body) => {
                    let mut r = json_or_problem(status, body);
                    r.headers_mut()
                        .insert("idempotent-replayed", HeaderValue::from_static("true"));
                    return Ok(r);
                }
                Begin::Running => {
                    let mut r = problem(&ApiError::Conflict(
                        "a request with this Idempotency-Key is still running; retry shortly"
                            .to_owned(),
                    ));
                    r.headers_mut()
                        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                    return Ok(r);
                }
                Begin::Err(e) => return Err(e),
            }
        }
    };
    let result = run::<O>(state, tenant, &acting, bytes);
    if let Some(claim) = claim {
        claim.settle(&result);
    }
    result.map(|body| json_response(StatusCode::OK, body))
}

/// A claimed `Idempotency-Key`: settled with the operation's answer, or
/// released if the operation panicked.
struct Claim<'a> {
    idempotency: &'a Idempotency,
    store: &'a dyn Store,
    /// Claimed in the store (shared by every process on it), not in memory.
    shared: bool,
    slot: Option<Slot>,
}

impl Claim<'_> {
    /// Keeps the answers a retry must see again; releases the key otherwise.
    fn settle(mut self, result: &Result<Vec<u8>, ApiError>) {
        let slot = self.slot.take().expect("settled once");
        let kept = match result {
            Ok(body) => Some((StatusCode::OK.as_u16(), body.clone())),
            // Client errors are answers; a conflict may resolve on retry.
            Err(e) if e.status() < 500 && !matches!(e, ApiError::Conflict(_)) => Some((
                e.status(),
                serde_json::to_vec(&problem_body(e)).unwrap_or_default(),
            )),
            // Server errors are not kept: a retry runs again.
            Err(_) => None,
        };
        self.idempotency
            .finish(self.store, self.shared, &slot, kept);
    }
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        if let Some(slot) = self.slot.take() {
            self.idempotency
                .finish(self.store, self.shared, &slot, None);
        }
    }
}

fn problem_body(e: &ApiError) -> serde_json::Value {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    serde_json::json!({
        "type": e.type_uri(),
        "title": status.canonical_reason().unwrap_or("error"),
        "status": e.status(),
        "detail": e.to_string(),
        "exit_code": e.exit_code(),
    })
}

fn json_or_problem(status: u16, body: Vec<u8>) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let mut r = json_response(code, body);
    if status >= 400 {
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
    }
    r
}

/// Decodes and runs an operation.
fn run<O: Operation>(
    state: &AppState,
    tenant: &str,
    acting: &api::Acting,
    bytes: &[u8],
) -> Result<Vec<u8>, ApiError> {
    let op: O = serde_json::from_slice(bytes).map_err(|e| {
        ApiError::Invalid(format!(
            "the request body is not a valid {} request: {e}",
            O::PATH
        ))
    })?;
    let gov = (state.governance)(state.store.as_ref(), tenant);
    let ctx = OpContext::new(gov, tenant, Some(acting), &state.policies);
    let output = op.run(&ctx)?;
    O::observe(&output, &state.metrics);
    serde_json::to_vec(&output)
        .map_err(|e| ApiError::Unavailable(format!("encoding the answer: {e}")))
}

/// What [`Idempotency::begin`] decided.
enum Begin {
    /// Run the operation.
    Run,
    /// Send this kept answer again.
    Replay(u16, Vec<u8>),
    /// The first request with the key is still running.
    Running,
    /// Refuse.
    Err(ApiError),
}

type Slot = (String, String, String);

enum SlotState {
    Running,
    Done { status: u16, body: Vec<u8> },
}

struct Kept {
    fingerprint: Hash,
    state: SlotState,
    at: Instant,
}

/// The answers kept per `Idempotency-Key`, bounded in count and age.
#[derive(Default)]
pub(crate) struct Idempotency {
    inner: Mutex<IdempotencyInner>,
}

#[derive(Default)]
struct IdempotencyInner {
    slots: HashMap<Slot, Kept>,
    order: VecDeque<(Slot, Instant)>,
}

impl Idempotency {
    /// Claims `slot` in the store when it keeps request keys (`asom serve`
    /// processes on one PostgreSQL database share them), else in this
    /// process's memory. Says which.
    fn begin(&self, store: &dyn Store, slot: &Slot, fingerprint: Hash) -> (Begin, bool) {
        let key = RequestKey {
            tenant: &slot.0,
            principal: &slot.1,
            key: &slot.2,
        };
        let claim = match store.claim_request_key(&key, &fingerprint, SHARED_KEY_LEASE) {
            Ok(None) => return (self.begin_in_memory(slot, fingerprint), false),
            Ok(Some(claim)) => claim,
            Err(e) => return (Begin::Err(ApiError::from(e)), true),
        };
        let begun = match claim {
            KeyClaim::Claimed => Begin::Run,
            KeyClaim::Running => Begin::Running,
            KeyClaim::Done { status, body } => Begin::Replay(status, body),
            KeyClaim::OtherRequest => Begin::Err(other_request()),
        };
        (begun, true)
    }

    /// Keeps `answer` for the slot, or releases it (`None`), where it was claimed.
    fn finish(&self, store: &dyn Store, shared: bool, slot: &Slot, answer: Option<(u16, Vec<u8>)>) {
        if !shared {
            self.finish_in_memory(slot, answer);
            return;
        }
        let key = RequestKey {
            tenant: &slot.0,
            principal: &slot.1,
            key: &slot.2,
        };
        let answer = answer
            .as_ref()
            .map(|(status, body)| (*status, body.as_slice()));
        if let Err(e) = store.settle_request_key(&key, answer) {
            // The claim stays until its lease ends; retries get 409 meanwhile.
            tracing::error!(error = %e, "settling an Idempotency-Key failed");
        }
    }

    fn begin_in_memory(&self, slot: &Slot, fingerprint: Hash) -> Begin {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.expire();
        if let Some(kept) = inner.slots.get(slot) {
            if kept.fingerprint != fingerprint {
                return Begin::Err(other_request());
            }
            return match &kept.state {
                SlotState::Running => Begin::Running,
                SlotState::Done { status, body } => Begin::Replay(*status, body.clone()),
            };
        }
        let now = Instant::now();
        inner.slots.insert(
            slot.clone(),
            Kept {
                fingerprint,
                state: SlotState::Running,
                at: now,
            },
        );
        inner.order.push_back((slot.clone(), now));
        Begin::Run
    }

    fn finish_in_memory(&self, slot: &Slot, answer: Option<(u16, Vec<u8>)>) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        match answer {
            Some((status, body)) => {
                if let Some(kept) = inner.slots.get_mut(slot) {
                    kept.state = SlotState::Done { status, body };
                }
            }
            None => {
                inner.slots.remove(slot);
            }
        }
    }
}

impl IdempotencyInner {
    fn expire(&mut self) {
        while let Some((slot, at)) = self.order.front() {
            let too_many = self.slots.len() > IDEMPOTENCY_CAPACITY;
            if !too_many && at.elapsed() < IDEMPOTENCY_TTL {
                break;
            }
            let (slot, at) = (slot.clone(), *at);
            self.order.pop_front();
            // Only drop the slot if it is the one this queue entry made.
            if self.slots.get(&slot).is_some_and(|k| k.at == at) {
                self.slots.remove(&slot);
            }
        }
    }
}
