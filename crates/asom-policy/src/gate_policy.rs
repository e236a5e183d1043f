//! The Rego pack as the governance service's [`GatePolicy`]: the port is
//! defined by `asom-governance` (which knows nothing of Rego), this is its
//! adapter. The CLI, the server and the benchmarks use it alike.

use asom_governance::gates::{GatePolicy, PackRef, Violation as DecisionViolation};
use serde_json::Value;

use crate::{Evaluator, Pack, PolicyError, Violation, override_covers};

/// A loaded pack, prepared for evaluation.
pub struct RegoPolicy {
    evaluator: Evaluator,
    pack: PackRef,
}

impl RegoPolicy {
    /// The policy of a (validated) pack.
    pub fn new(pack: &Pack) -> Result<Self, PolicyError> {
        Ok(Self {
            evaluator: pack.evaluator(),
            pack: PackRef {
                name: pack.name().to_owned(),
                version: pack.version().to_owned(),
                digest: pack.digest(),
            },
        })
    }
}

impl GatePolicy for RegoPolicy {
    fn pack(&self) -> PackRef {
        self.pack.clone()
    }

    fn evaluate(&self, input: &Value) -> Result<Vec<DecisionViolation>, String> {
        let violations = self.evaluator.evaluate(input).map_err(|e| e.to_string())?;
        Ok(violations
            .into_iter()
            .map(|v| DecisionViolation {
                control: v.control,
                gate: v.gate,
                reason: v.reason,
                remediation: v.remediation,
                entries: v.entries,
            })
            .collect())
    }

    fn override_covers(&self, input: &Value, violations: &[DecisionViolation]) -> bool {
        let violations: Vec<Violation> = violations
            .iter()
            .map(|v| Violation {
                control: v.control.clone(),
                gate: v.gate.clone(),
                reason: v.reason.clone(),
                remediation: v.remediation.clone(),
                entries: v.entries.clone(),
            })
            .collect();
        override_covers(input, &violations)
    }
}
