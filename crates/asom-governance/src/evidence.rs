//! Recording evidence, and which evidence counts for a release.
//!
//! Only machine principals record evidence (failure modes F-01, F-04), and
//! a record names its producer: the principal whose token records it. Each
//! record is bound to one commit, one build, one environment, and from G2 on
//! (once the release has its CRQ) to that CRQ.
//!
//! A release's candidate evidence is every record that names the release or
//! one of its commits. A candidate *counts* only when its commit is one of
//! the release's commits, it names no other release, and it names the
//! release's CRQ (or, recorded before the CRQ existed, none). Evidence of
//! another release or CRQ never satisfies a gate (F-05); it is listed with
//! the reason it does not count, never hidden.

use std::collections::BTreeMap;

use asom_core::evidence::Evidence;
use asom_core::principal::{Action, Principal};
use asom_core::release::ReleaseId;
use serde::Serialize;

use crate::{Governance, GovernanceError, Recorded, Result};

/// One evidence record of a release, and whether it counts.
#[derive(Debug, Clone, Serialize)]
pub struct ReleaseEvidence {
    /// The ledger entry's index.
    pub index: u64,
    /// The ledger entry's id.
    pub entry_id: asom_ledger::Hash,
    /// Who recorded it (the authenticated machine principal).
    pub recorded_by: String,
    /// The record.
    pub evidence: Evidence,
    /// Whether it counts for the release.
    pub counted: bool,
    /// Why not, when it does not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_counted_because: Option<String>,
}

