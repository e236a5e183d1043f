//! The operations: evidence, gates, promotion and replay (what CI systems
//! and pipelines call), and `whoami`, here; the governance commands in the
//! submodules, one per family of CLI commands.
//!
//! Every request rejects unknown fields, so a typo is an error instead of a
//! silently ignored option.

use asom_core::crq::Stage;
use asom_core::dsse::Envelope;
use asom_core::evidence::{
    BuildId, Category, CommitSha, ControlId, CrqRef, Environment, Evidence, EvidenceBuilder,
    FieldError, PrincipalSlug, Product, ReleaseRef, SourceRef, SourceType, Status,
};
use asom_core::release::ReleaseId;
use asom_governance::Recorded;
use asom_governance::gates::{Decision, Gate, Replay};
use asom_governance::promotions::environment;
use asom_ledger::Hash;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{ApiError, OpContext, Operation};

// Families of operations (each one file, named after what it holds).
pub mod audits;
pub mod exports;
pub mod people;
pub mod releases;
pub mod stories;
pub mod waivers;

/// Largest JUnit document or evidence record an operation accepts.
pub const MAX_DOCUMENT_BYTES: usize = 32 * 1024 * 1024;

fn field<T>(
    name: &str,
    value: Option<&String>,
    parse: impl Fn(&str, &str) -> Result<T, FieldError>,
) -> Result<Option<T>, ApiError> {
    value
        .map(|v| parse(name, v).map_err(|e| ApiError::Invalid(e.to_string())))
        .transpose()
}

pub(crate) fn parsed<T: std::str::FromStr>(name: &str, text: &str) -> Result<T, ApiError>
where
    T::Err: std::fmt::Display,
{
    text.parse()
        .map_err(|e| ApiError::Invalid(format!("{name} {text:?}: {e}")))
}

// --- whoami ---------------------------------------------------------------

/// Who the token acts as. Needs no fields.
#[derive(Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Whoami {}

/// The acting principal.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct WhoamiOutput {
    /// The tenant.
    pub tenant: String,
    /// The principal's slug.
    pub principal: String,
    /// `human`, `machine` or `agent`.
    pub kind: String,
    /// Its roles.
    pub roles: Vec<String>,
    /// The token's id.
    pub token: String,
}

impl Operation for Whoami {
    const PATH: &'static str = "/whoami";
    const SUMMARY: &'static str = "Who the bearer token acts as";
    const MUTATES: bool = true;
    type Output = WhoamiOutput;

    fn run(self, ctx: &OpContext<'_>) -> Result<WhoamiOutput, ApiError> {
        let acting = ctx.acting.ok_or_else(|| {
            ApiError::Unauthenticated("whoami needs a token: set ASOM_TOKEN".to_owned())
        })?;
        let p = acting.principal();
        Ok(WhoamiOutput {
            tenant: ctx.tenant.to_owned(),
            principal: p.slug().as_str().to_owned(),
            kind: p.kind().to_string(),
            roles: p.roles().iter().map(ToString::to_string).collect(),
            token: acting.token().id.clone(),
        })
    }
}

// --- evidence -------------------------------------------------------------

/// Records one evidence record, as `asom evidence record` does. Give exactly
/// one of: `record` (a whole evidence record, as `--json`), `dsse` (a
/// DSSE-signed in-toto statement, verified against the registered producer
/// keys, as `--dsse`), `junit` (a JUnit XML report, as `--junit`), or the
/// fields alone (as the flags, with `sha256` naming the artifact).
#[derive(Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordEvidence {
    /// A whole evidence record (`asom.evidence` JSON, every field given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<Value>,
    /// A DSSE envelope (`application/vnd.dsse.envelope.v1+json`) around an in-toto Statement v1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dsse: Option<Value>,
    /// A JUnit XML report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub junit: Option<String>,
    /// The release (`product@version`); fills in the product and the release's CRQ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    /// The control, e.g. `C-05`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control: Option<String>,
    /// The test category, e.g. `T3`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// The commit SHA the evidence is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The CI build id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<String>,
    /// Where it was produced, e.g. `ci`, `qa`, `prod`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// The CRQ (default: the release's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crq: Option<String>,
    /// The artifact's SHA-256, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// The artifact's size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Where the artifact is, e.g. `s3://bucket/report.json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ref: Option<String>,
    /// What produced it, e.g. `junit`, `in-toto`, `sonarqube`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_type: Option<String>,
    /// `pass`, `fail` or `na`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

