//! The two ways a control can be waived for one release, each a human
//! decision recorded in the ledger and shown in every report:
//!
//! - **C-11 emergency overrides** (G3 and G4 only; G1 and G2 never). An
//!   override is requested with the release's emergency CRQ, a
//!   justification, the controls it defers, the compensating controls and a
//!   remediation deadline (default: five business days). It counts only once
//!   an emergency approver who is neither the requester, nor an approver of
//!   the CRQ, nor an author of the release approves it. While it is active
//!   (approved, before its deadline, not remediated) a gate whose every
//!   violation it covers decides `override` instead of `block`; past the
//!   deadline it blocks again until `override remediate` shows the deferred
//!   evidence is in the ledger. More than two overrides in a calendar quarter
//!   for one team raises a review flag.
//! - **N/A exceptions.** A control proven by evidence is marked not
//!   applicable for a release with a justification, and counts once a human
//!   with the governance role who did not request it approves it. Controls
//!   proven otherwise (C-01 change authorisation, C-02 separation of duties,
//!   C-11) can never be N/A.
//!
//! An override or exception is named by the content id of its request entry
//! (SHA-256 of the request's canonical content and kind, DESIGN.md §3), which
//! is known before the entry is appended and so can be one of its index
//! keys. Commands accept any unique prefix of at least eight hex digits.
//!
//! Entry kinds and keys:
//!
//! | kind | content | keys |
//! |---|---|---|
//! | `override` | `{action: requested, release, gate, crq, justification, deferred, compensating, deadline, team, at}` | `override:<id>`, `overrides-of:<release>`, `overrides` |
//! | `override` | `{action: approved \| remediated, override, release, gate, at, …}` | the same |
//! | `exception` | `{action: requested, release, control, justification, at}` | `exception:<id>`, `exceptions-of:<release>`, `exceptions` |
//! | `exception` | `{action: approved, exception, release, control, at}` | the same |

use std::collections::{BTreeMap, BTreeSet};

use asom_core::catalog::{Catalog, ControlId, Proof};
use asom_core::crq::{ApprovalState, CrqType, Stage};
use asom_core::principal::{Action, Principal};
use asom_core::release::ReleaseId;
use asom_store::{NewEntry, StoredEntry};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime, Weekday};

use crate::gates::Gate;
use crate::principals::rfc3339;
use crate::{Governance, GovernanceError, Recorded, Result, authorize, content_field};

/// Business days an override's deferred evidence may wait by default.
pub const DEFAULT_REMEDIATION_BUSINESS_DAYS: u32 = 5;

/// The longest remediation window asom accepts, in calendar days: an
/// emergency is not a way to defer evidence for a quarter.
pub const MAX_REMEDIATION_DAYS: i64 = 30;

/// Overrides per team per calendar quarter above which a review is flagged.
pub const OVERRIDES_PER_QUARTER_BEFORE_REVIEW: usize = 2;

/// Longest justification accepted, in characters.
const MAX_TEXT: usize = 4000;

/// What an override request asks for.
#[derive(Debug, Clone)]
pub struct OverrideRequest<'a> {
    /// The release.
    pub release: &'a ReleaseId,
    /// G3 or G4.
    pub gate: Gate,
    /// The release's emergency CRQ.
    pub crq: &'a str,
    /// Why the release cannot wait for the evidence.
    pub justification: &'a str,
    /// The controls whose evidence is deferred (`C-05`, …).
    pub deferred: &'a [String],
    /// What stands in for them meanwhile.
    pub compensating: &'a [String],
    /// The remediation deadline; default five business days from now.
    pub deadline: Option<OffsetDateTime>,
}

