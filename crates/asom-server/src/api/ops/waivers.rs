//! C-11 emergency overrides and N/A exceptions: `asom override
//! request|approve|remediate|list` and `asom exception request|approve|list`.
//!
//! Who may is the governance service's rule: overrides are requested by
//! developers and approved by an emergency approver who is neither the
//! requester, nor an approver of the CRQ, nor an author of the release;
//! exceptions are approved by a governance human who did not request them.
//! Overrides exist for G3 and G4 only.

use std::collections::BTreeMap;

use asom_core::release::ReleaseId;
use asom_governance::Recorded;
use asom_governance::gates::Gate;
use asom_governance::waivers::{Exception, Override, OverrideRequest, QuarterCount};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::parsed;
use crate::api::{ApiError, OpContext, Operation};

/// A remediation deadline: RFC 3339, or a date meaning the end of that day (UTC).
pub fn parse_deadline(text: &str) -> Result<OffsetDateTime, ApiError> {
    let rfc = time::format_description::well_known::Rfc3339;
    if let Ok(t) = OffsetDateTime::parse(text, &rfc) {
        return Ok(t);
    }
    let date_format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(text, &date_format)
        .ok()
        .and_then(|d| d.with_hms(23, 59, 59).ok())
        .map(time::PrimitiveDateTime::assume_utc)
        .ok_or_else(|| {
            ApiError::Invalid(format!(
                "deadline {text:?}: give an RFC 3339 time (2026-11-27T17:00:00Z) or a date (2026-11-27)"
            ))
        })
}

fn release(text: &str) -> Result<ReleaseId, ApiError> {
    parsed("release", text)
}

// --- overrides ------------------------------------------------------------

/// Requests a C-11 emergency override of G3 or G4 for a release, as `asom
/// override request`. It counts once an emergency approver approves it.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestOverride {
    /// The release, `product@version`.
    pub release: String,
    /// `G3` or `G4` (G1 and G2 are never overridden).
    pub gate: String,
    /// The release's emergency CRQ.
    pub crq: String,
    /// Why the release cannot wait for the evidence.
    pub justification: String,
    /// The controls whose evidence is deferred, e.g. `C-05`.
    pub deferred: Vec<String>,
    /// What stands in for them meanwhile.
    pub compensating: Vec<String>,
    /// The remediation deadline: RFC 3339, or a date (the end of that day,
    /// UTC). Default: five business days from now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<String>,
}

/// An override and the ledger entry of what was just done to it.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct OverrideOutput {
    /// The override, as folded from its entries.
    #[serde(rename = "override")]
    pub waiver: Override,
    /// The entry just written.
    pub recorded: Recorded,
    /// Who acted (the requester, approver or remediator).
    pub by: String,
}

impl Operation for RequestOverride {
    const PATH: &'static str = "/overrides";
    const SUMMARY: &'static str = "Request a C-11 emergency override of G3 or G4 for a release";
    const MUTATES: bool = true;
    type Output = OverrideOutput;

    fn run(self, ctx: &OpContext<'_>) -> Result<OverrideOutput, ApiError> {
        let actor = ctx.acting()?;
        let release = release(&self.release)?;
        let gate: Gate = parsed("gate", &self.gate)?;
        let deadline = self.deadline.as_deref().map(parse_deadline).transpose()?;
        let (waiver, recorded) = ctx.gov.request_override(
            actor,
            &OverrideRequest {
                release: &release,
                gate,
                crq: &self.crq,
                justification: &self.justification,
                deferred: &self.deferred,
                compensating: &self.compensating,
                deadline,
            },
        )?;
        Ok(OverrideOutput {
            waiver,
            recorded,
            by: actor.slug().as_str().to_owned(),
        })
    }
}

/// Approves an override, as `asom override approve`. Emergency approvers
/// only, and never the requester, an approver of the CRQ or an author of the
/// release.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveOverride {
    /// The override's id, or a unique prefix of at least eight hex digits.
    pub id: String,
}

impl Operation for ApproveOverride {
    const PATH: &'static str = "/overrides/approve";
    const SUMMARY: &'static str = "Approve a C-11 emergency override (emergency approvers only)";
    const MUTATES: bool = true;
    type Output = OverrideOutput;

    fn run(self, ctx: &OpContext<'_>) -> Result<OverrideOutput, ApiError> {
        let actor = ctx.acting()?;
        let recorded = ctx.gov.approve_override(actor, &self.id)?;
        let waiver = ctx
            .gov
            .override_by_id(&ctx.gov.resolve_waiver("override", &self.id)?, None)?;
        Ok(OverrideOutput {
            waiver,
            recorded,
            by: actor.slug().as_str().to_owned(),
        })
    }
}

/// Records that an override's deferred evidence is in the ledger, as `asom
/// override remediate`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RemediateOverride {
    /// The override's id, or a unique prefix of at least eight hex digits.
    pub id: String,
}

impl Operation for RemediateOverride {
    const PATH: &'static str = "/overrides/remediate";
    const SUMMARY: &'static str = "Record that an override's deferred evidence is in the ledger";
    const MUTATES: bool = true;
    type Output = OverrideOutput;

