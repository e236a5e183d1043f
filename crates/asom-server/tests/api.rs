//! The operations over HTTP, through a real server on loopback over a real
//! SQLite store: who may call what (the permission matrix), what bad
//! requests get, idempotency, request ids, metrics, and the committed
//! OpenAPI document.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use asom_core::principal::{AgentKind, Principal, Role, Slug, TokenSecret};
use asom_ledger::note::NoteSigner;
use asom_server::AppState;
use asom_store::{Store, Tenant, TokenRecord};
use asom_store_sqlite::SqliteStore;
use serde_json::{Value, json};

const TENANT: &str = "acme";

struct Running {
    base: String,
    store: Arc<SqliteStore>,
    tokens: BTreeMap<&'static str, String>,
    _dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Every principal kind, and a human of every role.
fn principals() -> Vec<(&'static str, Principal)> {
    let slug = |s: &str| Slug::new(s).expect("slug");
    let mut out = vec![
        ("machine", Principal::machine(slug("ci"))),
        ("agent", Principal::agent(slug("dev-bot"), AgentKind::Dev)),
    ];
    for (name, role) in [
        ("developer", Role::Developer),
        ("qa", Role::Qa),
        ("release-approver", Role::ReleaseApprover),
        ("governance", Role::Governance),
        ("change-manager", Role::ChangeManager),
        ("emergency-approver", Role::EmergencyApprover),
        ("admin", Role::Admin),
    ] {
        out.push((name, Principal::human(slug(name), [role])));
    }
    out
}

fn start_with(state: impl FnOnce(Arc<SqliteStore>) -> AppState) -> Running {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(SqliteStore::open(dir.path().join("asom.db")).expect("store"));
    let signer = NoteSigner::from_seed("asom.test/acme", [7; 32]).expect("signer");
    store
        .create_tenant(
            &Tenant {
                slug: TENANT.into(),
                origin: "asom.test/acme".into(),
            },
            Arc::new(signer),
            "2026-11-21T00:00:00.000Z",
        )
        .expect("tenant");
    let mut tokens = BTreeMap::new();
    for (i, (name, principal)) in principals().into_iter().enumerate() {
        store
            .create_principal(TENANT, &principal)
            .expect("principal");
        let secret = TokenSecret::from_random_bytes([u8::try_from(i).expect("small") + 1; 32]);
        store
            .create_token(&TokenRecord {
                id: format!("tok_{i}"),
                digest: secret.digest(),
                tenant: TENANT.into(),
                principal: principal.slug().as_str().to_owned(),
                label: name.into(),
                created_at: "2026-11-21T00:00:00.000Z".into(),
                revoked_at: None,
            })
            .expect("token");
        tokens.insert(name, secret.expose().to_owned());
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let state = state(store.clone());
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            asom_server::serve(listener, state, async {
                let _ = stopped.await;
            })
            .await
            .expect("serve");
        });
    });
    Running {
        base,
        store,
        tokens,
        _dir: dir,
        stop: Some(stop),
        thread: Some(thread),
    }
}

fn start() -> Running {
    start_with(|store| AppState::new(store))
}

