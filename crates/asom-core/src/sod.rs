//! Separation of duties (control C-02), as one pure function over a release's facts.
//!
//! [`check`] takes what asom knows about a release — commit authors, the CRQ's
//! approvals, who deployed, who produced and who verified evidence, who granted
//! exceptions, who requested and approved overrides — and the
//! [`IdentityDirectory`] that says which names are one person. It returns every
//! violation of DESIGN.md §5, each naming the identities involved:
//!
//! | rule | violated when |
//! |---|---|
//! | `author-approves` | a commit author (under any alias) approves the CRQ, for QA or PROD |
//! | `approver-deploys` | an approver (any stage) is the deployer |
//! | `deployer-not-machine` | the deployer is not known to be a `machine` principal |
//! | `approver-not-human` | a `machine` principal approves ("humans approve") |
//! | `verifier-produced-evidence` | a governance verifier is the producer of evidence of the release |
//! | `agent-acted` | an agent approves, deploys, records or verifies evidence, grants an N/A, or requests or approves an override |
//! | `emergency-approver-is-release-approver` | an override's emergency approver also approved the CRQ |
//! | `approver-set-empty` | nobody approved the target stage (an empty set fails, never passes vacuously) |
//! | `quorum-not-met` | fewer distinct eligible persons approved the target stage than the quorum |
//!
//! Quorum counts distinct *persons* after alias resolution; authors, agents and
//! machines are not eligible, so they never count. The quorum is at least one
//! ([`Quorum`]), and there is no parameter, flag or policy input that turns a
//! rule off: the function has none to read.
//!
//! Every rule but the last two forbids a combination of facts, so adding facts
//! never removes one of its violations; the last two require approvals, so
//! only adding eligible approvals removes them. The property tests in
//! `tests/sod_properties.rs` check both.

use std::collections::BTreeSet;
use std::fmt;
use std::num::NonZeroUsize;

use serde::{Deserialize, Serialize};

use crate::catalog::ControlId;
use crate::crq::{CrqSnapshot, Decision, Stage};
use crate::identity::{IdentityDirectory, PersonId};
use crate::principal::{PrincipalKind, Role};

// ---------------------------------------------------------------------------
// Facts
// ---------------------------------------------------------------------------

/// Someone who did something, as the fact's source names them, and their
/// principal kind when asom knows it (for change-system approvers it may not).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Actor {
    /// The identity as recorded (slug, email, or git identity).
    pub identity: String,
    /// The principal kind, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<PrincipalKind>,
}

impl Actor {
    /// An actor of known kind.
    #[must_use]
    pub fn new(identity: impl Into<String>, kind: PrincipalKind) -> Self {
        Self {
            identity: identity.into(),
            kind: Some(kind),
        }
    }

    /// A human.
    #[must_use]
    pub fn human(identity: impl Into<String>) -> Self {
        Self::new(identity, PrincipalKind::Human)
    }

    /// An agent.
    #[must_use]
    pub fn agent(identity: impl Into<String>) -> Self {
        Self::new(identity, PrincipalKind::Agent)
    }

    /// A machine.
    #[must_use]
    pub fn machine(identity: impl Into<String>) -> Self {
        Self::new(identity, PrincipalKind::Machine)
    }

    /// An actor whose kind is not known (e.g. a `ServiceNow` user asom has no principal for).
    #[must_use]
    pub fn unknown(identity: impl Into<String>) -> Self {
        Self {
            identity: identity.into(),
            kind: None,
        }
    }

    fn is_agent(&self) -> bool {
        self.kind == Some(PrincipalKind::Agent)
    }
}

/// A standing approval of the release's CRQ for a stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalFact {
    /// Who approved.
    pub approver: Actor,
    /// For which stage.
    pub stage: Stage,
    /// In which role, if the change system says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
}

/// One evidence entry of the release and who produced it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceFact {
    /// The evidence entry's id.
    pub id: String,
    /// Who recorded it.
    pub producer: Actor,
}

/// A control exception (N/A) granted for the release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExceptionFact {
    /// The control marked not applicable.
    pub control: ControlId,
    /// Who granted it.
    pub granted_by: Actor,
}

/// A C-11 emergency override on the release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverrideFact {
    /// Who requested it.
    pub requested_by: Actor,
    /// The emergency approver, once approved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<Actor>,
}

