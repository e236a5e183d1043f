//! The audit walkthrough of one release, as data: what an auditor follows
//! from the CRQ to every piece of evidence, approval and decision, using the
//! ledger's records alone (DESIGN.md §6 and the playbook's walkthrough).
//!
//! The sections, in the walkthrough's order:
//!
//! 1. the CRQ: number, type, state, window, history;
//! 2. the Jira scope, with each story's acceptance criteria;
//! 3. the release's ledger entries (index, id, kind, who, when);
//! 4. the control coverage matrix: control × gate, with the evidence, N/A
//!    exceptions and overrides marked;
//! 5. each evidence entry traced to its artifact (URI, SHA-256, size) and
//!    producer;
//! 6. the human approvals (CRQ decisions in every round, override and
//!    exception approvals, the governance verification);
//! 7. separation of duties for QA and PROD;
//! 8. the G1-G4 decisions, each replayed;
//! 9. the overrides and exceptions with their status, and the promotions.
//!
//! Renderers (Markdown, HTML, JSON) live with the CLI; this module decides
//! what is true.

use std::collections::{BTreeMap, BTreeSet};

use asom_core::catalog::{Catalog, Proof};
use asom_core::crq::{ApprovalState, Stage};
use asom_core::release::{Product, ReleaseId};
use asom_store::StoredEntry;
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;

use crate::gates::{Gate, GatePolicy};
use crate::principals::rfc3339;
use crate::promotions::Promotion;
use crate::stories::Story;
use crate::waivers::{Exception, Override};
use crate::{Governance, GovernanceError, Result};

/// The schema name of the report's JSON form.
pub const AUDIT_SCHEMA: &str = "asom.audit.v1";

/// The whole walkthrough.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct AuditReport {
    /// [`AUDIT_SCHEMA`].
    pub schema: String,
    /// The tenant.
    pub tenant: String,
    /// The release.
    pub release: String,
    /// Its product.
    pub product: Product,
    /// When the report was made.
    pub generated_at: String,
    /// The log the report was read from.
    pub log: LogState,
    /// 1. The CRQ.
    pub crq: Option<Value>,
    /// 2. The scope.
    pub scope: Vec<ScopeItem>,
    /// 3. The release's ledger entries.
    pub entries: Vec<EntryLine>,
    /// 4. Control × gate.
    pub coverage: Vec<CoverageRow>,
    /// 5. Evidence traced to artifacts.
    pub evidence: Vec<EvidenceTrace>,
    /// 6. Human approvals.
    pub approvals: Vec<ApprovalLine>,
    /// 7. Separation of duties, per stage.
    pub sod: Vec<SodLine>,
    /// 8. Decisions and their replay.
    pub decisions: Vec<DecisionLine>,
    /// 9. Overrides.
    pub overrides: Vec<OverrideLine>,
    /// 9. N/A exceptions.
    pub exceptions: Vec<Exception>,
    /// 9. Promotions.
    pub promotions: Vec<Promotion>,
}

/// The log's state the report was read at.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct LogState {
    /// Tree size.
    pub size: u64,
    /// Root hash (hex).
    pub root: String,
    /// The signed checkpoint note.
    pub checkpoint: String,
}

/// A Jira key of the scope and its story.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct ScopeItem {
    /// The key.
    pub key: String,
    /// The story as recorded, if it was.
    pub story: Option<Story>,
}

/// One ledger entry of the release.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct EntryLine {
    /// Its index.
    pub index: u64,
    /// Its id (hex).
    pub id: String,
    /// Its kind.
    pub kind: String,
    /// Who appended it.
    pub appended_by: String,
    /// When.
    pub appended_at: String,
}

/// One control across the gates.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct CoverageRow {
    /// `C-NN`.
    pub control: String,
    /// Its title.
    pub title: String,
    /// Where its proof comes from.
    pub proof: String,
    /// `G1`..`G4` → the cell.
    pub gates: BTreeMap<String, Cell>,
}

