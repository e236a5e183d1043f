//! Who acts in asom, and what each of them may do.
//!
//! A [`Principal`] is a `human` (with [`Role`]s), an `agent` (an AI assistant
//! of some [`AgentKind`], never authoritative) or a `machine` (a CI/CD service
//! account that records evidence and deploys). DESIGN.md §3 and §5.
//!
//! Permissions are checked through types (STYLE.md rule 5): the only way to get
//! a [`Capability`] or an [`Authorized`] token for an [`Action`] is
//! [`Principal::authorize`] / [`Principal::authorize_for`], and code that needs
//! one takes it as a parameter, so a path that skipped the check does not
//! compile. A refusal is a [`Refusal`] that says who was refused what, why, and
//! what would be needed.
//!
//! The rules, fixed in code and not configurable:
//!
//! | action | allowed to |
//! |---|---|
//! | read | every enabled principal, agents included |
//! | append raw ledger entries | machines, humans with `admin` |
//! | record evidence, promote, deploy | machines only |
//! | record changes | machines, humans with `developer` or `admin` |
//! | manage products, principals and tokens | humans with `admin` |
//! | create and scope releases, create CRQs | machines, humans with `developer`, `release-approver`, `change-manager` or `admin` |
//! | transition CRQs | humans with `change-manager`, `release-approver` or `admin` |
//! | approve or reject a CRQ for QA / PROD | humans with `release-approver` or `change-manager` |
//! | record a story's acceptance criteria | machines (the planning-system connector), humans with `developer`, `release-approver`, `change-manager` or `admin` |
//! | verify evidence, grant an N/A | humans with `governance` |
//! | request an N/A | humans with `developer`, `release-approver`, `change-manager`, `governance` or `admin` |
//! | request an emergency override | humans with `developer`, `release-approver` or `change-manager` |
//! | approve an emergency override | humans with `emergency-approver` |
//!
//! Agents are refused every action except reading, whatever roles or token they
//! hold (DESIGN.md §9, agent authority creep). Disabled principals are refused
//! everything.
//!
//! API tokens ([`TokenSecret`]) look like `asom_` followed by 43 base64url
//! characters (32 random bytes the caller supplies); the store keeps only
//! [`token_digest`] of them.

pub use crate::names::UnknownName;
use std::collections::BTreeSet;
use std::fmt;
use std::marker::PhantomData;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::crq::Stage;

/// Keeps error messages short when someone pastes a whole file where a name belongs.
fn clip(text: &str) -> String {
    const MAX: usize = 80;
    if text.chars().count() <= MAX {
        text.to_owned()
    } else {
        let mut out: String = text.chars().take(MAX).collect();
        out.push('…');
        out
    }
}

// ---------------------------------------------------------------------------
// Slug
// ---------------------------------------------------------------------------

/// A validated identifier for tenants, products, principals and people:
/// 1 to 64 characters of lowercase ASCII letters, digits, `.`, `_` and `-`,
/// starting with a letter or digit. Serialized as a plain string.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Slug(String);

/// Why a slug was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlugError {
    /// The text was empty.
    #[error("a slug must not be empty: use 1 to 64 lowercase letters, digits, '.', '_' or '-'")]
    Empty,
    /// The text was longer than [`Slug::MAX_LEN`].
    #[error("slug {text:?} is {len} characters long: at most 64 are allowed")]
    TooLong {
        /// The offending text (clipped).
        text: String,
        /// Its length in characters.
        len: usize,
    },
    /// The first character was not a lowercase letter or digit.
    #[error("slug {text:?} must start with a lowercase letter or a digit, not {first:?}")]
    BadStart {
        /// The offending text (clipped).
        text: String,
        /// The first character.
        first: char,
    },
    /// A character outside the allowed set.
    #[error(
        "slug {text:?} contains {ch:?} at position {position}: only lowercase letters, digits, '.', '_' and '-' are allowed{hint}"
    )]
    BadChar {
        /// The offending text (clipped).
        text: String,
        /// The first bad character.
        ch: char,
        /// Its position (0-based, in characters).
        position: usize,
        /// A suggestion, e.g. to lowercase.
        hint: &'static str,
    },
}

impl Slug {
    /// The longest slug, in characters.
    pub const MAX_LEN: usize = 64;

    /// Validates `text` as a slug.
    pub fn new(text: &str) -> Result<Self, SlugError> {
        let mut chars = text.chars();
        let Some(first) = chars.next() else {
            return Err(SlugError::Empty);
        };
        let len = text.chars().count();
        if len > Self::MAX_LEN {
            return Err(SlugError::TooLong {
                text: clip(text),
                len,
            });
        }
        if !(first.is_ascii_lowercase() || first.is_ascii_digit()) {
            return Err(SlugError::BadStart {
                text: clip(text),
                first,
            });
        }
        for (position, ch) in text.chars().enumerate() {
            let ok =
                ch.is_ascii_lowercase() || ch.is_ascii_digit() || matches!(ch, '.' | '_' | '-');
            if !ok {
                let hint = if ch.is_ascii_uppercase() {
                    " (write it in lowercase)"
                } else {
                    ""
                };
                return Err(SlugError::BadChar {
                    text: clip(text),
                    ch,
                    position,
                    hint,
                });
            }
        }
        Ok(Self(text.to_owned()))
    }

    /// The slug's text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Slug {
    type Err = SlugError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl TryFrom<String> for Slug {
    type Error = SlugError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(&value)
    }
}

impl From<Slug> for String {
    fn from(value: Slug) -> Self {
        value.0
    }
}

impl AsRef<str> for Slug {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

// ---------------------------------------------------------------------------
// Kinds, roles, agent kinds
// ---------------------------------------------------------------------------

/// What sort of principal acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PrincipalKind {
    /// A person. Authoritative through their roles.
    Human,
    /// An AI agent. Never authoritative: it reads, analyses, explains and drafts.
    Agent,
    /// A CI/CD service account: records evidence and changes, promotes and deploys.
    Machine,
}

