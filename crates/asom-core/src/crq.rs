//! Change requests (CRQs): the built-in change system, and the provider trait
//! through which gates read any change system.
//!
//! One CRQ governs one release, for both QA and PROD (DESIGN.md §2). Humans
//! approve or reject it per [`Stage`]; asom only *reads* that state at gate
//! time. Gates see a CRQ through the [`ChangeSystem`] trait as a
//! [`CrqSnapshot`], so they never know whether it came from asom's built-in
//! change system ([`Crq`]) or from `ServiceNow`.
//!
//! ## The state machine
//!
//! The states follow `ServiceNow`'s change model:
//!
//! ```text
//! normal:    new → assess → authorize → scheduled → implement → review → closed
//! standard:  new ──────────────────────→ scheduled → implement → review → closed
//! emergency: new ─────────→ authorize → scheduled → implement → review → closed
//! ```
//!
//! Plus: `assess → new` and `authorize → assess` (sent back for rework),
//! `scheduled → authorize` (re-authorise, e.g. a new window), and `canceled`
//! from any state before `implement`. `closed` and `canceled` are final. A
//! transition back to `new` or `assess` starts a new approval round: approvals
//! given before it no longer count (they stay in the history).
//!
//! Approvals are recorded in `assess`, `authorize`, `scheduled` and
//! `implement`, for every CRQ type: a standard change is pre-authorised in the
//! change process, but asom still needs a human approval per stage (DESIGN.md §3,
//! G3/G4). Each approver's latest decision for a stage counts; any standing
//! rejection makes the stage rejected. Separation of duties is not checked
//! here: an author's approval is recorded and flagged by [`crate::sod`].

pub use crate::names::UnknownName as UnknownCrqName;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::principal::{Action, Capability, Role, Slug};
use crate::release::ReleaseId;

fn clip(text: &str) -> String {
    text.chars().take(64).collect()
}

/// RFC 3339 timestamps in UTC for serde (the `time` crate's serde support is
/// not enabled in this workspace).
/// `at` as RFC 3339 in UTC, as CRQs serialize their times.
#[must_use]
pub fn rfc3339(at: OffsetDateTime) -> String {
    timestamp::format(at)
}

pub(crate) mod timestamp {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::OffsetDateTime;
    use time::format_description::well_known::Rfc3339;

    /// Formats `at` as RFC 3339 in UTC.
    pub(crate) fn format(at: OffsetDateTime) -> String {
        at.to_offset(time::UtcOffset::UTC)
            .format(&Rfc3339)
            .unwrap_or_else(|_| at.unix_timestamp().to_string())
    }

    pub(crate) fn serialize<S: Serializer>(at: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(*at))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OffsetDateTime, D::Error> {
        let text = String::deserialize(d)?;
        OffsetDateTime::parse(&text, &Rfc3339)
            .map(|at| at.to_offset(time::UtcOffset::UTC))
            .map_err(|_| {
                serde::de::Error::custom(format!(
                    "expected an RFC 3339 timestamp like 2025-01-31T09:30:00Z, got {text:?}"
                ))
            })
    }
}

// ---------------------------------------------------------------------------
// Stage
// ---------------------------------------------------------------------------

/// The environment an approval is for: a CRQ is approved separately for QA and for PROD.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// Promotion to QA (gate G3).
    Qa,
    /// Promotion to PROD (gate G4).
    Prod,
}

impl Stage {
    /// Both stages, in promotion order.
    pub const ALL: [Stage; 2] = [Stage::Qa, Stage::Prod];

    /// The lowercase name used in JSON and on the command line (`qa`, `prod`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Qa => "qa",
            Stage::Prod => "prod",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::Qa => "QA",
            Stage::Prod => "PROD",
        })
    }
}

/// A stage name was not `qa` or `prod`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown stage {0:?}: expected one of qa, prod")]
pub struct StageParseError(pub String);

impl FromStr for Stage {
    type Err = StageParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "qa" => Ok(Stage::Qa),
            "prod" => Ok(Stage::Prod),
            _ => Err(StageParseError(clip(s))),
        }
    }
}

// ---------------------------------------------------------------------------
// CRQ number, type, state
// ---------------------------------------------------------------------------

/// A change request's number, as the change system writes it (`CRQ0000042`,
/// `CHG0030001`): a letter, then letters, digits or `-`; at most 40
/// characters; stored in uppercase.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CrqNumber(String);

/// A CRQ number was malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid CRQ number {0:?}: expected a letter followed by letters, digits or '-', at most 40 characters (e.g. CRQ0000042 or CHG0030001)"
)]
pub struct CrqNumberError(pub String);

impl CrqNumber {
    /// Parses and uppercases a CRQ number.
    pub fn parse(text: &str) -> Result<Self, CrqNumberError> {
        let text = text.trim();
        let ok = text.len() <= 40
            && text.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if ok {
            Ok(Self(text.to_ascii_uppercase()))
        } else {
            Err(CrqNumberError(clip(text)))
        }
    }

    /// The built-in change system's number for its `seq`-th CRQ: `CRQ` and
    /// seven or more digits.
    #[must_use]
    pub fn builtin(seq: u64) -> Self {
        Self(format!("CRQ{seq:07}"))
    }