/// One control at one gate.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Cell {
    /// `not checked`, `pass`, `fail`, `missing`, `N/A`, `excluded`,
    /// `override`, `override expired`, `approved`, `pending`, `rejected`,
    /// `holds`, `broken`, `per change`.
    pub status: String,
    /// Ledger indexes of the entries behind it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entries: Vec<u64>,
    /// A word on why, when the status needs one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One evidence entry traced to its artifact.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct EvidenceTrace {
    /// Ledger index.
    pub index: u64,
    /// Entry id (hex).
    pub entry_id: String,
    /// The control.
    pub control: String,
    /// The test category, if any.
    pub category: Option<String>,
    /// pass, fail or info.
    pub status: String,
    /// What produced the artifact.
    pub source_type: String,
    /// Where the artifact is.
    pub source_ref: String,
    /// Its SHA-256 (hex).
    pub sha256: String,
    /// Its size, when recorded.
    pub size: Option<u64>,
    /// The machine principal that recorded it.
    pub producer: String,
    /// The commit.
    pub commit: String,
    /// The build.
    pub build: String,
    /// The environment.
    pub environment: String,
    /// Whether it counts for the release.
    pub counted: bool,
    /// Why not, when it does not.
    pub not_counted_because: Option<String>,
}

/// One human approval.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct ApprovalLine {
    /// What was approved: `CRQ QA`, `CRQ PROD`, `override …`, `N/A C-09`,
    /// `governance verification`.
    pub what: String,
    /// approved, rejected, verified.
    pub decision: String,
    /// Who, as the system of record names them.
    pub by: String,
    /// When.
    pub at: String,
    /// False for a CRQ decision of an earlier approval round (superseded).
    pub standing: bool,
    /// The ledger entry that recorded it.
    pub entry: Option<u64>,
}

/// Separation of duties before one stage.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct SodLine {
    /// QA or PROD.
    pub stage: String,
    /// True when no rule is broken.
    pub holds: bool,
    /// The distinct eligible approvers (persons).
    pub eligible_approvers: Vec<String>,
    /// Each broken rule.
    pub violations: Vec<String>,
}

/// One decision and its replay.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct DecisionLine {
    /// Ledger index.
    pub index: u64,
    /// Entry id (hex).
    pub id: String,
    /// The gate.
    pub gate: Gate,
    /// The result.
    pub result: String,
    /// The mode.
    pub mode: String,
    /// When.
    pub at: String,
    /// Who asked.
    pub asked_by: String,
    /// The controls named by its violations.
    pub controls: Vec<String>,
    /// `identical`, `differs: …` or `not replayed: …`.
    pub replay: String,
    /// What it named: why and how to fix each (empty for a pass).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub violations: Vec<crate::gates::Violation>,
}

/// An override and where it stands at report time.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct OverrideLine {
    /// The override.
    #[serde(flatten)]
    pub record: Override,
    /// pending, active, expired, remediated.
    pub status: String,
}