crate::names::closed_names!(PrincipalKind, "principal kind", |s| s.to_ascii_lowercase().replace('_', "-"), {
    Human => "human",
    Agent => "agent",
    Machine => "machine",
});

/// A human's role. Only humans hold roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Writes code; records changes, creates releases and CRQs, requests overrides.
    Developer,
    /// QA engineer.
    Qa,
    /// Approves or rejects CRQs for QA and PROD.
    ReleaseApprover,
    /// Governance / quality: verifies evidence and grants N/A exceptions.
    Governance,
    /// Change manager: transitions, approves or rejects CRQs.
    ChangeManager,
    /// Approves C-11 emergency overrides.
    EmergencyApprover,
    /// Manages principals, tokens and products; may append raw ledger entries.
    Admin,
}

crate::names::closed_names!(Role, "role", |s| s.to_ascii_lowercase().replace('_', "-"), {
    Developer => "developer",
    Qa => "qa",
    ReleaseApprover => "release-approver",
    Governance => "governance",
    ChangeManager => "change-manager",
    EmergencyApprover => "emergency-approver",
    Admin => "admin",
});

/// What an agent assists with. Informational only: no agent kind grants anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AgentKind {
    /// Business-analyst agent.
    Ba,
    /// Developer agent.
    Dev,
    /// QA agent.
    Qa,
    /// Governance agent.
    Governance,
    /// Scrum agent.
    Scrum,
}

crate::names::closed_names!(AgentKind, "agent kind", |s| s.to_ascii_lowercase().replace('_', "-"), {
    Ba => "ba",
    Dev => "dev",
    Qa => "qa",
    Governance => "governance",
    Scrum => "scrum",
});

// ---------------------------------------------------------------------------
// Principal
// ---------------------------------------------------------------------------

/// Someone or something that acts in asom. Fields are private so the
/// invariants hold: roles only on humans, an agent kind on every agent and only
/// on agents. Build one with [`Principal::new`] or the shorthands
/// [`Principal::human`], [`Principal::agent`], [`Principal::machine`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "PrincipalFields")]
pub struct Principal {
    slug: Slug,
    kind: PrincipalKind,
    #[serde(skip_serializing_if = "BTreeSet::is_empty")]
    roles: BTreeSet<Role>,
    #[serde(skip_serializing_if = "Option::is_none")]
    agent_kind: Option<AgentKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    display_name: Option<String>,
    disabled: bool,
}

/// The wire form of a [`Principal`], validated on the way in.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PrincipalFields {
    slug: Slug,
    kind: PrincipalKind,
    #[serde(default)]
    roles: BTreeSet<Role>,
    #[serde(default)]
    agent_kind: Option<AgentKind>,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    disabled: bool,
}

impl TryFrom<PrincipalFields> for Principal {
    type Error = PrincipalError;

    fn try_from(f: PrincipalFields) -> Result<Self, Self::Error> {
        let mut p = Principal::new(f.slug, f.kind, f.roles, f.agent_kind, f.display_name)?;
        p.disabled = f.disabled;
        Ok(p)
    }
}

/// A principal's fields do not fit together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrincipalError {
    /// Roles were given to an agent or a machine.
    #[error(
        "{kind} '{slug}' cannot hold roles ({roles}): only humans have roles; agents are never authoritative and machines act by kind"
    )]
    RolesOnlyForHumans {
        /// The principal.
        slug: Slug,
        /// Its kind.
        kind: PrincipalKind,
        /// The roles given, comma separated.
        roles: String,
    },
    /// An agent without an agent kind.
    #[error("agent '{slug}' needs an agent kind: one of ba, dev, qa, governance, scrum")]
    AgentKindRequired {
        /// The principal.
        slug: Slug,
    },
    /// An agent kind on a human or a machine.
    #[error("{kind} '{slug}' cannot have an agent kind: only agents do")]
    AgentKindOnlyForAgents {
        /// The principal.
        slug: Slug,
        /// Its kind.
        kind: PrincipalKind,
    },
    /// A display name that is empty or only whitespace.
    #[error("the display name of '{slug}' is empty: leave it out instead")]
    EmptyDisplayName {
        /// The principal.
        slug: Slug,
    },
}

impl Principal {
    /// Builds a principal, checking that the fields fit its kind.
    pub fn new(
        slug: Slug,
        kind: PrincipalKind,
        roles: BTreeSet<Role>,
        agent_kind: Option<AgentKind>,
        display_name: Option<String>,
    ) -> Result<Self, PrincipalError> {
        if kind != PrincipalKind::Human && !roles.is_empty() {
            let roles = roles
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            return Err(PrincipalError::RolesOnlyForHumans { slug, kind, roles });
        }
        match (kind, agent_kind) {
            (PrincipalKind::Agent, None) => return Err(PrincipalError::AgentKindRequired { slug }),
            (PrincipalKind::Human | PrincipalKind::Machine, Some(_)) => {
                return Err(PrincipalError::AgentKindOnlyForAgents { slug, kind });
            }
            _ => {}
        }
        if display_name.as_deref().is_some_and(|n| n.trim().is_empty()) {
            return Err(PrincipalError::EmptyDisplayName { slug });
        }
        Ok(Self {
            slug,
            kind,
            roles,
            agent_kind,
            display_name,
            disabled: false,
        })
    }

    /// A human with the given roles.
    #[must_use]
    pub fn human(slug: Slug, roles: impl IntoIterator<Item = Role>) -> Self {
        Self {
            slug,
            kind: PrincipalKind::Human,
            roles: roles.into_iter().collect(),
            agent_kind: None,
            display_name: None,
            disabled: false,
        }
    }