/// An emergency override as folded from its entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Override {
    /// The content id of its request entry.
    pub id: String,
    /// The release.
    pub release: String,
    /// G3 or G4.
    pub gate: Gate,
    /// The emergency CRQ.
    pub crq: String,
    /// Why.
    pub justification: String,
    /// The deferred controls.
    pub deferred: Vec<String>,
    /// The compensating controls.
    pub compensating: Vec<String>,
    /// The remediation deadline (RFC 3339).
    pub deadline: String,
    /// The owning team of the release's product.
    pub team: String,
    /// Who requested it, and when.
    pub requested_by: String,
    /// When it was requested.
    pub requested_at: String,
    /// The emergency approver, once approved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<String>,
    /// When it was approved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_at: Option<String>,
    /// Who recorded its remediation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediated_by: Option<String>,
    /// When.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediated_at: Option<String>,
}

impl Override {
    /// `pending` (not approved), `active`, `expired` (approved, past its
    /// deadline, not remediated) or `remediated`, at time `at`.
    #[must_use]
    pub fn status(&self, at: OffsetDateTime) -> &'static str {
        if self.remediated_by.is_some() {
            "remediated"
        } else if self.approved_by.is_none() {
            "pending"
        } else if parse_time(&self.deadline).is_ok_and(|d| at > d) {
            "expired"
        } else {
            "active"
        }
    }
}

/// An N/A exception as folded from its entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Exception {
    /// The content id of its request entry.
    pub id: String,
    /// The release.
    pub release: String,
    /// The control marked not applicable.
    pub control: String,
    /// Why.
    pub justification: String,
    /// Who asked.
    pub requested_by: String,
    /// When.
    pub requested_at: String,
    /// The governance approver, once approved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<String>,
    /// When.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_at: Option<String>,
}

/// Overrides of one team in one calendar quarter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct QuarterCount {
    /// The team.
    pub team: String,
    /// `2026-Q4`.
    pub quarter: String,
    /// Approved overrides requested in that quarter.
    pub count: usize,
    /// More than [`OVERRIDES_PER_QUARTER_BEFORE_REVIEW`]: governance reviews the team.
    pub review: bool,
}