/// Everything separation of duties looks at for one release.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseFacts {
    /// Commit authors of every change in the release (git identities).
    #[serde(default)]
    pub authors: Vec<String>,
    /// Standing approvals of the release's CRQ, both stages.
    #[serde(default)]
    pub approvals: Vec<ApprovalFact>,
    /// Who deployed / is promoting (the authenticated caller of `promote`).
    #[serde(default)]
    pub deployers: Vec<Actor>,
    /// The release's evidence and its producers.
    #[serde(default)]
    pub evidence: Vec<EvidenceFact>,
    /// Who verified the release's evidence (governance).
    #[serde(default)]
    pub verifiers: Vec<Actor>,
    /// N/A exceptions granted.
    #[serde(default)]
    pub exceptions: Vec<ExceptionFact>,
    /// Emergency overrides.
    #[serde(default)]
    pub overrides: Vec<OverrideFact>,
}

/// The standing approvals of a CRQ (each approver's latest decision, when it is
/// an approval), for [`ReleaseFacts::approvals`]. Kinds are unknown: the
/// caller fills them in where it knows the approver's principal.
#[must_use]
pub fn approvals_from_snapshot(snapshot: &CrqSnapshot) -> Vec<ApprovalFact> {
    let mut out = Vec::new();
    for stage in Stage::ALL {
        for approver in snapshot.approvers(stage) {
            let role = snapshot
                .approvals
                .iter()
                .rev()
                .find(|a| {
                    a.stage == stage && a.approver == approver && a.decision == Decision::Approved
                })
                .and_then(|a| a.role);
            out.push(ApprovalFact {
                approver: Actor::unknown(approver),
                stage,
                role,
            });
        }
    }
    out
}

/// The least number of distinct eligible persons who must approve a stage.
/// Never zero: an empty approver set fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Quorum(NonZeroUsize);

impl Quorum {
    /// One approver.
    pub const ONE: Quorum = Quorum(NonZeroUsize::MIN);

    /// A quorum of `n` persons (`None` for zero).
    #[must_use]
    pub fn new(n: usize) -> Option<Self> {
        NonZeroUsize::new(n).map(Self)
    }

    /// The number of persons.
    #[must_use]
    pub fn get(self) -> usize {
        self.0.get()
    }
}

impl Default for Quorum {
    fn default() -> Self {
        Self::ONE
    }
}

// ---------------------------------------------------------------------------
// Violations
// ---------------------------------------------------------------------------

/// What an agent did that it may never do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AgentAct {
    /// Approved the CRQ for a stage.
    Approved(Stage),
    /// Deployed / promoted.
    Deployed,
    /// Recorded evidence.
    RecordedEvidence,
    /// Verified evidence.
    VerifiedEvidence,
    /// Granted an N/A exception.
    GrantedException,
    /// Requested an emergency override.
    RequestedOverride,
    /// Approved an emergency override.
    ApprovedOverride,
}

impl fmt::Display for AgentAct {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AgentAct::Approved(stage) => write!(f, "approved the CRQ for {stage}"),
            AgentAct::Deployed => f.write_str("deployed"),
            AgentAct::RecordedEvidence => f.write_str("recorded evidence"),
            AgentAct::VerifiedEvidence => f.write_str("verified evidence"),
            AgentAct::GrantedException => f.write_str("granted an N/A exception"),
            AgentAct::RequestedOverride => f.write_str("requested an emergency override"),
            AgentAct::ApprovedOverride => f.write_str("approved an emergency override"),
        }
    }
}