    /// An agent of the given kind.
    #[must_use]
    pub fn agent(slug: Slug, agent_kind: AgentKind) -> Self {
        Self {
            slug,
            kind: PrincipalKind::Agent,
            roles: BTreeSet::new(),
            agent_kind: Some(agent_kind),
            display_name: None,
            disabled: false,
        }
    }

    /// A machine (CI/CD service account).
    #[must_use]
    pub fn machine(slug: Slug) -> Self {
        Self {
            slug,
            kind: PrincipalKind::Machine,
            roles: BTreeSet::new(),
            agent_kind: None,
            display_name: None,
            disabled: false,
        }
    }

    /// The same principal with a display name (ignored if empty).
    #[must_use]
    pub fn with_display_name(mut self, name: impl Into<String>) -> Self {
        let name = name.into();
        self.display_name = if name.trim().is_empty() {
            None
        } else {
            Some(name)
        };
        self
    }

    /// The principal's slug.
    #[must_use]
    pub fn slug(&self) -> &Slug {
        &self.slug
    }

    /// Human, agent or machine.
    #[must_use]
    pub fn kind(&self) -> PrincipalKind {
        self.kind
    }

    /// The roles (empty unless human).
    #[must_use]
    pub fn roles(&self) -> &BTreeSet<Role> {
        &self.roles
    }

    /// Whether this principal is a human holding `role`.
    #[must_use]
    pub fn has_role(&self, role: Role) -> bool {
        self.kind == PrincipalKind::Human && self.roles.contains(&role)
    }

    /// The agent kind (always `Some` for agents, `None` otherwise).
    #[must_use]
    pub fn agent_kind(&self) -> Option<AgentKind> {
        self.agent_kind
    }

    /// The display name, if any.
    #[must_use]
    pub fn display_name(&self) -> Option<&str> {
        self.display_name.as_deref()
    }

    /// Whether the principal is disabled (refused everything).
    #[must_use]
    pub fn is_disabled(&self) -> bool {
        self.disabled
    }

    /// Disables or re-enables the principal.
    pub fn set_disabled(&mut self, disabled: bool) {
        self.disabled = disabled;
    }

    /// Checks whether this principal may perform `action`. The returned
    /// [`Capability`] is the proof that the check passed.
    pub fn authorize(&self, action: Action) -> Result<Capability<'_>, Refusal> {
        self.check(action)?;
        Ok(Capability {
            principal: self,
            action,
        })
    }

    /// Like [`Principal::authorize`] for an action known at compile time, so
    /// that a function can demand exactly that permission in its signature:
    /// `fn record(by: &Authorized<'_, perm::RecordEvidence>, ...)`.
    pub fn authorize_for<P: Permission>(&self) -> Result<Authorized<'_, P>, Refusal> {
        self.check(P::ACTION)?;
        Ok(Authorized {
            principal: self,
            permission: PhantomData,
        })
    }

    /// Whether [`Principal::authorize`] would succeed.
    #[must_use]
    pub fn may(&self, action: Action) -> bool {
        self.check(action).is_ok()
    }

    fn check(&self, action: Action) -> Result<(), Refusal> {
        let refuse = |reason: RefusalReason| Refusal {
            principal: self.slug.clone(),
            kind: self.kind,
            action,
            reason,
            failure_mode: failure_mode_for(self.kind, action, reason),
        };
        if self.disabled {
            return Err(refuse(RefusalReason::Disabled));
        }
        let rule = action.rule();
        if rule.everyone {
            return Ok(());
        }
        match self.kind {
            PrincipalKind::Agent => Err(refuse(RefusalReason::AgentNeverAuthoritative)),
            PrincipalKind::Machine if rule.machines => Ok(()),
            PrincipalKind::Machine => Err(refuse(RefusalReason::WrongKind)),
            PrincipalKind::Human if rule.human_roles.is_empty() => {
                Err(refuse(RefusalReason::WrongKind))
            }
            PrincipalKind::Human if rule.human_roles.iter().any(|r| self.roles.contains(r)) => {
                Ok(())
            }
            PrincipalKind::Human => Err(refuse(RefusalReason::MissingRole)),
        }
    }
}

// ---------------------------------------------------------------------------
// Actions and rules
// ---------------------------------------------------------------------------

/// Something a principal may be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Append a raw ledger entry (imports, administrative events).
    AppendLedger,
    /// Record evidence.
    RecordEvidence,
    /// Record a change (commit, authors, Jira keys).
    RecordChange,
    /// Create or edit products.
    ManageProducts,
    /// Create, disable principals; create and revoke tokens; map identity aliases.
    ManagePrincipals,
    /// Create releases and set their scope.
    ManageReleases,
    /// Create a CRQ in the built-in change system.
    CreateCrq,
    /// Move a CRQ through its states.
    TransitionCrq,
    /// Approve or reject a CRQ for a stage.
    Approve(Stage),
    /// Promote a release (the caller becomes the deployer).
    Promote,
    /// Deploy to an environment.
    Deploy,
    /// Verify evidence as governance (the G4 governance verification).
    VerifyEvidence,
    /// Record a story and its acceptance criteria (the built-in planning
    /// system; a Jira connector records the same).
    RecordStory,
    /// Request a control exception (N/A) for a release.
    RequestException,
    /// Grant a control exception (N/A) for a release.
    GrantException,
    /// Request a C-11 emergency override.
    RequestOverride,
    /// Approve a C-11 emergency override.
    ApproveOverride,
    /// Read anything in the tenant: gate status, evidence, explanations.
    ReadAll,
}

/// Who may do an action: the table in the module docs, as data.
struct Rule {
    /// Every enabled principal, agents included.
    everyone: bool,
    /// Machines may.
    machines: bool,
    /// Humans holding any of these roles may.
    human_roles: &'static [Role],
}