impl Governance<'_> {
    /// Requests a C-11 emergency override. Needs `request-override` (a
    /// human developer, release approver or change manager).
    pub fn request_override(
        &self,
        actor: &Principal,
        request: &OverrideRequest<'_>,
    ) -> Result<(Override, Recorded)> {
        authorize(actor, Action::RequestOverride)?;
        let id = request.release;
        if !matches!(request.gate, Gate::G3 | Gate::G4) {
            return Err(GovernanceError::Rule(format!(
                "{} can never be overridden: the emergency override protocol (C-11) applies to G3 and G4 only; meet {}'s requirements instead",
                request.gate, request.gate
            )));
        }
        let view = self.release(id, None)?;
        let number = view.release.crq().ok_or_else(|| {
            GovernanceError::Rule(format!(
                "release {id} has no CRQ: an emergency override needs the release's emergency CRQ (asom crq create --release {id} --type emergency)"
            ))
        })?;
        if number.as_str() != request.crq {
            return Err(GovernanceError::Rule(format!(
                "CRQ {} is not release {id}'s CRQ ({number}): an override is bound to the release's own CRQ",
                request.crq,
            )));
        }
        let crq = view.snapshot.as_ref().ok_or_else(|| {
            GovernanceError::Rule(format!(
                "CRQ {number} could not be read from its change system ({}), so its type is unknown",
                view.crq_error.as_deref().unwrap_or("no read yet")
            ))
        })?;
        if crq.crq_type != CrqType::Emergency {
            return Err(GovernanceError::Rule(format!(
                "CRQ {number} is a {} change: only an emergency CRQ can carry an emergency override (C-11)",
                crq.crq_type.as_str()
            )));
        }
        let justification = required_text(request.justification, "justification")?;
        let deferred = deferred_controls(request.gate, request.deferred)?;
        let compensating = request
            .compensating
            .iter()
            .map(|c| required_text(c, "compensating control"))
            .collect::<Result<Vec<_>>>()?;
        if compensating.is_empty() {
            return Err(GovernanceError::Invalid(
                "name at least one compensating control (--compensating): what protects the release while its evidence is deferred".into(),
            ));
        }
        let now = self.now();
        let deadline = match request.deadline {
            Some(d) => {
                if d <= now {
                    return Err(GovernanceError::Invalid(format!(
                        "the remediation deadline {} is not in the future",
                        rfc3339(d)
                    )));
                }
                if d - now > Duration::days(MAX_REMEDIATION_DAYS) {
                    return Err(GovernanceError::Invalid(format!(
                        "the remediation deadline {} is more than {MAX_REMEDIATION_DAYS} days away: deferred evidence must follow an emergency promptly",
                        rfc3339(d)
                    )));
                }
                d
            }
            None => add_business_days(now, DEFAULT_REMEDIATION_BUSINESS_DAYS),
        };
        let team = self.product(id.product().as_str(), None)?.team.to_string();
        let content = json!({
            "action": "requested",
            "release": id.to_string(),
            "gate": request.gate,
            "crq": crq.number.as_str(),
            "justification": justification,
            "deferred": deferred,
            "compensating": compensating,
            "deadline": rfc3339(deadline),
            "team": team,
            "at": rfc3339(now),
        });
        let oid = content_id("override", &content)?;
        let entry = waiver_entry("override", &content, actor, &oid, id)?;
        let recorded: Recorded = self.append(entry)?.into();
        let o = self.override_by_id(&oid, None)?;
        Ok((o, recorded))
    }

    /// Approves a pending override. Needs `approve-override` (a human
    /// emergency approver) who is not its requester, not an approver of the
    /// release's CRQ and not an author of the release.
    pub fn approve_override(&self, actor: &Principal, reference: &str) -> Result<Recorded> {
        authorize(actor, Action::ApproveOverride)?;
        let id = self.resolve_waiver("override", reference)?;
        self.retry(|| {
            let o = self.override_by_id(&id, None)?;
            if o.approved_by.is_some() {
                return Err(GovernanceError::Rule(format!(
                    "override {} is already approved",
                    short(&o.id)
                )));
            }
            let now = self.now();
            if parse_time(&o.deadline).is_ok_and(|d| now > d) {
                return Err(GovernanceError::Rule(format!(
                    "override {} passed its remediation deadline ({}) before anyone approved it; request a new one",
                    short(&o.id),
                    o.deadline
                )));
            }
            let me = actor.slug().as_str();
            let directory = self.directory(None)?;
            if directory.same_person(me, &o.requested_by) {
                return Err(GovernanceError::Rule(format!(
                    "{me} requested override {} and cannot approve it too: another emergency approver must",
                    short(&o.id)
                )));
            }
            let release = ReleaseId::parse(&o.release)
                .map_err(|e| GovernanceError::Invalid(e.to_string()))?;
            let view = self.release(&release, None)?;
            if let Some(crq) = &view.snapshot {
                for stage in Stage::ALL {
                    if let Some(a) = crq
                        .approvers(stage)
                        .into_iter()
                        .find(|a| directory.same_person(me, a))
                    {
                        return Err(GovernanceError::Rule(format!(
                            "{me} is a release approver of CRQ {} (as {a}, for {}): an emergency approver must not be the release approver of the same CRQ (DESIGN §5)",
                            crq.number,
                            stage.as_str()
                        )));
                    }
                }
            }
            for change in &view.changes {
                if let Some(a) = change
                    .authors()
                    .iter()
                    .find(|a| directory.same_person(me, a))
                {
                    return Err(GovernanceError::Rule(format!(
                        "{me} authored commit {} of release {release} (as {a}) and cannot approve its emergency override",
                        change.commit()
                    )));
                }
            }
            let content = json!({
                "action": "approved",
                "override": o.id,
                "release": o.release,
                "gate": o.gate,
                "at": rfc3339(now),
            });
            let entry = waiver_entry("override", &content, actor, &o.id, &release)?
                .expecting(format!("override:{}", o.id), 1);
            self.append(entry).map(Recorded::from)
        })
    }

    /// Records that an approved override's deferred evidence is now in the
    /// ledger, which closes it. Refused, naming what is missing, while any
    /// deferred control is not proven for the release. Needs
    /// `request-override`.
    pub fn remediate_override(&self, actor: &Principal, reference: &str) -> Result<Recorded> {
        authorize(actor, Action::RequestOverride)?;
        let id = self.resolve_waiver("override", reference)?;
        self.retry(|| {
            let o = self.override_by_id(&id, None)?;
            if o.approved_by.is_none() {
                return Err(GovernanceError::Rule(format!(
                    "override {} was never approved: there is nothing to remediate",
                    short(&o.id)
                )));
            }
            if o.remediated_by.is_some() {
                return Err(GovernanceError::Rule(format!(
                    "override {} is already remediated",
                    short(&o.id)
                )));
            }
            let release = ReleaseId::parse(&o.release)
                .map_err(|e| GovernanceError::Invalid(e.to_string()))?;
            let view = self.evidence_view(&release, None)?;
            let crq = self.release(&release, None)?.snapshot;
            let mut missing = Vec::new();
            let mut proof = BTreeMap::new();
            for control in &o.deferred {
                if control == "C-01" {
                    let stage = o.gate.stage().unwrap_or(Stage::Qa);
                    if crq.as_ref().is_none_or(|c| {
                        asom_core::crq::approval_state_of(&c.approvals, stage)
                            != ApprovalState::Approved
                    }) {
                        missing.push(format!(
                            "C-01: the CRQ is not approved for {} in the change system",
                            stage.as_str()
                        ));
                    }
                    continue;
                }
                match view.controls.get(control) {
                    Some(out) if out.latest == Some("pass") && !out.passing.is_empty() => {
                        proof.insert(control.clone(), self.entry_ids(&out.passing)?);
                    }
                    _ => missing.push(format!(
                        "{control}: no passing evidence recorded for release {release}"
                    )),
                }
            }
            if !missing.is_empty() {
                return Err(GovernanceError::Rule(format!(
                    "override {} cannot be closed yet, the deferred evidence is missing: {}",
                    short(&o.id),
                    missing.join("; ")
                )));
            }
            let content = json!({
                "action": "remediated",
                "override": o.id,
                "release": o.release,
                "gate": o.gate,
                "evidence": proof,
                "at": rfc3339(self.now()),
            });
            let entry = waiver_entry("override", &content, actor, &o.id, &release)?
                .expecting(format!("override:{}", o.id), 2);
            self.append(entry).map(Recorded::from)
        })
    }

    /// One override, as of `before`.
    pub fn override_by_id(&self, id: &str, before: Option<u64>) -> Result<Override> {
        self.waiver_by_id(id, before)
    }

    /// The overrides of a release (all of them when `release` is `None`), as
    /// of `before`, oldest first.
    pub fn overrides(
        &self,
        release: Option<&ReleaseId>,
        before: Option<u64>,
    ) -> Result<Vec<Override>> {
        self.waivers(release, before)
    }

    fn waiver_by_id<W: Waiver>(&self, id: &str, before: Option<u64>) -> Result<W> {
        let entries = self.entries(&format!("{}:{id}", W::KIND), before)?;
        W::fold(&entries)?
            .into_values()
            .next()
            .ok_or_else(|| GovernanceError::NotFound(format!("no {} {id}", W::KIND)))
    }

    fn waivers<W: Waiver>(
        &self,
        release: Option<&ReleaseId>,
        before: Option<u64>,
    ) -> Result<Vec<W>> {
        let key = release.map_or_else(
            || format!("{}s", W::KIND),
            |r| format!("{}s-of:{r}", W::KIND),
        );
        let mut all: Vec<W> = W::fold(&self.entries(&key, before)?)?
            .into_values()
            .collect();
        all.sort_by(|a, b| a.order().cmp(&b.order()));
        Ok(all)
    }

    /// Approved overrides of `team` requested in the calendar quarter of
    /// `at`, as of `before`.
    pub fn quarter_count(
        &self,
        team: &str,
        at: OffsetDateTime,
        before: Option<u64>,
    ) -> Result<QuarterCount> {
        let quarter = quarter_of(at);
        let count = self
            .overrides(None, before)?
            .iter()
            .filter(|o| o.team == team && o.approved_by.is_some())
            .filter(|o| parse_time(&o.requested_at).is_ok_and(|t| quarter_of(t) == quarter))
            .count();
        Ok(QuarterCount {
            team: team.to_owned(),
            quarter,
            count,
            review: count > OVERRIDES_PER_QUARTER_BEFORE_REVIEW,
        })
    }

    /// Requests an N/A exception for a control of a release. Needs
    /// `request-exception`.
    pub fn request_exception(
        &self,
        actor: &Principal,
        release: &ReleaseId,
        control: &str,
        justification: &str,
    ) -> Result<(Exception, Recorded)> {
        authorize(actor, Action::RequestException)?;
        self.release(release, None)?;
        let control = exception_control(control)?;
        let justification = required_text(justification, "justification")?;
        if let Some(e) = self
            .exceptions(Some(release), None)?
            .into_iter()
            .find(|e| e.control == control && e.approved_by.is_some())
        {
            return Err(GovernanceError::Rule(format!(
                "{control} is already N/A for release {release} (exception {}, approved by {})",
                short(&e.id),
                e.approved_by.unwrap_or_default()
            )));
        }
        let content = json!({
            "action": "requested",
            "release": release.to_string(),
            "control": control,
            "justification": justification,
            "at": rfc3339(self.now()),
        });
        let eid = content_id("exception", &content)?;
        let entry = waiver_entry("exception", &content, actor, &eid, release)?;
        let recorded: Recorded = self.append(entry)?.into();
        Ok((self.exception_by_id(&eid, None)?, recorded))
    }

    /// Approves a pending N/A exception. Needs `grant-exception` (a human
    /// with the governance role) who did not request it.
    pub fn approve_exception(&self, actor: &Principal, reference: &str) -> Result<Recorded> {
        authorize(actor, Action::GrantException)?;
        let id = self.resolve_waiver("exception", reference)?;
        self.retry(|| {
            let e = self.exception_by_id(&id, None)?;
            if e.approved_by.is_some() {
                return Err(GovernanceError::Rule(format!(
                    "exception {} is already approved",
                    short(&e.id)
                )));
            }
            let me = actor.slug().as_str();
            if self.directory(None)?.same_person(me, &e.requested_by) {
                return Err(GovernanceError::Rule(format!(
                    "{me} requested exception {} and cannot approve it too: another governance approver must",
                    short(&e.id)
                )));
            }
            let release = ReleaseId::parse(&e.release)
                .map_err(|x| GovernanceError::Invalid(x.to_string()))?;
            let content = json!({
                "action": "approved",
                "exception": e.id,
                "release": e.release,
                "control": e.control,
                "at": rfc3339(self.now()),
            });
            let entry = waiver_entry("exception", &content, actor, &e.id, &release)?
                .expecting(format!("exception:{}", e.id), 1);
            self.append(entry).map(Recorded::from)
        })
    }

    /// One exception, as of `before`.
    pub fn exception_by_id(&self, id: &str, before: Option<u64>) -> Result<Exception> {
        self.waiver_by_id(id, before)
    }

    /// The exceptions of a release (all when `None`), as of `before`, oldest first.
    pub fn exceptions(
        &self,
        release: Option<&ReleaseId>,
        before: Option<u64>,
    ) -> Result<Vec<Exception>> {
        self.waivers(release, before)
    }

    /// The full id of the override or exception a reference (a full id or a
    /// unique prefix of at least 8 hex digits) names.
    pub fn resolve_waiver(&self, kind: &str, reference: &str) -> Result<String> {
        let r = reference.trim().to_ascii_lowercase();
        if r.len() < 8 || !r.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(GovernanceError::Invalid(format!(
                "{reference:?} is not a {kind} id: give the id `asom {kind} list` shows (at least its first 8 hex digits)"
            )));
        }
        let keys = self
            .store
            .keys_with_prefix(&self.tenant, &format!("{kind}:{r}"))?;
        match keys.as_slice() {
            [one] => Ok(one[kind.len() + 1..].to_owned()),
            [] => Err(GovernanceError::NotFound(format!("no {kind} {reference}"))),
            _ => Err(GovernanceError::Invalid(format!(
                "{reference} names {} {kind}s: give more of the id",
                keys.len()
            ))),
        }
    }
}