impl Governance<'_> {
    /// The audit walkthrough of `id` at the latest checkpoint; decisions
    /// replay with `policy`.
    pub fn audit(&self, id: &ReleaseId, policy: &dyn GatePolicy) -> Result<AuditReport> {
        let checkpoint = self.store.latest_checkpoint(&self.tenant)?;
        let before = Some(checkpoint.size);
        let now = self.now();
        let view = self.release(id, before)?;
        let product = self.product(id.product().as_str(), before)?;

        let scope = view
            .release
            .scope()
            .iter()
            .map(|k| {
                Ok(ScopeItem {
                    key: k.as_str().to_owned(),
                    story: self.story(k.as_str(), before)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;

        // Each entry of the release is read once, and parsed once, lightly.
        let map = self.release_entry_map(&view, before)?;
        let entries = lines_of(&map)?;
        let overrides = self.overrides(Some(id), before)?;
        let exceptions = self.exceptions(Some(id), before)?;
        let evidence = evidence_traces(&view, &map)?;
        let mut sod = Vec::new();
        for stage in Stage::ALL {
            let report = self.sod_report_of(&view, stage, before, None)?;
            sod.push(SodLine {
                stage: stage_name(stage).to_owned(),
                holds: report.holds(),
                eligible_approvers: report
                    .eligible_approvers
                    .iter()
                    .map(|p| p.as_str().to_owned())
                    .collect(),
                violations: report.violations.iter().map(ToString::to_string).collect(),
            });
        }
        let commits: Vec<&asom_core::release::CommitSha> = view.release.commits().iter().collect();
        let evidence_view = self.evidence_view_of(id, &view, &commits, before)?;
        let coverage = Self::coverage(
            &view,
            &product,
            &evidence_view,
            &overrides,
            &exceptions,
            &sod,
            now,
        );

        let approvals = self.approvals(id, &view, &overrides, &exceptions, before)?;

        let decisions = self.decision_lines(id, policy, before)?;

        Ok(AuditReport {
            schema: AUDIT_SCHEMA.to_owned(),
            tenant: self.tenant.clone(),
            release: id.to_string(),
            product,
            generated_at: rfc3339(now),
            log: LogState {
                size: checkpoint.size,
                root: checkpoint.root.to_hex(),
                checkpoint: checkpoint.note.clone(),
            },
            // The built-in CRQ with its history, or a linked CRQ as last read.
            crq: match (&view.crq, &view.snapshot) {
                (Some(c), _) => Some(serde_json::to_value(c)),
                (None, Some(s)) => Some(serde_json::to_value(s)),
                (None, None) => None,
            }
            .transpose()
            .map_err(|e| GovernanceError::Invalid(e.to_string()))?,
            scope,
            entries,
            coverage,
            evidence,
            approvals,
            sod,
            decisions,
            overrides: overrides
                .into_iter()
                .map(|o| OverrideLine {
                    status: o.status(now).to_owned(),
                    record: o,
                })
                .collect(),
            exceptions,
            promotions: self.promotions(id, before)?,
        })
    }

    /// Section 8: every decision of the release, replayed with `policy`.
    fn decision_lines(
        &self,
        id: &ReleaseId,
        policy: &dyn GatePolicy,
        before: Option<u64>,
    ) -> Result<Vec<DecisionLine>> {
        let mut decisions = Vec::new();
        for entry in self.entries(&format!("decisions-of:{id}"), before)? {
            let d: crate::gates::Decision = crate::content_field(&entry, "")?;
            let replay = match self.replay(entry.index, policy) {
                Ok(r) if r.identical => "identical".to_owned(),
                Ok(r) => format!("differs: {}", r.differences.join("; ")),
                Err(e) => format!("not replayed: {e}"),
            };
            decisions.push(DecisionLine {
                index: entry.index,
                id: entry.id.to_hex(),
                gate: d.gate,
                result: d.result,
                mode: match d.mode {
                    crate::gates::Mode::Observe => "observe".into(),
                    crate::gates::Mode::Enforce => "enforce".into(),
                },
                at: d.at,
                asked_by: d.asked_by,
                controls: d
                    .violations
                    .iter()
                    .map(|v| v.control.clone())
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect(),
                replay,
                violations: d.violations,
            });
        }
        Ok(decisions)
    }

    /// Section 6: the CRQ decisions of every round, the override and N/A
    /// approvals, and the governance verifications.
    fn approvals(
        &self,
        id: &ReleaseId,
        view: &crate::releases::ReleaseView,
        overrides: &[Override],
        exceptions: &[Exception],
        before: Option<u64>,
    ) -> Result<Vec<ApprovalLine>> {
        let mut approvals = Vec::new();
        if let Some(crq) = &view.crq {
            let standing = crq.approvals();
            for a in crq.all_approvals() {
                approvals.push(ApprovalLine {
                    what: format!("CRQ {} for {}", crq.number(), stage_name(a.stage)),
                    decision: match a.decision {
                        asom_core::crq::Decision::Approved => "approved".into(),
                        asom_core::crq::Decision::Rejected => "rejected".into(),
                    },
                    by: a.approver.clone(),
                    at: rfc3339(a.at),
                    standing: standing.contains(a),
                    entry: None,
                });
            }
        } else if let Some(s) = &view.snapshot {
            // A linked CRQ: the decisions its change system holds now.
            for a in &s.approvals {
                approvals.push(ApprovalLine {
                    what: format!(
                        "CRQ {} for {} ({})",
                        s.number,
                        stage_name(a.stage),
                        s.provider
                    ),
                    decision: match a.decision {
                        asom_core::crq::Decision::Approved => "approved".into(),
                        asom_core::crq::Decision::Rejected => "rejected".into(),
                    },
                    by: a.approver.clone(),
                    at: rfc3339(a.at),
                    standing: true,
                    entry: None,
                });
            }
        }
        for o in overrides {
            if let (Some(by), Some(at)) = (&o.approved_by, &o.approved_at) {
                approvals.push(ApprovalLine {
                    what: format!("emergency override {} of {}", short(&o.id), o.gate),
                    decision: "approved".into(),
                    by: by.clone(),
                    at: at.clone(),
                    standing: true,
                    entry: None,
                });
            }
        }
        for e in exceptions {
            if let (Some(by), Some(at)) = (&e.approved_by, &e.approved_at) {
                approvals.push(ApprovalLine {
                    what: format!("N/A of {}", e.control),
                    decision: "approved".into(),
                    by: by.clone(),
                    at: at.clone(),
                    standing: true,
                    entry: None,
                });
            }
        }
        for entry in self.entries(&format!("verification-of:{id}"), before)? {
            approvals.push(ApprovalLine {
                what: "governance verification".into(),
                decision: "verified".into(),
                by: Self::author_of(&entry)?,
                at: envelope_time(&entry)?,
                standing: true,
                entry: Some(entry.index),
            });
        }

        Ok(approvals)
    }

    /// Every ledger entry that concerns the release, in log order: the
    /// release and its CRQ, its changes and stories, its evidence (also that
    /// recorded for its commits), decisions, verifications, waivers and
    /// promotions.
    pub fn release_entries(
        &self,
        view: &crate::releases::ReleaseView,
        before: Option<u64>,
    ) -> Result<Vec<EntryLine>> {
        lines_of(&self.release_entry_map(view, before)?)
    }

    /// The entries of [`Governance::release_entries`], by index.
    fn release_entry_map(
        &self,
        view: &crate::releases::ReleaseView,
        before: Option<u64>,
    ) -> Result<BTreeMap<u64, StoredEntry>> {
        let id = view.release.id();
        let mut keys = vec![
            format!("release:{id}"),
            format!("evidence-of:{id}"),
            format!("decisions-of:{id}"),
            format!("verification-of:{id}"),
            format!("overrides-of:{id}"),
            format!("exceptions-of:{id}"),
            format!("promotions-of:{id}"),
        ];
        if let Some(crq) = view.release.crq() {
            keys.push(format!("crq:{crq}"));
        }
        for c in view.release.commits() {
            keys.push(format!("change:{}", c.as_str()));
            keys.push(format!("commit:{}", c.as_str()));
        }
        for k in view.release.scope() {
            keys.push(format!("story:{}", k.as_str()));
        }
        let mut by_index = BTreeMap::new();
        for key in keys {
            for entry in self.entries(&key, before)? {
                by_index.entry(entry.index).or_insert(entry);
            }
        }
        Ok(by_index)
    }

    #[allow(clippy::too_many_lines)] // One rule per kind of proof, side by side.
    fn coverage(
        view: &crate::releases::ReleaseView,
        product: &Product,
        evidence: &crate::evidence::EvidenceView,
        overrides: &[Override],
        exceptions: &[Exception],
        sod: &[SodLine],
        now: OffsetDateTime,
    ) -> Vec<CoverageRow> {
        let material = product.applicability.material();
        let cell = |status: &str, entries: Vec<u64>, note: Option<String>| Cell {
            status: status.to_owned(),
            entries,
            note,
        };
        let mut rows = Vec::new();
        for control in Catalog::builtin().controls() {
            let id = control.id.to_string();
            let mut gates = BTreeMap::new();
            for gate in [Gate::G1, Gate::G2, Gate::G3, Gate::G4] {
                let core = gate.to_core();
                let checked = control.checked_at(core, material)
                    || (control.override_only && control.gates.contains(&core));
                let c = if !checked {
                    cell("not checked", Vec::new(), None)
                } else if product.applicability.excludes(control.id) {
                    cell(
                        "excluded",
                        Vec::new(),
                        Some("by the product's applicability profile".into()),
                    )
                } else if let Some(x) = exceptions
                    .iter()
                    .find(|x| x.control == id && x.approved_by.is_some())
                {
                    cell(
                        "N/A",
                        Vec::new(),
                        Some(format!(
                            "exception {} approved by {}",
                            short(&x.id),
                            x.approved_by.clone().unwrap_or_default()
                        )),
                    )
                } else if let Some(o) = overrides
                    .iter()
                    .find(|o| o.gate == gate && o.approved_by.is_some() && o.deferred.contains(&id))
                {
                    let status = match o.status(now) {
                        "expired" => "override expired",
                        "remediated" => "override remediated",
                        _ => "override",
                    };
                    cell(
                        status,
                        Vec::new(),
                        Some(format!("override {} until {}", short(&o.id), o.deadline)),
                    )
                } else {
                    match control.proof {
                        Proof::Evidence if gate == Gate::G1 => cell(
                            "per change",
                            Vec::new(),
                            Some("G1 checks each change's own commit: see the G1 decisions".into()),
                        ),
                        Proof::Evidence if gate == Gate::G2 => cell(
                            "planned",
                            Vec::new(),
                            Some("G2 checks the plan; the evidence is due by G3".into()),
                        ),
                        Proof::Evidence => {
                            let o = evidence.controls.get(&id).cloned().unwrap_or_default();
                            match o.latest {
                                Some("pass") => cell("pass", o.passing, None),
                                Some("fail") => cell("fail", o.failing, None),
                                _ => cell("missing", o.info, None),
                            }
                        }
                        Proof::ChangeSystem => match (gate.stage(), &view.snapshot) {
                            (_, None) => cell(
                                "missing",
                                Vec::new(),
                                Some(view.crq_error.clone().unwrap_or_else(|| "no CRQ".into())),
                            ),
                            (None, Some(c)) => {
                                cell("pass", Vec::new(), Some(format!("CRQ {}", c.number)))
                            }
                            (Some(stage), Some(c)) => {
                                match asom_core::crq::approval_state_of(&c.approvals, stage) {
                                    ApprovalState::Approved => cell("approved", Vec::new(), None),
                                    ApprovalState::Rejected => cell("rejected", Vec::new(), None),
                                    ApprovalState::Pending => cell("pending", Vec::new(), None),
                                }
                            }
                        },
                        Proof::Computed => match gate.stage() {
                            // Section 7's report, computed once.
                            Some(stage) => {
                                let holds =
                                    sod.iter().any(|l| l.stage == stage_name(stage) && l.holds);
                                cell(if holds { "holds" } else { "broken" }, Vec::new(), None)
                            }
                            None => cell("not checked", Vec::new(), None),
                        },
                        Proof::Override => {
                            cell("none", Vec::new(), Some("no override used".into()))
                        }
                    }
                };
                gates.insert(gate.to_string(), c);
            }
            rows.push(CoverageRow {
                control: id,
                title: control.title.clone(),
                proof: control.proof.as_str().to_owned(),
                gates,
            });
        }
        rows
    }
}

/// The fields of an entry's envelope the audit lists.
#[derive(serde::Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    appended_at: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    appended_by: std::borrow::Cow<'a, str>,
}

/// The fields of an evidence record the audit traces. Records were
/// validated when recorded and the log proves they are unchanged, so the
/// audit reads them as they are, without validating each again.
#[derive(serde::Deserialize)]
struct LightEvidence<'a> {
    #[serde(borrow)]
    control_id: std::borrow::Cow<'a, str>,
    #[serde(borrow, default)]
    test_category: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    status: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    source_type: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    source_ref: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    checksum: std::borrow::Cow<'a, str>,
    #[serde(default)]
    size: Option<u64>,
    #[serde(borrow)]
    commit_sha: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    build_id: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    environment: std::borrow::Cow<'a, str>,
    #[serde(borrow, default)]
    crq_ref: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    release: Option<std::borrow::Cow<'a, str>>,
}

#[derive(serde::Deserialize)]
struct EvidenceEnvelope<'a> {
    #[serde(borrow)]
    appended_by: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    content: LightEvidence<'a>,
}

