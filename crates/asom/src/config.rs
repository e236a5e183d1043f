//! Configuration: a TOML file, then `ASOM_*` environment variables, then
//! flags, each overriding the one before (DESIGN.md §7).
//!
//! The file is `--config FILE` / `ASOM_CONFIG`, else `asom.toml` in the asom
//! directory; none at all means the defaults (the built-in change and
//! planning systems). `asom config default` prints a documented default
//! file. Secrets are never in the file: it names the environment variables
//! that hold them, and no `Debug` output, log line or error shows them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, anyhow};
use asom_connectors::http::{Auth, HttpConfig, Secret};
use asom_connectors::jira::Jira;
use asom_connectors::servicenow::{ServiceNow, StageStates};
use asom_core::crq::CrqState;
use serde::Deserialize;

use crate::exit::CliError;

/// The file name in the asom directory.
pub const CONFIG_FILE: &str = "asom.toml";

/// The documented default file (`asom config default`).
pub const DEFAULT_CONFIG: &str = r#"# asom configuration (asom.toml in the asom directory, or --config / ASOM_CONFIG).
# Precedence: this file < ASOM_* environment variables < flags.
# Secrets never go here: name the environment variable that holds them.

[change_system]
# "asom": the built-in change system (asom crq create / approve).
# "servicenow": CRQs live in ServiceNow; link them with asom crq link, and
# every gate reads them there (ASOM_CHANGE_SYSTEM overrides this).
provider = "asom"
# url = "https://example.service-now.com"        # ASOM_CHANGE_SYSTEM_URL overrides
# user = "asom-integration"
# password_env = "ASOM_SERVICENOW_PASSWORD"      # the variable that holds the password
# timeout_seconds = 10
# retries = 3                                     # on 429 and 5xx, honouring Retry-After
# The CRQ states (with approval = approved) that mean approved for QA / PROD:
# qa_states = ["scheduled", "implement", "review"]
# prod_states = ["implement", "review"]

[planning]
# "asom": stories recorded with asom story record.
# "jira": every gate reads its stories from Jira (ASOM_PLANNING overrides this).
provider = "asom"
# url = "https://example.atlassian.net"          # ASOM_PLANNING_URL overrides
# user = "asom@example.com"                       # with a user: Basic auth (Jira Cloud API token);
# token_env = "ASOM_JIRA_TOKEN"                   # without: Bearer (Data Center personal access token)
# acceptance_criteria_field = "customfield_10020" # the field holding acceptance criteria
# epic_field = "customfield_10014"                # optional: epic link, for issues without a parent
# timeout_seconds = 10
# retries = 3

# One tenant can differ from the rest: a [tenants.<slug>.change_system] or
# [tenants.<slug>.planning] table replaces the section above for it.
# [tenants.acme.change_system]
# provider = "servicenow"
# url = "https://acme.service-now.com"
# user = "asom-integration"
# password_env = "ACME_SERVICENOW_PASSWORD"
"#;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    change_system: Option<System>,
    #[serde(default)]
    planning: Option<System>,
    #[serde(default)]
    tenants: BTreeMap<String, TenantFile>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TenantFile {
    #[serde(default)]
    change_system: Option<System>,
    #[serde(default)]
    planning: Option<System>,
}

/// One outside system's settings.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct System {
    /// `asom`, `servicenow` or `jira`.
    #[serde(default)]
    pub provider: Option<String>,
    /// Base URL.
    #[serde(default)]
    pub url: Option<String>,
    /// Service account.
    #[serde(default)]
    pub user: Option<String>,
    /// The variable holding the password (`ServiceNow`).
    #[serde(default)]
    pub password_env: Option<String>,
    /// The variable holding the token (Jira).
    #[serde(default)]
    pub token_env: Option<String>,
    /// Seconds per request.
    #[serde(default)]
    pub timeout_seconds: Option<u64>,
    /// Retries after the first attempt.
    #[serde(default)]
    pub retries: Option<u32>,
    /// `ServiceNow`: states approved for QA.
    #[serde(default)]
    pub qa_states: Option<Vec<String>>,
    /// `ServiceNow`: states approved for PROD.
    #[serde(default)]
    pub prod_states: Option<Vec<String>>,
    /// Jira: the acceptance-criteria field.
    #[serde(default)]
    pub acceptance_criteria_field: Option<String>,
    /// Jira: the epic-link field.
    #[serde(default)]
    pub epic_field: Option<String>,
}