/// The gate-input and report views.
impl Governance<'_> {
    /// The `overrides` of a gate input: approved, unremediated overrides of
    /// the release, with whether each has expired at `at`.
    pub(crate) fn override_input(
        &self,
        id: &ReleaseId,
        at: OffsetDateTime,
        before: u64,
    ) -> Result<Vec<Value>> {
        Ok(self
            .overrides(Some(id), Some(before))?
            .iter()
            .filter(|o| o.approved_by.is_some() && o.remediated_by.is_none())
            .map(|o| {
                json!({
                    "gate": o.gate,
                    "controls": o.deferred,
                    "entry": o.id,
                    "crq": o.crq,
                    "deadline": o.deadline,
                    "expired": o.status(at) == "expired",
                })
            })
            .collect())
    }

    /// The `exceptions` of a gate input: approved N/As by control.
    pub(crate) fn exception_input(&self, id: &ReleaseId, before: u64) -> Result<Value> {
        let mut out = serde_json::Map::new();
        for e in self.exceptions(Some(id), Some(before))? {
            if let Some(by) = &e.approved_by {
                out.insert(
                    e.control.clone(),
                    json!({"approved_by": by, "entry": e.id, "justification": e.justification}),
                );
            }
        }
        Ok(Value::Object(out))
    }
}