    /// The number's text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CrqNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for CrqNumber {
    type Err = CrqNumberError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for CrqNumber {
    type Error = CrqNumberError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<CrqNumber> for String {
    fn from(value: CrqNumber) -> Self {
        value.0
    }
}

/// The CRQ type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CrqType {
    /// Assessed and authorised case by case.
    Normal,
    /// A pre-authorised, repeatable change: skips assess and authorize.
    Standard,
    /// An emergency change: skips assess; the only type a C-11 override accepts.
    Emergency,
}

crate::names::closed_names!(CrqType, "CRQ type", str::to_ascii_lowercase, {
    Normal => "normal",
    Standard => "standard",
    Emergency => "emergency",
});

/// Where a CRQ is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CrqState {
    /// Created, not yet assessed.
    New,
    /// Being assessed (risk, impact).
    Assess,
    /// Waiting for authorisation.
    Authorize,
    /// Authorised and scheduled in a window.
    Scheduled,
    /// Being implemented.
    Implement,
    /// Implemented; post-implementation review.
    Review,
    /// Done. Final.
    Closed,
    /// Abandoned. Final.
    Canceled,
}

crate::names::closed_names!(CrqState, "CRQ state", str::to_ascii_lowercase, {
    New => "new",
    Assess => "assess",
    Authorize => "authorize",
    Scheduled => "scheduled",
    Implement => "implement",
    Review => "review",
    Closed => "closed",
    Canceled => "canceled",
});

impl CrqState {
    /// The states a CRQ of type `crq_type` may move to from this one.
    #[must_use]
    // One arm per (state, type) keeps the match readable as the state table.
    #[allow(clippy::match_same_arms)]
    pub fn next_states(self, crq_type: CrqType) -> &'static [CrqState] {
        use CrqState::{Assess, Authorize, Canceled, Closed, Implement, New, Review, Scheduled};
        match (self, crq_type) {
            (New, CrqType::Normal) => &[Assess, Canceled],
            (New, CrqType::Standard) => &[Scheduled, Canceled],
            (New, CrqType::Emergency) => &[Authorize, Canceled],
            (Assess, _) => &[Authorize, New, Canceled],
            (Authorize, CrqType::Emergency) => &[Scheduled, Canceled],
            (Authorize, _) => &[Scheduled, Assess, Canceled],
            (Scheduled, CrqType::Standard) => &[Implement, Canceled],
            (Scheduled, _) => &[Implement, Authorize, Canceled],
            (Implement, _) => &[Review],
            (Review, _) => &[Closed],
            (Closed | Canceled, _) => &[],
        }
    }

    /// Whether no transition leaves this state.
    #[must_use]
    pub fn is_final(self) -> bool {
        matches!(self, CrqState::Closed | CrqState::Canceled)
    }

    /// Whether approvals and rejections may be recorded in this state.
    #[must_use]
    pub fn accepts_approvals(self) -> bool {
        matches!(
            self,
            CrqState::Assess | CrqState::Authorize | CrqState::Scheduled | CrqState::Implement
        )
    }

    /// Whether a transition into this state from a later one restarts approval.
    fn restarts_approval(self) -> bool {
        matches!(self, CrqState::New | CrqState::Assess)
    }
}

// ---------------------------------------------------------------------------
// Window, approvals
// ---------------------------------------------------------------------------

/// A change window: PROD promotion is valid from `start` (inclusive) to `end` (exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "WindowFields")]
pub struct ChangeWindow {
    #[serde(with = "timestamp")]
    start: OffsetDateTime,
    #[serde(with = "timestamp")]
    end: OffsetDateTime,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WindowFields {
    #[serde(with = "timestamp")]
    start: OffsetDateTime,
    #[serde(with = "timestamp")]
    end: OffsetDateTime,
}

impl TryFrom<WindowFields> for ChangeWindow {
    type Error = CrqError;

    fn try_from(f: WindowFields) -> Result<Self, Self::Error> {
        ChangeWindow::new(f.start, f.end)
    }
}

impl ChangeWindow {
    /// A window; `start` must be before `end`.
    pub fn new(start: OffsetDateTime, end: OffsetDateTime) -> Result<Self, CrqError> {
        if start < end {
            Ok(Self { start, end })
        } else {
            Err(CrqError::EmptyWindow {
                start: timestamp::format(start),
                end: timestamp::format(end),
            })
        }
    }

    /// The start (inclusive).
    #[must_use]
    pub fn start(&self) -> OffsetDateTime {
        self.start
    }

    /// The end (exclusive).
    #[must_use]
    pub fn end(&self) -> OffsetDateTime {
        self.end
    }

    /// Whether `at` falls in the window.
    #[must_use]
    pub fn contains(&self, at: OffsetDateTime) -> bool {
        self.start <= at && at < self.end
    }
}

/// Approve or reject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// Approved.
    Approved,
    /// Rejected.
    Rejected,
}

/// One approver's decision on a CRQ for one stage, as the change system records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    /// QA or PROD.
    pub stage: Stage,
    /// Approved or rejected.
    pub decision: Decision,
    /// The approver's identity as the change system names them (a principal
    /// slug for the built-in system, a user name or email for `ServiceNow`).
    /// Separation of duties resolves it through the identity directory.
    pub approver: String,
    /// The role they decided in, when the change system says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// When.
    #[serde(with = "timestamp")]
    pub at: OffsetDateTime,
    /// Their comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// Where a stage's approval stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApprovalState {
    /// Nobody has decided (or every decision was superseded).
    Pending,
    /// At least one approval and no standing rejection.
    Approved,
    /// Some approver's latest decision is a rejection.
    Rejected,
}

