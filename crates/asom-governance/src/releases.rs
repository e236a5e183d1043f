//! Releases, their single CRQ in the built-in change system, and the
//! separation-of-duties report over them.

use std::collections::BTreeSet;

use asom_core::catalog::ControlId;
use asom_core::crq::{
    ChangeSystem, ChangeSystemError, ChangeWindow, Crq, CrqNumber, CrqSnapshot, CrqState, CrqType,
    Decision, Stage,
};
use asom_core::principal::{Action, Principal, PrincipalKind};
use asom_core::release::{Change, CommitSha, JiraKey, Release, ReleaseId};
use asom_core::sod::{
    self, Actor, EvidenceFact, ExceptionFact, OverrideFact, Quorum, ReleaseFacts, SodReport,
};
use serde::Serialize;
use serde_json::json;

use crate::{Governance, GovernanceError, Recorded, Result, appended_by, authorize, content_field};

/// A release as `asom release show` presents it.
#[derive(Debug, Clone, Serialize)]
pub struct ReleaseView {
    /// The release: id, scope, commits, CRQ number.
    pub release: Release,
    /// Its CRQ in the built-in change system, if it has one there.
    pub crq: Option<Crq>,
    /// The changes it contains.
    pub changes: Vec<Change>,
    /// The change system that holds its CRQ: `builtin`, or the provider a
    /// linked CRQ lives in (`servicenow`).
    pub crq_provider: Option<String>,
    /// The CRQ as gates see it: the built-in CRQ's snapshot, or the latest
    /// observation of a linked CRQ read from its change system.
    pub snapshot: Option<CrqSnapshot>,
    /// Why a linked CRQ has no snapshot: its latest read failed, or it was
    /// never read.
    pub crq_error: Option<String>,
}

/// A release's own entries, folded (see `Governance::release_head`).
struct ReleaseHead {
    release: Release,
    crq: Option<Crq>,
    link: Option<(CrqNumber, String)>,
}