const fn rule(machines: bool, human_roles: &'static [Role]) -> Rule {
    Rule {
        everyone: false,
        machines,
        human_roles,
    }
}

impl Action {
    /// Every action, with both approval stages.
    pub const ALL: [Action; 19] = [
        Action::AppendLedger,
        Action::RecordEvidence,
        Action::RecordChange,
        Action::ManageProducts,
        Action::ManagePrincipals,
        Action::ManageReleases,
        Action::CreateCrq,
        Action::TransitionCrq,
        Action::Approve(Stage::Qa),
        Action::Approve(Stage::Prod),
        Action::Promote,
        Action::Deploy,
        Action::VerifyEvidence,
        Action::RecordStory,
        Action::RequestException,
        Action::GrantException,
        Action::RequestOverride,
        Action::ApproveOverride,
        Action::ReadAll,
    ];

    /// Whether the action changes what gates decide from. Everything but reading is.
    #[must_use]
    pub fn is_authoritative(self) -> bool {
        self != Action::ReadAll
    }

    fn rule(self) -> Rule {
        use Role::{
            Admin, ChangeManager, Developer, EmergencyApprover, Governance, ReleaseApprover,
        };
        match self {
            Action::ReadAll => Rule {
                everyone: true,
                machines: true,
                human_roles: &[],
            },
            Action::AppendLedger => rule(true, &[Admin]),
            Action::RecordEvidence | Action::Promote | Action::Deploy => rule(true, &[]),
            Action::RecordChange => rule(true, &[Developer, Admin]),
            Action::ManageProducts | Action::ManagePrincipals => rule(false, &[Admin]),
            Action::ManageReleases | Action::CreateCrq | Action::RecordStory => {
                rule(true, &[Developer, ReleaseApprover, ChangeManager, Admin])
            }
            Action::TransitionCrq => rule(false, &[ChangeManager, ReleaseApprover, Admin]),
            Action::Approve(_) => rule(false, &[ReleaseApprover, ChangeManager]),
            Action::VerifyEvidence | Action::GrantException => rule(false, &[Governance]),
            Action::RequestException => rule(
                false,
                &[Developer, ReleaseApprover, ChangeManager, Governance, Admin],
            ),
            Action::RequestOverride => rule(false, &[Developer, ReleaseApprover, ChangeManager]),
            Action::ApproveOverride => rule(false, &[EmergencyApprover]),
        }
    }

    /// The roles a human needs for this action (empty if no role suffices).
    #[must_use]
    pub fn human_roles(self) -> &'static [Role] {
        self.rule().human_roles
    }

    /// Whether machine principals may perform this action.
    #[must_use]
    pub fn allowed_to_machines(self) -> bool {
        self.rule().machines
    }

    /// A stable kebab-case name (`record-evidence`, `approve-qa`, ...).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Action::AppendLedger => "append-ledger",
            Action::RecordEvidence => "record-evidence",
            Action::RecordChange => "record-change",
            Action::ManageProducts => "manage-products",
            Action::ManagePrincipals => "manage-principals",
            Action::ManageReleases => "manage-releases",
            Action::CreateCrq => "create-crq",
            Action::TransitionCrq => "transition-crq",
            Action::Approve(Stage::Qa) => "approve-qa",
            Action::Approve(Stage::Prod) => "approve-prod",
            Action::Promote => "promote",
            Action::Deploy => "deploy",
            Action::VerifyEvidence => "verify-evidence",
            Action::RecordStory => "record-story",
            Action::RequestException => "request-exception",
            Action::GrantException => "grant-exception",
            Action::RequestOverride => "request-override",
            Action::ApproveOverride => "approve-override",
            Action::ReadAll => "read-all",
        }
    }

    /// What the action does, as a verb phrase ("record evidence").
    #[must_use]
    pub fn describe(self) -> &'static str {
        match self {
            Action::AppendLedger => "append raw ledger entries",
            Action::RecordEvidence => "record evidence",
            Action::RecordChange => "record changes",
            Action::ManageProducts => "manage products",
            Action::ManagePrincipals => "manage principals, tokens and identities",
            Action::ManageReleases => "create or scope releases",
            Action::CreateCrq => "create change requests",
            Action::TransitionCrq => "transition change requests",
            Action::Approve(Stage::Qa) => "approve or reject change requests for QA",
            Action::Approve(Stage::Prod) => "approve or reject change requests for PROD",
            Action::Promote => "promote releases",
            Action::Deploy => "deploy",
            Action::VerifyEvidence => "verify evidence",
            Action::RecordStory => "record stories and their acceptance criteria",
            Action::RequestException => "request control exceptions (N/A)",
            Action::GrantException => "grant control exceptions (N/A)",
            Action::RequestOverride => "request emergency overrides",
            Action::ApproveOverride => "approve emergency overrides",
            Action::ReadAll => "read",
        }
    }

    /// Who may perform the action, as a sentence ("only machine principals record evidence").
    #[must_use]
    pub fn requirement(self) -> String {
        let rule = self.rule();
        let verb = self.describe();
        if rule.everyone {
            return format!("every enabled principal may {verb}");
        }
        let roles = role_list(rule.human_roles);
        match (rule.machines, rule.human_roles.is_empty()) {
            (true, true) => format!("only machine principals {verb}"),
            (true, false) => {
                format!("only machine principals and humans with the {roles} role {verb}")
            }
            (false, _) => format!("only humans with the {roles} role {verb}"),
        }
    }
}