fn corrupt(entry: &StoredEntry, e: &serde_json::Error) -> GovernanceError {
    asom_store::StoreError::Corrupt(format!("entry {}: {e}", entry.index)).into()
}

/// The entry lines of the walkthrough's third section.
fn lines_of(map: &BTreeMap<u64, StoredEntry>) -> Result<Vec<EntryLine>> {
    map.values()
        .map(|e| {
            let env: Envelope<'_> = serde_json::from_slice(&e.bytes).map_err(|x| corrupt(e, &x))?;
            Ok(EntryLine {
                index: e.index,
                id: e.id.to_hex(),
                kind: e.kind.clone(),
                appended_by: env.appended_by.into_owned(),
                appended_at: env.appended_at.into_owned(),
            })
        })
        .collect()
}

/// The evidence among the release's entries, traced to its artifacts, with
/// the counting rule of [`Governance::release_evidence`].
fn evidence_traces(
    view: &crate::releases::ReleaseView,
    map: &BTreeMap<u64, StoredEntry>,
) -> Result<Vec<EvidenceTrace>> {
    let crq = view.release.crq().map(ToString::to_string);
    map.values()
        .filter(|e| e.kind == "evidence")
        .map(|entry| {
            let env: EvidenceEnvelope<'_> =
                serde_json::from_slice(&entry.bytes).map_err(|x| corrupt(entry, &x))?;
            let e = env.content;
            let reason = crate::evidence::not_counted_because(
                &view.release,
                crq.as_deref(),
                &e.commit_sha,
                e.release.as_deref(),
                e.crq_ref.as_deref(),
            );
            Ok(EvidenceTrace {
                index: entry.index,
                entry_id: entry.id.to_hex(),
                control: e.control_id.into_owned(),
                category: e.test_category.map(std::borrow::Cow::into_owned),
                status: e.status.into_owned(),
                source_type: e.source_type.into_owned(),
                source_ref: e.source_ref.into_owned(),
                sha256: e.checksum.into_owned(),
                size: e.size,
                producer: env.appended_by.into_owned(),
                commit: e.commit_sha.into_owned(),
                build: e.build_id.into_owned(),
                environment: e.environment.into_owned(),
                counted: reason.is_none(),
                not_counted_because: reason,
            })
        })
        .collect()
}

