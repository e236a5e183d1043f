//! The audit walkthrough (`asom audit`) as an operation.

use asom_core::release::ReleaseId;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::parsed;
use crate::api::{ApiError, OpContext, Operation};

/// The audit walkthrough of a release at the latest checkpoint, every
/// decision replayed with the server's pack, as `asom audit`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Audit {
    /// The release, `product@version`.
    pub release: String,
}

/// The `asom.audit.v1` report (docs/audit.md): the CRQ, the scope, the
/// release's entries, control × gate coverage, evidence traced to artifacts,
/// approvals, separation of duties, decisions with their replay, overrides,
/// exceptions and promotions. The CLI renders it as Markdown or HTML.
#[derive(Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AuditReportDocument(pub Value);

impl JsonSchema for AuditReportDocument {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "AuditReport".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "object",
            "description": "The asom.audit.v1 report (docs/audit.md).",
            "required": ["schema", "tenant", "release", "log", "entries", "coverage", "decisions"],
            "properties": {"schema": {"const": asom_governance::audit::AUDIT_SCHEMA}}
        })
    }
}

impl Operation for Audit {
    const PATH: &'static str = "/audits";
    const SUMMARY: &'static str = "The audit walkthrough of a release (asom.audit.v1)";
    const MUTATES: bool = false;
    type Output = AuditReportDocument;

    fn run(self, ctx: &OpContext<'_>) -> Result<AuditReportDocument, ApiError> {
        let release: ReleaseId = parsed("release", &self.release)?;
        let report = ctx.with_policy(|policy| Ok(ctx.gov.audit(&release, policy)?))?;
        serde_json::to_value(&report)
            .map(AuditReportDocument)
            .map_err(|e| ApiError::Unavailable(format!("encoding the report: {e}")))
    }
}