/// The configuration of one tenant, after file and environment.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Where it was read from, if a file.
    pub file: Option<PathBuf>,
    /// The change system.
    pub change_system: System,
    /// The planning system.
    pub planning: System,
}

impl Config {
    /// Reads the configuration for `tenant`: `explicit` (`--config` /
    /// `ASOM_CONFIG`) must exist; otherwise `asom.toml` in `dir` if present.
    pub fn load(dir: &Path, tenant: &str, explicit: Option<&Path>) -> Result<Self, CliError> {
        let path = match explicit {
            Some(p) => Some(p.to_path_buf()),
            None => Some(dir.join(CONFIG_FILE)).filter(|p| p.is_file()),
        };
        let file = match &path {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("reading the configuration {}", p.display()))
                    .map_err(CliError::usage)?;
                toml::from_str::<File>(&text).map_err(|e| {
                    CliError::usage(anyhow!(
                        "the configuration {} is not valid: {e}",
                        p.display()
                    ))
                })?
            }
            None => File::default(),
        };
        let tenant_file = file.tenants.get(tenant).cloned().unwrap_or_default();
        let mut change_system = tenant_file
            .change_system
            .or(file.change_system)
            .unwrap_or_default();
        let mut planning = tenant_file.planning.or(file.planning).unwrap_or_default();
        if let Some(p) = env("ASOM_CHANGE_SYSTEM") {
            change_system.provider = Some(p);
        }
        if let Some(u) = env("ASOM_CHANGE_SYSTEM_URL") {
            change_system.url = Some(u);
        }
        if let Some(p) = env("ASOM_PLANNING") {
            planning.provider = Some(p);
        }
        if let Some(u) = env("ASOM_PLANNING_URL") {
            planning.url = Some(u);
        }
        Ok(Self {
            file: path,
            change_system,
            planning,
        })
    }

    /// The change system's provider: `asom` unless configured.
    pub fn change_provider(&self) -> &str {
        self.change_system.provider.as_deref().unwrap_or("asom")
    }

    /// The planning system's provider: `asom` unless configured.
    pub fn planning_provider(&self) -> &str {
        self.planning.provider.as_deref().unwrap_or("asom")
    }

    /// The `ServiceNow` connection, when the change system is `servicenow`.
    pub fn servicenow(&self) -> Result<Option<Arc<ServiceNow>>, CliError> {
        match self.change_provider() {
            "asom" | "builtin" => Ok(None),
            "servicenow" => {
                let s = &self.change_system;
                let http = http(s, "change_system", "ASOM_SERVICENOW_PASSWORD", |s| {
                    s.password_env.as_deref()
                })?;
                let mut stages = StageStates::default();
                if let Some(states) = &s.qa_states {
                    stages.qa = parse_states(states, "qa_states")?;
                }
                if let Some(states) = &s.prod_states {
                    stages.prod = parse_states(states, "prod_states")?;
                }
                Ok(Some(Arc::new(ServiceNow::new(http, stages))))
            }
            other => Err(CliError::usage(anyhow!(
                "change_system.provider {other:?}: use \"asom\" (built in) or \"servicenow\""
            ))),
        }
    }

    /// The Jira connection, when the planning system is `jira`.
    pub fn jira(&self) -> Result<Option<Arc<Jira>>, CliError> {
        match self.planning_provider() {
            "asom" | "builtin" => Ok(None),
            "jira" => {
                let s = &self.planning;
                let http = http(s, "planning", "ASOM_JIRA_TOKEN", |s| s.token_env.as_deref())?;
                let field = s.acceptance_criteria_field.as_deref().ok_or_else(|| {
                    CliError::usage(anyhow!(
                        "planning.acceptance_criteria_field is not set: name the Jira field that holds acceptance criteria (e.g. customfield_10020)"
                    ))
                })?;
                Ok(Some(Arc::new(Jira::new(
                    http,
                    field,
                    s.epic_field.as_deref(),
                ))))
            }
            other => Err(CliError::usage(anyhow!(
                "planning.provider {other:?}: use \"asom\" (built in) or \"jira\""
            ))),
        }
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The HTTP settings of a section; the secret comes from the environment
/// variable the section names (or `default_env`).
fn http(
    s: &System,
    section: &str,
    default_env: &str,
    secret_env: impl Fn(&System) -> Option<&str>,
) -> Result<HttpConfig, CliError> {
    let url = s.url.clone().ok_or_else(|| {
        CliError::usage(anyhow!(
            "{section}.url is not set: give the system's base URL"
        ))
    })?;
    let var = secret_env(s).unwrap_or(default_env);
    let secret = env(var).map(Secret::new).ok_or_else(|| {
        CliError::usage(anyhow!(
            "{var} is not set: asom reads the {section} credential from it (never from the file)"
        ))
    })?;
    let auth = match &s.user {
        Some(user) => Auth::Basic {
            user: user.clone(),
            password: secret,
        },
        None => Auth::Bearer(secret),
    };
    let mut config = HttpConfig::new(url, auth);
    if let Some(t) = s.timeout_seconds {
        config.timeout = Duration::from_secs(t.max(1));
    }
    if let Some(r) = s.retries {
        config.retries = r.min(10);
    }
    Ok(config)
}

fn parse_states(
    states: &[String],
    what: &str,
) -> Result<std::collections::BTreeSet<CrqState>, CliError> {
    states
        .iter()
        .map(|s| {
            s.parse::<CrqState>()
                .map_err(|e| CliError::usage(anyhow!("change_system.{what}: {e}")))
        })
        .collect()
}

/// A connection that could not be set up (a missing secret, say): every read
/// fails with the reason, so a gate that needs it blocks and says why.
pub struct Unconfigured {
    /// The provider it stands for.
    pub provider: String,
    /// Why it is not usable.
    pub reason: String,
}

impl asom_core::crq::ChangeSystem for Unconfigured {
    fn provider(&self) -> &str {
        &self.provider
    }

    fn read_crq(
        &self,
        _: &asom_core::crq::CrqNumber,
    ) -> Result<asom_core::crq::CrqSnapshot, asom_core::crq::ChangeSystemError> {
        Err(asom_core::crq::ChangeSystemError::Unavailable(format!(
            "the connection to {} is not configured: {}",
            self.provider, self.reason
        )))
    }
}

impl asom_governance::stories::PlanningSystem for Unconfigured {
    fn provider(&self) -> &str {
        &self.provider
    }

    fn read_story(
        &self,
        _: &asom_core::release::JiraKey,
    ) -> Result<asom_governance::stories::Story, asom_governance::stories::PlanningError> {
        Err(asom_governance::stories::PlanningError::Unavailable(
            format!(
                "the connection to {} is not configured: {}",
                self.provider, self.reason
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_file_parses_and_means_the_built_in_systems() {
        let file: File = toml::from_str(DEFAULT_CONFIG).expect("default config");
        assert_eq!(
            file.change_system.and_then(|s| s.provider).as_deref(),
            Some("asom")
        );
        assert_eq!(
            file.planning.and_then(|s| s.provider).as_deref(),
            Some("asom")
        );
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = toml::from_str::<File>("[change_system]\nprovidr = \"servicenow\"\n")
            .expect_err("typo");
        assert!(err.to_string().contains("providr"), "{err}");
    }
}