fn stage_name(stage: Stage) -> &'static str {
    match stage {
        Stage::Qa => "QA",
        Stage::Prod => "PROD",
    }
}

fn short(id: &str) -> &str {
    crate::waivers::short(id)
}

/// An entry's `appended_at`.
fn envelope_time(entry: &StoredEntry) -> Result<String> {
    let envelope: Value = serde_json::from_slice(&entry.bytes)
        .map_err(|e| asom_store::StoreError::Corrupt(format!("entry {}: {e}", entry.index)))?;
    Ok(envelope["appended_at"]
        .as_str()
        .unwrap_or_default()
        .to_owned())
}

/// What an export ships, as recorded in the ledger before the bundle is
/// written: the signed log then vouches for every file of the bundle.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct ExportRecord {
    /// The release.
    pub release: String,
    /// The release's entries in the bundle: `[index, id]`, ascending.
    pub entries: Vec<(u64, String)>,
    /// Every other payload file (`path` → SHA-256 hex): the report, the
    /// README, the policy pack's files, the tools.
    pub files: BTreeMap<String, String>,
    /// The pack the bundle ships.
    pub pack: crate::gates::PackRef,
}

impl Governance<'_> {
    /// Records an export of a release (any principal may export: it reads;
    /// the ledger remembers who took what). Kind `export`, keys
    /// `exports-of:<release>`, `exports`.
    pub fn record_export(
        &self,
        actor: &asom_core::principal::Principal,
        record: &ExportRecord,
    ) -> Result<crate::Recorded> {
        crate::authorize(actor, asom_core::principal::Action::ReadAll)?;
        let content =
            serde_json::to_value(record).map_err(|e| GovernanceError::Invalid(e.to_string()))?;
        let entry = Self::entry(
            "export",
            &content,
            actor,
            [
                format!("exports-of:{}", record.release),
                "exports".to_owned(),
            ],
        )?;
        self.append(entry).map(crate::Recorded::from)
    }
}