impl fmt::Display for ApprovalState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ApprovalState::Pending => "pending",
            ApprovalState::Approved => "approved",
            ApprovalState::Rejected => "rejected",
        })
    }
}

/// Each approver's latest decision for `stage` (later `at` wins; equal times: later in the list).
fn latest_decisions(approvals: &[Approval], stage: Stage) -> BTreeMap<&str, &Approval> {
    let mut latest: BTreeMap<&str, &Approval> = BTreeMap::new();
    for a in approvals.iter().filter(|a| a.stage == stage) {
        match latest.get(a.approver.as_str()) {
            Some(prev) if prev.at > a.at => {}
            _ => {
                latest.insert(a.approver.as_str(), a);
            }
        }
    }
    latest
}

/// The approval state of `stage` from a list of decisions.
#[must_use]
pub fn approval_state_of(approvals: &[Approval], stage: Stage) -> ApprovalState {
    let latest = latest_decisions(approvals, stage);
    if latest.values().any(|a| a.decision == Decision::Rejected) {
        ApprovalState::Rejected
    } else if latest.is_empty() {
        ApprovalState::Pending
    } else {
        ApprovalState::Approved
    }
}

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/// The built-in change system refused something.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CrqError {
    /// The transition is not in the state machine.
    #[error(
        "CRQ {number} ({crq_type}) cannot go from {from} to {to}: {}",
        valid_next(*from, valid)
    )]
    InvalidTransition {
        /// The CRQ.
        number: CrqNumber,
        /// Its type.
        crq_type: CrqType,
        /// Its state.
        from: CrqState,
        /// The requested state.
        to: CrqState,
        /// The valid next states.
        valid: Vec<CrqState>,
    },
    /// A decision in a state that does not take them.
    #[error(
        "CRQ {number} is in state {state}, which does not take approvals or rejections: move it to assess, authorize, scheduled or implement first"
    )]
    NotOpenForApproval {
        /// The CRQ.
        number: CrqNumber,
        /// Its state.
        state: CrqState,
    },
    /// A capability for another action was passed in.
    #[error("{action} was authorised, but this needs {needed}")]
    WrongCapability {
        /// What the capability is for.
        action: Action,
        /// What was needed.
        needed: Action,
    },
    /// A window whose start is not before its end.
    #[error("change window from {start} to {end} is empty: the start must be before the end")]
    EmptyWindow {
        /// Start (RFC 3339).
        start: String,
        /// End (RFC 3339).
        end: String,
    },
    /// The CRQ is already bound to another release.
    #[error(
        "CRQ {number} already belongs to release {existing} and cannot also govern {requested}: exactly one CRQ per release; create a new CRQ for {requested}"
    )]
    SharedCrq {
        /// The CRQ.
        number: CrqNumber,
        /// The release it belongs to.
        existing: ReleaseId,
        /// The release it was to be bound to.
        requested: ReleaseId,
    },
    /// The release already has another CRQ.
    #[error(
        "release {release} already has CRQ {existing}; it cannot also have {requested}: exactly one CRQ per release"
    )]
    ReleaseHasCrq {
        /// The release.
        release: ReleaseId,
        /// Its CRQ.
        existing: CrqNumber,
        /// The other CRQ.
        requested: CrqNumber,
    },
    /// A final CRQ cannot change its window.
    #[error("CRQ {number} is {state}: its window can no longer change")]
    Final {
        /// The CRQ.
        number: CrqNumber,
        /// Its state.
        state: CrqState,
    },
}

fn valid_next(from: CrqState, valid: &[CrqState]) -> String {
    if valid.is_empty() {
        format!("{from} is final")
    } else {
        let names: Vec<_> = valid.iter().map(|s| s.as_str()).collect();
        format!("from {from} it can go to {}", names.join(", "))
    }
}

fn require(cap: &Capability<'_>, needed: Action) -> Result<(), CrqError> {
    if cap.action() == needed {
        Ok(())
    } else {
        Err(CrqError::WrongCapability {
            action: cap.action(),
            needed,
        })
    }
}

// ---------------------------------------------------------------------------
// The built-in CRQ
// ---------------------------------------------------------------------------

/// One state change in a CRQ's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    /// The state before.
    pub from: CrqState,
    /// The state after.
    pub to: CrqState,
    /// Who moved it.
    pub by: Slug,
    /// When.
    #[serde(with = "timestamp")]
    pub at: OffsetDateTime,
}

/// A CRQ in asom's built-in change system. Bound to one release at creation,
/// for good.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
// `crq_type` matches `CrqSnapshot::crq_type` and the JSON field name.
#[allow(clippy::struct_field_names)]
pub struct Crq {
    number: CrqNumber,
    crq_type: CrqType,
    release: ReleaseId,
    state: CrqState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    window: Option<ChangeWindow>,
    created_by: Slug,
    #[serde(with = "timestamp")]
    created_at: OffsetDateTime,
    /// Every decision ever recorded, with the approval round it belongs to.
    approvals: Vec<(u32, Approval)>,
    /// The current approval round; a send-back to new or assess starts the next.
    round: u32,
    history: Vec<Transition>,
}

