//! Promotion: `asom promote --release R --to QA|PROD`.
//!
//! A promotion is the deployer's act, so only a `machine` principal may ask
//! (the CD pipeline's service account). It decides the matching gate (G3 for
//! QA, G4 for PROD) afresh, with the deployer in the separation-of-duties
//! facts (an approver never deploys), records that decision, and records the
//! promotion only when the decision is `pass` or `override` in enforce mode.
//! A gate in observe mode authorises nothing: promotion is refused until the
//! product's gate is switched to enforce. Deciding afresh rather than reusing
//! an earlier decision means an approval withdrawn, evidence failing or an
//! override expiring since then is seen.
//!
//! | kind | content | keys |
//! |---|---|---|
//! | `promotion` | `{release, environment, gate, decision, result, deployer, at}` | `promotion:<release>:<env>`, `promotions-of:<release>`, `promotions` |

use asom_core::crq::Stage;
use asom_core::principal::{Action, Principal};
use asom_core::release::ReleaseId;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::gates::{Decision, Gate, GatePolicy, Mode};
use crate::principals::rfc3339;
use crate::{Governance, GovernanceError, Recorded, Result, authorize, content_field};

/// A recorded promotion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Promotion {
    /// The release.
    pub release: String,
    /// `QA` or `PROD`.
    pub environment: String,
    /// The gate that authorised it.
    pub gate: Gate,
    /// The id of the decision entry that authorised it.
    pub decision: String,
    /// `pass` or `override`.
    pub result: String,
    /// The machine principal that deployed.
    pub deployer: String,
    /// When.
    pub at: String,
}

/// What `promote` did: always a decision; a promotion when it allowed one.
#[derive(Debug, Clone, Serialize)]
pub struct PromotionOutcome {
    /// The decision made for the promotion.
    pub decision: Decision,
    /// Its entry.
    pub decision_recorded: Recorded,
    /// The promotion entry, when the decision allowed it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub promotion: Option<Recorded>,
}

/// `QA` or `PROD`.
#[must_use]
pub fn environment(stage: Stage) -> &'static str {
    match stage {
        Stage::Qa => "QA",
        Stage::Prod => "PROD",
    }
}

impl Governance<'_> {
    /// Promotes a release to `stage`'s environment; see the module docs.
    pub fn promote(
        &self,
        actor: &Principal,
        id: &ReleaseId,
        stage: Stage,
        policy: &dyn GatePolicy,
    ) -> Result<PromotionOutcome> {
        authorize(actor, Action::Promote)?;
        let gate = match stage {
            Stage::Qa => Gate::G3,
            Stage::Prod => Gate::G4,
        };
        let env = environment(stage);
        let mode = self.gate_mode(id.product().as_str(), gate, None)?;
        if mode == Mode::Observe {
            return Err(GovernanceError::Rule(format!(
                "{gate} is in observe mode for product {}: an observe-mode decision authorises no promotion; an admin switches it with `asom gate mode {} {gate} enforce`",
                id.product(),
                id.product()
            )));
        }
        let deployer = actor.slug().as_str();
        let (decision, decision_recorded) =
            self.record_decision(actor, gate, id, None, mode, policy, Some(deployer))?;
        let promotion = if matches!(decision.result.as_str(), "pass" | "override") {
            let content = json!({
                "release": id.to_string(),
                "environment": env,
                "gate": gate,
                "decision": decision_recorded.id.to_hex(),
                "result": decision.result,
                "deployer": deployer,
                "at": rfc3339(self.now()),
            });
            let entry = Self::entry(
                "promotion",
                &content,
                actor,
                [
                    format!("promotion:{id}:{env}"),
                    format!("promotions-of:{id}"),
                    "promotions".to_owned(),
                ],
            )?;
            Some(self.append(entry)?.into())
        } else {
            None
        };
        Ok(PromotionOutcome {
            decision,
            decision_recorded,
            promotion,
        })
    }

    /// The promotions of a release as of `before`, oldest first.
    pub fn promotions(&self, id: &ReleaseId, before: Option<u64>) -> Result<Vec<Promotion>> {
        self.entries(&format!("promotions-of:{id}"), before)?
            .iter()
            .filter(|e| e.kind == "promotion")
            .map(|e| content_field(e, ""))
            .collect()
    }
}
