//! Releases and their CRQ (`asom release …`, `asom crq …`), products and
//! changes (`asom product …`, `asom change …`).
//!
//! The answers carry asom's domain values (a release, a CRQ, a change, a
//! product) as the ledger records them; their JSON Schemas here describe
//! them as objects, and the CLI reads them back with asom-core's own checks.

use std::borrow::Cow;
use std::collections::BTreeSet;

use asom_core::catalog::{Catalog, ChangeType};
use asom_core::crq::{
    ChangeWindow, Crq, CrqNumber, CrqSnapshot, CrqState, CrqType, Decision, Stage,
};
use asom_core::evidence::Evidence;
use asom_core::principal::Slug;
use asom_core::release::{
    ApplicabilityProfile, Change, CommitSha, DataClassification, JiraKey, Product, Release,
    ReleaseId,
};
use asom_core::sod::{SodReport, SodViolation};
use asom_governance::Recorded;
use asom_ledger::Hash;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Serialize};

use super::parsed;
use crate::api::{ApiError, OpContext, Operation};

/// The JSON Schema of a domain value the answers carry as asom records it.
macro_rules! described {
    ($name:ident, $schema_name:literal, $description:literal) => {
        #[doc = $description]
        pub struct $name;

        impl JsonSchema for $name {
            fn schema_name() -> Cow<'static, str> {
                $schema_name.into()
            }

            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                schemars::json_schema!({
                    "type": "object",
                    "description": $description
                })
            }
        }
    };
}

described!(
    ReleaseSchema,
    "Release",
    "A release as recorded: `id` (`product@version`), `scope` (Jira keys), `commits` (its changes) and `crq` (its CRQ number, once it has one)."
);
described!(
    CrqSchema,
    "Crq",
    "A CRQ of the built-in change system: `number`, `crq_type`, `release`, `state`, `window` (its change window, if set), `created_by`, `created_at`, `approvals` (every decision, as `[round, approval]`), `round` (the current approval round) and `history` (state transitions with who and when)."
);
described!(
    CrqSnapshotSchema,
    "CrqSnapshot",
    "A CRQ as gates see it: the built-in CRQ, or the latest read of a linked CRQ from its change system (`provider`, `number`, `crq_type`, `state`, `release`, `window`, and the `approvals` that currently count)."
);
described!(
    ChangeSchema,
    "Change",
    "A recorded change (a commit): `commit`, `product`, `authors`, `reviewers`, `jira_keys` and `summary`."
);
described!(
    ProductSchema,
    "Product",
    "A product: `slug`, `team`, `classification`, `change_type`, `applicability` (`material`, and `exclusions` of controls) and `display_name`."
);
described!(
    SodReportSchema,
    "SodReport",
    "A separation-of-duties (C-02) report for promoting to one stage: `target`, `violations`, `eligible_approvers` and `unmapped` identities."
);
described!(
    SodViolationSchema,
    "SodViolation",
    "One separation-of-duties (C-02) violation: its kind and the identities involved."
);
described!(
    EvidenceRecordSchema,
    "EvidenceRecord",
    "An evidence record as recorded (see `docs/evidence.md`): control, category, status, commit, producer, source."
);

fn commit_sha(name: &str, text: &str) -> Result<CommitSha, ApiError> {
    parsed(name, text)
}

fn crq_number(text: &str) -> Result<CrqNumber, ApiError> {
    parsed("number", text)
}

/// An RFC 3339 time of a change window.
pub fn window_time(name: &str, text: &str) -> Result<time::OffsetDateTime, ApiError> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).map_err(|e| {
        ApiError::Invalid(format!(
            "{name}: {e}; use RFC 3339 like 2026-11-21T22:00:00Z"
        ))
    })
}

fn observe_written(recorded: &Recorded, kind: &str, metrics: &crate::metrics::Metrics) {
    if recorded.new {
        metrics.entry_written(kind);
    }
}