impl Crq {
    /// Creates a CRQ in state `new` for `release`. Needs [`Action::CreateCrq`].
    pub fn create(
        by: &Capability<'_>,
        number: CrqNumber,
        crq_type: CrqType,
        release: ReleaseId,
        at: OffsetDateTime,
    ) -> Result<Self, CrqError> {
        require(by, Action::CreateCrq)?;
        Ok(Self {
            number,
            crq_type,
            release,
            state: CrqState::New,
            window: None,
            created_by: by.principal().slug().clone(),
            created_at: at,
            approvals: Vec::new(),
            round: 0,
            history: Vec::new(),
        })
    }

    /// Moves the CRQ to `to`. Needs [`Action::TransitionCrq`]; an invalid
    /// transition is refused naming the valid next states.
    pub fn transition(
        &mut self,
        by: &Capability<'_>,
        to: CrqState,
        at: OffsetDateTime,
    ) -> Result<(), CrqError> {
        require(by, Action::TransitionCrq)?;
        let valid = self.state.next_states(self.crq_type);
        if !valid.contains(&to) {
            return Err(CrqError::InvalidTransition {
                number: self.number.clone(),
                crq_type: self.crq_type,
                from: self.state,
                to,
                valid: valid.to_vec(),
            });
        }
        if to.restarts_approval() {
            self.round += 1;
        }
        self.history.push(Transition {
            from: self.state,
            to,
            by: by.principal().slug().clone(),
            at,
        });
        self.state = to;
        Ok(())
    }

    /// Records an approval or a rejection for `stage`. Needs
    /// [`Action::Approve`] for that stage (only humans with the
    /// release-approver or change-manager role get it).
    pub fn decide(
        &mut self,
        by: &Capability<'_>,
        stage: Stage,
        decision: Decision,
        at: OffsetDateTime,
        comment: Option<String>,
    ) -> Result<(), CrqError> {
        require(by, Action::Approve(stage))?;
        if !self.state.accepts_approvals() {
            return Err(CrqError::NotOpenForApproval {
                number: self.number.clone(),
                state: self.state,
            });
        }
        let principal = by.principal();
        let role = [Role::ReleaseApprover, Role::ChangeManager]
            .into_iter()
            .find(|r| principal.has_role(*r));
        self.approvals.push((
            self.round,
            Approval {
                stage,
                decision,
                approver: principal.slug().to_string(),
                role,
                at,
                comment: comment.filter(|c| !c.trim().is_empty()),
            },
        ));
        Ok(())
    }

    /// Sets or clears the change window (not on a final CRQ).
    pub fn set_window(
        &mut self,
        by: &Capability<'_>,
        window: Option<ChangeWindow>,
    ) -> Result<(), CrqError> {
        require(by, Action::TransitionCrq)?;
        if self.state.is_final() {
            return Err(CrqError::Final {
                number: self.number.clone(),
                state: self.state,
            });
        }
        self.window = window;
        Ok(())
    }

    /// The CRQ number.
    #[must_use]
    pub fn number(&self) -> &CrqNumber {
        &self.number
    }

    /// Normal, standard or emergency.
    #[must_use]
    pub fn crq_type(&self) -> CrqType {
        self.crq_type
    }

    /// The one release this CRQ governs.
    #[must_use]
    pub fn release(&self) -> &ReleaseId {
        &self.release
    }

    /// The current state.
    #[must_use]
    pub fn state(&self) -> CrqState {
        self.state
    }

    /// The change window, if set.
    #[must_use]
    pub fn window(&self) -> Option<ChangeWindow> {
        self.window
    }

    /// Who created it.
    #[must_use]
    pub fn created_by(&self) -> &Slug {
        &self.created_by
    }

    /// When it was created.
    #[must_use]
    pub fn created_at(&self) -> OffsetDateTime {
        self.created_at
    }

    /// The state changes so far.
    #[must_use]
    pub fn history(&self) -> &[Transition] {
        &self.history
    }

    /// Every decision ever recorded, superseded rounds included.
    pub fn all_approvals(&self) -> impl Iterator<Item = &Approval> {
        self.approvals.iter().map(|(_, a)| a)
    }

    /// The decisions of the current approval round.
    #[must_use]
    pub fn approvals(&self) -> Vec<Approval> {
        self.approvals
            .iter()
            .filter(|(r, _)| *r == self.round)
            .map(|(_, a)| a.clone())
            .collect()
    }

    /// Where `stage`'s approval stands in the current round.
    #[must_use]
    pub fn approval_state(&self, stage: Stage) -> ApprovalState {
        approval_state_of(&self.approvals(), stage)
    }

    /// What a gate reads: the provider-neutral view.
    #[must_use]
    pub fn snapshot(&self) -> CrqSnapshot {
        CrqSnapshot {
            provider: BUILTIN_PROVIDER.to_owned(),
            number: self.number.clone(),
            crq_type: self.crq_type,
            state: self.state,
            release: Some(self.release.clone()),
            window: self.window,
            approvals: self.approvals(),
        }
    }
}

/// The provider name of the built-in change system.
pub const BUILTIN_PROVIDER: &str = "builtin";

// ---------------------------------------------------------------------------
// The provider-neutral view and the trait
// ---------------------------------------------------------------------------

/// A CRQ as a gate reads it from any change system: what asom records as the
/// approval observation. Serialized into ledger entries, so field names are
/// part of the format.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrqSnapshot {
    /// Which change system (`builtin`, `servicenow`).
    pub provider: String,
    /// The CRQ number.
    pub number: CrqNumber,
    /// Its type.
    pub crq_type: CrqType,
    /// Its state.
    pub state: CrqState,
    /// The release it names, when the change system records one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<ReleaseId>,
    /// Its change window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<ChangeWindow>,
    /// The decisions that currently count.
    pub approvals: Vec<Approval>,
}