impl Governance<'_> {
    /// Records an evidence record as `actor`. Needs `record-evidence`
    /// (machines only). The record's `produced_by` must be the actor; a
    /// record naming a release must belong to its product and, once the
    /// release has a CRQ, name that CRQ.
    pub fn record_evidence(&self, actor: &Principal, evidence: &Evidence) -> Result<Recorded> {
        authorize_record(actor)?;
        if evidence.produced_by().as_str() != actor.slug().as_str() {
            return Err(GovernanceError::Rule(format!(
                "the record says it was produced by {:?}, but the token is {:?}'s; evidence is recorded by its producer",
                evidence.produced_by().as_str(),
                actor.slug().as_str()
            )));
        }
        let mut keys = vec![
            "evidence".to_owned(),
            format!("commit:{}", evidence.commit_sha()),
            summary_key(evidence),
        ];
        // The first record of a producer for a commit carries a producer key,
        // so separation of duties finds a release's producers in a few index
        // rows instead of parsing every record (DESIGN.md §10). Two first
        // records racing both carry it: harmless.
        let producer_key = format!("{PRODUCER}{}:{}", evidence.commit_sha(), actor.slug());
        if self
            .store
            .count_with_key(&self.tenant, &producer_key, None)?
            == 0
        {
            keys.push(producer_key);
        }
        if is_prod(evidence.environment().as_str()) {
            keys.push(format!(
                "{PROD_SUMMARY}{}",
                &summary_key(evidence)[SUMMARY.len()..]
            ));
        }
        if let Some(release) = evidence.release() {
            let id = ReleaseId::parse(release.as_str())
                .map_err(|e| GovernanceError::Invalid(e.to_string()))?;
            let release = self.release_record(&id, None)?;
            let product = evidence.product();
            if product.as_str() != id.product().as_str() {
                return Err(GovernanceError::Invalid(format!(
                    "the record names product {:?} but release {id} belongs to {:?}",
                    product.as_str(),
                    id.product().as_str()
                )));
            }
            if let Some(crq) = release.crq()
                && evidence.crq_ref().is_none()
            {
                return Err(GovernanceError::Invalid(format!(
                    "release {id} is governed by CRQ {crq} since its release candidate gate; evidence for it must name that CRQ (crq_ref / --crq {crq})"
                )));
            }
            keys.push(format!("evidence-of:{id}"));
        }
        let content = evidence.to_json_value();
        let entry = Self::entry("evidence", &content, actor, keys)?;
        self.append(entry).map(Recorded::from)
    }

    /// The release's candidate evidence as of `before`, each marked counted
    /// or not, in log order.
    pub fn release_evidence(
        &self,
        id: &ReleaseId,
        before: Option<u64>,
    ) -> Result<Vec<ReleaseEvidence>> {
        let view = self.release(id, before)?;
        let crq = view.release.crq().map(ToString::to_string);
        let mut by_index = BTreeMap::new();
        let mut sources = vec![format!("evidence-of:{id}")];
        sources.extend(
            view.release
                .commits()
                .iter()
                .map(|c| format!("commit:{}", c.as_str())),
        );
        for key in sources {
            for entry in self.entries(&key, before)? {
                if entry.kind == "evidence" {
                    by_index.entry(entry.index).or_insert(entry);
                }
            }
        }
        by_index
            .into_values()
            .map(|entry| {
                let evidence = stored_evidence(&entry)?;
                let reason = not_counted_because(
                    &view.release,
                    crq.as_deref(),
                    evidence.commit_sha().as_str(),
                    evidence
                        .release()
                        .map(asom_core::evidence::ReleaseRef::as_str),
                    evidence.crq_ref().map(asom_core::evidence::CrqRef::as_str),
                );
                Ok(ReleaseEvidence {
                    index: entry.index,
                    entry_id: entry.id,
                    recorded_by: Self::author_of(&entry)?,
                    evidence,
                    counted: reason.is_none(),
                    not_counted_because: reason,
                })
            })
            .collect()
    }

    /// Evidence recorded for a commit, in log order.
    pub fn commit_evidence(
        &self,
        commit: &str,
        before: Option<u64>,
    ) -> Result<Vec<(u64, Evidence)>> {
        self.entries(&format!("commit:{commit}"), before)?
            .iter()
            .filter(|e| e.kind == "evidence")
            .map(|e| Ok((e.index, stored_evidence(e)?)))
            .collect()
    }

    /// Every evidence entry of the tenant, in log order, with its index, id
    /// and producer (what `asom verify --artifacts` re-hashes).
    pub fn all_evidence(&self) -> Result<Vec<(u64, asom_ledger::Hash, String, Evidence)>> {
        self.entries("evidence", None)?
            .iter()
            .filter(|e| e.kind == "evidence")
            .map(|e| Ok((e.index, e.id, Self::author_of(e)?, stored_evidence(e)?)))
            .collect()
    }

    /// The evidence entry at `index`, or whose evidence id, entry id or
    /// content id is `id`.
    pub fn evidence(&self, reference: &str) -> Result<(u64, Evidence)> {
        let entry = if let Ok(index) = reference.parse::<u64>() {
            self.store.entry_at(&self.tenant, index)?
        } else {
            let hash = asom_ledger::Hash::from_hex(reference)
                .map_err(|e| GovernanceError::Invalid(e.to_string()))?;
            match self.store.entry_by_id(&self.tenant, &hash) {
                Ok(e) => e,
                Err(_) => self
                    .entries("evidence", None)?
                    .into_iter()
                    .find(|e| stored_evidence(e).is_ok_and(|ev| ev.id().0 == hash))
                    .ok_or_else(|| GovernanceError::NotFound(format!("no evidence {reference}")))?,
            }
        };
        if entry.kind != "evidence" {
            return Err(GovernanceError::NotFound(format!(
                "entry {} is a {} entry, not evidence",
                entry.index, entry.kind
            )));
        }
        Ok((entry.index, stored_evidence(&entry)?))
    }
}

/// Prefix of the key the first evidence record of a producer for a commit
/// carries: `producer:<commit>:<principal>`.
const PRODUCER: &str = "producer:";

/// Prefix of the evidence summary keys.
const SUMMARY: &str = "ev:";

/// Prefix of the same summary for evidence produced in PROD (`prod` or
/// `production`), so G4 can ask for controls proven *for PROD* (C-05).
const PROD_SUMMARY: &str = "ev-prod:";

/// Whether an environment name means production.
#[must_use]
pub fn is_prod(environment: &str) -> bool {
    environment.eq_ignore_ascii_case("prod") || environment.eq_ignore_ascii_case("production")
}

