//! Stories and their acceptance criteria: `asom story record|show|list|sync`.
//!
//! Recording a story needs `record-story` (humans with a delivery role and
//! machines; never agents: acceptance criteria are a human's word).

use asom_core::release::JiraKey;
use asom_governance::Recorded;
use asom_governance::stories::Story;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::parsed;
use crate::api::{ApiError, OpContext, Operation};

/// Records a story's summary and acceptance criteria in asom's own planning
/// system, as `asom story record`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordStory {
    /// The Jira key, e.g. `SALES-12`.
    pub key: String,
    /// Its summary.
    pub summary: String,
    /// The epic it belongs to (a Jira key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epic: Option<String>,
    /// Its acceptance criteria, one per item. With none, G1 blocks changes
    /// linked to the story until they are written.
    #[serde(default)]
    pub acceptance_criteria: Vec<String>,
}

/// A recorded story's key and ledger entry.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct StoryRecorded {
    /// The story's key.
    pub story: String,
    /// Its ledger entry.
    pub recorded: Recorded,
}

impl Operation for RecordStory {
    const PATH: &'static str = "/stories";
    const SUMMARY: &'static str = "Record a story and its acceptance criteria (humans with a delivery role and machines; never agents)";
    const MUTATES: bool = true;
    type Output = StoryRecorded;

    fn run(self, ctx: &OpContext<'_>) -> Result<StoryRecorded, ApiError> {
        let actor = ctx.acting()?;
        let key: JiraKey = parsed("story key", &self.key)?;
        let epic = self
            .epic
            .as_deref()
            .map(|e| parsed::<JiraKey>("epic", e))
            .transpose()?;
        let recorded = ctx.gov.record_story(
            actor,
            &key,
            &self.summary,
            epic.as_ref(),
            &self.acceptance_criteria,
        )?;
        Ok(StoryRecorded {
            story: key.as_str().to_owned(),
            recorded,
        })
    }
}

/// Shows a story's latest state, as `asom story show`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ShowStory {
    /// The story's key.
    pub key: String,
}

impl Operation for ShowStory {
    const PATH: &'static str = "/stories/show";
    const SUMMARY: &'static str = "Show a story and its acceptance criteria";
    const MUTATES: bool = false;
    type Output = Story;

    fn run(self, ctx: &OpContext<'_>) -> Result<Story, ApiError> {
        let key = &self.key;
        ctx.gov.story(key, None)?.ok_or_else(|| {
            ApiError::NotFound(format!(
                "no story {key}; record it with `asom story record {key} --summary … --acceptance-criterion …`"
            ))
        })
    }
}

/// Lists every story's latest state, as `asom story list`. Needs no fields.
#[derive(Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListStories {}

/// Stories.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct StoryList {
    /// The stories, sorted by key.
    pub stories: Vec<Story>,
}

impl Operation for ListStories {
    const PATH: &'static str = "/stories/list";
    const SUMMARY: &'static str = "List every story";
    const MUTATES: bool = false;
    type Output = StoryList;

    fn run(self, ctx: &OpContext<'_>) -> Result<StoryList, ApiError> {
        Ok(StoryList {
            stories: ctx.gov.stories()?,
        })
    }
}

/// Reads stories from the planning system (Jira) and records each read, as
/// `asom story sync`. The planning system is the one configured where the
/// operation runs: on a server, the server's configuration for the tenant
/// (`tenants.<slug>` in its `asom.toml`), not the client's. A story that
/// cannot be read is recorded as an observation naming the error, and is in
/// the answer's `errors`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncStories {
    /// The Jira keys to read.
    pub keys: Vec<String>,
}

/// A story that could not be read.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct SyncError {
    /// Its key.
    pub key: String,
    /// Why it could not be read.
    pub error: String,
}

/// The stories read and the ones that could not be.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct SyncedStories {
    /// The stories now recorded, in the order asked.
    pub stories: Vec<Story>,
    /// The keys that could not be read, with the reason.
    pub errors: Vec<SyncError>,
}

impl Operation for SyncStories {
    const PATH: &'static str = "/stories/sync";
    const SUMMARY: &'static str = "Read stories from the planning system configured where this runs (the server's) and record them";
    const MUTATES: bool = true;
    type Output = SyncedStories;

    fn run(self, ctx: &OpContext<'_>) -> Result<SyncedStories, ApiError> {
        let actor = ctx.acting()?;
        let planning = ctx.gov.planning().ok_or_else(|| {
            ApiError::Invalid(
                "this tenant's planning system is asom's own: record stories with `asom story record`, or configure Jira (asom config default)"
                    .to_owned(),
            )
        })?;
        let keys = self
            .keys
            .iter()
            .map(|k| parsed::<JiraKey>("key", k))
            .collect::<Result<Vec<_>, _>>()?;
        let errors = ctx.gov.sync_stories(actor, planning, &keys)?;
        let stories = keys
            .iter()
            .filter_map(|k| ctx.gov.story(k.as_str(), None).ok().flatten())
            .collect();
        Ok(SyncedStories {
            stories,
            errors: errors
                .into_iter()
                .map(|(key, error)| SyncError { key, error })
                .collect(),
        })
    }
}