/// Why a CRQ does not (yet) allow a promotion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "problem", rename_all = "kebab-case")]
pub enum PromotionProblem {
    /// The stage is not approved.
    #[error(
        "CRQ {number} is {approval} for {stage}: a human with the release-approver or change-manager role must approve it in the change system"
    )]
    NotApproved {
        /// The CRQ.
        number: CrqNumber,
        /// The stage.
        stage: Stage,
        /// Where the approval stands.
        approval: ApprovalState,
    },
    /// The CRQ is in a state that does not allow the promotion.
    #[error("CRQ {number} is in state {state}; promotion to {stage} needs it in {allowed}")]
    WrongState {
        /// The CRQ.
        number: CrqNumber,
        /// The stage.
        stage: Stage,
        /// Its state.
        state: CrqState,
        /// The states that would do.
        allowed: String,
    },
    /// Outside the change window.
    #[error("now ({at}) is outside CRQ {number}'s change window {start} to {end}")]
    OutsideWindow {
        /// The CRQ.
        number: CrqNumber,
        /// When the promotion was asked for.
        at: String,
        /// Window start.
        start: String,
        /// Window end.
        end: String,
    },
    /// PROD promotion without a change window.
    #[error("CRQ {number} has no change window: PROD promotion needs one")]
    NoWindow {
        /// The CRQ.
        number: CrqNumber,
    },
}

impl CrqSnapshot {
    /// Where `stage`'s approval stands.
    #[must_use]
    pub fn approval_state(&self, stage: Stage) -> ApprovalState {
        approval_state_of(&self.approvals, stage)
    }

    /// The approvers whose latest decision for `stage` is an approval, as
    /// named by the change system (aliases not resolved: see [`crate::sod`]).
    #[must_use]
    pub fn approvers(&self, stage: Stage) -> BTreeSet<String> {
        latest_decisions(&self.approvals, stage)
            .into_values()
            .filter(|a| a.decision == Decision::Approved)
            .map(|a| a.approver.clone())
            .collect()
    }

    /// The states in which promotion to `stage` is allowed: QA from
    /// `authorize` on (QA testing precedes the final schedule), PROD only in
    /// `scheduled` or `implement`.
    #[must_use]
    pub fn promotion_states(stage: Stage) -> &'static [CrqState] {
        match stage {
            Stage::Qa => &[
                CrqState::Authorize,
                CrqState::Scheduled,
                CrqState::Implement,
            ],
            Stage::Prod => &[CrqState::Scheduled, CrqState::Implement],
        }
    }

    /// Everything that stops this CRQ from authorising a promotion to `stage`
    /// at `at` (empty: it authorises it): the stage's approval, the CRQ's
    /// state ([`CrqSnapshot::promotion_states`]) and, for PROD only, a change
    /// window that contains `at`. QA promotions are not bound to the window.
    #[must_use]
    pub fn promotion_problems(&self, stage: Stage, at: OffsetDateTime) -> Vec<PromotionProblem> {
        let mut problems = Vec::new();
        let approval = self.approval_state(stage);
        if approval != ApprovalState::Approved {
            problems.push(PromotionProblem::NotApproved {
                number: self.number.clone(),
                stage,
                approval,
            });
        }
        let allowed = Self::promotion_states(stage);
        if !allowed.contains(&self.state) {
            problems.push(PromotionProblem::WrongState {
                number: self.number.clone(),
                stage,
                state: self.state,
                allowed: allowed
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(" or "),
            });
        }
        if stage == Stage::Prod {
            match self.window {
                None => problems.push(PromotionProblem::NoWindow {
                    number: self.number.clone(),
                }),
                Some(w) if !w.contains(at) => problems.push(PromotionProblem::OutsideWindow {
                    number: self.number.clone(),
                    at: timestamp::format(at),
                    start: timestamp::format(w.start),
                    end: timestamp::format(w.end),
                }),
                Some(_) => {}
            }
        }
        problems
    }
}

/// A change system could not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChangeSystemError {
    /// No CRQ with that number.
    #[error("CRQ {0} was not found in the change system: check the number, or create it first")]
    NotFound(CrqNumber),
    /// The change system could not be reached or answered badly.
    #[error("the change system could not be read: {0}")]
    Unavailable(String),
}

/// Where a read from an outside system came from, for the observation the
/// ledger records: never credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadRecord {
    /// What was read, as URLs or names without credentials, in order.
    pub sources: Vec<String>,
    /// SHA-256 (hex) of the responses' bodies, concatenated in order.
    pub response_sha256: String,
}

/// A change system asom reads CRQs from: the built-in one, `ServiceNow`, ...
/// Gates use only this trait, so they never know which system answered.
pub trait ChangeSystem {
    /// The provider's name, recorded in every observation (`builtin`, `servicenow`).
    fn provider(&self) -> &str;

    /// Reads a CRQ's current state, type, window and approvals.
    fn read_crq(&self, number: &CrqNumber) -> Result<CrqSnapshot, ChangeSystemError>;

