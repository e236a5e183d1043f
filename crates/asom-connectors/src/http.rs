//! A small blocking HTTP client for the connectors: JSON GETs with
//! authentication, timeouts, retries and clear errors.
//!
//! Retries: a 429, a 500, 502, 503 or 504, a timeout or a transport failure
//! is tried again, up to `retries` more times. The wait is the response's
//! `Retry-After` (seconds) when it gives one, otherwise 250 ms doubling per
//! attempt; either way at most `max_wait`. Any other status fails at once.
//! Credentials go in the `Authorization` header only; no error, log line or
//! `Debug` output shows them.

use std::fmt;
use std::io::Read as _;
use std::time::Duration;

use asom_ledger::Hash;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

/// The largest response body read.
const MAX_BODY: u64 = 16 << 20;

/// A secret (password or token) that never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    #[must_use]
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// How requests authenticate.
#[derive(Debug, Clone)]
pub enum Auth {
    /// No credentials (a test server).
    None,
    /// HTTP Basic: user and password (`ServiceNow`, Jira Cloud with an API token).
    Basic {
        /// The user.
        user: String,
        /// The password or API token.
        password: Secret,
    },
    /// A bearer token (Jira Data Center personal access tokens).
    Bearer(Secret),
}

/// Where and how to connect.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// The base URL, e.g. `https://acme.service-now.com`.
    pub base_url: String,
    /// Credentials.
    pub auth: Auth,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Retries after the first attempt.
    pub retries: u32,
    /// The longest wait between attempts.
    pub max_wait: Duration,
}

impl HttpConfig {
    /// A configuration with asom's defaults: 10 s timeout, 3 retries, waits
    /// of at most 30 s.
    #[must_use]
    pub fn new(base_url: impl Into<String>, auth: Auth) -> Self {
        Self {
            base_url: base_url.into(),
            auth,
            timeout: Duration::from_secs(10),
            retries: 3,
            max_wait: Duration::from_secs(30),
        }
    }
}

/// Why a request failed. Messages name the URL (without credentials) and
/// what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    /// 401.
    #[error(
        "{url}: 401 Unauthorized: the service account's credentials were refused; check the user and the secret asom reads from the environment"
    )]
    Unauthorized {
        /// The URL.
        url: String,
    },
    /// 403.
    #[error(
        "{url}: 403 Forbidden: the service account may not read this; give it the read roles docs/integrations.md lists"
    )]
    Forbidden {
        /// The URL.
        url: String,
    },
    /// 404.
    #[error("{url}: 404 Not Found")]
    NotFound {
        /// The URL.
        url: String,
    },
    /// Still 429 after every retry.
    #[error(
        "{url}: 429 Too Many Requests after {attempts} attempts: the system is rate-limiting asom; try again later or raise its limit"
    )]
    RateLimited {
        /// The URL.
        url: String,
        /// Attempts made.
        attempts: u32,
    },
    /// Another status, after retries where they apply.
    #[error("{url}: HTTP {status} after {attempts} attempt(s)")]
    Status {
        /// The URL.
        url: String,
        /// The status.
        status: u16,
        /// Attempts made.
        attempts: u32,
    },
    /// No answer in time, after every retry.
    #[error("{url}: no answer within {seconds} s after {attempts} attempt(s)")]
    Timeout {
        /// The URL.
        url: String,
        /// The timeout.
        seconds: u64,
        /// Attempts made.
        attempts: u32,
    },
    /// The connection failed, after every retry.
    #[error("{url}: cannot connect after {attempts} attempt(s): {message}")]
    Transport {
        /// The URL.
        url: String,
        /// What failed.
        message: String,
        /// Attempts made.
        attempts: u32,
    },
    /// The body is not the JSON expected.
    #[error("{url}: the response is not the JSON this API documents: {message}")]
    Malformed {
        /// The URL.
        url: String,
        /// What is wrong.
        message: String,
    },
}

/// A successful response.
#[derive(Debug, Clone)]
pub struct Response {
    /// The URL read (without credentials).
    pub url: String,
    /// The parsed JSON body.
    pub json: serde_json::Value,
    /// SHA-256 of the raw body.
    pub sha256: Hash,
}

