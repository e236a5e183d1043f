//! Gate decisions: the input a gate decides from, the decision recorded in
//! the ledger, and its replay.
//!
//! The input is built in Rust from the ledger as of one log size: the
//! release, its product, its CRQ, the compact evidence view (never the raw
//! records), separation of duties, and the decision time. A policy (the
//! `asom-policy` crate's Rego pack, behind [`GatePolicy`]) turns it into
//! violations. Separation-of-duties violations are added by Rust whatever the
//! policy says: no pack can remove them.
//!
//! The decision entry records the gate, release, mode, result, violations,
//! the pack's digest, the input's digest (SHA-256 of its RFC 8785 bytes), the
//! log size and root the input was read at, who asked and when. Replay
//! rebuilds the input at that size and time, evaluates the same pack, and
//! compares byte for byte.

use std::fmt;
use std::str::FromStr;

use asom_core::crq::{ApprovalState, Stage, approval_state_of};
use asom_core::principal::{Action, Principal};
use asom_core::release::{CommitSha, ReleaseId};
use asom_ledger::{Hash, jcs};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::waivers::{OVERRIDES_PER_QUARTER_BEFORE_REVIEW, short};
use crate::{
    Governance, GovernanceError, Recorded, Result, authorize, content_field, principals::rfc3339,
};

/// The four gates.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
pub enum Gate {
    /// PR merge.
    G1,
    /// Release candidate.
    G2,
    /// Promote to QA.
    G3,
    /// Promote to PROD.
    G4,
}

impl Gate {
    /// The stage whose approval and separation of duties the gate checks.
    #[must_use]
    pub fn stage(self) -> Option<Stage> {
        match self {
            Self::G3 => Some(Stage::Qa),
            Self::G4 => Some(Stage::Prod),
            Self::G1 | Self::G2 => None,
        }
    }

    /// The catalog's name for the same gate.
    #[must_use]
    pub fn to_core(self) -> asom_core::catalog::Gate {
        match self {
            Self::G1 => asom_core::catalog::Gate::G1,
            Self::G2 => asom_core::catalog::Gate::G2,
            Self::G3 => asom_core::catalog::Gate::G3,
            Self::G4 => asom_core::catalog::Gate::G4,
        }
    }

    /// What the gate guards, in words.
    #[must_use]
    pub fn title(self) -> &'static str {
        self.to_core().title()
    }
}

impl fmt::Display for Gate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::G1 => "G1",
            Self::G2 => "G2",
            Self::G3 => "G3",
            Self::G4 => "G4",
        })
    }
}

impl FromStr for Gate {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_uppercase().as_str() {
            "G1" => Ok(Self::G1),
            "G2" => Ok(Self::G2),
            "G3" => Ok(Self::G3),
            "G4" => Ok(Self::G4),
            _ => Err(format!(
                "unknown gate {s:?}; the gates are G1 (PR merge), G2 (release candidate), G3 (QA), G4 (PROD)"
            )),
        }
    }
}

/// Observe (decide and record, never block) or enforce (block).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Shadow mode: a block is recorded as `would-block`.
    Observe,
    /// Blocking.
    Enforce,
}

impl FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "observe" => Ok(Self::Observe),
            "enforce" => Ok(Self::Enforce),
            _ => Err(format!("unknown mode {s:?}; use observe or enforce")),
        }
    }
}

/// One reason a gate does not pass.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub struct Violation {
    /// The control, e.g. `C-06`.
    pub control: String,
    /// The gate.
    pub gate: String,
    /// What is wrong, for a newcomer.
    pub reason: String,
    /// The evidence category to add or the exact command to run.
    pub remediation: String,
    /// The ledger entries involved.
    #[serde(default)]
    pub entries: Vec<String>,
}

/// The pack a decision was made with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PackRef {
    /// Its name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// SHA-256 over its canonical content.
    #[schemars(with = "crate::HexHash")]
    pub digest: Hash,
}

/// A policy that evaluates gate inputs: the Rego pack, or anything else.
pub trait GatePolicy {
    /// Which pack this is.
    fn pack(&self) -> PackRef;
    /// Evaluates an input document into violations (empty: pass).
    fn evaluate(&self, input: &Value) -> std::result::Result<Vec<Violation>, String>;
    /// Whether the input's active emergency overrides cover every violation,
    /// so the result is `override` rather than `block`. The default, for
    /// policies that know no overrides, is no.
    fn override_covers(&self, input: &Value, violations: &[Violation]) -> bool {
        let _ = (input, violations);
        false
    }
}