    /// [`ChangeSystem::read_crq`], with where the answer came from. The
    /// default names the provider and digests the snapshot; connectors to
    /// outside systems name their URLs and digest the raw responses.
    fn read_crq_observed(
        &self,
        number: &CrqNumber,
    ) -> Result<(CrqSnapshot, ReadRecord), ChangeSystemError> {
        let snapshot = self.read_crq(number)?;
        let bytes = serde_json::to_vec(&snapshot)
            .map_err(|e| ChangeSystemError::Unavailable(e.to_string()))?;
        Ok((
            snapshot,
            ReadRecord {
                sources: vec![format!("{}:{number}", self.provider())],
                response_sha256: asom_ledger::Hash::of(&bytes).to_hex(),
            },
        ))
    }

    /// The CRQ's state.
    fn crq_state(&self, number: &CrqNumber) -> Result<CrqState, ChangeSystemError> {
        self.read_crq(number).map(|s| s.state)
    }

    /// The CRQ's type.
    fn crq_type(&self, number: &CrqNumber) -> Result<CrqType, ChangeSystemError> {
        self.read_crq(number).map(|s| s.crq_type)
    }

    /// The CRQ's decisions that currently count.
    fn approvals(&self, number: &CrqNumber) -> Result<Vec<Approval>, ChangeSystemError> {
        self.read_crq(number).map(|s| s.approvals)
    }

    /// Where the CRQ's approval for `stage` stands.
    fn approval_state(
        &self,
        number: &CrqNumber,
        stage: Stage,
    ) -> Result<ApprovalState, ChangeSystemError> {
        self.read_crq(number).map(|s| s.approval_state(stage))
    }

    /// The CRQ's change window.
    fn window(&self, number: &CrqNumber) -> Result<Option<ChangeWindow>, ChangeSystemError> {
        self.read_crq(number).map(|s| s.window)
    }
}

/// The built-in change system over CRQs the caller loaded (the store owns persistence).
#[derive(Debug, Clone, Default)]
pub struct BuiltinChangeSystem {
    crqs: BTreeMap<CrqNumber, Crq>,
}

impl BuiltinChangeSystem {
    /// An empty system.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces a CRQ.
    pub fn insert(&mut self, crq: Crq) {
        self.crqs.insert(crq.number.clone(), crq);
    }

    /// A CRQ by number.
    #[must_use]
    pub fn get(&self, number: &CrqNumber) -> Option<&Crq> {
        self.crqs.get(number)
    }
}

impl ChangeSystem for BuiltinChangeSystem {
    fn provider(&self) -> &str {
        BUILTIN_PROVIDER
    }

    fn read_crq(&self, number: &CrqNumber) -> Result<CrqSnapshot, ChangeSystemError> {
        self.crqs
            .get(number)
            .map(Crq::snapshot)
            .ok_or_else(|| ChangeSystemError::NotFound(number.clone()))
    }
}

// ---------------------------------------------------------------------------
// CRQ ↔ release binding
// ---------------------------------------------------------------------------

/// Which release each CRQ governs, and which CRQ each release has: exactly one
/// each way (DESIGN.md §2: a CRQ shared by two releases is a violation). The
/// store enforces the same with unique constraints; this type is the rule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrqBindings {
    by_crq: BTreeMap<CrqNumber, ReleaseId>,
    by_release: BTreeMap<ReleaseId, CrqNumber>,
}

impl CrqBindings {
    /// No bindings.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Binds `crq` to `release`. Idempotent for the same pair; refused if the
    /// CRQ governs another release or the release has another CRQ.
    pub fn bind(&mut self, crq: &CrqNumber, release: &ReleaseId) -> Result<(), CrqError> {
        if let Some(existing) = self.by_crq.get(crq) {
            if existing == release {
                return Ok(());
            }
            return Err(CrqError::SharedCrq {
                number: crq.clone(),
                existing: existing.clone(),
                requested: release.clone(),
            });
        }
        if let Some(existing) = self.by_release.get(release) {
            return Err(CrqError::ReleaseHasCrq {
                release: release.clone(),
                existing: existing.clone(),
                requested: crq.clone(),
            });
        }
        self.by_crq.insert(crq.clone(), release.clone());
        self.by_release.insert(release.clone(), crq.clone());
        Ok(())
    }

    /// The release a CRQ governs.
    #[must_use]
    pub fn release_of(&self, crq: &CrqNumber) -> Option<&ReleaseId> {
        self.by_crq.get(crq)
    }