/// One violation of separation of duties. Always reported against control C-02
/// ([`SodViolation::control`]); names the identities involved as recorded and
/// the person they resolve to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "kebab-case")]
pub enum SodViolation {
    /// A commit author approved the CRQ.
    AuthorApproves {
        /// The stage approved.
        stage: Stage,
        /// The approver as the change system names them.
        approver: String,
        /// The author as git names them.
        author: String,
        /// The person both are.
        person: PersonId,
    },
    /// An approver deployed.
    ApproverDeploys {
        /// The approver.
        approver: String,
        /// The deployer.
        deployer: String,
        /// The person both are.
        person: PersonId,
    },
    /// The deployer is not a machine principal.
    DeployerNotMachine {
        /// The deployer.
        deployer: String,
        /// Its kind, if known.
        kind: Option<PrincipalKind>,
    },
    /// A machine approved.
    ApproverNotHuman {
        /// The stage.
        stage: Stage,
        /// The approver.
        approver: String,
    },
    /// A verifier produced evidence of the release.
    VerifierProducedEvidence {
        /// The verifier.
        verifier: String,
        /// The producer.
        producer: String,
        /// The person both are.
        person: PersonId,
    },
    /// An agent did something authoritative.
    AgentActed {
        /// The agent.
        agent: String,
        /// What it did.
        act: AgentAct,
    },
    /// The emergency approver also approved the CRQ as release approver.
    EmergencyApproverIsReleaseApprover {
        /// The emergency approver.
        emergency_approver: String,
        /// The release approver.
        release_approver: String,
        /// The person both are.
        person: PersonId,
    },
    /// Nobody approved the stage.
    ApproverSetEmpty {
        /// The stage.
        stage: Stage,
    },
    /// Too few distinct eligible persons approved the stage.
    QuorumNotMet {
        /// The stage.
        stage: Stage,
        /// How many distinct persons are needed.
        needed: usize,
        /// The eligible persons who approved.
        eligible: BTreeSet<PersonId>,
    },
}

impl SodViolation {
    /// The control every separation-of-duties violation is reported against: C-02.
    #[must_use]
    pub fn control(&self) -> ControlId {
        ControlId::SEPARATION_OF_DUTIES
    }

    /// What is wrong, without the `C-02 <rule>: ` prefix [`fmt::Display`] adds.
    #[must_use]
    pub fn message(&self) -> String {
        let text = self.to_string();
        let prefix = format!("C-02 {}: ", self.rule());
        text.strip_prefix(&prefix)
            .map_or(text.clone(), str::to_owned)
    }

    /// The rule's kebab-case name.
    #[must_use]
    pub fn rule(&self) -> &'static str {
        match self {
            SodViolation::AuthorApproves { .. } => "author-approves",
            SodViolation::ApproverDeploys { .. } => "approver-deploys",
            SodViolation::DeployerNotMachine { .. } => "deployer-not-machine",
            SodViolation::ApproverNotHuman { .. } => "approver-not-human",
            SodViolation::VerifierProducedEvidence { .. } => "verifier-produced-evidence",
            SodViolation::AgentActed { .. } => "agent-acted",
            SodViolation::EmergencyApproverIsReleaseApprover { .. } => {
                "emergency-approver-is-release-approver"
            }
            SodViolation::ApproverSetEmpty { .. } => "approver-set-empty",
            SodViolation::QuorumNotMet { .. } => "quorum-not-met",
        }
    }

    /// The identities involved, as recorded.
    #[must_use]
    pub fn identities(&self) -> Vec<&str> {
        match self {
            SodViolation::AuthorApproves {
                approver, author, ..
            } => vec![approver, author],
            SodViolation::ApproverDeploys {
                approver, deployer, ..
            } => vec![approver, deployer],
            SodViolation::DeployerNotMachine { deployer, .. } => vec![deployer],
            SodViolation::ApproverNotHuman { approver, .. } => vec![approver],
            SodViolation::VerifierProducedEvidence {
                verifier, producer, ..
            } => {
                vec![verifier, producer]
            }
            SodViolation::AgentActed { agent, .. } => vec![agent],
            SodViolation::EmergencyApproverIsReleaseApprover {
                emergency_approver,
                release_approver,
                ..
            } => vec![emergency_approver, release_approver],
            SodViolation::ApproverSetEmpty { .. } => vec![],
            SodViolation::QuorumNotMet { eligible, .. } => {
                eligible.iter().map(PersonId::as_str).collect()
            }
        }
    }

    /// Whether the rule forbids a combination of facts (adding facts never
    /// removes such a violation), as opposed to requiring approvals.
    #[must_use]
    pub fn is_prohibition(&self) -> bool {
        !matches!(
            self,
            SodViolation::ApproverSetEmpty { .. } | SodViolation::QuorumNotMet { .. }
        )
    }

    /// What to do about it.
    #[must_use]
    pub fn remediation(&self) -> String {
        match self {
            SodViolation::AuthorApproves { stage, .. } => format!(
                "a release approver who authored none of the release's commits must approve the CRQ for {stage}, and the author's approval must be withdrawn in the change system"
            ),
            SodViolation::ApproverDeploys { .. } => "promote through the pipeline's machine principal; an approver's identity must not deploy".to_owned(),
            SodViolation::DeployerNotMachine { .. } => "promote with a machine principal's token (the CI/CD service account)".to_owned(),
            SodViolation::ApproverNotHuman { stage, .. } => format!(
                "a human with the release-approver or change-manager role must approve for {stage}"
            ),
            SodViolation::VerifierProducedEvidence { .. } => "a governance reviewer who produced none of the release's evidence must verify it".to_owned(),
            SodViolation::AgentActed { .. } => "agents assist only: the act must be redone by an authorised human or machine principal".to_owned(),
            SodViolation::EmergencyApproverIsReleaseApprover { .. } => "a different emergency approver, who did not approve the CRQ, must approve the override".to_owned(),
            SodViolation::ApproverSetEmpty { stage } => format!(
                "a release approver must approve the CRQ for {stage} in the change system"
            ),
            SodViolation::QuorumNotMet { stage, needed, eligible } => format!(
                "{} more distinct release approver(s) who are not authors must approve for {stage}",
                needed.saturating_sub(eligible.len())
            ),
        }
    }
}

