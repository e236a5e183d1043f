//! `--server URL` (`ASOM_SERVER`): commands sent to `asom serve` instead of
//! run on the embedded store.
//!
//! The CLI builds the same [`Operation`] request it would run in process and
//! posts it to `/t/<tenant>/v1/<operation>` with `ASOM_TOKEN` as the bearer
//! token; the server runs the same `Operation::run`. Each invocation sends
//! one `Idempotency-Key`, so the retries below (connection failures, 429,
//! 502–504, and a 409 with `Retry-After` while the key's first request still
//! runs) can never act twice. A problem document comes back as the same
//! [`ApiError`] kind, so the exit code is the one the embedded store gives.

use std::time::Duration;

use anyhow::anyhow;
use asom_server::api::{ApiError, Operation};

use crate::exit::CliError;

/// How many times a request is sent at most.
const ATTEMPTS: u32 = 4;

/// A server and who acts on it.
pub struct Remote {
    base: String,
    tenant: String,
    token: String,
    agent: ureq::Agent,
}

impl Remote {
    /// The server at `url` (`http://host:port`, optionally with a path
    /// prefix), for `tenant`, acting as `ASOM_TOKEN`.
    pub fn new(url: &str, tenant: &str) -> Result<Self, CliError> {
        let base = url.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(CliError::usage(anyhow!(
                "--server {url:?} is not an http:// or https:// URL (e.g. http://127.0.0.1:8080)"
            )));
        }
        let token = crate::context::token_from_env()?;
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_mins(2)))
            .http_status_as_error(false)
            .build()
            .new_agent();
        Ok(Self {
            base,
            tenant: tenant.to_owned(),
            token: token.trim().to_owned(),
            agent,
        })
    }

    /// Sends `op` and returns the server's answer.
    pub fn call<O: Operation>(&self, op: &O) -> Result<O::Output, CliError> {
        let url = format!("{}/t/{}/v1{}", self.base, self.tenant, O::PATH);
        let body = serde_json::to_vec(op).map_err(|e| CliError::usage(anyhow!(e)))?;
        let key = hex::encode(crate::context::random_bytes()?);
        let mut wait = Duration::from_millis(200);
        for attempt in 1..=ATTEMPTS {
            let sent = self
                .agent
                .post(&url)
                .header("Authorization", &format!("Bearer {}", self.token))
                .header("Content-Type", "application/json")
                .header("Accept", "application/json, application/problem+json")
                .header("Idempotency-Key", &key)
                .send(&body[..]);
            let retry = match sent {
                Ok(mut response) => {
                    let status = response.status().as_u16();
                    // A 409 with Retry-After: the server still runs this
                    // key's first request (it outlived the server's timeout).
                    let in_use = status == 409 && response.headers().contains_key("retry-after");
                    let text = response
                        .body_mut()
                        .with_config()
                        .limit(64 * 1024 * 1024)
                        .read_to_string()
                        .map_err(|e| {
                            CliError::usage(anyhow!("reading the answer of {url}: {e}"))
                        })?;
                    if status == 200 {
                        return serde_json::from_str(&text).map_err(|e| {
                            CliError::usage(anyhow!(
                                "{url} answered something that is not a {} answer: {e}; is the server the same asom version?",
                                O::PATH
                            ))
                        });
                    }
                    if !(in_use || matches!(status, 429 | 502..=504)) || attempt == ATTEMPTS {
                        return Err(problem(&url, status, &text));
                    }
                    format!("{url} answered {status}")
                }
                Err(e) if attempt < ATTEMPTS => format!("{url}: {e}"),
                Err(e) => {
                    return Err(CliError::usage(anyhow!(
                        "cannot reach the asom server at {}: {e}; is `asom serve` running there (--server, ASOM_SERVER)?",
                        self.base
                    )));
                }
            };
            tracing::warn!(attempt, "{retry}; retrying with the same Idempotency-Key");
            std::thread::sleep(wait);
            wait *= 2;
        }
        unreachable!("the last attempt returns")
    }
}

/// The error a problem document stands for.
fn problem(url: &str, status: u16, text: &str) -> CliError {
    let doc: Option<serde_json::Value> = serde_json::from_str(text).ok();
    let kind = doc
        .as_ref()
        .and_then(|d| d["type"].as_str())
        .and_then(|t| t.strip_prefix(asom_server::api::PROBLEM_BASE));
    let detail = doc
        .as_ref()
        .and_then(|d| d["detail"].as_str())
        .map(str::to_owned);
    match (kind, detail) {
        (Some(kind), Some(detail)) => ApiError::from_kind(kind, detail).into(),
        _ => CliError::usage(anyhow!(
            "{url} answered {status} without a problem document: {}",
            text.chars().take(200).collect::<String>()
        )),
    }
}