    /// The CRQ of a release.
    #[must_use]
    pub fn crq_of(&self, release: &ReleaseId) -> Option<&CrqNumber> {
        self.by_release.get(release)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::principal::{AgentKind, Principal};
    use time::macros::datetime;

    fn slug(s: &str) -> Slug {
        Slug::new(s).unwrap()
    }

    fn release() -> ReleaseId {
        "orders@1.2.0".parse().unwrap()
    }

    fn people() -> (Principal, Principal, Principal) {
        (
            Principal::human(slug("dave"), [Role::Developer]),
            Principal::human(slug("carl"), [Role::ChangeManager]),
            Principal::human(slug("rita"), [Role::ReleaseApprover]),
        )
    }

    const T0: OffsetDateTime = datetime!(2025-03-01 09:00 UTC);

    fn new_crq(crq_type: CrqType) -> Crq {
        let (dave, _, _) = people();
        let cap = dave.authorize(Action::CreateCrq).unwrap();
        Crq::create(&cap, CrqNumber::builtin(42), crq_type, release(), T0).unwrap()
    }

    fn walk(crq: &mut Crq, states: &[CrqState]) {
        let (_, carl, _) = people();
        let cap = carl.authorize(Action::TransitionCrq).unwrap();
        for s in states {
            crq.transition(&cap, *s, T0).unwrap();
        }
    }

    #[test]
    fn parsers_refuse_malformed_input() {
        assert_eq!(
            CrqNumber::parse(" chg0030001 ").unwrap().as_str(),
            "CHG0030001"
        );
        assert_eq!(CrqNumber::builtin(42).as_str(), "CRQ0000042");
        for bad in ["", "1CRQ", "CRQ 1", "CRQ/1", &"C".repeat(41)] {
            assert!(
                CrqNumber::parse(bad)
                    .unwrap_err()
                    .to_string()
                    .contains("CRQ0000042")
            );
        }
        assert_eq!("EMERGENCY".parse::<CrqType>().unwrap(), CrqType::Emergency);
        assert!(
            "urgent"
                .parse::<CrqType>()
                .unwrap_err()
                .to_string()
                .contains("normal, standard, emergency")
        );
        assert!(
            "done"
                .parse::<CrqState>()
                .unwrap_err()
                .to_string()
                .contains("new, assess, authorize")
        );
        assert!(
            "uat"
                .parse::<Stage>()
                .unwrap_err()
                .to_string()
                .contains("qa, prod")
        );
    }

    #[test]
    fn normal_lifecycle() {
        use CrqState::*;
        let mut crq = new_crq(CrqType::Normal);
        walk(
            &mut crq,
            &[Assess, Authorize, Scheduled, Implement, Review, Closed],
        );
        assert_eq!(crq.state(), Closed);
        assert_eq!(crq.history().len(), 6);
        assert!(crq.state().is_final());
    }

    #[test]
    fn invalid_transitions_name_the_valid_next_states() {
        let mut crq = new_crq(CrqType::Normal);
        let (_, carl, _) = people();
        let cap = carl.authorize(Action::TransitionCrq).unwrap();
        let err = crq.transition(&cap, CrqState::Implement, T0).unwrap_err();
        assert_eq!(
            err.to_string(),
            "CRQ CRQ0000042 (normal) cannot go from new to implement: from new it can go to assess, canceled"
        );
        walk(&mut crq, &[CrqState::Canceled]);
        let err = crq.transition(&cap, CrqState::New, T0).unwrap_err();
        assert!(err.to_string().ends_with("canceled is final"), "{err}");
    }

    #[test]
    fn standard_and_emergency_paths() {
        use CrqState::*;
        let mut std = new_crq(CrqType::Standard);
        walk(&mut std, &[Scheduled, Implement, Review, Closed]);
        let mut em = new_crq(CrqType::Emergency);
        walk(&mut em, &[Authorize, Scheduled, Implement]);
        let (_, carl, _) = people();
        let cap = carl.authorize(Action::TransitionCrq).unwrap();
        assert!(
            new_crq(CrqType::Emergency)
                .transition(&cap, Assess, T0)
                .is_err()
        );
        assert!(
            new_crq(CrqType::Standard)
                .transition(&cap, Assess, T0)
                .is_err()
        );
    }

    #[test]
    fn only_the_right_capability_moves_or_approves() {
        let mut crq = new_crq(CrqType::Normal);
        let (dave, _, rita) = people();
        let read = dave.authorize(Action::ReadAll).unwrap();
        assert!(matches!(
            crq.transition(&read, CrqState::Assess, T0),
            Err(CrqError::WrongCapability { .. })
        ));
        walk(&mut crq, &[CrqState::Assess]);
        let qa = rita.authorize(Action::Approve(Stage::Qa)).unwrap();
        // A QA capability does not approve PROD.
        assert!(
            crq.decide(&qa, Stage::Prod, Decision::Approved, T0, None)
                .is_err()
        );
        // Agents never get the capability in the first place.
        let bot = Principal::agent(slug("qa-bot"), AgentKind::Qa);
        assert!(bot.authorize(Action::Approve(Stage::Qa)).is_err());
    }

    #[test]
    fn approvals_per_stage_latest_decision_wins() {
        let mut crq = new_crq(CrqType::Normal);
        let (_, carl, rita) = people();
        assert!(matches!(
            crq.decide(
                &rita.authorize(Action::Approve(Stage::Qa)).unwrap(),
                Stage::Qa,
                Decision::Approved,
                T0,
                None
            ),
            Err(CrqError::NotOpenForApproval {
                state: CrqState::New,
                ..
            })
        ));
        walk(&mut crq, &[CrqState::Assess, CrqState::Authorize]);
        let qa = rita.authorize(Action::Approve(Stage::Qa)).unwrap();
        assert_eq!(crq.approval_state(Stage::Qa), ApprovalState::Pending);
        crq.decide(&qa, Stage::Qa, Decision::Approved, T0, Some("ok".into()))
            .unwrap();
        assert_eq!(crq.approval_state(Stage::Qa), ApprovalState::Approved);
        assert_eq!(crq.approval_state(Stage::Prod), ApprovalState::Pending);
        let carl_qa = carl.authorize(Action::Approve(Stage::Qa)).unwrap();
        crq.decide(
            &carl_qa,
            Stage::Qa,
            Decision::Rejected,
            T0 + time::Duration::minutes(1),
            None,
        )
        .unwrap();
        assert_eq!(crq.approval_state(Stage::Qa), ApprovalState::Rejected);
        crq.decide(
            &carl_qa,
            Stage::Qa,
            Decision::Approved,
            T0 + time::Duration::minutes(2),
            None,
        )
        .unwrap();
        assert_eq!(crq.approval_state(Stage::Qa), ApprovalState::Approved);
        let snap = crq.snapshot();
        assert_eq!(
            snap.approvers(Stage::Qa),
            ["carl".to_owned(), "rita".to_owned()].into()
        );
        assert_eq!(snap.approvals[0].role, Some(Role::ReleaseApprover));
        // Sent back to assess: a new approval round.
        walk(&mut crq, &[CrqState::Assess]);
        assert_eq!(crq.approval_state(Stage::Qa), ApprovalState::Pending);
        assert_eq!(crq.all_approvals().count(), 3);
    }

    #[test]
    fn promotion_needs_approval_state_and_window() {
        let mut crq = new_crq(CrqType::Normal);
        let (_, carl, rita) = people();
        walk(&mut crq, &[CrqState::Assess, CrqState::Authorize]);
        let snap = crq.snapshot();
        assert_eq!(snap.promotion_problems(Stage::Qa, T0).len(), 1);
        let qa = rita.authorize(Action::Approve(Stage::Qa)).unwrap();
        crq.decide(&qa, Stage::Qa, Decision::Approved, T0, None)
            .unwrap();
        assert!(crq.snapshot().promotion_problems(Stage::Qa, T0).is_empty());
        let prod = rita.authorize(Action::Approve(Stage::Prod)).unwrap();
        crq.decide(&prod, Stage::Prod, Decision::Approved, T0, None)
            .unwrap();
        let problems = crq.snapshot().promotion_problems(Stage::Prod, T0);
        assert_eq!(problems.len(), 2, "{problems:?}"); // wrong state, no window
        walk(&mut crq, &[CrqState::Scheduled]);
        let cap = carl.authorize(Action::TransitionCrq).unwrap();
        let window = ChangeWindow::new(T0, T0 + time::Duration::hours(2)).unwrap();
        crq.set_window(&cap, Some(window)).unwrap();
        assert!(
            crq.snapshot()
                .promotion_problems(Stage::Prod, T0)
                .is_empty()
        );
        let late = crq
            .snapshot()
            .promotion_problems(Stage::Prod, T0 + time::Duration::hours(2));
        assert!(matches!(late[0], PromotionProblem::OutsideWindow { .. }));
        assert!(
            late[0].to_string().contains("2025-03-01T11:00:00Z"),
            "{}",
            late[0]
        );
    }

    #[test]
    fn windows_must_not_be_empty() {
        assert!(ChangeWindow::new(T0, T0).is_err());
        let json = r#"{"start":"2025-03-01T10:00:00Z","end":"2025-03-01T09:00:00Z"}"#;
        assert!(serde_json::from_str::<ChangeWindow>(json).is_err());
        let json = r#"{"start":"2025-03-01T08:00:00+01:00","end":"2025-03-01T10:00:00Z"}"#;
        let w: ChangeWindow = serde_json::from_str(json).unwrap();
        assert_eq!(
            serde_json::to_string(&w).unwrap(),
            r#"{"start":"2025-03-01T07:00:00Z","end":"2025-03-01T10:00:00Z"}"#
        );
        assert!(
            serde_json::from_str::<ChangeWindow>(r#"{"start":"yesterday","end":"x"}"#).is_err()
        );
    }

    #[test]
    fn a_crq_belongs_to_one_release() {
        let mut b = CrqBindings::new();
        let crq = CrqNumber::builtin(1);
        let r1 = release();
        let r2: ReleaseId = "orders@1.3.0".parse().unwrap();
        b.bind(&crq, &r1).unwrap();
        b.bind(&crq, &r1).unwrap();
        let err = b.bind(&crq, &r2).unwrap_err();
        assert!(
            err.to_string()
                .contains("already belongs to release orders@1.2.0"),
            "{err}"
        );
        let err = b.bind(&CrqNumber::builtin(2), &r1).unwrap_err();
        assert!(matches!(err, CrqError::ReleaseHasCrq { .. }));
        assert_eq!(b.release_of(&crq), Some(&r1));
        assert_eq!(b.crq_of(&r1), Some(&crq));
    }

    #[test]
    fn gates_read_any_change_system_through_the_trait() {
        let mut sys = BuiltinChangeSystem::new();
        let crq = new_crq(CrqType::Emergency);
        let number = crq.number().clone();
        sys.insert(crq);
        let dyn_sys: &dyn ChangeSystem = &sys;
        assert_eq!(dyn_sys.provider(), "builtin");
        assert_eq!(dyn_sys.crq_type(&number).unwrap(), CrqType::Emergency);
        assert_eq!(dyn_sys.crq_state(&number).unwrap(), CrqState::New);
        assert_eq!(
            dyn_sys.approval_state(&number, Stage::Prod).unwrap(),
            ApprovalState::Pending
        );
        assert!(matches!(
            dyn_sys.read_crq(&CrqNumber::builtin(9)),
            Err(ChangeSystemError::NotFound(_))
        ));
    }

    #[test]
    fn crq_serde_round_trips() {
        let mut crq = new_crq(CrqType::Normal);
        walk(&mut crq, &[CrqState::Assess]);
        let json = serde_json::to_string(&crq).unwrap();
        assert_eq!(serde_json::from_str::<Crq>(&json).unwrap(), crq);
        let snap = serde_json::to_string(&crq.snapshot()).unwrap();
        assert_eq!(
            serde_json::from_str::<CrqSnapshot>(&snap).unwrap(),
            crq.snapshot()
        );
    }
}