impl fmt::Display for SodViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "C-02 {}: ", self.rule())?;
        match self {
            SodViolation::AuthorApproves {
                stage,
                approver,
                author,
                person,
            } => write!(
                f,
                "'{approver}' approved the CRQ for {stage} but is commit author '{author}' (person '{person}')"
            )?,
            SodViolation::ApproverDeploys {
                approver,
                deployer,
                person,
            } => write!(
                f,
                "deployer '{deployer}' is approver '{approver}' (person '{person}')"
            )?,
            SodViolation::DeployerNotMachine { deployer, kind } => match kind {
                Some(kind) => write!(
                    f,
                    "deployer '{deployer}' is a {kind}, not a machine principal"
                )?,
                None => write!(f, "deployer '{deployer}' is not a known machine principal")?,
            },
            SodViolation::ApproverNotHuman { stage, approver } => {
                write!(
                    f,
                    "machine '{approver}' approved the CRQ for {stage}; humans approve"
                )?;
            }
            SodViolation::VerifierProducedEvidence {
                verifier,
                producer,
                person,
            } => write!(
                f,
                "verifier '{verifier}' produced evidence as '{producer}' (person '{person}')"
            )?,
            SodViolation::AgentActed { agent, act } => {
                write!(f, "agent '{agent}' {act}; agents never act authoritatively")?;
            }
            SodViolation::EmergencyApproverIsReleaseApprover {
                emergency_approver,
                release_approver,
                person,
            } => write!(
                f,
                "emergency approver '{emergency_approver}' also approved the CRQ as '{release_approver}' (person '{person}')"
            )?,
            SodViolation::ApproverSetEmpty { stage } => {
                write!(
                    f,
                    "nobody approved the CRQ for {stage}; an empty approver set fails"
                )?;
            }
            SodViolation::QuorumNotMet {
                stage,
                needed,
                eligible,
            } => {
                let names: Vec<&str> = eligible.iter().map(PersonId::as_str).collect();
                write!(
                    f,
                    "{} distinct eligible approver(s) for {stage} ({}), {needed} needed",
                    eligible.len(),
                    if names.is_empty() {
                        "none".to_owned()
                    } else {
                        names.join(", ")
                    }
                )?;
            }
        }
        write!(f, "; {}", self.remediation())
    }
}

/// The outcome of [`check`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SodReport {
    /// The stage whose promotion was checked.
    pub target: Stage,
    /// Every violation, sorted, without duplicates.
    pub violations: Vec<SodViolation>,
    /// The distinct eligible persons who approved the target stage.
    pub eligible_approvers: BTreeSet<PersonId>,
    /// Identities that no alias maps to a person: the check treats each as a person
    /// of its own, so a missing alias can hide a violation. Reported so that
    /// someone maps them.
    pub unmapped: BTreeSet<String>,
}

impl SodReport {
    /// Whether separation of duties holds (no violations).
    #[must_use]
    pub fn holds(&self) -> bool {
        self.violations.is_empty()
    }
}

// ---------------------------------------------------------------------------
// The check
// ---------------------------------------------------------------------------

