//! Stories and their acceptance criteria: the built-in planning system.
//!
//! G1 passes only for a change whose Jira keys all name stories with written
//! acceptance criteria (C-03). Acceptance criteria are a human's word: agents
//! can never record them (failure mode F-02, prompt injection through
//! requirements), only humans with a delivery role and machine principals
//! (the planning-system connector reading Jira) can. Each `story` entry is
//! the story's whole state; the latest one counts.
//!
//! | kind | content | keys |
//! |---|---|---|
//! | `story` | `{key, summary, epic, acceptance_criteria, source}` | `story:<KEY>`, `stories` |

use asom_core::principal::{Action, Principal};
use asom_core::release::JiraKey;
use serde::{Deserialize, Serialize};

use crate::{Governance, GovernanceError, Recorded, Result, authorize};

/// Longest acceptance criterion accepted, in characters.
const MAX_CRITERION: usize = 4000;

/// A story as the planning system holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Story {
    /// The Jira key.
    pub key: String,
    /// Its summary.
    pub summary: String,
    /// The epic it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epic: Option<String>,
    /// Its acceptance criteria, one per item (empty: none written yet).
    pub acceptance_criteria: Vec<String>,
    /// Where it was read from: `asom` (recorded here) or a connector's name.
    pub source: String,
    /// For a story read from a planning system: the URLs read and the
    /// digest of the responses (the observation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<ObservedSchema>")]
    pub observed: Option<asom_core::crq::ReadRecord>,
}

/// The schema of [`asom_core::crq::ReadRecord`] (asom-core has no schemas).
#[derive(schemars::JsonSchema)]
#[allow(dead_code)]
struct ObservedSchema {
    /// What was read, as URLs or names without credentials, in order.
    sources: Vec<String>,
    /// SHA-256 (hex) of the responses' bodies, concatenated in order.
    response_sha256: String,
}

/// Why a planning system could not say.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanningError {
    /// No issue with that key.
    #[error("issue {0} was not found in the planning system")]
    NotFound(String),
    /// The system could not be read.
    #[error("the planning system could not be read: {0}")]
    Unavailable(String),
}

/// A planning system asom reads stories from (Jira): the port the
/// connectors implement.
pub trait PlanningSystem {
    /// Its name, recorded as the story's source (`jira`).
    fn provider(&self) -> &str;
    /// Reads an issue: summary, acceptance criteria, epic.
    fn read_story(&self, key: &JiraKey) -> Result<Story, PlanningError>;
}

impl Governance<'_> {
    /// Records a story's summary and acceptance criteria. Needs
    /// `record-story`.
    pub fn record_story(
        &self,
        actor: &Principal,
        key: &JiraKey,
        summary: &str,
        epic: Option<&JiraKey>,
        criteria: &[String],
    ) -> Result<Recorded> {
        authorize(actor, Action::RecordStory)?;
        let summary = summary.trim();
        if summary.is_empty() {
            return Err(GovernanceError::Invalid(format!(
                "story {key} needs a summary (--summary)"
            )));
        }
        let mut acceptance_criteria = Vec::new();
        for c in criteria {
            let c = c.trim();
            if c.is_empty() {
                return Err(GovernanceError::Invalid(format!(
                    "an acceptance criterion of {key} is empty"
                )));
            }
            if c.chars().count() > MAX_CRITERION {
                return Err(GovernanceError::Invalid(format!(
                    "an acceptance criterion of {key} is longer than {MAX_CRITERION} characters"
                )));
            }
            acceptance_criteria.push(c.to_owned());
        }
        let story = Story {
            key: key.as_str().to_owned(),
            summary: summary.to_owned(),
            epic: epic.map(|e| e.as_str().to_owned()),
            acceptance_criteria,
            source: "asom".to_owned(),
            observed: None,
        };
        let content =
            serde_json::to_value(&story).map_err(|e| GovernanceError::Invalid(e.to_string()))?;
        let entry = Self::entry(
            "story",
            &content,
            actor,
            [format!("story:{key}"), "stories".to_owned()],
        )?;
        self.append(entry).map(Recorded::from)
    }

    /// Reads stories from the planning system and records each as a `story`
    /// entry (its observation: source URLs and response digest). A story
    /// that cannot be read is recorded as an `observation` entry naming the
    /// error, so a gate deciding from it blocks, and replays, the same way.
    /// Returns the errors, by key.
    pub fn sync_stories(
        &self,
        actor: &Principal,
        planning: &dyn PlanningSystem,
        keys: &[JiraKey],
    ) -> Result<Vec<(String, String)>> {
        let mut errors = Vec::new();
        for key in keys {
            match planning.read_story(key) {
                Ok(mut story) => {
                    planning.provider().clone_into(&mut story.source);
                    let mut content = serde_json::to_value(&story)
                        .map_err(|e| GovernanceError::Invalid(e.to_string()))?;
                    // Each read is its own entry, even when nothing changed
                    // (a story that changes and changes back is read thrice).
                    content["read_at"] = crate::principals::rfc3339(self.now()).into();
                    let entry = Self::entry(
                        "story",
                        &content,
                        actor,
                        [format!("story:{key}"), "stories".to_owned()],
                    )?;
                    self.append(entry)?;
                }
                Err(e) => {
                    let entry = Self::entry(
                        "observation",
                        &serde_json::json!({
                            "system": planning.provider(),
                            "what": "story",
                            "key": key.as_str(),
                            "error": e.to_string(),
                            "read_at": crate::principals::rfc3339(self.now()),
                        }),
                        actor,
                        [format!("story:{key}"), "observations".to_owned()],
                    )?;
                    self.append(entry)?;
                    errors.push((key.as_str().to_owned(), e.to_string()));
                }
            }
        }
        Ok(errors)
    }

    /// The error of the latest read of a story, when that read failed (as of
    /// `before`).
    pub fn story_error(&self, key: &str, before: Option<u64>) -> Result<Option<String>> {
        let entries = self.entries(&format!("story:{key}"), before)?;
        Ok(match entries.last() {
            Some(e) if e.kind == "observation" => Some(crate::content_field::<String>(e, "error")?),
            _ => None,
        })
    }

    /// A story as of `before`, if one was recorded.
    pub fn story(&self, key: &str, before: Option<u64>) -> Result<Option<Story>> {
        Ok(self
            .latest::<Story>(&format!("story:{key}"), "story", "", before)?
            .0)
    }

    /// Every story, latest state, sorted by key.
    pub fn stories(&self) -> Result<Vec<Story>> {
        let keys = self.store.keys_with_prefix(&self.tenant, "story:")?;
        let mut out = Vec::new();
        for k in keys {
            if let Some(s) = self.story(&k["story:".len()..], None)? {
                out.push(s);
            }
        }
        Ok(out)
    }
}