// --- releases -------------------------------------------------------------

/// Creates a release `product@version`, as `asom release create`. Needs
/// `manage-releases`; the product must exist.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRelease {
    /// The release, `product@version`, e.g. `sales-transactions@1.4.0`.
    pub release: String,
}

/// The release created.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ReleaseCreated {
    /// The release, `product@version`.
    #[schemars(with = "String")]
    pub release: ReleaseId,
    /// Its ledger entry.
    pub recorded: Recorded,
}

impl Operation for CreateRelease {
    const PATH: &'static str = "/releases";
    const SUMMARY: &'static str = "Create a release `product@version` (needs manage-releases)";
    const MUTATES: bool = true;
    type Output = ReleaseCreated;

    fn run(self, ctx: &OpContext<'_>) -> Result<ReleaseCreated, ApiError> {
        let actor = ctx.acting()?;
        let release: ReleaseId = parsed("release", &self.release)?;
        let recorded = ctx.gov.create_release(actor, &release)?;
        Ok(ReleaseCreated { release, recorded })
    }

    fn observe(output: &ReleaseCreated, metrics: &crate::metrics::Metrics) {
        observe_written(&output.recorded, "release", metrics);
    }
}

/// Adds Jira keys to a release's scope and recorded changes to it, as
/// `asom release scope`. Needs `manage-releases`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScopeRelease {
    /// The release, `product@version`.
    pub release: String,
    /// Jira keys to add to the scope.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub jira: Vec<String>,
    /// Commits of recorded changes of the release's product to add.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub commits: Vec<String>,
}

/// The release as scoped.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ReleaseScoped {
    /// The release after the change.
    #[schemars(with = "ReleaseSchema")]
    pub release: Release,
    /// Its ledger entry.
    pub recorded: Recorded,
}

impl Operation for ScopeRelease {
    const PATH: &'static str = "/releases/scope";
    const SUMMARY: &'static str =
        "Add Jira keys and recorded changes to a release (needs manage-releases)";
    const MUTATES: bool = true;
    type Output = ReleaseScoped;

    fn run(self, ctx: &OpContext<'_>) -> Result<ReleaseScoped, ApiError> {
        let actor = ctx.acting()?;
        let id: ReleaseId = parsed("release", &self.release)?;
        let jira = self
            .jira
            .iter()
            .map(|k| parsed::<JiraKey>("jira", k))
            .collect::<Result<BTreeSet<_>, _>>()?;
        let commits = self
            .commits
            .iter()
            .map(|c| commit_sha("commit", c))
            .collect::<Result<Vec<_>, _>>()?;
        let recorded = ctx.gov.scope_release(actor, &id, &jira, &commits)?;
        let view = ctx.gov.release(&id, None)?;
        Ok(ReleaseScoped {
            release: view.release,
            recorded,
        })
    }

    fn observe(output: &ReleaseScoped, metrics: &crate::metrics::Metrics) {
        observe_written(&output.recorded, "release", metrics);
    }
}

/// Shows a release, as `asom release show`: scope, changes, CRQ, evidence
/// and separation of duties.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ShowRelease {
    /// The release, `product@version`.
    pub release: String,
}

/// One evidence record of a release, and whether it counts.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ReleaseEvidenceItem {
    /// The ledger entry's index.
    pub index: u64,
    /// The ledger entry's id.
    #[schemars(with = "asom_governance::HexHash")]
    pub entry_id: Hash,
    /// Who recorded it (the authenticated machine principal).
    pub recorded_by: String,
    /// The record.
    #[schemars(with = "EvidenceRecordSchema")]
    pub evidence: Evidence,
    /// Whether it counts for the release.
    pub counted: bool,
    /// Why not, when it does not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_counted_because: Option<String>,
}