/// The key that summarises an evidence record for the gates' compact view:
/// `ev:<commit>:<control>:<category|->:<status>:<crq|->:<source type>:<release|->`.
/// No part but the last can hold a `:`, and the release comes last, so the
/// key always splits.
fn summary_key(e: &Evidence) -> String {
    format!(
        "{SUMMARY}{}:{}:{}:{}:{}:{}:{}",
        e.commit_sha(),
        e.control_id(),
        e.test_category().map_or("-".to_owned(), |c| c.to_string()),
        e.status().as_str(),
        e.crq_ref().map_or("-", |c| c.as_str()),
        e.source_type().as_str(),
        e.release().map_or("-", |r| r.as_str()),
    )
}

/// The source type of a QA execution report (what G3 requires).
pub const QA_REPORT: &str = "qa-execution-report";

/// The results of one category or control in a release's compact view.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Outcomes {
    /// Ledger indexes of the passing results, ascending (log order).
    pub passing: Vec<u64>,
    /// Ledger indexes of the failing results, ascending.
    pub failing: Vec<u64>,
    /// Ledger indexes of the informational results, ascending.
    pub info: Vec<u64>,
    /// The status of the latest pass or fail result, if any (informational
    /// entries never set it).
    pub latest: Option<&'static str>,
    #[serde(skip)]
    latest_index: Option<u64>,
}

impl Outcomes {
    /// Adds the entries of one summary key (all of one status).
    fn add(&mut self, status: &str, indexes: &[u64]) {
        let status = match status {
            "pass" => "pass",
            "fail" => "fail",
            _ => "info",
        };
        match status {
            "pass" => self.passing.extend_from_slice(indexes),
            "fail" => self.failing.extend_from_slice(indexes),
            _ => self.info.extend_from_slice(indexes),
        }
        // Only results decide: an informational note after a pass must not
        // hide the pass (nor a failure).
        if let Some(&last) = indexes.last()
            && status != "info"
            && self.latest_index.is_none_or(|l| last > l)
        {
            self.latest_index = Some(last);
            self.latest = Some(status);
        }
    }

    /// Puts each list in log order (keys are read one after another).
    fn sort(&mut self) {
        self.passing.sort_unstable();
        self.failing.sort_unstable();
        self.info.sort_unstable();
    }
}

/// A release's counted evidence, per test category and per control: what
/// gates decide from, built from the ledger's index keys without reading
/// the records (DESIGN.md §10), with the ledger index of every entry it was
/// built from. Indexes, not ids: at a given log size (whose signed root the
/// decision records) an index names exactly one entry, and reading indexes
/// never touches the entries; a decision turns the few its violations name
/// into entry ids.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EvidenceView {
    /// T1..T8, each present.
    pub categories: BTreeMap<String, Outcomes>,
    /// Every catalog control, each present.
    pub controls: BTreeMap<String, Outcomes>,
    /// How many candidate records did not count (another release or CRQ).
    pub not_counted: u64,
    /// A counted, passing QA execution report (source type `qa-execution-report`) exists.
    pub qa_report: bool,
    /// Per control, the counted evidence produced in PROD (only controls
    /// that have some).
    pub prod_controls: BTreeMap<String, Outcomes>,
}