/// What was recorded.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct RecordEvidenceOutput {
    /// The evidence record, with its `evidence_id`.
    pub evidence: Value,
    /// Its ledger entry.
    pub recorded: Recorded,
}

impl RecordEvidence {
    /// The names of the fields set besides `record`/`dsse`/`junit`.
    fn flags_given(&self) -> Vec<&'static str> {
        [
            ("release", self.release.is_some()),
            ("control", self.control.is_some()),
            ("category", self.category.is_some()),
            ("commit", self.commit.is_some()),
            ("build", self.build.is_some()),
            ("environment", self.environment.is_some()),
            ("crq", self.crq.is_some()),
            ("sha256", self.sha256.is_some()),
            ("size", self.size.is_some()),
            ("source_ref", self.source_ref.is_some()),
            ("source_type", self.source_type.is_some()),
            ("status", self.status.is_some()),
            ("notes", self.notes.is_some()),
        ]
        .iter()
        .filter(|(_, set)| *set)
        .map(|(f, _)| *f)
        .collect()
    }

    /// The builder with every field given.
    fn builder(&self, ctx: &OpContext<'_>, producer: &str) -> Result<EvidenceBuilder, ApiError> {
        let invalid = |e: FieldError| ApiError::Invalid(e.to_string());
        let mut b = EvidenceBuilder::new()
            .produced_by(PrincipalSlug::parse_field("produced_by", producer).map_err(invalid)?)
            .tenant(
                asom_core::evidence::Tenant::parse_field("tenant", ctx.tenant).map_err(invalid)?,
            );
        if let Some(c) = &self.control {
            b = b.control_id(parsed::<ControlId>("control", c)?);
        }
        if let Some(c) = &self.category {
            b = b.test_category(parsed::<Category>("category", c)?);
        }
        if let Some(v) = field("commit", self.commit.as_ref(), CommitSha::parse_field)? {
            b = b.commit_sha(v);
        }
        if let Some(v) = field("build", self.build.as_ref(), BuildId::parse_field)? {
            b = b.build_id(v);
        }
        if let Some(v) = field(
            "environment",
            self.environment.as_ref(),
            Environment::parse_field,
        )? {
            b = b.environment(v);
        }
        if let Some(v) = field(
            "source_type",
            self.source_type.as_ref(),
            SourceType::parse_field,
        )? {
            b = b.source_type(v);
        }
        if let Some(v) = field(
            "source_ref",
            self.source_ref.as_ref(),
            SourceRef::parse_field,
        )? {
            b = b.source_ref(v);
        }
        if let Some(s) = &self.status {
            b = b.status(parsed::<Status>("status", s)?);
        }
        if let Some(n) = &self.notes {
            b = b.notes(n.clone());
        }
        if let Some(hex) = &self.sha256 {
            b = b.checksum(
                Hash::from_hex(hex).map_err(|e| ApiError::Invalid(format!("sha256: {e}")))?,
            );
        }
        if let Some(size) = self.size {
            b = b.size(size);
        }
        // The release fills in its product and, once it has one, its CRQ.
        let mut crq = self.crq.clone();
        if let Some(release) = &self.release {
            let id: ReleaseId = parsed("release", release)?;
            let record = ctx.gov.release_record(&id, None)?;
            b = b
                .release(ReleaseRef::parse_field("release", release).map_err(invalid)?)
                .product(Product::parse_field("product", id.product().as_str()).map_err(invalid)?);
            if crq.is_none() {
                crq = record.crq().map(ToString::to_string);
            }
        }
        if let Some(v) = field("crq", crq.as_ref(), CrqRef::parse_field)? {
            b = b.crq_ref(v);
        }
        Ok(b)
    }

    /// The evidence record this request describes, checked.
    fn evidence(&self, ctx: &OpContext<'_>, producer: &str) -> Result<Evidence, ApiError> {
        let given = [
            self.record.is_some(),
            self.dsse.is_some(),
            self.junit.is_some(),
        ]
        .iter()
        .filter(|x| **x)
        .count();
        if given > 1 {
            return Err(ApiError::Invalid(
                "give one of record, dsse and junit, not several".to_owned(),
            ));
        }
        if let Some(record) = &self.record {
            let flags = self.flags_given();
            if !flags.is_empty() {
                return Err(ApiError::Invalid(format!(
                    "a whole record carries all its fields itself; {} would be ignored, so put them in the record",
                    flags.join(", ")
                )));
            }
            let bytes = serde_json::to_vec(record).map_err(|e| ApiError::Invalid(e.to_string()))?;
            return asom_core::evidence::parse_record_as_given(&bytes)
                .map_err(|e| ApiError::Invalid(format!("record: {e}")));
        }
        if let Some(dsse) = &self.dsse {
            let bytes = serde_json::to_vec(dsse).map_err(|e| ApiError::Invalid(e.to_string()))?;
            let keys = ctx.gov.producer_keys(None)?;
            let envelope =
                Envelope::parse(&bytes).map_err(|e| ApiError::Invalid(format!("dsse: {e}")))?;
            let verified = envelope
                .verify(&keys)
                .map_err(|e| ApiError::Rule(format!("dsse: refused: {e}")))?;
            let mut builder = self.builder(ctx, producer)?;
            if self.source_type.is_none() {
                builder = builder.source_type(
                    SourceType::parse_field("source_type", "in-toto")
                        .map_err(|e| ApiError::Invalid(e.to_string()))?,
                );
            }
            return verified
                .to_evidence(builder)
                .map_err(|e| ApiError::Invalid(format!("dsse: {e}")));
        }
        if let Some(junit) = &self.junit {
            let mut builder = self.builder(ctx, producer)?;
            if self.source_type.is_none() {
                builder = builder.source_type(
                    SourceType::parse_field("source_type", "junit")
                        .map_err(|e| ApiError::Invalid(e.to_string()))?,
                );
            }
            return asom_core::junit::to_evidence(junit.as_bytes(), MAX_DOCUMENT_BYTES, builder)
                .map_err(|e| ApiError::Invalid(format!("junit: {e}")));
        }
        self.builder(ctx, producer)?.build().map_err(|e| {
            ApiError::Invalid(format!(
                "{e}; give a whole record, a DSSE envelope, a JUnit report, or the fields \
                 (control, commit, build, environment, status, sha256, source_ref, source_type)"
            ))
        })
    }
}