impl Governance<'_> {
    /// Creates a release `product@version`. Needs `manage-releases`; the
    /// product must exist.
    pub fn create_release(&self, actor: &Principal, id: &ReleaseId) -> Result<Recorded> {
        authorize(actor, Action::ManageReleases)?;
        self.product(id.product().as_str(), None)?;
        let key = format!("release:{id}");
        if self.store.count_with_key(&self.tenant, &key, None)? > 0 {
            return Err(GovernanceError::Rule(format!(
                "release {id} already exists"
            )));
        }
        let entry = Self::entry(
            "release",
            &json!({"action": "created", "release": Release::new(id.clone())}),
            actor,
            [key.clone(), "releases".to_owned()],
        )?
        .expecting(key, 0);
        self.append(entry).map(Recorded::from)
    }

    /// Sets a release's scope (Jira keys) and adds recorded changes to it.
    /// Needs `manage-releases`. Every commit must be a recorded change of the
    /// release's product.
    pub fn scope_release(
        &self,
        actor: &Principal,
        id: &ReleaseId,
        jira: &BTreeSet<JiraKey>,
        commits: &[CommitSha],
    ) -> Result<Recorded> {
        authorize(actor, Action::ManageReleases)?;
        let changes = commits
            .iter()
            .map(|c| self.change(c, None))
            .collect::<Result<Vec<_>>>()?;
        self.retry(|| {
            let key = format!("release:{id}");
            let (release, count) = self.latest::<Release>(&key, "release", "release", None)?;
            let mut release = release.ok_or_else(|| no_release(id))?;
            if !jira.is_empty() {
                let mut scope: BTreeSet<JiraKey> = release.scope().clone();
                scope.extend(jira.iter().cloned());
                release.set_scope(scope);
            }
            for change in &changes {
                release
                    .add_change(change)
                    .map_err(|e| GovernanceError::Rule(e.to_string()))?;
            }
            let entry = Self::entry(
                "release",
                &json!({"action": "scoped", "release": release}),
                actor,
                [key.clone(), "releases".to_owned()],
            )?
            .expecting(key, count);
            self.append(entry).map(Recorded::from)
        })
    }

    /// A release as of `before` with its CRQ's number, without its changes
    /// or the CRQ's state: what recording evidence for it needs.
    pub fn release_record(&self, id: &ReleaseId, before: Option<u64>) -> Result<Release> {
        Ok(self.release_head(id, before)?.release)
    }

    /// A release with its CRQ and changes, as of `before`.
    pub fn release(&self, id: &ReleaseId, before: Option<u64>) -> Result<ReleaseView> {
        let ReleaseHead { release, crq, link } = self.release_head(id, before)?;
        let (mut crq_provider, mut snapshot, mut crq_error) = (None, None, None);
        if let Some(crq) = &crq {
            crq_provider = Some(asom_core::crq::BUILTIN_PROVIDER.to_owned());
            snapshot = Some(crq.snapshot());
        } else if let Some((number, provider)) = link {
            match self.latest_crq_observation(&number, before)? {
                Some(Ok(s)) => snapshot = Some(s),
                Some(Err(e)) => crq_error = Some(e),
                None => {
                    crq_error = Some(format!(
                        "CRQ {number} has not been read from {provider} yet"
                    ));
                }
            }
            crq_provider = Some(provider);
        }
        let changes = release
            .commits()
            .iter()
            .map(|c| self.change(c, before))
            .collect::<Result<Vec<_>>>()?;
        Ok(ReleaseView {
            release,
            crq,
            changes,
            crq_provider,
            snapshot,
            crq_error,
        })
    }

    /// The release's own entries folded: the release with its CRQ's number
    /// attached, the built-in CRQ, or the link to an outside one.
    fn release_head(&self, id: &ReleaseId, before: Option<u64>) -> Result<ReleaseHead> {
        let key = format!("release:{id}");
        let entries = self.entries(&key, before)?;
        let mut release: Option<Release> = None;
        let mut crq: Option<Crq> = None;
        let mut link: Option<(CrqNumber, String)> = None;
        for entry in &entries {
            match entry.kind.as_str() {
                "release" => release = Some(content_field(entry, "release")?),
                "crq" => crq = Some(content_field(entry, "crq")?),
                "crq-link" => {
                    link = Some((
                        content_field(entry, "number")?,
                        content_field(entry, "provider")?,
                    ));
                }
                _ => {}
            }
        }
        let mut release = release.ok_or_else(|| no_release(id))?;
        if let Some(crq) = &crq
            && release.crq().is_none()
        {
            release
                .attach_crq(crq)
                .map_err(|e| GovernanceError::Rule(e.to_string()))?;
        }
        if crq.is_none()
            && let Some((number, _)) = &link
            && release.crq().is_none()
        {
            release
                .attach_crq_number(number)
                .map_err(|e| GovernanceError::Rule(e.to_string()))?;
        }
        Ok(ReleaseHead { release, crq, link })
    }

    /// The latest read of an outside CRQ as of `before`: its snapshot, or
    /// the error the read met.
    fn latest_crq_observation(
        &self,
        number: &CrqNumber,
        before: Option<u64>,
    ) -> Result<Option<std::result::Result<CrqSnapshot, String>>> {
        let entries = self.entries(&format!("observation:crq:{number}"), before)?;
        let Some(last) = entries.last() else {
            return Ok(None);
        };
        let content: serde_json::Value = content_field(last, "")?;
        if let Some(error) = content["error"].as_str() {
            return Ok(Some(Err(error.to_owned())));
        }
        let snapshot: CrqSnapshot = content_field(last, "snapshot")?;
        Ok(Some(Ok(snapshot)))
    }

    /// Links a release to its CRQ in an outside change system (`ServiceNow`),
    /// where people create and approve it: asom reads it at every gate and
    /// never writes it. Needs `create-crq`; the same one-CRQ-per-release and
    /// one-release-per-CRQ rules as the built-in system.
    pub fn link_crq(
        &self,
        actor: &Principal,
        release: &ReleaseId,
        number: &CrqNumber,
        provider: &str,
    ) -> Result<Recorded> {
        authorize(actor, Action::CreateCrq)?;
        self.retry(|| {
            let view = self.release(release, None)?;
            if let Some(existing) = view.release.crq() {
                return Err(GovernanceError::Rule(format!(
                    "release {release} already has CRQ {existing}; exactly one CRQ governs a release's QA and PROD"
                )));
            }
            if self.store.count_with_key(&self.tenant, &format!("crq-link:{number}"), None)? > 0
                || self.crq(number, None).is_ok()
            {
                return Err(GovernanceError::Rule(format!(
                    "CRQ {number} already governs another release; a CRQ shared by two releases is a violation (C-01)"
                )));
            }
            let release_key = format!("release:{release}");
            let release_count = self.store.count_with_key(&self.tenant, &release_key, None)?;
            let entry = Self::entry(
                "crq-link",
                &json!({"action": "linked", "release": release.to_string(), "number": number, "provider": provider}),
                actor,
                [
                    format!("crq-link:{number}"),
                    format!("crq-of:{release}"),
                    release_key.clone(),
                ],
            )?
            .expecting(format!("crq-link:{number}"), 0)
            .expecting(format!("crq-of:{release}"), 0)
            .expecting(release_key, release_count);
            self.append(entry).map(Recorded::from)
        })
    }

    /// Reads the release's outside CRQ from `system` and records what it
    /// read (an `observation` entry: the snapshot, or the error), so the gate
    /// that follows decides from it and replays from the ledger. Nothing is
    /// read for a built-in CRQ.
    pub fn observe_crq(
        &self,
        actor: &Principal,
        release: &ReleaseId,
        system: Option<&dyn ChangeSystem>,
    ) -> Result<Option<Recorded>> {
        let view = self.release(release, None)?;
        let (Some(number), Some(provider)) = (view.release.crq(), view.crq_provider.as_deref())
        else {
            return Ok(None);
        };
        if provider == asom_core::crq::BUILTIN_PROVIDER {
            return Ok(None);
        }
        let content = match system {
            Some(system) if system.provider() == provider => match system.read_crq_observed(number)
            {
                Ok((snapshot, read)) => json!({
                    "system": provider, "what": "crq", "key": number,
                    "sources": read.sources, "response_sha256": read.response_sha256,
                    "snapshot": snapshot,
                }),
                Err(e) => {
                    json!({"system": provider, "what": "crq", "key": number, "error": e.to_string()})
                }
            },
            Some(system) => json!({
                "system": provider, "what": "crq", "key": number,
                "error": format!("CRQ {number} lives in {provider}, but this tenant's change system is {}", system.provider()),
            }),
            None => json!({
                "system": provider, "what": "crq", "key": number,
                "error": format!("CRQ {number} lives in {provider}, and no connection to it is configured (see docs/integrations.md; check it with asom doctor)"),
            }),
        };
        // Each read is its own entry, even when nothing changed (a CRQ that
        // moves back and forth must show its latest read last).
        let mut content = content;
        content["read_at"] = crate::principals::rfc3339(self.now()).into();
        let entry = Self::entry(
            "observation",
            &content,
            actor,
            [
                format!("observation:crq:{number}"),
                "observations".to_owned(),
            ],
        )?;
        self.append(entry).map(|a| Some(a.into()))
    }

    /// Every release id, sorted.
    pub fn releases(&self) -> Result<Vec<ReleaseId>> {
        let keys = self.store.keys_with_prefix(&self.tenant, "release:")?;
        keys.iter()
            .filter_map(|k| k.strip_prefix("release:"))
            .map(|id| ReleaseId::parse(id).map_err(|e| GovernanceError::Invalid(e.to_string())))
            .collect()
    }

    /// Creates the CRQ of a release in the built-in change system. Needs
    /// `create-crq`. A release has exactly one CRQ and a CRQ governs exactly
    /// one release: a second CRQ for the release, or a CRQ number already
    /// bound to another release, is refused. `number` defaults to the next
    /// built-in number (`CRQ0000001`, …).
    pub fn create_crq(
        &self,
        actor: &Principal,
        release: &ReleaseId,
        crq_type: CrqType,
        number: Option<&CrqNumber>,
    ) -> Result<Recorded> {
        let capability = authorize(actor, Action::CreateCrq)?;
        self.retry(|| {
            let view = self.release(release, None)?;
            if let Some(existing) = &view.crq {
                return Err(GovernanceError::Rule(format!(
                    "release {release} already has CRQ {}; exactly one CRQ governs a release's QA and PROD",
                    existing.number()
                )));
            }
            let crqs = self.store.count_with_key(&self.tenant, "crqs", None)?;
            let number = number.cloned().unwrap_or_else(|| CrqNumber::builtin(crqs + 1));
            if let Ok(other) = self.crq(&number, None) {
                return Err(GovernanceError::Rule(format!(
                    "CRQ {number} already governs release {}; a CRQ shared by two releases is a violation (C-01)",
                    other.release()
                )));
            }
            let crq = Crq::create(&capability, number.clone(), crq_type, release.clone(), self.now())
                .map_err(|e| GovernanceError::Rule(e.to_string()))?;
            let release_key = format!("release:{release}");
            let release_count = self.store.count_with_key(&self.tenant, &release_key, None)?;
            let entry = Self::entry(
                    "crq",
                    &json!({"action": "created", "crq": crq}),
                    actor,
                    [
                        format!("crq:{number}"),
                        format!("crq-of:{release}"),
                        release_key.clone(),
                        "crqs".to_owned(),
                    ],
                )?
                .expecting(format!("crq:{number}"), 0)
                .expecting(format!("crq-of:{release}"), 0)
                .expecting("crqs", crqs)
                .expecting(release_key, release_count);
            self.append(entry).map(Recorded::from)
        })
    }

    /// A CRQ of the built-in change system, as of `before`.
    pub fn crq(&self, number: &CrqNumber, before: Option<u64>) -> Result<Crq> {
        self.latest::<Crq>(&format!("crq:{number}"), "crq", "crq", before)?
            .0
            .ok_or_else(|| {
                GovernanceError::NotFound(format!("no CRQ {number} in the built-in change system"))
            })
    }

    /// Moves a CRQ to another state. Needs `transition-crq`; invalid moves are
    /// refused naming the valid next states.
    pub fn transition_crq(
        &self,
        actor: &Principal,
        number: &CrqNumber,
        to: CrqState,
    ) -> Result<Recorded> {
        let capability = authorize(actor, Action::TransitionCrq)?;
        self.update_crq(actor, number, |crq, at| {
            let from = crq.state();
            crq.transition(&capability, to, at)
                .map_err(|e| GovernanceError::Rule(e.to_string()))?;
            Ok(json!({"action": "transitioned", "from": from, "to": to}))
        })
    }

    /// Approves or rejects a CRQ for QA or PROD. Needs `approve` for that
    /// stage (humans with release-approver or change-manager). Separation of
    /// duties is not decided here: the approval is recorded as given, and
    /// [`Governance::sod_report`] (and every gate) flags an author approving.
    pub fn decide_crq(
        &self,
        actor: &Principal,
        number: &CrqNumber,
        stage: Stage,
        decision: Decision,
        comment: Option<&str>,
    ) -> Result<Recorded> {
        let capability = authorize(actor, Action::Approve(stage))?;
        self.update_crq(actor, number, |crq, at| {
            crq.decide(&capability, stage, decision, at, comment.map(str::to_owned))
                .map_err(|e| GovernanceError::Rule(e.to_string()))?;
            let action = match decision {
                Decision::Approved => "approved",
                Decision::Rejected => "rejected",
            };
            Ok(json!({"action": action, "stage": stage}))
        })
    }

    /// Sets a CRQ's change window. Needs `transition-crq`.
    pub fn set_crq_window(
        &self,
        actor: &Principal,
        number: &CrqNumber,
        window: &ChangeWindow,
    ) -> Result<Recorded> {
        let capability = authorize(actor, Action::TransitionCrq)?;
        self.update_crq(actor, number, |crq, _| {
            crq.set_window(&capability, Some(*window))
                .map_err(|e| GovernanceError::Rule(e.to_string()))?;
            Ok(json!({"action": "window-set"}))
        })
    }

    /// Reads a CRQ, applies `change`, and records the result.
    fn update_crq(
        &self,
        actor: &Principal,
        number: &CrqNumber,
        mut change: impl FnMut(&mut Crq, time::OffsetDateTime) -> Result<serde_json::Value>,
    ) -> Result<Recorded> {
        self.retry(|| {
            let key = format!("crq:{number}");
            let (crq, count) = self.latest::<Crq>(&key, "crq", "crq", None)?;
            let mut crq = crq.ok_or_else(|| {
                GovernanceError::NotFound(format!("no CRQ {number} in the built-in change system"))
            })?;
            let mut content = change(&mut crq, self.now())?;
            content["crq"] =
                serde_json::to_value(&crq).map_err(|e| GovernanceError::Invalid(e.to_string()))?;
            let entry = Self::entry(
                "crq",
                &content,
                actor,
                [
                    key.clone(),
                    format!("release:{}", crq.release()),
                    "crqs".to_owned(),
                ],
            )?
            .expecting(key, count);
            self.append(entry).map(Recorded::from)
        })
    }

    /// Separation of duties for a release before promotion to `stage`, as of
    /// `before`: authors of its changes, approvers of its CRQ, producers of
    /// its evidence, resolved through the identity directory. Nothing can
    /// switch a rule off (DESIGN.md §5).
    pub fn sod_report(
        &self,
        id: &ReleaseId,
        stage: Stage,
        before: Option<u64>,
    ) -> Result<SodReport> {
        self.sod_report_for(id, stage, before, None)
    }

    /// [`Governance::sod_report`] with everyone who deployed the release and,
    /// when promoting, the `deployer` about to, and the people who granted
    /// its N/As and requested or approved its overrides.
    pub fn sod_report_for(
        &self,
        id: &ReleaseId,
        stage: Stage,
        before: Option<u64>,
        deployer: Option<&str>,
    ) -> Result<SodReport> {
        let view = self.release(id, before)?;
        self.sod_report_of(&view, stage, before, deployer)
    }

    /// [`Governance::sod_report_for`] over a release already read.
    pub(crate) fn sod_report_of(
        &self,
        view: &ReleaseView,
        stage: Stage,
        before: Option<u64>,
        deployer: Option<&str>,
    ) -> Result<SodReport> {
        let id = view.release.id();
        let directory = self.directory(before)?;
        let mut facts = ReleaseFacts::default();
        for change in &view.changes {
            facts.authors.extend(change.authors().iter().cloned());
        }
        if let Some(snapshot) = &view.snapshot {
            for mut fact in sod::approvals_from_snapshot(snapshot) {
                fact.approver.kind = self.kind_of(&fact.approver.identity);
                facts.approvals.push(fact);
            }
        }
        for verifier in self.verifiers(id, before)? {
            facts.verifiers.push(Actor {
                kind: self.kind_of(&verifier),
                identity: verifier,
            });
        }
        for (producer, first) in self.evidence_producers(view.release.commits(), before)? {
            facts.evidence.push(EvidenceFact {
                id: first.to_hex(),
                producer: Actor {
                    kind: self.kind_of(&producer),
                    identity: producer,
                },
            });
        }
        let mut deployers: BTreeSet<String> = self
            .promotions(id, before)?
            .into_iter()
            .map(|p| p.deployer)
            .collect();
        deployers.extend(deployer.map(str::to_owned));
        for d in deployers {
            facts.deployers.push(Actor {
                kind: self.kind_of(&d),
                identity: d,
            });
        }
        for e in self.exceptions(Some(id), before)? {
            if let (Some(by), Ok(control)) = (e.approved_by, ControlId::parse(&e.control)) {
                facts.exceptions.push(ExceptionFact {
                    control,
                    granted_by: Actor {
                        kind: self.kind_of(&by),
                        identity: by,
                    },
                });
            }
        }
        for o in self.overrides(Some(id), before)? {
            facts.overrides.push(OverrideFact {
                requested_by: Actor {
                    kind: self.kind_of(&o.requested_by),
                    identity: o.requested_by,
                },
                approved_by: o.approved_by.map(|a| Actor {
                    kind: self.kind_of(&a),
                    identity: a,
                }),
            });
        }
        Ok(sod::check(&facts, &directory, stage, Quorum::ONE))
    }

    fn kind_of(&self, slug: &str) -> Option<PrincipalKind> {
        self.store
            .principal(&self.tenant, slug)
            .ok()
            .map(|p| p.kind())
    }

    /// Who appended an entry (for reports).
    pub(crate) fn author_of(entry: &asom_store::StoredEntry) -> Result<String> {
        appended_by(entry)
    }
}