/// What overrides and exceptions share: an entry kind, a fold of their
/// entries by id, and an order (request time, then id).
trait Waiver: Sized {
    const KIND: &'static str;
    fn fold(entries: &[StoredEntry]) -> Result<BTreeMap<String, Self>>;
    fn order(&self) -> (&str, &str);
}

impl Waiver for Override {
    const KIND: &'static str = "override";
    fn fold(entries: &[StoredEntry]) -> Result<BTreeMap<String, Self>> {
        fold_overrides(entries)
    }
    fn order(&self) -> (&str, &str) {
        (&self.requested_at, &self.id)
    }
}

impl Waiver for Exception {
    const KIND: &'static str = "exception";
    fn fold(entries: &[StoredEntry]) -> Result<BTreeMap<String, Self>> {
        fold_exceptions(entries)
    }
    fn order(&self) -> (&str, &str) {
        (&self.requested_at, &self.id)
    }
}

fn waiver_entry(
    kind: &str,
    content: &Value,
    actor: &Principal,
    id: &str,
    release: &ReleaseId,
) -> Result<NewEntry> {
    Governance::entry(
        kind,
        content,
        actor,
        [
            format!("{kind}:{id}"),
            format!("{kind}s-of:{release}"),
            format!("{kind}s"),
        ],
    )
}