/// A recorded gate decision (the content of a `decision` entry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Decision {
    /// The gate.
    pub gate: Gate,
    /// The release.
    pub release: String,
    /// The commit, for G1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The mode it ran in.
    pub mode: Mode,
    /// `pass`, `block`, `would-block` or `override`.
    pub result: String,
    /// Every violation, sorted.
    pub violations: Vec<Violation>,
    /// The pack.
    pub pack: PackRef,
    /// SHA-256 of the input's RFC 8785 bytes.
    #[schemars(with = "crate::HexHash")]
    pub input_digest: Hash,
    /// The log size the input was read at.
    pub log_size: u64,
    /// The log's root at that size.
    #[schemars(with = "crate::HexHash")]
    pub log_root: Hash,
    /// Who asked.
    pub asked_by: String,
    /// The deployer, when the decision was made for `asom promote` (its
    /// separation of duties includes them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployer: Option<String>,
    /// When (also the time the input was evaluated at).
    pub at: String,
    /// What a reader must see whatever the result: open overrides with their
    /// deadlines, N/A exceptions in use, an override review flag.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notices: Vec<String>,
}

/// Everything a decision is a function of, besides the ledger and the policy.
struct Asked<'a> {
    gate: Gate,
    id: &'a ReleaseId,
    commit: Option<&'a CommitSha>,
    mode: Mode,
    at: OffsetDateTime,
    size: u64,
    root: Hash,
    by: &'a str,
    deployer: Option<&'a str>,
}

/// What a replay found.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Replay {
    /// The decision as recorded.
    pub recorded: Decision,
    /// The decision recomputed from the ledger at its log size.
    pub recomputed: Decision,
    /// True when both are byte-identical (RFC 8785).
    pub identical: bool,
    /// What differs, field by field, when they are not.
    pub differences: Vec<String>,
}