fn no_release(id: &ReleaseId) -> GovernanceError {
    GovernanceError::NotFound(format!(
        "no release {id}; create it with `asom release create {id}`"
    ))
}

/// The built-in change system as the gates see it: a provider like any other.
impl ChangeSystem for Governance<'_> {
    #[allow(clippy::unnecessary_literal_bound)] // The trait's signature; other providers return their configured name.
    fn provider(&self) -> &str {
        "asom"
    }

    fn read_crq(&self, number: &CrqNumber) -> Result<CrqSnapshot, ChangeSystemError> {
        self.crq(number, None)
            .map(|c| c.snapshot())
            .map_err(|e| match e {
                GovernanceError::NotFound(_) => ChangeSystemError::NotFound(number.clone()),
                e => ChangeSystemError::Unavailable(e.to_string()),
            })
    }
}

impl Governance<'_> {
    /// Records the governance verification of a release: a human with the
    /// governance role confirms the evidence is complete. Needs
    /// `verify-evidence`. Separation of duties (a verifier produced none of
    /// the evidence) is checked by every gate on the facts, not here.
    pub fn verify_release(
        &self,
        actor: &Principal,
        id: &ReleaseId,
        note: Option<&str>,
    ) -> Result<Recorded> {
        authorize(actor, Action::VerifyEvidence)?;
        let view = self.release(id, None)?;
        let size = self.store.latest_checkpoint(&self.tenant)?.size;
        let entry = Self::entry(
            "verification",
            &json!({
                "release": id.to_string(),
                "crq": view.release.crq(),
                "verified_at_log_size": size,
                "note": note,
            }),
            actor,
            [format!("verification-of:{id}")],
        )?;
        self.append(entry).map(Recorded::from)
    }

    /// Who verified the release, as of `before`.
    pub fn verifiers(&self, id: &ReleaseId, before: Option<u64>) -> Result<Vec<String>> {
        self.entries(&format!("verification-of:{id}"), before)?
            .iter()
            .map(Self::author_of)
            .collect()
    }
}