/// The content id an entry of `kind` with `content` gets.
fn content_id(kind: &str, content: &Value) -> Result<String> {
    let bytes = asom_ledger::jcs::canonicalize(content)
        .map_err(|e| GovernanceError::Invalid(e.to_string()))?;
    Ok(asom_store::content_id_of(&bytes, kind).0.to_hex())
}

fn fold_overrides(entries: &[StoredEntry]) -> Result<BTreeMap<String, Override>> {
    let mut out: BTreeMap<String, Override> = BTreeMap::new();
    for e in entries.iter().filter(|e| e.kind == "override") {
        let c: Value = content_field(e, "")?;
        let by = Governance::author_of(e)?;
        let text = |k: &str| c[k].as_str().unwrap_or_default().to_owned();
        match c["action"].as_str() {
            Some("requested") => {
                let id = e.content_id.0.to_hex();
                out.insert(
                    id.clone(),
                    Override {
                        id,
                        release: text("release"),
                        gate: serde_json::from_value(c["gate"].clone())
                            .map_err(|x| corrupt(e, &x))?,
                        crq: text("crq"),
                        justification: text("justification"),
                        deferred: strings(&c["deferred"]),
                        compensating: strings(&c["compensating"]),
                        deadline: text("deadline"),
                        team: text("team"),
                        requested_by: by,
                        requested_at: text("at"),
                        approved_by: None,
                        approved_at: None,
                        remediated_by: None,
                        remediated_at: None,
                    },
                );
            }
            Some("approved") => {
                if let Some(o) = out.get_mut(c["override"].as_str().unwrap_or_default()) {
                    o.approved_by = Some(by);
                    o.approved_at = Some(text("at"));
                }
            }
            Some("remediated") => {
                if let Some(o) = out.get_mut(c["override"].as_str().unwrap_or_default()) {
                    o.remediated_by = Some(by);
                    o.remediated_at = Some(text("at"));
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

fn fold_exceptions(entries: &[StoredEntry]) -> Result<BTreeMap<String, Exception>> {
    let mut out: BTreeMap<String, Exception> = BTreeMap::new();
    for e in entries.iter().filter(|e| e.kind == "exception") {
        let c: Value = content_field(e, "")?;
        let by = Governance::author_of(e)?;
        let text = |k: &str| c[k].as_str().unwrap_or_default().to_owned();
        match c["action"].as_str() {
            Some("requested") => {
                let id = e.content_id.0.to_hex();
                out.insert(
                    id.clone(),
                    Exception {
                        id,
                        release: text("release"),
                        control: text("control"),
                        justification: text("justification"),
                        requested_by: by,
                        requested_at: text("at"),
                        approved_by: None,
                        approved_at: None,
                    },
                );
            }
            Some("approved") => {
                if let Some(x) = out.get_mut(c["exception"].as_str().unwrap_or_default()) {
                    x.approved_by = Some(by);
                    x.approved_at = Some(text("at"));
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

fn corrupt(e: &StoredEntry, x: &serde_json::Error) -> GovernanceError {
    asom_store::StoreError::Corrupt(format!("entry {} ({}): {x}", e.index, e.kind)).into()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

/// The first 12 hex digits of an id, for messages.
#[must_use]
pub fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

fn required_text(text: &str, what: &str) -> Result<String> {
    let t = text.trim();
    if t.is_empty() {
        return Err(GovernanceError::Invalid(format!("the {what} is empty")));
    }
    if t.chars().count() > MAX_TEXT {
        return Err(GovernanceError::Invalid(format!(
            "the {what} is longer than {MAX_TEXT} characters"
        )));
    }
    Ok(t.to_owned())
}

/// The deferred controls of an override at `gate`: known, checked at that
/// gate, and neither separation of duties nor the override protocol itself.
fn deferred_controls(gate: Gate, given: &[String]) -> Result<Vec<String>> {
    let catalog = Catalog::builtin();
    let core_gate = gate.to_core();
    let mut out = BTreeSet::new();
    for text in given {
        let id = catalog
            .parse_control_id(text.trim())
            .map_err(|e| GovernanceError::Invalid(e.to_string()))?;
        let control = catalog
            .require_control(id)
            .map_err(|e| GovernanceError::Invalid(e.to_string()))?;
        if matches!(control.proof, Proof::Computed | Proof::Override) {
            return Err(GovernanceError::Rule(format!(
                "{id} ({}) can never be deferred by an override",
                control.title
            )));
        }
        if !control.gates.contains(&core_gate) && !control.gates_when_material.contains(&core_gate)
        {
            return Err(GovernanceError::Invalid(format!(
                "{id} ({}) is not checked at {gate}, so there is nothing to defer",
                control.title
            )));
        }
        out.insert(id.to_string());
    }
    if out.is_empty() {
        return Err(GovernanceError::Invalid(
            "name the controls whose evidence the override defers (--defer C-05 …)".into(),
        ));
    }
    Ok(out.into_iter().collect())
}

/// The control of an N/A: known and proven by evidence.
fn exception_control(text: &str) -> Result<String> {
    let catalog = Catalog::builtin();
    let id: ControlId = catalog
        .parse_control_id(text.trim())
        .map_err(|e| GovernanceError::Invalid(e.to_string()))?;
    let control = catalog
        .require_control(id)
        .map_err(|e| GovernanceError::Invalid(e.to_string()))?;
    if control.proof != Proof::Evidence {
        return Err(GovernanceError::Rule(format!(
            "{id} ({}) is proven by {}, not by evidence, and can never be marked N/A",
            control.title,
            control.proof.as_str()
        )));
    }
    Ok(id.to_string())
}

/// Parses an RFC 3339 time.
pub fn parse_time(text: &str) -> Result<OffsetDateTime> {
    OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map_err(|e| GovernanceError::Invalid(format!("time {text:?}: {e}")))
}

/// `at` plus `days` business days (Saturdays and Sundays skipped; public
/// holidays are not known to asom).
#[must_use]
pub fn add_business_days(at: OffsetDateTime, days: u32) -> OffsetDateTime {
    let mut t = at;
    let mut left = days;
    while left > 0 {
        t += Duration::days(1);
        if !matches!(t.weekday(), Weekday::Saturday | Weekday::Sunday) {
            left -= 1;
        }
    }
    t
}

/// `2026-Q4`.
#[must_use]
pub fn quarter_of(at: OffsetDateTime) -> String {
    let q = (u8::from(at.month()) - 1) / 3 + 1;
    format!("{}-Q{q}", at.year())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn business_days_skip_weekends() {
        // Friday + 1 business day is Monday; + 5 is the next Friday.
        let fri = datetime!(2026-11-20 10:00 UTC);
        assert_eq!(add_business_days(fri, 1), datetime!(2026-11-23 10:00 UTC));
        assert_eq!(add_business_days(fri, 5), datetime!(2026-11-27 10:00 UTC));
        let sat = datetime!(2026-11-21 10:00 UTC);
        assert_eq!(add_business_days(sat, 1), datetime!(2026-11-23 10:00 UTC));
        assert_eq!(add_business_days(sat, 0), sat);
    }

    #[test]
    fn quarters() {
        assert_eq!(quarter_of(datetime!(2026-01-01 0:00 UTC)), "2026-Q1");
        assert_eq!(quarter_of(datetime!(2026-03-31 23:59 UTC)), "2026-Q1");
        assert_eq!(quarter_of(datetime!(2026-04-01 0:00 UTC)), "2026-Q2");
        assert_eq!(quarter_of(datetime!(2026-12-31 0:00 UTC)), "2026-Q4");
    }

    #[test]
    fn deferred_controls_refuse_what_cannot_be_deferred() {
        let ok = deferred_controls(Gate::G3, &["C-06".into(), "c-05".into(), "C-06".into()]);
        assert_eq!(ok.unwrap(), ["C-05", "C-06"]);
        for (gate, c, says) in [
            (Gate::G3, "C-02", "never be deferred"),
            (Gate::G4, "C-11", "never be deferred"),
            (Gate::G3, "C-09", "not checked at G3"),
            (Gate::G3, "C-99", "C-99"),
            (Gate::G3, "x", "x"),
        ] {
            let e = deferred_controls(gate, &[c.into()])
                .unwrap_err()
                .to_string();
            assert!(e.contains(says), "{c}: {e}");
        }
        assert!(deferred_controls(Gate::G3, &[]).is_err());
    }

    #[test]
    fn exceptions_only_for_evidence_controls() {
        assert_eq!(exception_control("C-09").unwrap(), "C-09");
        for c in ["C-01", "C-02", "C-11"] {
            let e = exception_control(c).unwrap_err().to_string();
            assert!(e.contains("can never be marked N/A"), "{e}");
        }
    }
}