    fn run(self, ctx: &OpContext<'_>) -> Result<OverrideOutput, ApiError> {
        let actor = ctx.acting()?;
        let recorded = ctx.gov.remediate_override(actor, &self.id)?;
        let waiver = ctx
            .gov
            .override_by_id(&ctx.gov.resolve_waiver("override", &self.id)?, None)?;
        Ok(OverrideOutput {
            waiver,
            recorded,
            by: actor.slug().as_str().to_owned(),
        })
    }
}

/// Lists overrides with their status now, and each team's count this
/// quarter, as `asom override list`.
#[derive(Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListOverrides {
    /// Only this release's (`product@version`); all when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
}

/// An override and its status.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct OverrideRow {
    /// The override.
    #[serde(rename = "override")]
    pub waiver: Override,
    /// `pending`, `active`, `expired` or `remediated`, now.
    pub status: String,
}

/// Overrides and the quarter's counts of their teams.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct OverrideList {
    /// The overrides, oldest first.
    pub overrides: Vec<OverrideRow>,
    /// For each team with an override listed: its approved overrides this
    /// calendar quarter (more than two flags a review).
    pub quarter: BTreeMap<String, QuarterCount>,
}

impl Operation for ListOverrides {
    const PATH: &'static str = "/overrides/list";
    const SUMMARY: &'static str =
        "List C-11 emergency overrides, their status and each team's quarter";
    const MUTATES: bool = false;
    type Output = OverrideList;

    fn run(self, ctx: &OpContext<'_>) -> Result<OverrideList, ApiError> {
        let release = self.release.as_deref().map(release).transpose()?;
        let now = ctx.gov.now();
        let list = ctx.gov.overrides(release.as_ref(), None)?;
        let mut quarter = BTreeMap::new();
        for o in &list {
            if !quarter.contains_key(&o.team) {
                quarter.insert(o.team.clone(), ctx.gov.quarter_count(&o.team, now, None)?);
            }
        }
        Ok(OverrideList {
            overrides: list
                .into_iter()
                .map(|o| OverrideRow {
                    status: o.status(now).to_owned(),
                    waiver: o,
                })
                .collect(),
            quarter,
        })
    }
}

// --- exceptions -----------------------------------------------------------

/// Requests an N/A exception of a control for a release, as `asom exception
/// request`. It counts once a governance approver approves it.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestException {
    /// The release, `product@version`.
    pub release: String,
    /// The control, e.g. `C-05` (C-01, C-02 and C-11 can never be N/A).
    pub control: String,
    /// Why it does not apply.
    pub justification: String,
}

/// An exception and the ledger entry of what was just done to it.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ExceptionOutput {
    /// The exception, as folded from its entries.
    pub exception: Exception,
    /// The entry just written.
    pub recorded: Recorded,
    /// Who acted (the requester or approver).
    pub by: String,
}

impl Operation for RequestException {
    const PATH: &'static str = "/exceptions";
    const SUMMARY: &'static str = "Request an N/A exception of a control for a release";
    const MUTATES: bool = true;
    type Output = ExceptionOutput;

    fn run(self, ctx: &OpContext<'_>) -> Result<ExceptionOutput, ApiError> {
        let actor = ctx.acting()?;
        let release = release(&self.release)?;
        let (exception, recorded) =
            ctx.gov
                .request_exception(actor, &release, &self.control, &self.justification)?;
        Ok(ExceptionOutput {
            exception,
            recorded,
            by: actor.slug().as_str().to_owned(),
        })
    }
}

/// Approves an N/A exception, as `asom exception approve`. Governance
/// humans only, never the requester.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveException {
    /// The exception's id, or a unique prefix of at least eight hex digits.
    pub id: String,
}

impl Operation for ApproveException {
    const PATH: &'static str = "/exceptions/approve";
    const SUMMARY: &'static str = "Approve an N/A exception (governance humans only)";
    const MUTATES: bool = true;
    type Output = ExceptionOutput;

    fn run(self, ctx: &OpContext<'_>) -> Result<ExceptionOutput, ApiError> {
        let actor = ctx.acting()?;
        let recorded = ctx.gov.approve_exception(actor, &self.id)?;
        let exception = ctx
            .gov
            .exception_by_id(&ctx.gov.resolve_waiver("exception", &self.id)?, None)?;
        Ok(ExceptionOutput {
            exception,
            recorded,
            by: actor.slug().as_str().to_owned(),
        })
    }
}

/// Lists N/A exceptions, as `asom exception list`.
#[derive(Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListExceptions {
    /// Only this release's (`product@version`); all when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
}

/// Exceptions and the approved ones counted by control.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ExceptionList {
    /// The exceptions, oldest first.
    pub exceptions: Vec<Exception>,
    /// Approved exceptions per control.
    pub approved_by_control: BTreeMap<String, usize>,
}

impl Operation for ListExceptions {
    const PATH: &'static str = "/exceptions/list";
    const SUMMARY: &'static str = "List N/A exceptions";
    const MUTATES: bool = false;
    type Output = ExceptionList;

    fn run(self, ctx: &OpContext<'_>) -> Result<ExceptionList, ApiError> {
        let release = self.release.as_deref().map(release).transpose()?;
        let exceptions = ctx.gov.exceptions(release.as_ref(), None)?;
        let mut approved_by_control: BTreeMap<String, usize> = BTreeMap::new();
        for e in exceptions.iter().filter(|e| e.approved_by.is_some()) {
            *approved_by_control.entry(e.control.clone()).or_default() += 1;
        }
        Ok(ExceptionList {
            exceptions,
            approved_by_control,
        })
    }
}