impl Governance<'_> {
    /// Who recorded evidence for the release's commits as of `before`: each
    /// producer once, with the id of their first record, read from index
    /// keys only.
    pub fn evidence_producers<'c>(
        &self,
        commits: impl IntoIterator<Item = &'c asom_core::release::CommitSha>,
        before: Option<u64>,
    ) -> Result<BTreeMap<String, asom_ledger::Hash>> {
        let mut out = BTreeMap::new();
        for commit in commits {
            let prefix = format!("{PRODUCER}{}:", commit.as_str());
            for (key, _, id) in self
                .store
                .keyed_with_prefix(&self.tenant, &prefix, before)?
            {
                out.entry(key[prefix.len()..].to_owned()).or_insert(id);
            }
        }
        Ok(out)
    }

    /// The compact evidence view of a release as of `before`: the same
    /// counting rules as [`Governance::release_evidence`], from index keys only.
    pub fn evidence_view(&self, id: &ReleaseId, before: Option<u64>) -> Result<EvidenceView> {
        let view = self.release(id, before)?;
        let commits: Vec<&asom_core::release::CommitSha> = view.release.commits().iter().collect();
        self.evidence_view_of(id, &view, &commits, before)
    }

    pub(crate) fn evidence_view_of(
        &self,
        id: &ReleaseId,
        view: &crate::releases::ReleaseView,
        commits: &[&asom_core::release::CommitSha],
        before: Option<u64>,
    ) -> Result<EvidenceView> {
        let crq = view.release.crq().map(ToString::to_string);
        let release = id.to_string();
        let mut out = EvidenceView::default();
        for category in asom_core::catalog::Category::ALL {
            out.categories
                .insert(category.to_string(), Outcomes::default());
        }
        for control in asom_core::catalog::Catalog::builtin().controls() {
            out.controls
                .insert(control.id.to_string(), Outcomes::default());
        }
        for (summary, prod) in [(SUMMARY, false), (PROD_SUMMARY, true)] {
            for commit in commits {
                let prefix = format!("{summary}{}:", commit.as_str());
                for (key, indexes) in self.store.key_groups(&self.tenant, &prefix, before)? {
                    let index = indexes.first().copied().unwrap_or_default();
                    let mut parts = key[prefix.len()..].splitn(6, ':');
                    let (
                        Some(control),
                        Some(category),
                        Some(status),
                        Some(named_crq),
                        Some(source_type),
                        Some(named_release),
                    ) = (
                        parts.next(),
                        parts.next(),
                        parts.next(),
                        parts.next(),
                        parts.next(),
                        parts.next(),
                    )
                    else {
                        return Err(asom_store::StoreError::Corrupt(format!(
                            "evidence summary key {key:?} of entry {index}"
                        ))
                        .into());
                    };
                    let counts = (named_release == "-" || named_release == release)
                        && match (named_crq, &crq) {
                            ("-", _) => true,
                            (named, Some(ours)) => named == ours,
                            (_, None) => false,
                        };
                    if prod {
                        if counts {
                            out.prod_controls
                                .entry(control.to_owned())
                                .or_default()
                                .add(status, &indexes);
                        }
                        continue;
                    }
                    if !counts {
                        out.not_counted += indexes.len() as u64;
                        continue;
                    }
                    out.qa_report |= source_type == QA_REPORT && status == "pass";
                    out.controls
                        .entry(control.to_owned())
                        .or_default()
                        .add(status, &indexes);
                    if category != "-" {
                        out.categories
                            .entry(category.to_owned())
                            .or_default()
                            .add(status, &indexes);
                    }
                }
            }
        }
        for o in out
            .categories
            .values_mut()
            .chain(out.controls.values_mut())
            .chain(out.prod_controls.values_mut())
        {
            o.sort();
        }
        Ok(out)
    }
}

/// Why an evidence record does not count for `release` (whose CRQ is
/// `crq`), or `None` when it counts: it must be for one of the release's
/// commits, name no other release, and name no other CRQ (DESIGN.md §4,
/// failure mode F-05).
pub(crate) fn not_counted_because(
    release: &asom_core::release::Release,
    crq: Option<&str>,
    commit: &str,
    named_release: Option<&str>,
    named_crq: Option<&str>,
) -> Option<String> {
    let id = release.id();
    if !release.commits().iter().any(|c| c.as_str() == commit) {
        Some(format!(
            "it is for commit {commit}, which is not in release {id}"
        ))
    } else if let Some(other) = named_release.filter(|r| *r != id.to_string()) {
        Some(format!("it was recorded for release {other}"))
    } else {
        match (named_crq, crq) {
            (Some(named), Some(ours)) if named != ours => Some(format!(
                "it is bound to CRQ {named}, not this release's CRQ {ours}"
            )),
            (Some(named), None) => Some(format!(
                "it is bound to CRQ {named}, but release {id} has no CRQ"
            )),
            _ => None,
        }
    }
}

fn authorize_record(actor: &Principal) -> Result<()> {
    crate::authorize(actor, Action::RecordEvidence).map(|_| ())
}

fn stored_evidence(entry: &asom_store::StoredEntry) -> Result<Evidence> {
    let content: serde_json::Value = crate::content_field(entry, "")?;
    let bytes =
        serde_json::to_vec(&content).map_err(|e| GovernanceError::Invalid(e.to_string()))?;
    Evidence::from_stored_json(&bytes).map_err(|e| {
        asom_store::StoreError::Corrupt(format!("evidence entry {}: {e}", entry.index)).into()
    })
}