/// "a", "a or b", "a, b or c".
fn role_list(roles: &[Role]) -> String {
    match roles {
        [] => String::new(),
        [one] => one.as_str().to_owned(),
        [init @ .., last] => format!(
            "{} or {}",
            init.iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            last.as_str()
        ),
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Action {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase().replace('_', "-");
        Action::ALL
            .iter()
            .copied()
            .find(|a| a.as_str() == wanted)
            .ok_or_else(|| UnknownName {
                what: "action",
                given: clip(s),
                valid: Action::ALL
                    .iter()
                    .map(|a| a.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

// ---------------------------------------------------------------------------
// Failure modes and refusals
// ---------------------------------------------------------------------------

/// The failure modes of DESIGN.md §9, numbered in the order of its table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum FailureMode {
    /// F-01 hallucinated compliance / agent-made evidence.
    #[serde(rename = "F-01")]
    HallucinatedCompliance,
    /// F-02 prompt injection through requirements.
    #[serde(rename = "F-02")]
    PromptInjection,
    /// F-03 agent authority creep.
    #[serde(rename = "F-03")]
    AgentAuthorityCreep,
    /// F-04 fabricated or edited evidence.
    #[serde(rename = "F-04")]
    FabricatedEvidence,
    /// F-05 evidence reused across releases.
    #[serde(rename = "F-05")]
    EvidenceReuse,
    /// F-06 N/A abuse.
    #[serde(rename = "F-06")]
    ExceptionAbuse,
    /// F-07 self-approval, approval outside the change system.
    #[serde(rename = "F-07")]
    SelfApproval,
    /// F-08 silent data drift, full reloads masking errors.
    #[serde(rename = "F-08")]
    SilentDataDrift,
    /// F-09 cost explosion.
    #[serde(rename = "F-09")]
    CostExplosion,
    /// F-10 emergency bypass becoming the norm.
    #[serde(rename = "F-10")]
    EmergencyBypass,
    /// F-11 store tampering.
    #[serde(rename = "F-11")]
    StoreTampering,
}

impl FailureMode {
    /// The id, `F-01` .. `F-11`.
    #[must_use]
    pub fn id(self) -> &'static str {
        match self {
            FailureMode::HallucinatedCompliance => "F-01",
            FailureMode::PromptInjection => "F-02",
            FailureMode::AgentAuthorityCreep => "F-03",
            FailureMode::FabricatedEvidence => "F-04",
            FailureMode::EvidenceReuse => "F-05",
            FailureMode::ExceptionAbuse => "F-06",
            FailureMode::SelfApproval => "F-07",
            FailureMode::SilentDataDrift => "F-08",
            FailureMode::CostExplosion => "F-09",
            FailureMode::EmergencyBypass => "F-10",
            FailureMode::StoreTampering => "F-11",
        }
    }

    /// The failure mode in words, as in DESIGN.md §9.
    #[must_use]
    pub fn title(self) -> &'static str {
        match self {
            FailureMode::HallucinatedCompliance => "hallucinated compliance / agent-made evidence",
            FailureMode::PromptInjection => "prompt injection through requirements",
            FailureMode::AgentAuthorityCreep => "agent authority creep",
            FailureMode::FabricatedEvidence => "fabricated or edited evidence",
            FailureMode::EvidenceReuse => "evidence reused across releases",
            FailureMode::ExceptionAbuse => "N/A abuse",
            FailureMode::SelfApproval => "self-approval, approval outside the change system",
            FailureMode::SilentDataDrift => "silent data drift, full reloads masking errors",
            FailureMode::CostExplosion => "cost explosion",
            FailureMode::EmergencyBypass => "emergency bypass becoming the norm",
            FailureMode::StoreTampering => "store tampering",
        }
    }
}

impl fmt::Display for FailureMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// Why an authorisation check failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RefusalReason {
    /// The principal is disabled.
    Disabled,
    /// Agents never act authoritatively, whatever roles or token they hold.
    AgentNeverAuthoritative,
    /// The principal's kind may never do this (e.g. a human recording evidence).
    WrongKind,
    /// A human without any of the roles the action needs.
    MissingRole,
}

fn failure_mode_for(
    kind: PrincipalKind,
    action: Action,
    reason: RefusalReason,
) -> Option<FailureMode> {
    match (reason, kind, action) {
        (RefusalReason::Disabled, ..) => None,
        (_, PrincipalKind::Agent, Action::RecordEvidence) => {
            Some(FailureMode::HallucinatedCompliance)
        }
        (_, PrincipalKind::Agent, _) => Some(FailureMode::AgentAuthorityCreep),
        (_, PrincipalKind::Human, Action::RecordEvidence) => Some(FailureMode::FabricatedEvidence),
        (_, _, Action::GrantException) => Some(FailureMode::ExceptionAbuse),
        (_, _, Action::Approve(_)) => Some(FailureMode::SelfApproval),
        (_, _, Action::RequestOverride | Action::ApproveOverride) => {
            Some(FailureMode::EmergencyBypass)
        }
        _ => None,
    }
}

/// A principal was refused an action. The message says who, what, why, and what
/// would be needed, e.g. `agent 'dev-bot' may not record evidence: only machine
/// principals record evidence; agents assist and never act authoritatively,
/// whatever their roles or token (failure mode F-01)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub struct Refusal {
    /// Who was refused.
    pub principal: Slug,
    /// Their kind.
    pub kind: PrincipalKind,
    /// What they tried.
    pub action: Action,
    /// Why it was refused.
    pub reason: RefusalReason,
    /// The DESIGN.md §9 failure mode this refusal stops, if any.
    pub failure_mode: Option<FailureMode>,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} '{}' may not {}: ",
            self.kind,
            self.principal,
            self.action.describe()
        )?;
        match self.reason {
            RefusalReason::Disabled => write!(
                f,
                "the principal is disabled; an admin must re-enable it, or act as another principal"
            )?,
            RefusalReason::AgentNeverAuthoritative => write!(
                f,
                "{}; agents assist and never act authoritatively, whatever their roles or token",
                self.action.requirement()
            )?,
            RefusalReason::WrongKind | RefusalReason::MissingRole => {
                f.write_str(&self.action.requirement())?;
            }
        }
        if let Some(mode) = self.failure_mode {
            write!(f, " (failure mode {mode})")?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Capabilities
// ---------------------------------------------------------------------------

/// Proof that a principal passed the authorisation check for one [`Action`].
/// Only [`Principal::authorize`] makes one.
#[derive(Debug, Clone, Copy)]
pub struct Capability<'p> {
    principal: &'p Principal,
    action: Action,
}