impl Governance<'_> {
    /// The input document of `gate` for `release` (and `commit` for G1), as
    /// of log size `before` and time `at`, and the separation-of-duties
    /// report it holds (G3, G4), which the decision adds whatever the pack
    /// says.
    fn input_and_sod(
        &self,
        gate: Gate,
        id: &ReleaseId,
        commit: Option<&CommitSha>,
        at: OffsetDateTime,
        before: u64,
        deployer: Option<&str>,
    ) -> Result<(Value, Option<asom_core::sod::SodReport>)> {
        let size = before;
        let before = Some(before);
        let view = self.release(id, before)?;
        let product = self.product(id.product().as_str(), before)?;
        // G1 decides on one change: only its commit's evidence counts there.
        let commits: Vec<&CommitSha> = match (gate, commit) {
            (Gate::G1, Some(sha)) => vec![sha],
            _ => view.release.commits().iter().collect(),
        };
        let evidence = self.evidence_view_of(id, &view, &commits, before)?;
        let crq = view.snapshot.as_ref().map(|crq| {
            let approval = |stage| match approval_state_of(&crq.approvals, stage) {
                ApprovalState::Approved => "approved",
                ApprovalState::Rejected => "rejected",
                ApprovalState::Pending => "pending",
            };
            json!({
                "number": crq.number.as_str(),
                "type": crq.crq_type.as_str(),
                "state": crq.state.as_str(),
                "shared": false,
                "approval": {"qa": approval(Stage::Qa), "prod": approval(Stage::Prod)},
                "window_open": crq.window.map(|w| w.contains(at)),
            })
        });
        let change_system = json!({
            "provider": view.crq_provider,
            "error": view.crq_error,
        });
        // The stories a gate reads: the checked change's at G1, the scope's
        // otherwise; a failed read of any of them is named.
        let mut planning_errors = serde_json::Map::new();
        for key in self.story_keys(gate, commit, &view, before)? {
            if let Some(e) = self.story_error(&key, before)? {
                planning_errors.insert(key, Value::from(e));
            }
        }
        let report = gate
            .stage()
            .map(|stage| self.sod_report_of(&view, stage, before, deployer))
            .transpose()?;
        let sod = match &report {
            Some(report) => {
                json!({
                    "holds": report.holds(),
                    "violations": report.violations.iter().map(|v| json!({
                        "rule": v.rule(), "message": v.message(),
                        "identities": v.identities(), "remediation": v.remediation(),
                    })).collect::<Vec<_>>(),
                })
            }
            None => json!({"holds": true, "violations": []}),
        };
        let change = self.change_input(gate, commit, before)?;
        let g3_passed = self
            .latest_decision(id, Gate::G3, before)?
            .is_some_and(|d| d.result == "pass" || d.result == "override");
        let qa_report = evidence.qa_report;
        let input = json!({
            "gate": gate,
            "at": rfc3339(at),
            "release": {
                "id": id.to_string(),
                "scope": view.release.scope(),
                "commits": self.commits_in_order(&view.release, before)?,
                "crq": view.release.crq(),
            },
            "product": {
                "slug": product.slug,
                "change_type": product.change_type,
                "classification": product.classification,
                "material": product.applicability.material(),
                "excluded_controls": product.applicability.exclusions().keys().collect::<Vec<_>>(),
            },
            "change": change,
            "evidence": {
                "categories": evidence.categories,
                "controls": evidence.controls,
                "prod_controls": evidence.prod_controls,
            },
            "exceptions": self.exception_input(id, size)?,
            "overrides": self.override_input(id, at, size)?,
            "crq": crq,
            "change_system": change_system,
            "planning": {"errors": planning_errors},
            "sod": sod,
            "qa_report": qa_report,
            "governance_verification": !self.verifiers(id, before)?.is_empty(),
            "unresolved_qa_failures": 0,
            "g3_passed": g3_passed,
        });
        Ok((input, report))
    }

    /// A release's commits, oldest first: in the order their changes were
    /// recorded (the release keeps them as a set), so the last is the head.
    fn commits_in_order(
        &self,
        release: &asom_core::release::Release,
        before: Option<u64>,
    ) -> Result<Vec<String>> {
        let mut ordered = Vec::with_capacity(release.commits().len());
        for sha in release.commits() {
            let first = self
                .entries(&format!("change:{}", sha.as_str()), before)?
                .first()
                .map_or(u64::MAX, |e| e.index);
            ordered.push((first, sha.as_str().to_owned()));
        }
        ordered.sort();
        Ok(ordered.into_iter().map(|(_, sha)| sha).collect())
    }

    /// The `change` of a gate input: the checked commit at G1, null otherwise.
    fn change_input(
        &self,
        gate: Gate,
        commit: Option<&CommitSha>,
        before: Option<u64>,
    ) -> Result<Value> {
        Ok(match (gate, commit) {
            (Gate::G1, Some(sha)) => {
                let change = self.change(sha, before)?;
                let keys: Vec<&str> = change
                    .jira_keys()
                    .iter()
                    .map(asom_core::release::JiraKey::as_str)
                    .collect();
                let mut with_criteria = Vec::new();
                for k in &keys {
                    if self
                        .story(k, before)?
                        .is_some_and(|s| !s.acceptance_criteria.is_empty())
                    {
                        with_criteria.push(*k);
                    }
                }
                json!({"commit": sha.as_str(), "jira_keys": keys, "jira_with_acceptance_criteria": with_criteria})
            }
            (Gate::G1, None) => {
                return Err(GovernanceError::Invalid(
                    "G1 checks one change: give its --commit".into(),
                ));
            }
            _ => Value::Null,
        })
    }

    /// Evaluates a gate and records the decision. Any principal may ask (it
    /// decides nothing by itself: promotion needs a passing decision).
    #[allow(clippy::too_many_arguments)]
    pub fn check_gate(
        &self,
        actor: &Principal,
        gate: Gate,
        id: &ReleaseId,
        commit: Option<&CommitSha>,
        mode: Mode,
        policy: &dyn GatePolicy,
    ) -> Result<(Decision, Recorded)> {
        authorize(actor, Action::ReadAll)?;
        self.record_decision(actor, gate, id, commit, mode, policy, None)
    }

    /// Decides a gate at the latest checkpoint without recording anything:
    /// exactly what [`Governance::check_gate`] would record, for previews and
    /// benchmarks.
    pub fn decide_gate(
        &self,
        asked_by: &str,
        gate: Gate,
        id: &ReleaseId,
        commit: Option<&CommitSha>,
        mode: Mode,
        policy: &dyn GatePolicy,
    ) -> Result<Decision> {
        let checkpoint = self.store.latest_checkpoint(&self.tenant)?;
        self.decide(
            &Asked {
                gate,
                id,
                commit,
                mode,
                at: self.now(),
                size: checkpoint.size,
                root: checkpoint.root,
                by: asked_by,
                deployer: None,
            },
            policy,
        )
    }

    /// The Jira keys a gate reads stories for: the change's at G1, the
    /// release's scope at the other gates.
    fn story_keys(
        &self,
        gate: Gate,
        commit: Option<&CommitSha>,
        view: &crate::releases::ReleaseView,
        before: Option<u64>,
    ) -> Result<Vec<String>> {
        Ok(match (gate, commit) {
            (Gate::G1, Some(sha)) => self
                .change(sha, before)?
                .jira_keys()
                .iter()
                .map(|k| k.as_str().to_owned())
                .collect(),
            _ => view
                .release
                .scope()
                .iter()
                .map(|k| k.as_str().to_owned())
                .collect(),
        })
    }

    /// Before a decision: read what lives outside (the linked CRQ, the
    /// stories from the planning system) and record it, so the decision and
    /// its replay decide from the ledger.
    fn observe_outside(
        &self,
        actor: &Principal,
        gate: Gate,
        id: &ReleaseId,
        commit: Option<&CommitSha>,
    ) -> Result<()> {
        self.observe_crq(
            actor,
            id,
            self.change_system()
                .map(|c| c as &dyn asom_core::crq::ChangeSystem),
        )?;
        if let Some(planning) = self.planning() {
            let view = self.release(id, None)?;
            let keys: Vec<asom_core::release::JiraKey> = self
                .story_keys(gate, commit, &view, None)?
                .iter()
                .filter_map(|k| k.parse().ok())
                .collect();
            self.sync_stories(actor, planning, &keys)?;
        }
        Ok(())
    }

    /// Decides and records; `deployer` when deciding for a promotion.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn record_decision(
        &self,
        actor: &Principal,
        gate: Gate,
        id: &ReleaseId,
        commit: Option<&CommitSha>,
        mode: Mode,
        policy: &dyn GatePolicy,
        deployer: Option<&str>,
    ) -> Result<(Decision, Recorded)> {
        self.observe_outside(actor, gate, id, commit)?;
        let checkpoint = self.store.latest_checkpoint(&self.tenant)?;
        let at = self.now();
        let decision = self.decide(
            &Asked {
                gate,
                id,
                commit,
                mode,
                at,
                size: checkpoint.size,
                root: checkpoint.root,
                by: actor.slug().as_str(),
                deployer,
            },
            policy,
        )?;
        let content =
            serde_json::to_value(&decision).map_err(|e| GovernanceError::Invalid(e.to_string()))?;
        let entry = Self::entry(
            "decision",
            &content,
            actor,
            [
                format!("decision:{id}:{gate}"),
                format!("decisions-of:{id}"),
                "decisions".to_owned(),
            ],
        )?;
        let recorded = self.append(entry)?.into();
        Ok((decision, recorded))
    }

    fn decide(&self, asked: &Asked<'_>, policy: &dyn GatePolicy) -> Result<Decision> {
        let &Asked {
            gate,
            id,
            commit,
            mode,
            at,
            size,
            root,
            by,
            deployer,
        } = asked;
        let (input, sod) = self.input_and_sod(gate, id, commit, at, size, deployer)?;
        let bytes =
            jcs::canonicalize(&input).map_err(|e| GovernanceError::Invalid(e.to_string()))?;
        let mut violations = policy.evaluate(&input).map_err(|e| {
            GovernanceError::Invalid(format!("the policy pack failed, so nothing passes: {e}"))
        })?;
        // The pack names evidence by ledger index (the compact view's
        // form); the decision names entries by id.
        for v in &mut violations {
            v.entries = self.entry_refs(&v.entries, size)?;
        }
        // Separation of duties is Rust's, whatever the pack says.
        if let Some(report) = &sod {
            for v in &report.violations {
                let violation = Violation {
                    control: "C-02".into(),
                    gate: gate.to_string(),
                    reason: format!(
                        "separation of duties broken ({}): {}",
                        v.rule(),
                        v.message()
                    ),
                    remediation: v.remediation(),
                    entries: Vec::new(),
                };
                // A pack may report the same violation in its own words (it gets
                // them in its input); keep its version then, add Rust's otherwise.
                let message = v.message();
                if !violations
                    .iter()
                    .any(|x| x.control == "C-02" && x.reason.contains(&message))
                {
                    violations.push(violation);
                }
            }
        }
        violations.sort();
        violations.dedup();
        let result = match (violations.is_empty(), mode) {
            (true, _) => "pass",
            (false, _) if policy.override_covers(&input, &violations) => "override",
            (false, Mode::Enforce) => "block",
            (false, Mode::Observe) => "would-block",
        };
        let notices = self.notices(id, &input, at, size)?;
        Ok(Decision {
            gate,
            release: id.to_string(),
            commit: commit.map(|c| c.as_str().to_owned()),
            mode,
            result: result.to_owned(),
            violations,
            pack: policy.pack(),
            input_digest: Hash::of(&bytes),
            log_size: size,
            log_root: root,
            asked_by: by.to_owned(),
            deployer: deployer.map(str::to_owned),
            at: rfc3339(at),
            notices,
        })
    }

    /// Entry references as ids: a decimal ledger index below `size` becomes
    /// that entry's id; anything else (an id, an override's id) stays.
    fn entry_refs(&self, refs: &[String], size: u64) -> Result<Vec<String>> {
        let mut out = Vec::with_capacity(refs.len());
        for r in refs {
            match r.parse::<u64>() {
                Ok(index) if r.len() < 20 => {
                    if index >= size {
                        return Err(GovernanceError::Invalid(format!(
                            "the policy pack named ledger entry {index}, beyond the {size} entries the decision read"
                        )));
                    }
                    out.push(self.store.entry_at(&self.tenant, index)?.id.to_hex());
                }
                _ => out.push(r.clone()),
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// The notices of a decision: open overrides of the release, N/A
    /// exceptions the input uses, and the team's override review flag.
    fn notices(
        &self,
        id: &ReleaseId,
        input: &Value,
        at: OffsetDateTime,
        size: u64,
    ) -> Result<Vec<String>> {
        let mut notices = Vec::new();
        let overrides = self.overrides(Some(id), Some(size))?;
        for o in overrides.iter().filter(|o| o.remediated_by.is_none()) {
            let status = o.status(at);
            notices.push(match status {
                "pending" => format!(
                    "override {} of {} (deferring {}) is requested and waits for an emergency approver: asom override approve {}",
                    short(&o.id), o.gate, o.deferred.join(", "), short(&o.id)
                ),
                "expired" => format!(
                    "override {} of {} (deferring {}) passed its remediation deadline {}: record the deferred evidence, then asom override remediate {}",
                    short(&o.id), o.gate, o.deferred.join(", "), o.deadline, short(&o.id)
                ),
                _ => format!(
                    "override {} of {} is open: {} deferred until {} (compensating: {}); record the evidence, then asom override remediate {}",
                    short(&o.id), o.gate, o.deferred.join(", "), o.deadline, o.compensating.join("; "), short(&o.id)
                ),
            });
        }
        if let Some(map) = input.get("exceptions").and_then(Value::as_object) {
            for (control, e) in map {
                notices.push(format!(
                    "{control} is N/A for this release (exception {}, approved by {}): {}",
                    short(e["entry"].as_str().unwrap_or_default()),
                    e["approved_by"].as_str().unwrap_or_default(),
                    e["justification"].as_str().unwrap_or_default()
                ));
            }
        }
        if !overrides.is_empty() {
            let team = self
                .product(id.product().as_str(), Some(size))?
                .team
                .to_string();
            let q = self.quarter_count(&team, at, Some(size))?;
            if q.review {
                notices.push(format!(
                    "review flag: team {} has {} approved emergency overrides in {} (more than {OVERRIDES_PER_QUARTER_BEFORE_REVIEW}): governance reviews why emergencies are becoming the norm",
                    q.team, q.count, q.quarter
                ));
            }
        }
        Ok(notices)
    }

    /// The latest decision of `gate` for a release, as of `before`.
    pub fn latest_decision(
        &self,
        id: &ReleaseId,
        gate: Gate,
        before: Option<u64>,
    ) -> Result<Option<Decision>> {
        // The last index under the key, from the key index alone: a release's
        // decisions grow with every check, and only the last one is read.
        let key = format!("decision:{id}:{gate}");
        let last = self
            .store
            .key_groups(&self.tenant, &key, before)?
            .into_iter()
            .find(|(k, _)| *k == key)
            .and_then(|(_, indexes)| indexes.last().copied());
        let Some(index) = last else {
            return Ok(None);
        };
        let entry = self.store.entry_at(&self.tenant, index)?;
        if entry.kind != "decision" {
            return Err(asom_store::StoreError::Corrupt(format!(
                "entry {index} is indexed under {key:?} but is a {} entry",
                entry.kind
            ))
            .into());
        }
        content_field(&entry, "").map(Some)
    }

    /// Replays the decision entry at `index`: rebuilds its input from the
    /// ledger at its log size and time, evaluates `policy`, and compares.
    pub fn replay(&self, index: u64, policy: &dyn GatePolicy) -> Result<Replay> {
        let entry = self.store.entry_at(&self.tenant, index)?;
        if entry.kind != "decision" {
            return Err(GovernanceError::Invalid(format!(
                "entry {index} is a {} entry, not a decision",
                entry.kind
            )));
        }
        let recorded: Decision = content_field(&entry, "")?;
        let pack = policy.pack();
        if pack.digest != recorded.pack.digest {
            return Err(GovernanceError::Rule(format!(
                "decision {index} was made with pack {} {} (digest {}); this asom has {} {} (digest {}); replay needs the same pack",
                recorded.pack.name,
                recorded.pack.version,
                recorded.pack.digest,
                pack.name,
                pack.version,
                pack.digest
            )));
        }
        let id = ReleaseId::parse(&recorded.release)
            .map_err(|e| GovernanceError::Invalid(e.to_string()))?;
        let commit = recorded
            .commit
            .as_deref()
            .map(CommitSha::parse)
            .transpose()
            .map_err(|e| GovernanceError::Invalid(e.to_string()))?;
        let at =
            OffsetDateTime::parse(&recorded.at, &time::format_description::well_known::Rfc3339)
                .map_err(|e| {
                    GovernanceError::Invalid(format!("decision time {:?}: {e}", recorded.at))
                })?;
        let root = self
            .store
            .checkpoint_at(&self.tenant, recorded.log_size)
            .map_or(recorded.log_root, |c| c.root);
        let recomputed = self.decide(
            &Asked {
                gate: recorded.gate,
                id: &id,
                commit: commit.as_ref(),
                mode: recorded.mode,
                at,
                size: recorded.log_size,
                root,
                by: &recorded.asked_by,
                deployer: recorded.deployer.as_deref(),
            },
            policy,
        )?;
        let a =
            serde_json::to_value(&recorded).map_err(|e| GovernanceError::Invalid(e.to_string()))?;
        let b = serde_json::to_value(&recomputed)
            .map_err(|e| GovernanceError::Invalid(e.to_string()))?;
        let mut differences = Vec::new();
        if let (Value::Object(a), Value::Object(b)) = (&a, &b) {
            for (k, va) in a {
                let vb = b.get(k).unwrap_or(&Value::Null);
                if va == vb {
                    continue;
                }
                match (va, vb) {
                    (Value::Array(xs), Value::Array(ys)) => {
                        for x in xs.iter().filter(|x| !ys.contains(x)) {
                            differences.push(format!("{k}: only in the recorded decision: {x}"));
                        }
                        for y in ys.iter().filter(|y| !xs.contains(y)) {
                            differences.push(format!("{k}: only in the replay: {y}"));
                        }
                    }
                    _ => differences.push(format!("{k}: recorded {va}, recomputed {vb}")),
                }
            }
        }
        let identical = jcs::canonicalize(&a).ok() == jcs::canonicalize(&b).ok();
        Ok(Replay {
            recorded,
            recomputed,
            identical,
            differences,
        })
    }
}

impl Governance<'_> {
    /// Sets a gate's mode for a product: `observe` (record, never block: the
    /// pilot's shadow phase) or `enforce`. Needs `manage-products` (admin).
    pub fn set_gate_mode(
        &self,
        actor: &Principal,
        product: &str,
        gate: Gate,
        mode: Mode,
    ) -> Result<Recorded> {
        authorize(actor, Action::ManageProducts)?;
        self.product(product, None)?;
        let entry = Self::entry(
            "gate-mode",
            &json!({"product": product, "gate": gate, "mode": mode}),
            actor,
            [
                format!("gate-mode:{product}:{gate}"),
                "gate-modes".to_owned(),
            ],
        )?;
        self.append(entry).map(Recorded::from)
    }

    /// A gate's mode for a product as of `before`: the last one set, or
    /// `enforce` when none was (fail-safe: a gate nobody configured blocks).
    pub fn gate_mode(&self, product: &str, gate: Gate, before: Option<u64>) -> Result<Mode> {
        let (mode, _) = self.latest::<Mode>(
            &format!("gate-mode:{product}:{gate}"),
            "gate-mode",
            "mode",
            before,
        )?;
        Ok(mode.unwrap_or(Mode::Enforce))
    }
}