/// Separation of duties before promoting to one stage.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct StageSeparation {
    /// `qa` or `prod`.
    #[schemars(with = "String")]
    pub stage: Stage,
    /// Whether it holds (no violations).
    pub holds: bool,
    /// The report.
    #[schemars(with = "SodReportSchema")]
    pub report: SodReport,
}

/// A release with everything about it.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ReleaseShown {
    /// The release: id, scope, commits, CRQ number.
    #[schemars(with = "ReleaseSchema")]
    pub release: Release,
    /// Its CRQ in the built-in change system, if it has one there.
    #[schemars(with = "Option<CrqSchema>")]
    pub crq: Option<Crq>,
    /// The change system that holds its CRQ: `builtin`, or the provider of a
    /// linked CRQ (`servicenow`).
    pub crq_provider: Option<String>,
    /// The CRQ as gates see it.
    #[schemars(with = "Option<CrqSnapshotSchema>")]
    pub crq_snapshot: Option<CrqSnapshot>,
    /// Why a linked CRQ has no snapshot.
    pub crq_error: Option<String>,
    /// The changes it contains.
    #[schemars(with = "Vec<ChangeSchema>")]
    pub changes: Vec<Change>,
    /// Its evidence, counted or not, and why.
    pub evidence: Vec<ReleaseEvidenceItem>,
    /// Separation of duties before QA and before PROD.
    pub separation_of_duties: Vec<StageSeparation>,
}

impl Operation for ShowRelease {
    const PATH: &'static str = "/releases/show";
    const SUMMARY: &'static str =
        "A release: scope, changes, CRQ, evidence and separation of duties";
    const MUTATES: bool = false;
    type Output = ReleaseShown;

    fn run(self, ctx: &OpContext<'_>) -> Result<ReleaseShown, ApiError> {
        let id: ReleaseId = parsed("release", &self.release)?;
        let view = ctx.gov.release(&id, None)?;
        let evidence = ctx
            .gov
            .release_evidence(&id, None)?
            .into_iter()
            .map(|e| ReleaseEvidenceItem {
                index: e.index,
                entry_id: e.entry_id,
                recorded_by: e.recorded_by,
                evidence: e.evidence,
                counted: e.counted,
                not_counted_because: e.not_counted_because,
            })
            .collect();
        let separation_of_duties = Stage::ALL
            .iter()
            .map(|s| {
                let report = ctx.gov.sod_report(&id, *s, None)?;
                Ok(StageSeparation {
                    stage: *s,
                    holds: report.holds(),
                    report,
                })
            })
            .collect::<Result<_, ApiError>>()?;
        Ok(ReleaseShown {
            release: view.release,
            crq: view.crq,
            crq_provider: view.crq_provider,
            crq_snapshot: view.snapshot,
            crq_error: view.crq_error,
            changes: view.changes,
            evidence,
            separation_of_duties,
        })
    }
}

/// Lists the releases, as `asom release list`. Needs no fields.
#[derive(Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListReleases {}

/// Every release.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ReleaseList {
    /// Every release id (`product@version`), sorted.
    #[schemars(with = "Vec<String>")]
    pub releases: Vec<ReleaseId>,
}

impl Operation for ListReleases {
    const PATH: &'static str = "/releases/list";
    const SUMMARY: &'static str = "Every release, sorted";
    const MUTATES: bool = false;
    type Output = ReleaseList;

    fn run(self, ctx: &OpContext<'_>) -> Result<ReleaseList, ApiError> {
        Ok(ReleaseList {
            releases: ctx.gov.releases()?,
        })
    }
}

/// Records the governance verification of a release, as `asom release
/// verify`. Needs the governance role (`verify-evidence`); G4 needs it.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyRelease {
    /// The release, `product@version`.
    pub release: String,
    /// A note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The verification recorded.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ReleaseVerified {
    /// The release, `product@version`.
    #[schemars(with = "String")]
    pub release: ReleaseId,
    /// Who verified it.
    pub verified_by: String,
    /// Its ledger entry.
    pub recorded: Recorded,
}

