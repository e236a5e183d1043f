//! The Jira connector against a local server answering with REST API v2's
//! documented issue shape (`{"key", "fields": {...}}`).

mod support;

use std::time::Duration;

use asom_connectors::http::{Auth, HttpConfig, Secret};
use asom_connectors::jira::Jira;
use asom_core::release::JiraKey;
use asom_governance::stories::{PlanningError, PlanningSystem};
use serde_json::json;
use support::{Reply, Request, Server};

const FIELD: &str = "customfield_10020";

fn jira() -> Server {
    Server::start(|r: &Request| match r.path() {
        "/rest/api/2/issue/SALES-101" => Reply::json(&json!({
            "id": "10001", "key": "SALES-101",
            "fields": {
                "summary": "MERGE new transactions",
                "status": {"name": "In Progress"},
                "parent": {"key": "SALES-100"},
                "fixVersions": [{"name": "1.4.0"}],
                FIELD: "* re-running a batch changes no row\n* card numbers are visible to the payments role only\n",
            }
        })),
        "/rest/api/2/issue/SALES-102" => Reply::json(&json!({
            "key": "SALES-102", "fields": {"summary": "Late rows", FIELD: null}
        })),
        "/rest/api/2/issue/SALES-103" => Reply::json(&json!({"key": "OTHER-1", "fields": {}})),
        "/rest/api/2/issue/SALES-104" => Reply::status(200, b"<html>login</html>"),
        "/rest/api/2/myself" => Reply::json(&json!({"name": "asom-svc"})),
        _ => Reply::status(404, b"{\"errorMessages\":[\"Issue does not exist\"]}"),
    })
}

fn connect(server: &Server) -> Jira {
    let mut c = HttpConfig::new(&server.url, Auth::Bearer(Secret::new("pat-123")));
    c.timeout = Duration::from_secs(2);
    c.retries = 0;
    Jira::new(c, FIELD, None)
}

fn key(k: &str) -> JiraKey {
    k.parse().expect("key")
}

#[test]
fn reads_a_story_with_its_acceptance_criteria() {
    let server = jira();
    let j = connect(&server);
    let story = j.read_story(&key("SALES-101")).expect("story");
    assert_eq!(story.summary, "MERGE new transactions");
    assert_eq!(story.epic.as_deref(), Some("SALES-100"));
    assert_eq!(
        story.acceptance_criteria,
        [
            "re-running a batch changes no row",
            "card numbers are visible to the payments role only"
        ]
    );
    assert_eq!(story.source, "jira");
    let observed = story.observed.expect("observation");
    assert!(observed.sources[0].ends_with(&format!(
        "/rest/api/2/issue/SALES-101?fields=summary,status,parent,fixVersions,{FIELD}"
    )));
    assert_eq!(
        server.requests()[0].header("authorization"),
        Some("Bearer pat-123")
    );
    // No criteria written: an empty list, which G1 blocks on.
    assert!(
        j.read_story(&key("SALES-102"))
            .expect("story")
            .acceptance_criteria
            .is_empty()
    );
    assert!(j.check().expect("myself").ends_with("as asom-svc"));
}

#[test]
fn unknown_wrong_and_malformed_answers_are_errors() {
    let server = jira();
    let j = connect(&server);
    assert_eq!(
        j.read_story(&key("SALES-999")).expect_err("404"),
        PlanningError::NotFound("SALES-999".into())
    );
    let e = j
        .read_story(&key("SALES-103"))
        .expect_err("wrong issue")
        .to_string();
    assert!(e.contains("is not issue SALES-103"), "{e}");
    let e = j
        .read_story(&key("SALES-104"))
        .expect_err("html")
        .to_string();
    assert!(e.contains("not the JSON this API documents"), "{e}");
    let down = Server::start(|_| Reply::status(401, b"{}"));
    let e = connect(&down)
        .read_story(&key("SALES-101"))
        .expect_err("401")
        .to_string();
    assert!(
        e.contains("401 Unauthorized") && !e.contains("pat-123"),
        "{e}"
    );
}