/// Checks separation of duties for promoting a release to `target`. Approvals
/// of both stages are checked against authors, deployers and emergency
/// approvers; the approver set and quorum are checked for `target`.
#[must_use]
pub fn check(
    facts: &ReleaseFacts,
    directory: &IdentityDirectory,
    target: Stage,
    quorum: Quorum,
) -> SodReport {
    let resolved = Resolved::new(facts, directory);
    let mut violations = BTreeSet::new();
    resolved.author_and_machine_approvals(&mut violations);
    resolved.deployers(&mut violations);
    resolved.verifiers(&mut violations);
    resolved.emergency_approvers(&mut violations);
    agents(facts, &mut violations);
    let eligible_approvers = resolved.approver_set(target, quorum, &mut violations);
    SodReport {
        target,
        violations: violations.into_iter().collect(),
        eligible_approvers,
        unmapped: resolved.unmapped,
    }
}

/// The facts with every identity resolved to a person.
struct Resolved<'f> {
    authors: Vec<(&'f str, PersonId)>,
    approvals: Vec<(&'f ApprovalFact, PersonId)>,
    deployers: Vec<(&'f Actor, PersonId)>,
    producers: Vec<(&'f Actor, PersonId)>,
    verifiers: Vec<(&'f Actor, PersonId)>,
    emergency: Vec<(&'f Actor, PersonId)>,
    unmapped: BTreeSet<String>,
}

impl<'f> Resolved<'f> {
    fn new(facts: &'f ReleaseFacts, directory: &IdentityDirectory) -> Self {
        let mut unmapped = BTreeSet::new();
        let mut person = |identity: &str| {
            if !directory.is_mapped(identity) {
                unmapped.insert(identity.trim().to_owned());
            }
            directory.resolve(identity)
        };
        let authors = facts
            .authors
            .iter()
            .map(|a| (a.as_str(), person(a)))
            .collect();
        let approvals = facts
            .approvals
            .iter()
            .map(|a| (a, person(&a.approver.identity)))
            .collect();
        let deployers = facts
            .deployers
            .iter()
            .map(|d| (d, person(&d.identity)))
            .collect();
        // Evidence can run to thousands of entries from a handful of producers.
        let distinct: BTreeSet<&Actor> = facts.evidence.iter().map(|e| &e.producer).collect();
        let producers = distinct
            .into_iter()
            .map(|p| (p, person(&p.identity)))
            .collect();
        let verifiers = facts
            .verifiers
            .iter()
            .map(|v| (v, person(&v.identity)))
            .collect();
        let emergency = facts
            .overrides
            .iter()
            .filter_map(|o| o.approved_by.as_ref())
            .map(|a| (a, person(&a.identity)))
            .collect();
        Self {
            authors,
            approvals,
            deployers,
            producers,
            verifiers,
            emergency,
            unmapped,
        }
    }

    /// No author approves, for QA or PROD; machines do not approve.
    fn author_and_machine_approvals(&self, out: &mut BTreeSet<SodViolation>) {
        for (approval, approver_person) in &self.approvals {
            for (author, author_person) in &self.authors {
                if approver_person == author_person {
                    out.insert(SodViolation::AuthorApproves {
                        stage: approval.stage,
                        approver: approval.approver.identity.clone(),
                        author: (*author).to_owned(),
                        person: approver_person.clone(),
                    });
                }
            }
            if approval.approver.kind == Some(PrincipalKind::Machine) {
                out.insert(SodViolation::ApproverNotHuman {
                    stage: approval.stage,
                    approver: approval.approver.identity.clone(),
                });
            }
        }
    }

    /// No approver deploys; the deployer is a machine.
    fn deployers(&self, out: &mut BTreeSet<SodViolation>) {
        for (deployer, deployer_person) in &self.deployers {
            if deployer.kind != Some(PrincipalKind::Machine) {
                out.insert(SodViolation::DeployerNotMachine {
                    deployer: deployer.identity.clone(),
                    kind: deployer.kind,
                });
            }
            for (approval, approver_person) in &self.approvals {
                if approver_person == deployer_person {
                    out.insert(SodViolation::ApproverDeploys {
                        approver: approval.approver.identity.clone(),
                        deployer: deployer.identity.clone(),
                        person: deployer_person.clone(),
                    });
                }
            }
        }
    }

    /// Whoever verifies evidence did not produce it.
    fn verifiers(&self, out: &mut BTreeSet<SodViolation>) {
        for (verifier, verifier_person) in &self.verifiers {
            for (producer, producer_person) in &self.producers {
                if verifier_person == producer_person {
                    out.insert(SodViolation::VerifierProducedEvidence {
                        verifier: verifier.identity.clone(),
                        producer: producer.identity.clone(),
                        person: verifier_person.clone(),
                    });
                }
            }
        }
    }

    /// The emergency approver is not a release approver of the same CRQ.
    fn emergency_approvers(&self, out: &mut BTreeSet<SodViolation>) {
        for (em, em_person) in &self.emergency {
            for (approval, approver_person) in &self.approvals {
                if em_person == approver_person {
                    out.insert(SodViolation::EmergencyApproverIsReleaseApprover {
                        emergency_approver: em.identity.clone(),
                        release_approver: approval.approver.identity.clone(),
                        person: em_person.clone(),
                    });
                }
            }
        }
    }

    /// The approver set of `target` is never empty; quorum counts distinct
    /// eligible persons (not authors, not agents, not machines). Returns them.
    fn approver_set(
        &self,
        target: Stage,
        quorum: Quorum,
        out: &mut BTreeSet<SodViolation>,
    ) -> BTreeSet<PersonId> {
        let author_persons: BTreeSet<&PersonId> = self.authors.iter().map(|(_, p)| p).collect();
        let mut any = false;
        let mut eligible = BTreeSet::new();
        for (approval, person) in self.approvals.iter().filter(|(a, _)| a.stage == target) {
            any = true;
            let authoritative_kind = !matches!(
                approval.approver.kind,
                Some(PrincipalKind::Agent | PrincipalKind::Machine)
            );
            if authoritative_kind && !author_persons.contains(person) {
                eligible.insert(person.clone());
            }
        }
        // With nobody approving, the empty set is the violation; the quorum
        // is reported once somebody approved but too few count.
        if !any {
            out.insert(SodViolation::ApproverSetEmpty { stage: target });
        } else if eligible.len() < quorum.get() {
            out.insert(SodViolation::QuorumNotMet {
                stage: target,
                needed: quorum.get(),
                eligible: eligible.clone(),
            });
        }
        eligible
    }
}

/// Agents never act authoritatively.
fn agents(facts: &ReleaseFacts, out: &mut BTreeSet<SodViolation>) {
    let mut acts: Vec<(&Actor, AgentAct)> = Vec::new();
    acts.extend(
        facts
            .approvals
            .iter()
            .map(|a| (&a.approver, AgentAct::Approved(a.stage))),
    );
    acts.extend(facts.deployers.iter().map(|d| (d, AgentAct::Deployed)));
    acts.extend(
        facts
            .evidence
            .iter()
            .map(|e| (&e.producer, AgentAct::RecordedEvidence)),
    );
    acts.extend(
        facts
            .verifiers
            .iter()
            .map(|v| (v, AgentAct::VerifiedEvidence)),
    );
    acts.extend(
        facts
            .exceptions
            .iter()
            .map(|x| (&x.granted_by, AgentAct::GrantedException)),
    );
    for o in &facts.overrides {
        acts.push((&o.requested_by, AgentAct::RequestedOverride));
        if let Some(a) = &o.approved_by {
            acts.push((a, AgentAct::ApprovedOverride));
        }
    }
    for (actor, act) in acts {
        if actor.is_agent() {
            out.insert(SodViolation::AgentActed {
                agent: actor.identity.clone(),
                act,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::principal::Slug;

    fn dir() -> IdentityDirectory {
        let mut d = IdentityDirectory::new();
        let alice = Slug::new("alice").unwrap();
        d.map("alice@corp", &alice).unwrap();
        d.map("Alice <alice@corp.example>", &alice).unwrap();
        d.add_person(&Slug::new("rita").unwrap()).unwrap();
        d.add_person(&Slug::new("ci").unwrap()).unwrap();
        d
    }

    fn approval(who: &str, stage: Stage) -> ApprovalFact {
        ApprovalFact {
            approver: Actor::human(who),
            stage,
            role: Some(Role::ReleaseApprover),
        }
    }

    fn clean() -> ReleaseFacts {
        ReleaseFacts {
            authors: vec!["Alice <alice@corp.example>".into()],
            approvals: vec![approval("rita", Stage::Qa), approval("rita", Stage::Prod)],
            deployers: vec![Actor::machine("ci")],
            evidence: vec![EvidenceFact {
                id: "e1".into(),
                producer: Actor::machine("ci"),
            }],
            verifiers: vec![Actor::human("gina")],
            ..ReleaseFacts::default()
        }
    }

    fn rules(r: &SodReport) -> Vec<&'static str> {
        r.violations.iter().map(SodViolation::rule).collect()
    }

    #[test]
    fn a_clean_release_holds() {
        let r = check(&clean(), &dir(), Stage::Prod, Quorum::ONE);
        assert!(r.holds(), "{:?}", r.violations);
        assert_eq!(r.eligible_approvers.len(), 1);
        assert_eq!(r.unmapped, ["gina".to_owned()].into());
    }

    #[test]
    fn author_approving_under_an_alias_is_flagged() {
        let mut f = clean();
        f.approvals.push(approval("ALICE@corp", Stage::Qa));
        let r = check(&f, &dir(), Stage::Qa, Quorum::ONE);
        assert_eq!(rules(&r), ["author-approves"]);
        let v = &r.violations[0];
        assert_eq!(v.control(), ControlId::SEPARATION_OF_DUTIES);
        assert_eq!(v.identities(), ["ALICE@corp", "Alice <alice@corp.example>"]);
        assert!(v.to_string().starts_with(
            "C-02 author-approves: 'ALICE@corp' approved the CRQ for QA but is commit author 'Alice <alice@corp.example>' (person 'alice')"
        ), "{v}");
        // The author's approval does not count towards quorum.
        assert_eq!(
            r.eligible_approvers,
            [PersonId::from(Slug::new("rita").unwrap())].into()
        );
    }

    #[test]
    fn only_the_author_approving_also_fails_quorum() {
        let mut f = clean();
        f.approvals = vec![approval("alice", Stage::Qa)];
        let r = check(&f, &dir(), Stage::Qa, Quorum::ONE);
        assert_eq!(rules(&r), ["author-approves", "quorum-not-met"]);
    }

    #[test]
    fn empty_approver_set_fails() {
        let mut f = clean();
        f.approvals.clear();
        for stage in Stage::ALL {
            let r = check(&f, &dir(), stage, Quorum::ONE);
            // The empty set is the violation; the quorum is not reported on top.
            assert_eq!(rules(&r), ["approver-set-empty"]);
        }
        let r = check(
            &ReleaseFacts::default(),
            &IdentityDirectory::new(),
            Stage::Qa,
            Quorum::ONE,
        );
        assert!(!r.holds());
    }

    #[test]
    fn deployers() {
        let mut f = clean();
        f.deployers = vec![Actor::human("rita"), Actor::unknown("jenkins")];
        let r = check(&f, &dir(), Stage::Prod, Quorum::ONE);
        // One violation per distinct pair of identities: rita approved twice, one pair.
        assert_eq!(
            rules(&r),
            [
                "approver-deploys",
                "deployer-not-machine",
                "deployer-not-machine"
            ]
        );
        assert!(
            r.violations
                .iter()
                .any(|v| v.to_string().contains("'jenkins' is not a known machine"))
        );
        // A machine account mapped to an approver is still the approver.
        let mut d = dir();
        d.map("rita-ci", &Slug::new("rita").unwrap()).unwrap();
        f.deployers = vec![Actor::machine("rita-ci")];
        let r = check(&f, &d, Stage::Prod, Quorum::ONE);
        assert_eq!(rules(&r), ["approver-deploys"]);
    }

    #[test]
    fn verifier_did_not_produce_evidence() {
        let mut f = clean();
        let mut d = dir();
        d.map("gina-ci", &Slug::new("gina").unwrap()).unwrap();
        f.evidence.push(EvidenceFact {
            id: "e2".into(),
            producer: Actor::machine("gina-ci"),
        });
        let r = check(&f, &d, Stage::Prod, Quorum::ONE);
        assert_eq!(rules(&r), ["verifier-produced-evidence"]);
    }

    #[test]
    fn agents_never_act() {
        let mut f = clean();
        f.approvals.push(ApprovalFact {
            approver: Actor::agent("qa-bot"),
            stage: Stage::Qa,
            role: None,
        });
        f.deployers.push(Actor::agent("dev-bot"));
        f.evidence.push(EvidenceFact {
            id: "e3".into(),
            producer: Actor::agent("dev-bot"),
        });
        f.verifiers.push(Actor::agent("gov-bot"));
        f.exceptions.push(ExceptionFact {
            control: ControlId::OBSERVABILITY,
            granted_by: Actor::agent("gov-bot"),
        });
        f.overrides.push(OverrideFact {
            requested_by: Actor::agent("dev-bot"),
            approved_by: Some(Actor::agent("gov-bot")),
        });
        let r = check(&f, &dir(), Stage::Qa, Quorum::ONE);
        let acts: BTreeSet<AgentAct> = r
            .violations
            .iter()
            .filter_map(|v| match v {
                SodViolation::AgentActed { act, .. } => Some(*act),
                _ => None,
            })
            .collect();
        assert_eq!(acts.len(), 7, "{acts:?}");
        // The agent's approval does not count.
        assert_eq!(r.eligible_approvers.len(), 1);
    }

    #[test]
    fn machines_do_not_approve() {
        let mut f = clean();
        f.approvals = vec![ApprovalFact {
            approver: Actor::machine("ci"),
            stage: Stage::Qa,
            role: None,
        }];
        let r = check(&f, &dir(), Stage::Qa, Quorum::ONE);
        assert!(rules(&r).contains(&"approver-not-human"));
        assert!(rules(&r).contains(&"quorum-not-met"));
    }

    #[test]
    fn emergency_approver_is_not_release_approver() {
        let mut f = clean();
        f.overrides.push(OverrideFact {
            requested_by: Actor::human("dave"),
            approved_by: Some(Actor::human("Rita")),
        });
        let r = check(&f, &dir(), Stage::Prod, Quorum::ONE);
        assert_eq!(rules(&r), ["emergency-approver-is-release-approver"]);
    }

    #[test]
    fn quorum_counts_persons_not_names() {
        let mut d = dir();
        let bob = Slug::new("bob").unwrap();
        d.map("bob@corp", &bob).unwrap();
        let mut f = clean();
        f.approvals = vec![
            approval("bob", Stage::Prod),
            approval("bob@corp", Stage::Prod),
        ];
        let two = Quorum::new(2).unwrap();
        let r = check(&f, &d, Stage::Prod, two);
        assert_eq!(rules(&r), ["quorum-not-met"]);
        assert!(
            r.violations[0]
                .to_string()
                .contains("1 distinct eligible approver(s) for PROD (bob), 2 needed")
        );
        f.approvals.push(approval("rita", Stage::Prod));
        assert!(check(&f, &d, Stage::Prod, two).holds());
        assert!(Quorum::new(0).is_none());
    }

    #[test]
    fn approvals_from_a_snapshot() {
        use crate::crq::{Approval, CrqNumber, CrqSnapshot, CrqState, CrqType};
        use time::macros::datetime;
        let at = datetime!(2025-03-01 09:00 UTC);
        let snap = CrqSnapshot {
            provider: "servicenow".into(),
            number: CrqNumber::parse("CHG0030001").unwrap(),
            crq_type: CrqType::Normal,
            state: CrqState::Scheduled,
            release: None,
            window: None,
            approvals: vec![
                Approval {
                    stage: Stage::Qa,
                    decision: Decision::Approved,
                    approver: "alice@corp".into(),
                    role: Some(Role::ReleaseApprover),
                    at,
                    comment: None,
                },
                Approval {
                    stage: Stage::Prod,
                    decision: Decision::Approved,
                    approver: "rita".into(),
                    role: None,
                    at,
                    comment: None,
                },
                Approval {
                    stage: Stage::Prod,
                    decision: Decision::Rejected,
                    approver: "bob".into(),
                    role: None,
                    at,
                    comment: None,
                },
            ],
        };
        let facts = approvals_from_snapshot(&snap);
        assert_eq!(facts.len(), 2);
        assert_eq!(facts[0].role, Some(Role::ReleaseApprover));
        let f = ReleaseFacts {
            authors: vec!["alice".into()],
            approvals: facts,
            ..ReleaseFacts::default()
        };
        let r = check(&f, &dir(), Stage::Qa, Quorum::ONE);
        assert_eq!(rules(&r), ["author-approves", "quorum-not-met"]);
    }
}