impl Operation for VerifyRelease {
    const PATH: &'static str = "/releases/verify";
    const SUMMARY: &'static str =
        "Record the governance verification of a release (governance role)";
    const MUTATES: bool = true;
    type Output = ReleaseVerified;

    fn run(self, ctx: &OpContext<'_>) -> Result<ReleaseVerified, ApiError> {
        let actor = ctx.acting()?;
        let release: ReleaseId = parsed("release", &self.release)?;
        let recorded = ctx
            .gov
            .verify_release(actor, &release, self.note.as_deref())?;
        Ok(ReleaseVerified {
            release,
            verified_by: actor.slug().as_str().to_owned(),
            recorded,
        })
    }

    fn observe(output: &ReleaseVerified, metrics: &crate::metrics::Metrics) {
        observe_written(&output.recorded, "verification", metrics);
    }
}

// --- CRQs -----------------------------------------------------------------

fn normal() -> String {
    "normal".to_owned()
}

/// Creates the CRQ of a release in the built-in change system, as `asom crq
/// create`. Needs `create-crq`; exactly one CRQ per release.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCrq {
    /// The release it governs, `product@version`.
    pub release: String,
    /// `normal` (default), `standard` or `emergency`.
    #[serde(rename = "type", default = "normal")]
    pub crq_type: String,
    /// Its number (default: the next built-in number, `CRQ0000001`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
}

/// A CRQ after a change, and the change's ledger entry.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct CrqRecorded {
    /// The CRQ after the change.
    #[schemars(with = "CrqSchema")]
    pub crq: Crq,
    /// Its ledger entry.
    pub recorded: Recorded,
}

impl Operation for CreateCrq {
    const PATH: &'static str = "/crqs";
    const SUMMARY: &'static str =
        "Create the CRQ of a release in the built-in change system (needs create-crq)";
    const MUTATES: bool = true;
    type Output = CrqRecorded;

    fn run(self, ctx: &OpContext<'_>) -> Result<CrqRecorded, ApiError> {
        let actor = ctx.acting()?;
        let release: ReleaseId = parsed("release", &self.release)?;
        let crq_type: CrqType = parsed("type", &self.crq_type)?;
        let number = self.number.as_deref().map(crq_number).transpose()?;
        let recorded = ctx
            .gov
            .create_crq(actor, &release, crq_type, number.as_ref())?;
        let crq = ctx.gov.release(&release, None)?.crq.ok_or_else(|| {
            ApiError::Unavailable(format!(
                "the CRQ of {release} was recorded but does not read back"
            ))
        })?;
        Ok(CrqRecorded { crq, recorded })
    }

    fn observe(output: &CrqRecorded, metrics: &crate::metrics::Metrics) {
        observe_written(&output.recorded, "crq", metrics);
    }
}

/// Links a release to its CRQ in the tenant's outside change system
/// (`ServiceNow`), as `asom crq link`, and reads it there once. Needs `create-crq`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkCrq {
    /// The release it governs, `product@version`.
    pub release: String,
    /// The CRQ's number in the change system, e.g. `CHG0031234`.
    pub number: String,
}

/// The link, and what the change system said when it was read.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct CrqLinked {
    /// The CRQ number.
    #[schemars(with = "String")]
    pub crq: CrqNumber,
    /// The change system it lives in, e.g. `servicenow`.
    pub provider: String,
    /// The CRQ as read from the change system, when the read succeeded.
    #[schemars(with = "Option<CrqSnapshotSchema>")]
    pub snapshot: Option<CrqSnapshot>,
    /// Why the read failed, when it did.
    pub error: Option<String>,
    /// The link's ledger entry.
    pub recorded: Recorded,
    /// The observation's ledger entry (the read, or its failure).
    pub observed: Option<Recorded>,
}