impl<'p> Capability<'p> {
    /// The authorised principal.
    #[must_use]
    pub fn principal(&self) -> &'p Principal {
        self.principal
    }

    /// The action it was authorised for.
    #[must_use]
    pub fn action(&self) -> Action {
        self.action
    }

    /// Narrows to a compile-time permission if this capability is for `P`'s action.
    #[must_use]
    pub fn narrow<P: Permission>(self) -> Option<Authorized<'p, P>> {
        (self.action == P::ACTION).then_some(Authorized {
            principal: self.principal,
            permission: PhantomData,
        })
    }
}

mod sealed {
    pub trait Sealed {}
}

/// A permission known at compile time; the marker types live in [`perm`].
/// Sealed: only this module defines permissions.
pub trait Permission: sealed::Sealed {
    /// The action this permission stands for.
    const ACTION: Action;
}

/// Proof that a principal passed the authorisation check for permission `P`.
/// Only [`Principal::authorize_for`] and [`Capability::narrow`] make one.
pub struct Authorized<'p, P: Permission> {
    principal: &'p Principal,
    permission: PhantomData<P>,
}

impl<'p, P: Permission> Authorized<'p, P> {
    /// The authorised principal.
    #[must_use]
    pub fn principal(&self) -> &'p Principal {
        self.principal
    }

    /// The action it was authorised for.
    #[must_use]
    pub fn action(&self) -> Action {
        P::ACTION
    }

    /// Forgets the compile-time permission.
    #[must_use]
    pub fn capability(&self) -> Capability<'p> {
        Capability {
            principal: self.principal,
            action: P::ACTION,
        }
    }
}

impl<P: Permission> Clone for Authorized<'_, P> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<P: Permission> Copy for Authorized<'_, P> {}

impl<P: Permission> fmt::Debug for Authorized<'_, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authorized")
            .field("principal", &self.principal.slug)
            .field("action", &P::ACTION)
            .finish()
    }
}

/// Marker types for [`Principal::authorize_for`], one per [`Action`].
pub mod perm {
    use super::{Action, Permission, sealed};
    use crate::crq::Stage;

    macro_rules! permissions {
        ($($(#[$doc:meta])* $name:ident => $action:expr;)+) => {
            $(
                $(#[$doc])*
                #[derive(Debug, Clone, Copy, PartialEq, Eq)]
                pub enum $name {}
                impl sealed::Sealed for $name {}
                impl Permission for $name {
                    const ACTION: Action = $action;
                }
            )+
        };
    }

    permissions! {
        /// [`Action::AppendLedger`].
        AppendLedger => Action::AppendLedger;
        /// [`Action::RecordEvidence`].
        RecordEvidence => Action::RecordEvidence;
        /// [`Action::RecordChange`].
        RecordChange => Action::RecordChange;
        /// [`Action::ManageProducts`].
        ManageProducts => Action::ManageProducts;
        /// [`Action::ManagePrincipals`].
        ManagePrincipals => Action::ManagePrincipals;
        /// [`Action::ManageReleases`].
        ManageReleases => Action::ManageReleases;
        /// [`Action::CreateCrq`].
        CreateCrq => Action::CreateCrq;
        /// [`Action::TransitionCrq`].
        TransitionCrq => Action::TransitionCrq;
        /// [`Action::Approve`] for QA.
        ApproveQa => Action::Approve(Stage::Qa);
        /// [`Action::Approve`] for PROD.
        ApproveProd => Action::Approve(Stage::Prod);
        /// [`Action::Promote`].
        Promote => Action::Promote;
        /// [`Action::Deploy`].
        Deploy => Action::Deploy;
        /// [`Action::VerifyEvidence`].
        VerifyEvidence => Action::VerifyEvidence;
        /// [`Action::GrantException`].
        GrantException => Action::GrantException;
        /// [`Action::RequestOverride`].
        RequestOverride => Action::RequestOverride;
        /// [`Action::ApproveOverride`].
        ApproveOverride => Action::ApproveOverride;
        /// [`Action::ReadAll`].
        ReadAll => Action::ReadAll;
    }
}

// ---------------------------------------------------------------------------
// Tokens
// ---------------------------------------------------------------------------

/// The prefix of every asom API token.
pub const TOKEN_PREFIX: &str = "asom_";

/// Characters after the prefix: base64url without padding of 32 bytes.
const TOKEN_BODY_LEN: usize = 43;

/// An API token's secret, as shown once to its owner. `Debug` never shows it;
/// there is deliberately no `Display`: use [`TokenSecret::expose`] where the
/// secret must be printed or sent.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenSecret(String);

/// A token was malformed. The message never repeats the token itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// It does not start with `asom_`.
    #[error(
        "malformed token: it must start with \"asom_\"; use the token printed by `asom token create` (or `asom init` for the first admin)"
    )]
    MissingPrefix,
    /// The part after the prefix has the wrong length.
    #[error(
        "malformed token: expected 43 base64url characters after \"asom_\", got {0}; check that the whole token was copied"
    )]
    WrongLength(usize),
    /// The part after the prefix is not base64url of 32 bytes.
    #[error(
        "malformed token: the part after \"asom_\" must be base64url (A-Z, a-z, 0-9, '-', '_') of 32 bytes; check that the whole token was copied"
    )]
    NotBase64Url,
}

