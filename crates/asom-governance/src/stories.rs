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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