impl Operation for LinkCrq {
    const PATH: &'static str = "/crqs/link";
    const SUMMARY: &'static str = "Link a release to its CRQ in the outside change system and read it once (needs create-crq)";
    const MUTATES: bool = true;
    type Output = CrqLinked;

    fn run(self, ctx: &OpContext<'_>) -> Result<CrqLinked, ApiError> {
        let actor = ctx.acting()?;
        let release: ReleaseId = parsed("release", &self.release)?;
        let number = crq_number(&self.number)?;
        let provider = match ctx.gov.change_system() {
            Some(system) if !matches!(system.provider(), "asom" | "builtin") => {
                system.provider().to_owned()
            }
            _ => {
                return Err(ApiError::Invalid(format!(
                    "this tenant's change system is asom's own: create the CRQ with `asom crq create --release {release}`, or configure an outside change system (asom config default)"
                )));
            }
        };
        let recorded = ctx.gov.link_crq(actor, &release, &number, &provider)?;
        // Read it once now, so the link shows what the change system says.
        let observed = ctx.gov.observe_crq(
            actor,
            &release,
            ctx.gov
                .change_system()
                .map(|c| c as &dyn asom_core::crq::ChangeSystem),
        )?;
        let view = ctx.gov.release(&release, None)?;
        Ok(CrqLinked {
            crq: number,
            provider,
            snapshot: view.snapshot,
            error: view.crq_error,
            recorded,
            observed,
        })
    }

    fn observe(output: &CrqLinked, metrics: &crate::metrics::Metrics) {
        observe_written(&output.recorded, "crq-link", metrics);
        if let Some(o) = &output.observed {
            observe_written(o, "observation", metrics);
        }
    }
}

/// Moves a CRQ to another state, as `asom crq transition`. Needs `transition-crq`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TransitionCrq {
    /// The CRQ number.
    pub number: String,
    /// The new state: `new`, `assess`, `authorize`, `scheduled`,
    /// `implement`, `review`, `closed` or `canceled`.
    pub state: String,
}

impl Operation for TransitionCrq {
    const PATH: &'static str = "/crqs/transition";
    const SUMMARY: &'static str = "Move a CRQ to another state (needs transition-crq)";
    const MUTATES: bool = true;
    type Output = CrqRecorded;

    fn run(self, ctx: &OpContext<'_>) -> Result<CrqRecorded, ApiError> {
        let actor = ctx.acting()?;
        let number = crq_number(&self.number)?;
        let to: CrqState = parsed("state", &self.state)?;
        let recorded = ctx.gov.transition_crq(actor, &number, to)?;
        let crq = ctx.gov.crq(&number, None)?;
        Ok(CrqRecorded { crq, recorded })
    }

    fn observe(output: &CrqRecorded, metrics: &crate::metrics::Metrics) {
        observe_written(&output.recorded, "crq", metrics);
    }
}

/// Sets a CRQ's change window, as `asom crq window`. Needs `transition-crq`;
/// G4 needs the window open.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetCrqWindow {
    /// The CRQ number.
    pub number: String,
    /// Start, RFC 3339 (e.g. `2026-11-21T22:00:00Z`).
    pub start: String,
    /// End, RFC 3339.
    pub end: String,
}

impl Operation for SetCrqWindow {
    const PATH: &'static str = "/crqs/window";
    const SUMMARY: &'static str = "Set a CRQ's change window (needs transition-crq)";
    const MUTATES: bool = true;
    type Output = CrqRecorded;

    fn run(self, ctx: &OpContext<'_>) -> Result<CrqRecorded, ApiError> {
        let actor = ctx.acting()?;
        let number = crq_number(&self.number)?;
        let window = ChangeWindow::new(
            window_time("start", &self.start)?,
            window_time("end", &self.end)?,
        )
        .map_err(|e| ApiError::Invalid(e.to_string()))?;
        let recorded = ctx.gov.set_crq_window(actor, &number, &window)?;
        let crq = ctx.gov.crq(&number, None)?;
        Ok(CrqRecorded { crq, recorded })
    }