struct Answer {
    status: u16,
    content_type: String,
    headers: BTreeMap<String, String>,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    /// Asserts an RFC 9457 problem of this status and kind.
    fn problem(&self, status: u16, kind: &str) -> Value {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(
            self.content_type, "application/problem+json",
            "{}",
            self.body
        );
        let doc = self.json();
        assert_eq!(doc["type"], format!("urn:asom:problem:{kind}"), "{doc}");
        assert_eq!(doc["status"], status);
        assert!(
            doc["detail"].as_str().is_some_and(|d| d.len() > 10),
            "a problem says what is wrong: {doc}"
        );
        doc
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent()
}

fn post(
    run: &Running,
    path: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Answer {
    let url = format!("{}/t/{TENANT}/v1{path}", run.base);
    let mut request = agent().post(&url);
    if let Some(t) = token {
        request = request.header("Authorization", &format!("Bearer {t}"));
    }
    let mut has_type = false;
    for (k, v) in headers {
        has_type |= k.eq_ignore_ascii_case("content-type");
        request = request.header(*k, *v);
    }
    if !has_type {
        request = request.header("Content-Type", "application/json");
    }
    let response = request.send(body).expect("the server answers");
    answer(response)
}

fn get(run: &Running, path: &str, token: Option<&str>) -> Answer {
    let mut request = agent().get(&format!("{}{path}", run.base));
    if let Some(t) = token {
        request = request.header("Authorization", &format!("Bearer {t}"));
    }
    answer(request.call().expect("the server answers"))
}

fn answer(mut response: ureq::http::Response<ureq::Body>) -> Answer {
    let status = response.status().as_u16();
    let headers: BTreeMap<String, String> = response
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let content_type = headers.get("content-type").cloned().unwrap_or_default();
    let body =
        String::from_utf8_lossy(&response.body_mut().read_to_vec().expect("body")).into_owned();
    Answer {
        status,
        content_type,
        headers,
        body,
    }
}

fn log_size(run: &Running) -> u64 {
    run.store
        .latest_checkpoint(TENANT)
        .expect("checkpoint")
        .size
}

/// A well-formed request of each operation. The release does not exist, so
/// an allowed principal gets past the permission check and then a 404; a
/// refused one gets a 403 before anything is read.
fn requests() -> Vec<(&'static str, Value)> {
    vec![
        ("/whoami", json!({})),
        (
            "/evidence",
            json!({"release": "sales@1.0.0", "control": "C-06", "category": "T3",
                   "commit": "4b825dc642cb6eb9a060e54bf8d69288fbee4904", "build": "b-1",
                   "environment": "ci", "status": "pass", "source_type": "junit",
                   "source_ref": "s3://bucket/report.xml",
                   "sha256": "0000000000000000000000000000000000000000000000000000000000000000"}),
        ),
        (
            "/gates/check",
            json!({"gate": "G3", "release": "sales@1.0.0"}),
        ),
        ("/gates/replay", json!({"decision": 0})),
        (
            "/promotions",
            json!({"release": "sales@1.0.0", "to": "PROD"}),
        ),
        (
            "/products",
            json!({"slug": "billing", "team": "data-eng", "classification": "internal", "change_type": "dq-rule-change"}),
        ),
        (
            "/principals",
            json!({"slug": "newcomer", "kind": "human", "roles": ["developer"]}),
        ),
        ("/tokens", json!({"principal": "ci", "label": "matrix"})),
        ("/tokens/revoke", json!({"id": "tok_nonexistent"})),
        (
            "/identities",
            json!({"alias": "dev@example.com", "person": "developer"}),
        ),
        ("/releases", json!({"release": "sales@9.9.9"})),
        ("/crqs", json!({"release": "sales@1.0.0", "type": "normal"})),
        (
            "/crqs/transition",
            json!({"number": "CRQ0000001", "state": "assess"}),
        ),
        (
            "/crqs/approve",
            json!({"number": "CRQ0000001", "stage": "qa"}),
        ),
        (
            "/crqs/reject",
            json!({"number": "CRQ0000001", "stage": "prod"}),
        ),
        ("/releases/verify", json!({"release": "sales@1.0.0"})),
        (
            "/stories",
            json!({"key": "SALES-1", "summary": "a story", "acceptance_criteria": ["it works"]}),
        ),
        ("/overrides/approve", json!({"id": "deadbeefdeadbeef"})),
        ("/exceptions/approve", json!({"id": "deadbeefdeadbeef"})),
    ]
}

/// Who may call each operation: `None` is everyone with a token.
fn allowed(path: &str) -> Option<&'static [&'static str]> {
    const DELIVERY: &[&str] = &[
        "machine",
        "developer",
        "release-approver",
        "change-manager",
        "admin",
    ];
    match path {
        // Recording evidence and promoting are a machine's acts (F-02, C-02).
        "/evidence" | "/promotions" => Some(&["machine"]),
        "/products" | "/principals" | "/tokens" | "/tokens/revoke" | "/identities" => {
            Some(&["admin"])
        }
        "/releases" | "/crqs" | "/stories" => Some(DELIVERY),
        "/crqs/transition" => Some(&["release-approver", "change-manager", "admin"]),
        // Approvals are humans' acts: never a machine's or an agent's.
        "/crqs/approve" | "/crqs/reject" => Some(&["release-approver", "change-manager"]),
        "/overrides/approve" => Some(&["emergency-approver"]),
        "/exceptions/approve" | "/releases/verify" => Some(&["governance"]),
        _ => None,
    }
}

#[test]
fn permission_matrix_every_operation_by_every_principal() {
    let run = start();
    let mut seen = Vec::new();
    for (path, body) in requests() {
        let bytes = serde_json::to_vec(&body).expect("json");
        // No token, a malformed token, a token of nobody: 401, nothing read.
        post(&run, path, None, &[], &bytes).problem(401, "unauthenticated");
        post(&run, path, Some("not-a-token"), &[], &bytes).problem(401, "unauthenticated");
        let stranger = TokenSecret::from_random_bytes([99; 32]);
        post(&run, path, Some(stranger.expose()), &[], &bytes).problem(401, "unauthenticated");
        for (name, token) in &run.tokens {
            let size = log_size(&run);
            let answer = post(&run, path, Some(token), &[], &bytes);
            let may = allowed(path).is_none_or(|who| who.contains(name));
            if may {
                assert!(
                    ![401, 403].contains(&answer.status),
                    "{name} may call {path}, got {}: {}",
                    answer.status,
                    answer.body
                );
            } else {
                let doc = answer.problem(403, "refused");
                assert_eq!(doc["exit_code"], 1);
                assert_eq!(log_size(&run), size, "a refused {path} by {name} wrote");
            }
            seen.push(format!("{path} {name} {}", answer.status));
        }
    }
    // Every operation was asked by all nine principals.
    assert_eq!(seen.len(), requests().len() * 9);
}

#[test]
fn an_agent_token_cannot_record_evidence_or_promote_through_any_body() {
    let run = start();
    let agent_token = run.tokens["agent"].clone();
    let before = log_size(&run);
    for body in [
        json!({"record": {"anything": 1}}),
        json!({"junit": "<testsuite/>", "release": "sales@1.0.0"}),
        json!({"dsse": {"payload": "", "payloadType": "x", "signatures": []}}),
        json!({}),
    ] {
        let bytes = serde_json::to_vec(&body).expect("json");
        post(&run, "/evidence", Some(&agent_token), &[], &bytes).problem(403, "refused");
    }
    for to in ["QA", "PROD"] {
        let bytes = serde_json::to_vec(&json!({"release": "sales@1.0.0", "to": to})).expect("json");
        post(&run, "/promotions", Some(&agent_token), &[], &bytes).problem(403, "refused");
    }
    assert_eq!(log_size(&run), before);
}

#[test]
fn whoami_names_the_principal_of_the_token() {
    let run = start();
    let answer = post(&run, "/whoami", Some(&run.tokens["agent"]), &[], b"{}");
    assert_eq!(answer.status, 200, "{}", answer.body);
    let me = answer.json();
    assert_eq!(me["principal"], "dev-bot");
    assert_eq!(me["kind"], "agent");
    assert_eq!(me["tenant"], TENANT);
}

#[test]
fn bad_requests_get_a_clear_4xx_and_write_nothing() {
    let run = start_with(|store| {
        AppState::new(store).with_limits(asom_server::Limits {
            max_body_bytes: 64 * 1024,
            ..asom_server::Limits::default()
        })
    });
    let ci = run.tokens["machine"].clone();
    let before = log_size(&run);
    // Malformed JSON.
    let doc = post(&run, "/evidence", Some(&ci), &[], b"{\"control\": ").problem(400, "invalid");
    assert!(
        doc["detail"].as_str().unwrap_or("").contains("not a valid"),
        "{doc}"
    );
    // Not an object of the operation's shape.
    post(&run, "/gates/check", Some(&ci), &[], b"[1, 2]").problem(400, "invalid");
    // Unknown field: a typo is an error, not an ignored option.
    let doc = post(
        &run,
        "/gates/check",
        Some(&ci),
        &[],
        br#"{"gate": "G3", "release": "sales@1.0.0", "relase": "x"}"#,
    )
    .problem(400, "invalid");
    assert!(
        doc["detail"].as_str().unwrap_or("").contains("relase"),
        "{doc}"
    );
    // A field of the wrong type, and a missing one.
    post(
        &run,
        "/gates/replay",
        Some(&ci),
        &[],
        br#"{"decision": "seven"}"#,
    )
    .problem(400, "invalid");
    post(&run, "/gates/check", Some(&ci), &[], br#"{"gate": "G3"}"#).problem(400, "invalid");
    // Invalid values inside a well-formed body.
    post(
        &run,
        "/gates/check",
        Some(&ci),
        &[],
        br#"{"gate": "G9", "release": "sales@1.0.0"}"#,
    )
    .problem(400, "invalid");
    post(
        &run,
        "/promotions",
        Some(&ci),
        &[],
        br#"{"release": "sales@1.0.0", "to": "STAGING"}"#,
    )
    .problem(400, "invalid");
    post(&run, "/evidence", Some(&ci), &[], br#"{"control": "C-06"}"#).problem(400, "invalid");
    post(
        &run,
        "/evidence",
        Some(&ci),
        &[],
        br#"{"record": {"control_id": "C-06"}}"#,
    )
    .problem(400, "invalid");
    // Wrong content type.
    post(
        &run,
        "/whoami",
        Some(&ci),
        &[("Content-Type", "text/plain")],
        b"{}",
    )
    .problem(415, "unsupported-media-type");
    // Oversized: refused before it is parsed.
    let big = format!(r#"{{"junit": "{}"}}"#, "x".repeat(100 * 1024));
    post(&run, "/evidence", Some(&ci), &[], big.as_bytes()).problem(413, "too-large");
    // An unknown operation and an unknown path.
    let unknown = post(&run, "/approve-everything", Some(&ci), &[], b"{}");
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.content_type, "application/problem+json");
    assert_eq!(log_size(&run), before, "no bad request wrote anything");
}

/// A world in which CI can record evidence: a product and a release.
fn with_release(run: &Running) {
    let gov = asom_governance::Governance::new(run.store.as_ref(), TENANT);
    let admin = run.store.principal(TENANT, "admin").expect("admin");
    let product: asom_core::release::Product = serde_json::from_value(json!({
        "slug": "sales", "team": "data-eng", "classification": "internal",
        "change_type": "dq-rule-change"
    }))
    .expect("product");
    gov.create_product(&admin, &product).expect("product");
    let developer = run.store.principal(TENANT, "developer").expect("developer");
    gov.create_release(&developer, &"sales@1.0.0".parse().expect("release id"))
        .expect("release");
}

fn evidence_body(build: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "release": "sales@1.0.0", "control": "C-06", "category": "T3",
        "commit": "4b825dc642cb6eb9a060e54bf8d69288fbee4904", "build": build,
        "environment": "ci", "status": "pass", "source_type": "junit",
        "source_ref": "s3://bucket/report.xml",
        "sha256": "1111111111111111111111111111111111111111111111111111111111111111"
    }))
    .expect("json")
}