impl TokenSecret {
    /// Makes a token from 32 random bytes the caller drew (this crate has no randomness).
    #[must_use]
    pub fn from_random_bytes(bytes: [u8; 32]) -> Self {
        Self(format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// Parses a token as given by a user (surrounding whitespace is ignored).
    pub fn parse(text: &str) -> Result<Self, TokenError> {
        let text = text.trim();
        let body = text
            .strip_prefix(TOKEN_PREFIX)
            .ok_or(TokenError::MissingPrefix)?;
        let len = body.chars().count();
        if len != TOKEN_BODY_LEN {
            return Err(TokenError::WrongLength(len));
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| TokenError::NotBase64Url)?;
        if bytes.len() != 32 {
            return Err(TokenError::NotBase64Url);
        }
        Ok(Self(text.to_owned()))
    }

    /// The secret itself. Print it only to its owner, once.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What the store keeps: [`token_digest`] of the secret.
    #[must_use]
    pub fn digest(&self) -> String {
        token_digest(&self.0)
    }
}

impl fmt::Debug for TokenSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenSecret(asom_<redacted>)")
    }
}

impl FromStr for TokenSecret {
    type Err = TokenError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// The lowercase hex SHA-256 of a token's text: what the store keeps and looks
/// tokens up by, so a leaked database does not leak usable tokens.
#[must_use]
pub fn token_digest(secret: &str) -> String {
    asom_ledger::Hash::of(secret.as_bytes()).to_hex()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slug(s: &str) -> Slug {
        Slug::new(s).unwrap()
    }

    #[test]
    fn slugs_accept_the_allowed_alphabet() {
        for ok in ["a", "0", "alice", "dev-bot", "ci.deploy_1", &"a".repeat(64)] {
            assert_eq!(Slug::new(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn slugs_refuse_with_clear_errors() {
        assert_eq!(Slug::new(""), Err(SlugError::Empty));
        assert!(matches!(
            Slug::new(&"a".repeat(65)),
            Err(SlugError::TooLong { len: 65, .. })
        ));
        assert!(matches!(
            Slug::new("-a"),
            Err(SlugError::BadStart { first: '-', .. })
        ));
        assert!(matches!(Slug::new(".a"), Err(SlugError::BadStart { .. })));
        let err = Slug::new("Alice").unwrap_err();
        assert!(err.to_string().contains("lowercase"), "{err}");
        let err = Slug::new("al ice").unwrap_err();
        assert!(matches!(
            err,
            SlugError::BadChar {
                ch: ' ',
                position: 2,
                ..
            }
        ));
        assert!(Slug::new("ålice").is_err());
        assert!(Slug::new("a/b").is_err());
    }

    #[test]
    fn slug_serde_is_a_validated_string() {
        let s: Slug = serde_json::from_str("\"alice\"").unwrap();
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"alice\"");
        assert!(serde_json::from_str::<Slug>("\"Alice\"").is_err());
    }

    #[test]
    fn names_parse_and_list_valid_values() {
        assert_eq!(
            "release-approver".parse::<Role>().unwrap(),
            Role::ReleaseApprover
        );
        assert_eq!(
            "Release_Approver".parse::<Role>().unwrap(),
            Role::ReleaseApprover
        );
        let err = "approver".parse::<Role>().unwrap_err().to_string();
        assert!(err.contains("developer, qa, release-approver"), "{err}");
        assert_eq!(
            "machine".parse::<PrincipalKind>().unwrap(),
            PrincipalKind::Machine
        );
        assert_eq!("scrum".parse::<AgentKind>().unwrap(), AgentKind::Scrum);
        assert_eq!(
            "approve-prod".parse::<Action>().unwrap(),
            Action::Approve(Stage::Prod)
        );
        for role in Role::ALL {
            assert_eq!(serde_json::to_string(role).unwrap(), format!("\"{role}\""));
        }
        for a in Action::ALL {
            assert_eq!(a.as_str().parse::<Action>().unwrap(), a);
        }
    }

    #[test]
    fn principal_constructor_checks_kind_invariants() {
        let roles: BTreeSet<Role> = [Role::Admin].into();
        let err = Principal::new(
            slug("bot"),
            PrincipalKind::Agent,
            roles.clone(),
            Some(AgentKind::Dev),
            None,
        )
        .unwrap_err();
        assert!(matches!(err, PrincipalError::RolesOnlyForHumans { .. }));
        let err =
            Principal::new(slug("ci"), PrincipalKind::Machine, roles, None, None).unwrap_err();
        assert!(err.to_string().contains("only humans have roles"), "{err}");
        let err = Principal::new(
            slug("bot"),
            PrincipalKind::Agent,
            BTreeSet::new(),
            None,
            None,
        )
        .unwrap_err();
        assert!(matches!(err, PrincipalError::AgentKindRequired { .. }));
        let err = Principal::new(
            slug("al"),
            PrincipalKind::Human,
            BTreeSet::new(),
            Some(AgentKind::Qa),
            None,
        )
        .unwrap_err();
        assert!(matches!(err, PrincipalError::AgentKindOnlyForAgents { .. }));
        assert!(
            Principal::new(
                slug("al"),
                PrincipalKind::Human,
                BTreeSet::new(),
                None,
                Some(" ".into())
            )
            .is_err()
        );
    }

    #[test]
    fn principal_serde_round_trips_and_validates() {
        let p = Principal::human(slug("alice"), [Role::ReleaseApprover]).with_display_name("Alice");
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(
            json,
            r#"{"slug":"alice","kind":"human","roles":["release-approver"],"display_name":"Alice","disabled":false}"#
        );
        assert_eq!(serde_json::from_str::<Principal>(&json).unwrap(), p);
        let bad = r#"{"slug":"bot","kind":"agent","roles":["admin"],"agent_kind":"dev"}"#;
        let err = serde_json::from_str::<Principal>(bad)
            .unwrap_err()
            .to_string();
        assert!(err.contains("only humans have roles"), "{err}");
    }

    #[test]
    fn agent_refused_evidence_with_the_documented_message() {
        let bot = Principal::agent(slug("dev-bot"), AgentKind::Dev);
        let refusal = bot.authorize(Action::RecordEvidence).unwrap_err();
        assert_eq!(refusal.reason, RefusalReason::AgentNeverAuthoritative);
        assert_eq!(
            refusal.to_string(),
            "agent 'dev-bot' may not record evidence: only machine principals record evidence; \
             agents assist and never act authoritatively, whatever their roles or token (failure mode F-01)"
        );
        assert!(bot.authorize(Action::ReadAll).is_ok());
    }

    #[test]
    fn only_machines_record_evidence_promote_and_deploy() {
        let ci = Principal::machine(slug("ci"));
        let every_role = Principal::human(slug("root"), Role::ALL.iter().copied());
        for action in [Action::RecordEvidence, Action::Promote, Action::Deploy] {
            assert!(ci.may(action));
            let refusal = every_role.authorize(action).unwrap_err();
            assert_eq!(refusal.reason, RefusalReason::WrongKind);
        }
        let r = every_role.authorize(Action::RecordEvidence).unwrap_err();
        assert_eq!(r.failure_mode, Some(FailureMode::FabricatedEvidence));
        assert!(
            r.to_string()
                .starts_with("human 'root' may not record evidence: only machine principals")
        );
    }

    #[test]
    fn approvals_need_the_right_role() {
        let dev = Principal::human(slug("dave"), [Role::Developer]);
        let ra = Principal::human(slug("rita"), [Role::ReleaseApprover]);
        let cm = Principal::human(slug("carl"), [Role::ChangeManager]);
        let ci = Principal::machine(slug("ci"));
        for stage in Stage::ALL {
            let r = dev.authorize(Action::Approve(stage)).unwrap_err();
            assert_eq!(r.reason, RefusalReason::MissingRole);
            assert!(
                r.to_string()
                    .contains("release-approver or change-manager role"),
                "{r}"
            );
            assert!(ra.may(Action::Approve(stage)));
            assert!(cm.may(Action::Approve(stage)));
            assert!(!ci.may(Action::Approve(stage)));
        }
    }

    #[test]
    fn role_table() {
        let gov = Principal::human(slug("gina"), [Role::Governance]);
        let ea = Principal::human(slug("emma"), [Role::EmergencyApprover]);
        let admin = Principal::human(slug("adam"), [Role::Admin]);
        let ci = Principal::machine(slug("ci"));
        assert!(gov.may(Action::GrantException) && gov.may(Action::VerifyEvidence));
        assert!(!admin.may(Action::GrantException));
        assert!(ea.may(Action::ApproveOverride) && !gov.may(Action::ApproveOverride));
        assert!(admin.may(Action::ManagePrincipals) && admin.may(Action::ManageProducts));
        assert!(!ci.may(Action::ManagePrincipals));
        assert!(admin.may(Action::AppendLedger) && ci.may(Action::AppendLedger));
        assert!(!gov.may(Action::AppendLedger));
        assert!(!admin.may(Action::Approve(Stage::Prod)));
    }

    #[test]
    fn disabled_principals_are_refused_everything() {
        let mut ci = Principal::machine(slug("ci"));
        ci.set_disabled(true);
        for action in Action::ALL {
            assert_eq!(
                ci.authorize(action).unwrap_err().reason,
                RefusalReason::Disabled
            );
        }
    }

    #[test]
    fn typed_permissions_match_their_actions() {
        let ci = Principal::machine(slug("ci"));
        let cap = ci.authorize_for::<perm::RecordEvidence>().unwrap();
        assert_eq!(cap.principal().slug().as_str(), "ci");
        assert_eq!(cap.action(), Action::RecordEvidence);
        assert!(ci.authorize_for::<perm::ApproveQa>().is_err());
        let dyn_cap = ci.authorize(Action::Deploy).unwrap();
        assert!(dyn_cap.narrow::<perm::Deploy>().is_some());
        assert!(dyn_cap.narrow::<perm::Promote>().is_none());
    }

    #[test]
    fn tokens_round_trip_and_hide_their_secret() {
        let t = TokenSecret::from_random_bytes([7u8; 32]);
        assert!(t.expose().starts_with("asom_"));
        assert_eq!(t.expose().len(), 48);
        assert_eq!(TokenSecret::parse(t.expose()).unwrap(), t);
        assert_eq!(
            TokenSecret::parse(&format!(" {}\n", t.expose())).unwrap(),
            t
        );
        assert!(!format!("{t:?}").contains(&t.expose()[5..]));
        assert_eq!(t.digest(), token_digest(t.expose()));
        assert_eq!(t.digest().len(), 64);
        // SHA-256("") as a known vector for the digest function.
        assert_eq!(
            token_digest(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn malformed_tokens_are_refused_without_echoing_them() {
        assert_eq!(
            TokenSecret::parse("bearer xyz"),
            Err(TokenError::MissingPrefix)
        );
        assert_eq!(
            TokenSecret::parse("asom_abc"),
            Err(TokenError::WrongLength(3))
        );
        let bad = format!("asom_{}", "!".repeat(43));
        let err = TokenSecret::parse(&bad).unwrap_err();
        assert_eq!(err, TokenError::NotBase64Url);
        assert!(!err.to_string().contains("!!!"));
        // Non-canonical trailing bits are refused, so one token has one text.
        let good = TokenSecret::from_random_bytes([0u8; 32]);
        let tweaked = format!("{}B", &good.expose()[..47]);
        assert!(TokenSecret::parse(&tweaked).is_err());
    }
}