    fn observe(output: &CrqRecorded, metrics: &crate::metrics::Metrics) {
        observe_written(&output.recorded, "crq", metrics);
    }
}

/// Approves a CRQ for QA or PROD, as `asom crq approve`. Needs the stage's
/// approver role; the approval is recorded as given and separation of
/// duties is reported on it (every gate enforces it).
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveCrq {
    /// The CRQ number.
    pub number: String,
    /// `qa` or `prod`.
    pub stage: String,
    /// A comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// Rejects a CRQ for QA or PROD, as `asom crq reject`. Needs the stage's
/// approver role.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectCrq {
    /// The CRQ number.
    pub number: String,
    /// `qa` or `prod`.
    pub stage: String,
    /// A comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// A decision on a CRQ, and the separation of duties of its stage after it.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct CrqDecided {
    /// The CRQ after the decision.
    #[schemars(with = "CrqSchema")]
    pub crq: Crq,
    /// Its ledger entry.
    pub recorded: Recorded,
    /// Who decided.
    pub approver: String,
    /// Every separation-of-duties violation of the stage, the decider's or not.
    #[schemars(with = "Vec<SodViolationSchema>")]
    pub separation_of_duties: Vec<SodViolation>,
}

fn decide(
    ctx: &OpContext<'_>,
    number: &str,
    stage: &str,
    decision: Decision,
    comment: Option<&str>,
) -> Result<CrqDecided, ApiError> {
    let actor = ctx.acting()?;
    let number = crq_number(number)?;
    let stage: Stage = parsed("stage", stage)?;
    let recorded = ctx
        .gov
        .decide_crq(actor, &number, stage, decision, comment)?;
    let crq = ctx.gov.crq(&number, None)?;
    let sod = ctx.gov.sod_report(crq.release(), stage, None)?;
    Ok(CrqDecided {
        crq,
        recorded,
        approver: actor.slug().as_str().to_owned(),
        separation_of_duties: sod.violations,
    })
}

impl Operation for ApproveCrq {
    const PATH: &'static str = "/crqs/approve";
    const SUMMARY: &'static str =
        "Approve a CRQ for QA or PROD (the stage's approver role; separation of duties reported)";
    const MUTATES: bool = true;
    type Output = CrqDecided;

    fn run(self, ctx: &OpContext<'_>) -> Result<CrqDecided, ApiError> {
        decide(
            ctx,
            &self.number,
            &self.stage,
            Decision::Approved,
            self.comment.as_deref(),
        )
    }

    fn observe(output: &CrqDecided, metrics: &crate::metrics::Metrics) {
        observe_written(&output.recorded, "crq", metrics);
    }
}

impl Operation for RejectCrq {
    const PATH: &'static str = "/crqs/reject";
    const SUMMARY: &'static str = "Reject a CRQ for QA or PROD (the stage's approver role)";
    const MUTATES: bool = true;
    type Output = CrqDecided;

    fn run(self, ctx: &OpContext<'_>) -> Result<CrqDecided, ApiError> {
        decide(
            ctx,
            &self.number,
            &self.stage,
            Decision::Rejected,
            self.comment.as_deref(),
        )
    }

    fn observe(output: &CrqDecided, metrics: &crate::metrics::Metrics) {
        observe_written(&output.recorded, "crq", metrics);
    }
}

/// Shows a CRQ with its history and decisions, as `asom crq show`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ShowCrq {
    /// The CRQ number.
    pub number: String,
}

/// A CRQ.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct CrqShown {
    /// The CRQ, with its history and decisions.
    #[schemars(with = "CrqSchema")]
    pub crq: Crq,
}

impl Operation for ShowCrq {
    const PATH: &'static str = "/crqs/show";
    const SUMMARY: &'static str =
        "A CRQ of the built-in change system, with its history and decisions";
    const MUTATES: bool = false;
    type Output = CrqShown;

