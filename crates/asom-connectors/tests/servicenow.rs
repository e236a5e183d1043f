//! The ServiceNow connector against a local server that answers with the
//! Table API's documented shapes (`{"result": [...]}`, numeric states,
//! `YYYY-MM-DD hh:mm:ss` UTC date-times, dot-walked reference fields).

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use asom_connectors::http::{Auth, HttpConfig, Secret};
use asom_connectors::servicenow::{ServiceNow, StageStates};
use asom_core::crq::{
    ApprovalState, ChangeSystem, ChangeSystemError, CrqNumber, CrqState, CrqType, Stage,
    approval_state_of,
};
use serde_json::{Value, json};
use support::{Reply, Request, Server};

const SYS_ID: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f90";

fn crq(state: &str, approval: &str) -> Value {
    json!({"result": [{
        "sys_id": SYS_ID, "number": "CHG0031234", "state": state, "approval": approval,
        "type": "normal", "start_date": "2026-11-20 08:00:00", "end_date": "2026-11-30 18:00:00",
        "assignment_group": "287ebd7da9fe198100f92cc8d1d2154e",
    }]})
}

fn approver(n: usize, state: &str) -> Value {
    json!({
        "sys_id": format!("appr{n}"), "state": state, "sys_updated_on": "2026-11-21 09:30:00",
        "approver.user_name": format!("approver{n}"), "approver.email": format!("approver{n}@corp.example"),
    })
}

/// A ServiceNow with one CRQ whose state and approval the test can change,
/// and `approvers` approver records served in pages.
fn servicenow(state: Arc<Mutex<(&'static str, &'static str)>>, approvers: Vec<Value>) -> Server {
    Server::start(handler(state, approvers))
}

fn handler(
    state: Arc<Mutex<(&'static str, &'static str)>>,
    approvers: Vec<Value>,
) -> impl Fn(&Request) -> Reply + Send + Sync + 'static {
    move |r: &Request| {
        let (s, a) = *state.lock().expect("lock");
        match r.path() {
            "/api/now/table/change_request" => {
                if r.query("sysparm_query") == Some("number%3DCHG0031234") {
                    Reply::json(&crq(s, a))
                } else {
                    Reply::json(&json!({"result": []}))
                }
            }
            "/api/now/table/sysapproval_approver" => {
                let limit: usize = r
                    .query("sysparm_limit")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(10);
                let offset: usize = r
                    .query("sysparm_offset")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                let page: Vec<Value> = approvers.iter().skip(offset).take(limit).cloned().collect();
                Reply::json(&json!({"result": page}))
            }
            _ => Reply::status(404, b"{\"error\":{\"message\":\"No such table\"}}"),
        }
    }
}

fn config(url: &str) -> HttpConfig {
    let mut c = HttpConfig::new(
        url,
        Auth::Basic {
            user: "asom-svc".into(),
            password: Secret::new("hunter2"),
        },
    );
    c.timeout = Duration::from_millis(800);
    c.retries = 2;
    c.max_wait = Duration::from_secs(2);
    c
}

fn number() -> CrqNumber {
    CrqNumber::parse("CHG0031234").expect("number")
}

#[test]
fn reads_a_crq_with_its_approvers_across_pages() {
    let state = Arc::new(Mutex::new(("-2", "approved")));
    let mut approvers: Vec<Value> = (0..149).map(|n| approver(n, "requested")).collect();
    approvers.push(approver(149, "approved"));
    let server = servicenow(Arc::clone(&state), approvers);
    let sn = ServiceNow::new(config(&server.url), StageStates::default());
    let (snap, read) = sn.read_crq_observed(&number()).expect("read");
    assert_eq!(snap.provider, "servicenow");
    assert_eq!(snap.state, CrqState::Scheduled);
    assert_eq!(snap.crq_type, CrqType::Normal);
    assert!(snap.window.is_some());
    // Scheduled: approved for QA (default mapping), not yet for PROD.
    assert_eq!(
        approval_state_of(&snap.approvals, Stage::Qa),
        ApprovalState::Approved
    );
    assert_eq!(
        approval_state_of(&snap.approvals, Stage::Prod),
        ApprovalState::Pending
    );
    assert_eq!(
        snap.approvers(Stage::Qa).into_iter().collect::<Vec<_>>(),
        ["approver149"]
    );
    // One CRQ read and two pages of approvers, all recorded.
    assert_eq!(read.sources.len(), 3, "{read:?}");
    assert!(read.sources[2].contains("sysparm_offset=100"), "{read:?}");
    assert_eq!(read.response_sha256.len(), 64);
    // Basic auth on every request; the password never in what asom records.
    for r in server.requests() {
        assert_eq!(
            r.header("authorization"),
            Some("Basic YXNvbS1zdmM6aHVudGVyMg==")
        );
        assert_eq!(r.header("accept"), Some("application/json"));
    }
    assert!(!format!("{read:?}").contains("hunter2"));

    // Implement: PROD too.
    *state.lock().expect("lock") = ("-1", "approved");
    let snap = sn.read_crq(&number()).expect("read");
    assert_eq!(
        approval_state_of(&snap.approvals, Stage::Prod),
        ApprovalState::Approved
    );
}