/// A connection to one system.
pub struct Client {
    agent: ureq::Agent,
    config: HttpConfig,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for `config`.
    #[must_use]
    pub fn new(config: HttpConfig) -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(config.timeout))
            .http_status_as_error(false)
            .user_agent(concat!("asom/", env!("CARGO_PKG_VERSION")))
            .build()
            .new_agent();
        Self { agent, config }
    }

    /// The base URL, without credentials (for reports).
    #[must_use]
    pub fn base_url(&self) -> String {
        without_userinfo(&self.config.base_url)
    }

    /// GETs `path_and_query` (starting with `/`) and parses the JSON body.
    pub fn get_json(&self, path_and_query: &str) -> Result<Response, HttpError> {
        let base = self.config.base_url.trim_end_matches('/');
        let url = format!("{base}{path_and_query}");
        let shown = without_userinfo(&url);
        let attempts = self.config.retries + 1;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut request = self.agent.get(&url).header("Accept", "application/json");
            match &self.config.auth {
                Auth::None => {}
                Auth::Basic { user, password } => {
                    request = request.header(
                        "Authorization",
                        &format!(
                            "Basic {}",
                            BASE64.encode(format!("{user}:{}", password.expose()))
                        ),
                    );
                }
                Auth::Bearer(token) => {
                    request =
                        request.header("Authorization", &format!("Bearer {}", token.expose()));
                }
            }
            let outcome = request.call();
            let retry_after = match outcome {
                Ok(response) => {
                    let status = response.status().as_u16();
                    match status {
                        200..=299 => {
                            let mut body = Vec::new();
                            response
                                .into_body()
                                .into_reader()
                                .take(MAX_BODY)
                                .read_to_end(&mut body)
                                .map_err(|e| HttpError::Transport {
                                    url: shown.clone(),
                                    message: format!("reading the response: {e}"),
                                    attempts: attempt,
                                })?;
                            let json = serde_json::from_slice(&body).map_err(|e| {
                                HttpError::Malformed {
                                    url: shown.clone(),
                                    message: e.to_string(),
                                }
                            })?;
                            return Ok(Response {
                                url: shown,
                                json,
                                sha256: Hash::of(&body),
                            });
                        }
                        401 => return Err(HttpError::Unauthorized { url: shown }),
                        403 => return Err(HttpError::Forbidden { url: shown }),
                        404 => return Err(HttpError::NotFound { url: shown }),
                        429 | 500 | 502 | 503 | 504 if attempt < attempts => retry_after(&response),
                        429 => {
                            return Err(HttpError::RateLimited {
                                url: shown,
                                attempts: attempt,
                            });
                        }
                        _ => {
                            return Err(HttpError::Status {
                                url: shown,
                                status,
                                attempts: attempt,
                            });
                        }
                    }
                }
                Err(e) if attempt < attempts => {
                    tracing::debug!(url = %shown, error = %e, attempt, "request failed, retrying");
                    None
                }
                Err(ureq::Error::Timeout(_)) => {
                    return Err(HttpError::Timeout {
                        url: shown,
                        seconds: self.config.timeout.as_secs(),
                        attempts: attempt,
                    });
                }
                Err(e) => {
                    return Err(HttpError::Transport {
                        url: shown,
                        message: e.to_string(),
                        attempts: attempt,
                    });
                }
            };
            let backoff = Duration::from_millis(250 * (1 << (attempt - 1).min(6)));
            let wait = retry_after.unwrap_or(backoff).min(self.config.max_wait);
            tracing::info!(url = %shown, attempt, wait_ms = wait.as_millis() as u64, "retrying");
            std::thread::sleep(wait);
        }
    }
}

/// `Retry-After` in seconds, when the response gives it as a number.
fn retry_after(response: &ureq::http::Response<ureq::Body>) -> Option<Duration> {
    response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// A URL without `user:password@`.
#[must_use]
pub fn without_userinfo(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            format!("{scheme}://{host}{path}")
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_credentials() {
        assert_eq!(
            without_userinfo("https://svc:s3cret@acme.service-now.com/api/now/table/x?a=b"),
            "https://acme.service-now.com/api/now/table/x?a=b"
        );
        assert_eq!(
            without_userinfo("http://127.0.0.1:8080"),
            "http://127.0.0.1:8080"
        );
    }

    #[test]
    fn secrets_never_print() {
        let auth = Auth::Basic {
            user: "svc".into(),
            password: Secret::new("hunter2"),
        };
        let shown = format!("{:?}", HttpConfig::new("https://x", auth));
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("***"));
    }
}