    fn run(self, ctx: &OpContext<'_>) -> Result<CrqShown, ApiError> {
        let number = crq_number(&self.number)?;
        Ok(CrqShown {
            crq: ctx.gov.crq(&number, None)?,
        })
    }
}

// --- products -------------------------------------------------------------

/// Creates a product, as `asom product create`. Needs `manage-products`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProduct {
    /// The product's slug, e.g. `sales-transactions`.
    pub slug: String,
    /// The owning team's slug.
    pub team: String,
    /// Data classification: `public`, `internal`, `confidential` or `restricted`.
    pub classification: String,
    /// What its releases change: `new-pipeline`, `incremental-change`,
    /// `access-change`, `performance-change`, `dq-rule-change` or
    /// `prod-only-configuration`.
    pub change_type: String,
    /// Cost or performance is material (adds T7 and C-10 at G4).
    #[serde(default)]
    pub material: bool,
    /// A display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// The product created.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ProductCreated {
    /// The product.
    #[schemars(with = "ProductSchema")]
    pub product: Product,
    /// Its ledger entry.
    pub recorded: Recorded,
}

impl Operation for CreateProduct {
    const PATH: &'static str = "/products";
    const SUMMARY: &'static str = "Create a product";
    const MUTATES: bool = true;
    type Output = ProductCreated;

    fn run(self, ctx: &OpContext<'_>) -> Result<ProductCreated, ApiError> {
        let actor = ctx.acting()?;
        let product = Product {
            slug: parsed::<Slug>("slug", &self.slug)?,
            team: parsed::<Slug>("team", &self.team)?,
            classification: parsed::<DataClassification>("classification", &self.classification)?,
            change_type: parsed::<ChangeType>("change_type", &self.change_type)?,
            applicability: ApplicabilityProfile::new(self.material),
            display_name: self.name,
        };
        let recorded = ctx.gov.create_product(actor, &product)?;
        Ok(ProductCreated { product, recorded })
    }

    fn observe(output: &ProductCreated, metrics: &crate::metrics::Metrics) {
        observe_written(&output.recorded, "product", metrics);
    }
}

/// Shows a product, as `asom product show`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ShowProduct {
    /// The product's slug.
    pub slug: String,
}

/// A product and the test categories its releases need at least.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ProductShown {
    /// The product.
    #[schemars(with = "ProductSchema")]
    pub product: Product,
    /// The minimum test categories (T1–T8) of its change type and materiality.
    pub minimum_categories: Vec<String>,
}

impl Operation for ShowProduct {
    const PATH: &'static str = "/products/show";
    const SUMMARY: &'static str = "A product and its minimum test categories";
    const MUTATES: bool = false;
    type Output = ProductShown;

    fn run(self, ctx: &OpContext<'_>) -> Result<ProductShown, ApiError> {
        let product = ctx.gov.product(&self.slug, None)?;
        let minimum_categories = product
            .minimum_categories(Catalog::builtin())
            .iter()
            .map(ToString::to_string)
            .collect();
        Ok(ProductShown {
            product,
            minimum_categories,
        })
    }
}

/// Lists the products, as `asom product list`. Needs no fields.
#[derive(Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListProducts {}

/// Every product.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ProductList {
    /// Every product.
    #[schemars(with = "Vec<ProductSchema>")]
    pub products: Vec<Product>,
}

impl Operation for ListProducts {
    const PATH: &'static str = "/products/list";
    const SUMMARY: &'static str = "Every product";
    const MUTATES: bool = false;
    type Output = ProductList;

    fn run(self, ctx: &OpContext<'_>) -> Result<ProductList, ApiError> {
        Ok(ProductList {
            products: ctx.gov.products()?,
        })
    }
}

// --- changes --------------------------------------------------------------