impl Operation for RecordEvidence {
    const PATH: &'static str = "/evidence";
    const SUMMARY: &'static str =
        "Record evidence (a record, a DSSE-signed in-toto statement, a JUnit report, or fields)";
    const MUTATES: bool = true;
    type Output = RecordEvidenceOutput;

    fn run(self, ctx: &OpContext<'_>) -> Result<RecordEvidenceOutput, ApiError> {
        let actor = ctx.acting()?;
        // Refuse non-machines before reading anything: the rule, not the input, decides.
        asom_governance::authorize(actor, asom_core::principal::Action::RecordEvidence)?;
        let evidence = self.evidence(ctx, actor.slug().as_str())?;
        let recorded = ctx.gov.record_evidence(actor, &evidence)?;
        Ok(RecordEvidenceOutput {
            evidence: evidence.to_json_with_id(),
            recorded,
        })
    }

    fn observe(output: &RecordEvidenceOutput, metrics: &crate::metrics::Metrics) {
        if output.recorded.new {
            metrics.entry_written("evidence");
        }
    }
}

fn observe_decision(decision: &Decision, recorded: &Recorded, metrics: &crate::metrics::Metrics) {
    if recorded.new {
        metrics.gate_decision(&decision.gate.to_string(), &decision.result);
        metrics.entry_written("decision");
    }
}

// --- gates ----------------------------------------------------------------

/// Decides a gate for a release and records the decision, as `asom gate check`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckGate {
    /// `G1`, `G2`, `G3` or `G4`.
    pub gate: String,
    /// The release, `product@version`.
    pub release: String,
    /// G1 only: the commit of the change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