#[test]
fn idempotency_key_replays_the_first_answer_and_refuses_another_body() {
    let run = start();
    with_release(&run);
    let ci = run.tokens["machine"].clone();
    let key = [("Idempotency-Key", "build-17-c06")];
    let first = post(&run, "/evidence", Some(&ci), &key, &evidence_body("b-17"));
    assert_eq!(first.status, 200, "{}", first.body);
    assert!(!first.headers.contains_key("idempotent-replayed"));
    let size = log_size(&run);
    let again = post(&run, "/evidence", Some(&ci), &key, &evidence_body("b-17"));
    assert_eq!(again.status, 200);
    assert_eq!(
        again.headers.get("idempotent-replayed").map(String::as_str),
        Some("true")
    );
    assert_eq!(
        again.body, first.body,
        "the retry gets the first answer, byte for byte"
    );
    assert_eq!(log_size(&run), size, "the retry wrote nothing");
    // The same key with another body: refused, nothing written.
    let doc = post(&run, "/evidence", Some(&ci), &key, &evidence_body("b-18")).problem(422, "rule");
    assert!(
        doc["detail"]
            .as_str()
            .unwrap_or("")
            .contains("Idempotency-Key"),
        "{doc}"
    );
    assert_eq!(log_size(&run), size);
    // Another principal's key space is its own.
    let other = post(&run, "/whoami", Some(&run.tokens["agent"]), &key, b"{}");
    assert_eq!(other.status, 200, "{}", other.body);
    // A malformed key.
    let long = "k".repeat(300);
    post(
        &run,
        "/whoami",
        Some(&ci),
        &[("Idempotency-Key", &long)],
        b"{}",
    )
    .problem(400, "invalid");
}