/// One change (a commit) to record.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeInput {
    /// The commit SHA (40 or 64 hex digits).
    pub commit: String,
    /// The product the change belongs to.
    pub product: String,
    /// Its authors (at least one): a principal, an email, or `Name <email>`.
    pub authors: Vec<String>,
    /// Its reviewers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reviewers: Vec<String>,
    /// Its Jira keys.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub jira: Vec<String>,
    /// A one-line summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
}

impl ChangeInput {
    /// The request for `change`.
    #[must_use]
    pub fn of(change: &Change) -> Self {
        Self {
            commit: change.commit().as_str().to_owned(),
            product: change.product().as_str().to_owned(),
            authors: change.authors().iter().cloned().collect(),
            reviewers: change.reviewers().iter().cloned().collect(),
            jira: change
                .jira_keys()
                .iter()
                .map(|k| k.as_str().to_owned())
                .collect(),
            summary: change.summary().map(str::to_owned),
        }
    }

    /// The change, checked.
    pub fn to_change(&self) -> Result<Change, ApiError> {
        let jira = self
            .jira
            .iter()
            .map(|k| parsed::<JiraKey>("jira", k))
            .collect::<Result<BTreeSet<_>, _>>()?;
        Change::new(
            commit_sha("commit", &self.commit)?,
            parsed::<Slug>("product", &self.product)?,
            &self.authors,
            &self.reviewers,
            jira,
            self.summary.clone(),
        )
        .map_err(|e| ApiError::Invalid(e.to_string()))
    }
}

/// Records changes (commits with their authors, reviewers and Jira keys),
/// as `asom change record` (the CLI reads `--from-git` ranges itself and
/// sends the commits). Needs `record-change`. They are recorded in order;
/// the first refused stops the rest.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordChanges {
    /// The changes.
    pub changes: Vec<ChangeInput>,
}

/// One change recorded.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ChangeRecorded {
    /// The change.
    #[schemars(with = "ChangeSchema")]
    pub change: Change,
    /// Its ledger entry.
    pub recorded: Recorded,
}

/// The changes recorded, in order.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ChangesRecorded {
    /// Each change and its entry.
    pub changes: Vec<ChangeRecorded>,
}

impl Operation for RecordChanges {
    const PATH: &'static str = "/changes";
    const SUMMARY: &'static str = "Record changes (commits with authors, reviewers and Jira keys)";
    const MUTATES: bool = true;
    type Output = ChangesRecorded;

    fn run(self, ctx: &OpContext<'_>) -> Result<ChangesRecorded, ApiError> {
        let actor = ctx.acting()?;
        let changes = self
            .changes
            .iter()
            .map(ChangeInput::to_change)
            .collect::<Result<Vec<_>, _>>()?;
        let mut out = Vec::with_capacity(changes.len());
        for change in changes {
            let recorded = ctx.gov.record_change(actor, &change)?;
            out.push(ChangeRecorded { change, recorded });
        }
        Ok(ChangesRecorded { changes: out })
    }

    fn observe(output: &ChangesRecorded, metrics: &crate::metrics::Metrics) {
        for c in &output.changes {
            observe_written(&c.recorded, "change", metrics);
        }
    }
}

/// Shows a recorded change, as `asom change show`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ShowChange {
    /// The commit SHA.
    pub commit: String,
}

/// A recorded change.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ChangeShown {
    /// The change.
    #[schemars(with = "ChangeSchema")]
    pub change: Change,
}

impl Operation for ShowChange {
    const PATH: &'static str = "/changes/show";
    const SUMMARY: &'static str = "A recorded change";
    const MUTATES: bool = false;
    type Output = ChangeShown;

    fn run(self, ctx: &OpContext<'_>) -> Result<ChangeShown, ApiError> {
        let sha = commit_sha("commit", &self.commit)?;
        Ok(ChangeShown {
            change: ctx.gov.change(&sha, None)?,
        })
    }
}