/// A decision and its ledger entry. `decision.result` is `pass`, `block`,
/// `would-block` (observe mode) or `override`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct DecisionOutput {
    /// The decision.
    pub decision: Decision,
    /// Its ledger entry.
    pub recorded: Recorded,
}

impl Operation for CheckGate {
    const PATH: &'static str = "/gates/check";
    const SUMMARY: &'static str = "Decide a gate for a release and record the decision";
    const MUTATES: bool = true;
    type Output = DecisionOutput;

    fn run(self, ctx: &OpContext<'_>) -> Result<DecisionOutput, ApiError> {
        let actor = ctx.acting()?;
        let gate: Gate = parsed("gate", &self.gate)?;
        let release: ReleaseId = parsed("release", &self.release)?;
        let commit = self
            .commit
            .as_deref()
            .map(|c| parsed::<asom_core::release::CommitSha>("commit", c))
            .transpose()?;
        let mode = ctx.gov.gate_mode(release.product().as_str(), gate, None)?;
        let (decision, recorded) = ctx.with_policy(|policy| {
            Ok(ctx
                .gov
                .check_gate(actor, gate, &release, commit.as_ref(), mode, policy)?)
        })?;
        Ok(DecisionOutput { decision, recorded })
    }

    fn observe(output: &DecisionOutput, metrics: &crate::metrics::Metrics) {
        observe_decision(&output.decision, &output.recorded, metrics);
    }
}

/// Recomputes a recorded decision from the ledger as it was, as `asom gate replay`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayDecision {
    /// The decision's entry index.
    pub decision: u64,
}

impl Operation for ReplayDecision {
    const PATH: &'static str = "/gates/replay";
    const SUMMARY: &'static str = "Replay a recorded decision and compare it byte for byte";
    const MUTATES: bool = false;
    type Output = Replay;

    fn run(self, ctx: &OpContext<'_>) -> Result<Replay, ApiError> {
        ctx.with_policy(|policy| Ok(ctx.gov.replay(self.decision, policy)?))
    }
}

// --- promotion ------------------------------------------------------------

/// Promotes a release to QA (decides G3) or PROD (decides G4), as `asom promote`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Promote {
    /// The release, `product@version`.
    pub release: String,
    /// `QA` or `PROD`.
    pub to: String,
}

/// The decision made for a promotion and, when it allowed it, the promotion.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct PromoteOutput {
    /// The decision.
    pub decision: Decision,
    /// Its ledger entry.
    pub decision_recorded: Recorded,
    /// `QA` or `PROD`.
    pub environment: String,
    /// The promotion's entry, when the decision allowed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promotion: Option<Recorded>,
}

/// `QA` or `PROD` as a stage.
pub fn parse_environment(text: &str) -> Result<Stage, ApiError> {
    match text.to_ascii_uppercase().as_str() {
        "QA" => Ok(Stage::Qa),
        "PROD" => Ok(Stage::Prod),
        _ => Err(ApiError::Invalid(format!(
            "to {text:?}: promote to QA (checks G3) or PROD (checks G4)"
        ))),
    }
}

impl Operation for Promote {
    const PATH: &'static str = "/promotions";
    const SUMMARY: &'static str =
        "Promote a release to QA or PROD (machines only; decides G3 or G4 first)";
    const MUTATES: bool = true;
    type Output = PromoteOutput;

    fn run(self, ctx: &OpContext<'_>) -> Result<PromoteOutput, ApiError> {
        let actor = ctx.acting()?;
        let release: ReleaseId = parsed("release", &self.release)?;
        let stage = parse_environment(&self.to)?;
        let outcome =
            ctx.with_policy(|policy| Ok(ctx.gov.promote(actor, &release, stage, policy)?))?;
        Ok(PromoteOutput {
            decision: outcome.decision,
            decision_recorded: outcome.decision_recorded,
            environment: environment(stage).to_owned(),
            promotion: outcome.promotion,
        })
    }

    fn observe(output: &PromoteOutput, metrics: &crate::metrics::Metrics) {
        observe_decision(&output.decision, &output.decision_recorded, metrics);
        if output.promotion.as_ref().is_some_and(|p| p.new) {
            metrics.entry_written("promotion");
        }
    }
}