#[test]
fn a_crq_moved_back_to_a_lower_state_is_no_longer_approved() {
    let state = Arc::new(Mutex::new(("-2", "approved")));
    let server = servicenow(Arc::clone(&state), vec![approver(1, "approved")]);
    let sn = ServiceNow::new(config(&server.url), StageStates::default());
    let snap = sn.read_crq(&number()).expect("read");
    assert_eq!(
        approval_state_of(&snap.approvals, Stage::Qa),
        ApprovalState::Approved
    );
    *state.lock().expect("lock") = ("-4", "requested");
    let snap = sn.read_crq(&number()).expect("read");
    assert_eq!(snap.state, CrqState::Assess);
    assert_eq!(
        approval_state_of(&snap.approvals, Stage::Qa),
        ApprovalState::Pending
    );
    // A rejection counts whatever the state.
    let server = servicenow(
        Arc::new(Mutex::new(("-3", "rejected"))),
        vec![approver(2, "rejected")],
    );
    let snap = ServiceNow::new(config(&server.url), StageStates::default())
        .read_crq(&number())
        .expect("read");
    assert_eq!(
        approval_state_of(&snap.approvals, Stage::Qa),
        ApprovalState::Rejected
    );
}

#[test]
fn the_stage_mapping_is_configuration() {
    let state = Arc::new(Mutex::new(("-2", "approved")));
    let server = servicenow(state, vec![approver(1, "approved")]);
    let strict = StageStates {
        qa: [CrqState::Implement].into(),
        prod: [CrqState::Review].into(),
    };
    let snap = ServiceNow::new(config(&server.url), strict)
        .read_crq(&number())
        .expect("read");
    assert_eq!(
        approval_state_of(&snap.approvals, Stage::Qa),
        ApprovalState::Pending
    );
}

fn fails_with(server: &Server, fragments: &[&str]) -> String {
    let err = ServiceNow::new(config(&server.url), StageStates::default())
        .read_crq(&number())
        .expect_err("must fail");
    let text = err.to_string();
    for f in fragments {
        assert!(text.contains(f), "{f:?} in {text}");
    }
    assert!(!text.contains("hunter2"), "{text}");
    text
}

#[test]
fn http_errors_are_clear_and_never_a_pass() {
    for (status, says) in [
        (401, "401 Unauthorized"),
        (403, "403 Forbidden"),
        (404, "404 Not Found"),
    ] {
        let server = Server::start(move |_| Reply::status(status, b"{}"));
        fails_with(&server, &["ServiceNow", says]);
        assert_eq!(server.requests().len(), 1, "{status} is not retried");
    }
    // An unknown number is "not found", a different error from unreachable.
    let server = servicenow(Arc::new(Mutex::new(("-2", "approved"))), vec![]);
    let err = ServiceNow::new(config(&server.url), StageStates::default())
        .read_crq(&CrqNumber::parse("CHG0099999").expect("number"))
        .expect_err("unknown");
    assert!(matches!(err, ChangeSystemError::NotFound(_)), "{err}");
}

#[test]
fn rate_limits_and_server_errors_are_retried_honouring_retry_after() {
    let calls = Arc::new(Mutex::new(0));
    let answer = handler(
        Arc::new(Mutex::new(("-2", "approved"))),
        vec![approver(1, "approved")],
    );
    let server = Server::start(move |r: &Request| {
        let mut n = calls.lock().expect("lock");
        *n += 1;
        match *n {
            1 => Reply::status(429, b"{}").with_header("Retry-After", "1"),
            2 => Reply::status(503, b"{}"),
            _ => answer(r),
        }
    });
    let started = Instant::now();
    let snap = ServiceNow::new(config(&server.url), StageStates::default())
        .read_crq(&number())
        .expect("succeeds after retries");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After was not honoured"
    );
    assert_eq!(snap.state, CrqState::Scheduled);

    // Always 500: fails after the configured retries, naming the status.
    let server = Server::start(|_| Reply::status(500, b"{}"));
    fails_with(&server, &["HTTP 500 after 3 attempt(s)"]);
    assert_eq!(server.requests().len(), 3);
    // Always 429: rate limited.
    let server = Server::start(|_| Reply::status(429, b"{}").with_header("Retry-After", "0"));
    fails_with(&server, &["429 Too Many Requests after 3 attempts"]);
}

#[test]
fn a_slow_answer_times_out_and_malformed_json_is_refused() {
    let server =
        Server::start(|_| Reply::json(&json!({"result": []})).after(Duration::from_secs(3)));
    let mut c = config(&server.url);
    c.timeout = Duration::from_millis(300);
    c.retries = 0;
    let started = Instant::now();
    let err = ServiceNow::new(c, StageStates::default())
        .read_crq(&number())
        .expect_err("times out");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "waited {:?}",
        started.elapsed()
    );
    assert!(err.to_string().contains("no answer within"), "{err}");

    let server = Server::start(|_| Reply::status(200, b"{\"result\": [ {\"sys_id\": "));
    fails_with(&server, &["not the JSON this API documents"]);
    let server = Server::start(|_| Reply::json(&json!({"records": []})));
    fails_with(&server, &["no \"result\" array"]);
    let server = Server::start(|_| Reply::json(&crq("9", "approved")));
    fails_with(&server, &["unknown change_request state \"9\""]);
}