#[test]
fn an_operation_past_the_timeout_keeps_its_late_answer_for_its_key() {
    // Every operation takes 1.5 s here (a slow store), three times the
    // timeout: the client gets a 503 while the operation goes on, and its key
    // stays claimed until its answer is kept. Authenticating and answering
    // from the kept answers do not build a governance service, so they are
    // not slowed.
    let run = start_with(|store| {
        AppState::new(store)
            .with_limits(asom_server::Limits {
                request_timeout: Duration::from_millis(500),
                ..asom_server::Limits::default()
            })
            .with_governance(Arc::new(|store: &dyn Store, tenant: &str| {
                std::thread::sleep(Duration::from_millis(1500));
                asom_governance::Governance::new(store, tenant)
            }))
    });
    with_release(&run);
    let ci = run.tokens["machine"].clone();
    let before = log_size(&run);
    let key = [("Idempotency-Key", "late-1")];
    let body = evidence_body("b-late");
    let doc = post(&run, "/evidence", Some(&ci), &key, &body).problem(503, "unavailable");
    assert!(
        doc["detail"]
            .as_str()
            .is_some_and(|d| d.contains("may still complete")),
        "{doc}"
    );
    let (mut in_use, mut attempts) = (0, 0);
    let retried = loop {
        let again = post(&run, "/evidence", Some(&ci), &key, &body);
        attempts += 1;
        assert!(attempts < 500, "the late answer is kept within seconds");
        match again.status {
            409 => {
                again.problem(409, "conflict");
                assert_eq!(
                    again.headers.get("retry-after").map(String::as_str),
                    Some("1"),
                    "a key in use says when to retry"
                );
                in_use += 1;
            }
            // A loaded machine may make even a retry miss the timeout.
            503 => {}
            _ => break again,
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(
        in_use > 0,
        "a retry during the operation is told the key is in use"
    );
    assert_eq!(retried.status, 200, "{}", retried.body);
    assert_eq!(
        retried
            .headers
            .get("idempotent-replayed")
            .map(String::as_str),
        Some("true"),
        "the retry gets the late answer; it does not run the operation again"
    );
    assert_eq!(retried.json()["recorded"]["new"], true);
    assert_eq!(retried.json()["recorded"]["index"], before);
    assert_eq!(log_size(&run), before + 1, "the operation ran once");
}

#[test]
fn evidence_recorded_over_http_is_in_the_ledger_and_counted() {
    let run = start();
    with_release(&run);
    let ci = run.tokens["machine"].clone();
    let before = log_size(&run);
    let answer = post(
        &run,
        "/evidence",
        Some(&ci),
        &[("X-Request-Id", "req-42")],
        &evidence_body("b-1"),
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(
        answer.headers.get("x-request-id").map(String::as_str),
        Some("req-42")
    );
    let out = answer.json();
    assert_eq!(out["recorded"]["new"], true);
    let index = out["recorded"]["index"].as_u64().expect("index");
    assert_eq!(index, before);
    let entry = run.store.entry_at(TENANT, index).expect("entry");
    assert_eq!(entry.kind, "evidence");
    assert_eq!(
        entry.id.to_hex(),
        out["recorded"]["id"].as_str().expect("id")
    );
    // A generated request id when the client sends none.
    let generated = post(&run, "/whoami", Some(&ci), &[], b"{}");
    assert!(
        generated
            .headers
            .get("x-request-id")
            .is_some_and(|v| v.len() >= 16)
    );
    // The gate check is counted by gate and result.
    let check = post(
        &run,
        "/gates/check",
        Some(&ci),
        &[],
        br#"{"gate": "G3", "release": "sales@1.0.0"}"#,
    );
    assert_eq!(check.status, 200, "{}", check.body);
    assert_eq!(check.json()["decision"]["result"], "block");
    let metrics = get(&run, "/metrics", None);
    assert_eq!(metrics.status, 200);
    let text = metrics.body;
    assert!(
        text.contains(r#"asom_gate_decisions_total{gate="G3",result="block"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"asom_ledger_entries_written_total{kind="evidence"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"asom_http_requests_total{method="POST",route="/t/{tenant}/v1/evidence",status="200"} 1"#),
        "{text}"
    );
    assert!(
        text.contains("asom_http_request_duration_seconds_bucket"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            r#"asom_ledger_size{{tenant="acme"}} {}"#,
            log_size(&run)
        )),
        "{text}"
    );
}

#[test]
fn entry_bundles_need_a_token_of_the_tenant_unless_public() {
    let run = start();
    run.store
        .append(
            TENANT,
            vec![asom_store::NewEntry::new("record", &json!({"n": 1}), "admin").expect("entry")],
        )
        .expect("append");
    let size = log_size(&run);
    assert_eq!(size, 1);
    let path = format!("/t/{TENANT}/tile/entries/000.p/{size}");
    get(&run, &path, None).problem(401, "unauthenticated");
    let ok = get(&run, &path, Some(&run.tokens["agent"]));
    assert_eq!(ok.status, 200, "{}", ok.body);
    // Hash tiles and the checkpoint hold only hashes: public.
    assert_eq!(
        get(&run, &format!("/t/{TENANT}/checkpoint"), None).status,
        200
    );
    assert_eq!(
        get(&run, &format!("/t/{TENANT}/tile/0/000.p/1"), None).status,
        200
    );
    let public = start_with(|store| AppState::new(store).with_public_entries(true));
    public
        .store
        .append(
            TENANT,
            vec![asom_store::NewEntry::new("record", &json!({"n": 1}), "admin").expect("entry")],
        )
        .expect("append");
    assert_eq!(get(&public, &path, None).status, 200);
}

#[test]
fn the_committed_openapi_document_is_the_generated_one() {
    let generated = asom_server::openapi::document_text();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
    if std::env::var_os("ASOM_UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).expect("writing docs/openapi.json");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/openapi.json differs from the code; regenerate it with \
         `ASOM_UPDATE_OPENAPI=1 cargo test -p asom-server --test api` and commit it"
    );
    let doc: Value = serde_json::from_str(&generated).expect("json");
    assert_eq!(doc["openapi"], "3.1.0");
    // Every operation the router serves is in it, with its schemas resolvable.
    for (path, _) in requests() {
        let item = &doc["paths"][format!("/t/{{tenant}}/v1{path}")]["post"];
        assert!(item.is_object(), "{path} is documented");
        for r in [
            &item["requestBody"]["content"]["application/json"]["schema"]["$ref"],
            &item["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
        ] {
            let name = r
                .as_str()
                .and_then(|r| r.strip_prefix("#/components/schemas/"));
            let name = name.unwrap_or_else(|| panic!("{path}: {r}"));
            assert!(
                doc["components"]["schemas"][name].is_object(),
                "{name} is defined"
            );
        }
    }
}

#[test]
fn the_server_serves_its_openapi_document() {
    let run = start();
    let answer = get(&run, "/openapi.json", None);
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body, asom_server::openapi::document_text());
}
