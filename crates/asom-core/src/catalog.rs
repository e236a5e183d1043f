//! The control catalog, the test taxonomy and the change-type minimums, as
//! versioned data: the data part of a policy pack (DESIGN.md §3).
//!
//! The built-in catalog is `data/catalog.json` (embedded with `include_str!`):
//! controls C-01..C-11 with what proves each and the gates that check it, the
//! test categories T1..T8, the control → category mapping, and the minimum
//! categories per change type. Its [`Catalog::digest`] is the SHA-256 of the
//! RFC 8785 canonical bytes of the effective catalog document, and is part of
//! every decision.
//!
//! An organisation can replace the catalog ([`Catalog::from_json`]) or overlay
//! it ([`Catalog::with_overlay`]): add controls, change gates or categories,
//! remove controls, change the minimums. Both are validated: duplicate ids,
//! unknown control ids, empty gate or category lists and unknown fields are
//! refused with a message that names the problem. Separation of duties (C-02)
//! cannot be removed or taken off G3/G4: DESIGN.md §5 makes it not configurable.
//!
//! The typed ids ([`ControlId`], [`Category`], [`Gate`], [`ChangeType`]) parse
//! with errors that list the valid values.

pub use crate::names::UnknownName as UnknownValue;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

use asom_ledger::Hash;
use serde::{Deserialize, Serialize};

/// The built-in catalog document, as shipped.
pub const BUILTIN_CATALOG_JSON: &str = include_str!("../data/catalog.json");

/// The `schema` value of a catalog document.
pub const CATALOG_SCHEMA: &str = "asom.catalog.v1";

/// The `schema` value of an overlay document.
pub const OVERLAY_SCHEMA: &str = "asom.catalog-overlay.v1";

fn clip(text: &str) -> String {
    text.chars().take(64).collect()
}

// ---------------------------------------------------------------------------
// ControlId
// ---------------------------------------------------------------------------

/// A control id, `C-01` .. `C-99`. Which ids exist is the catalog's business:
/// the built-in one has C-01..C-11, an organisation may add more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ControlId(u8);

/// A control id was not `C-` and two digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid control id {0:?}: expected C- and two digits from C-01 to C-99; the built-in controls are C-01, C-02, C-03, C-04, C-05, C-06, C-07, C-08, C-09, C-10, C-11"
)]
pub struct ControlIdError(pub String);

impl ControlId {
    /// C-01 change authorisation.
    pub const CHANGE_AUTHORISATION: ControlId = ControlId(1);
    /// C-02 separation of duties.
    pub const SEPARATION_OF_DUTIES: ControlId = ControlId(2);
    /// C-03 requirements traceability.
    pub const REQUIREMENTS_TRACEABILITY: ControlId = ControlId(3);
    /// C-04 data classification & handling.
    pub const DATA_CLASSIFICATION: ControlId = ControlId(4);
    /// C-05 access control & least privilege.
    pub const ACCESS_CONTROL: ControlId = ControlId(5);
    /// C-06 data quality.
    pub const DATA_QUALITY: ControlId = ControlId(6);
    /// C-07 reproducibility.
    pub const REPRODUCIBILITY: ControlId = ControlId(7);
    /// C-08 incremental correctness.
    pub const INCREMENTAL_CORRECTNESS: ControlId = ControlId(8);
    /// C-09 observability & alerting.
    pub const OBSERVABILITY: ControlId = ControlId(9);
    /// C-10 cost & performance guardrails.
    pub const COST_PERFORMANCE: ControlId = ControlId(10);
    /// C-11 emergency override protocol.
    pub const EMERGENCY_OVERRIDE: ControlId = ControlId(11);

    /// The id with number `n` (1..=99).
    #[must_use]
    pub fn new(n: u8) -> Option<Self> {
        (1..=99).contains(&n).then_some(Self(n))
    }

    /// The number, 1..=99.
    #[must_use]
    pub fn number(self) -> u8 {
        self.0
    }

    /// Parses `C-NN` (the `C` in either case).
    pub fn parse(text: &str) -> Result<Self, ControlIdError> {
        let bad = || ControlIdError(clip(text));
        let digits = text
            .strip_prefix("C-")
            .or_else(|| text.strip_prefix("c-"))
            .ok_or_else(bad)?;
        if digits.len() != 2 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let n: u8 = digits.parse().map_err(|_| bad())?;
        Self::new(n).ok_or_else(bad)
    }
}

impl fmt::Display for ControlId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "C-{:02}", self.0)
    }
}

impl FromStr for ControlId {
    type Err = ControlIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for ControlId {
    type Error = ControlIdError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<ControlId> for String {
    fn from(value: ControlId) -> Self {
        value.to_string()
    }
}

// ---------------------------------------------------------------------------
// Closed name sets: Category, Gate, ChangeType, Proof
// ---------------------------------------------------------------------------

/// A test category of the taxonomy T1..T8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Category {
    /// T1 unit/logic.
    T1,
    /// T2 contract/schema.
    T2,
    /// T3 data quality.
    T3,
    /// T4 access/security.
    T4,
    /// T5 idempotency/reprocessing.
    T5,
    /// T6 incremental correctness.
    T6,
    /// T7 performance/cost.
    T7,
    /// T8 observability.
    T8,
}

crate::names::closed_names!(Category, "test category", str::to_ascii_uppercase, {
    T1 => "T1", T2 => "T2", T3 => "T3", T4 => "T4",
    T5 => "T5", T6 => "T6", T7 => "T7", T8 => "T8",
});

/// One of the four gates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Gate {
    /// G1 PR merge.
    G1,
    /// G2 release candidate.
    G2,
    /// G3 promote to QA.
    G3,
    /// G4 promote to PROD.
    G4,
}

crate::names::closed_names!(Gate, "gate", str::to_ascii_uppercase, {
    G1 => "G1", G2 => "G2", G3 => "G3", G4 => "G4",
});

impl Gate {
    /// What the gate guards, in words.
    #[must_use]
    pub fn title(self) -> &'static str {
        match self {
            Gate::G1 => "PR merge",
            Gate::G2 => "release candidate",
            Gate::G3 => "promote to QA",
            Gate::G4 => "promote to PROD",
        }
    }

    /// Whether the gate can ever be passed by an emergency override (C-11):
    /// only G3 and G4.
    #[must_use]
    pub fn overridable(self) -> bool {
        matches!(self, Gate::G3 | Gate::G4)
    }
}

/// What kind of change a product's release makes; decides the minimum test categories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum ChangeType {
    /// A new pipeline: T1-T6 + T8 (+T7 if material).
    NewPipeline,
    /// An incremental change: T1, T2, T3, T5, T6.
    IncrementalChange,
    /// An access change: T2, T4.
    AccessChange,
    /// A performance change: T1, T7.
    PerformanceChange,
    /// A data-quality rule change: T3.
    DqRuleChange,
    /// PROD-only configuration: T4, T8.
    ProdOnlyConfiguration,
}

fn kebab(s: &str) -> String {
    s.to_ascii_lowercase().replace([' ', '_'], "-")
}

crate::names::closed_names!(ChangeType, "change type", kebab, {
    NewPipeline => "new-pipeline",
    IncrementalChange => "incremental-change",
    AccessChange => "access-change",
    PerformanceChange => "performance-change",
    DqRuleChange => "dq-rule-change",
    ProdOnlyConfiguration => "prod-only-configuration",
});

/// Where the proof of a control comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Proof {
    /// CRQ state and approvals read from the change system (C-01).
    ChangeSystem,
    /// Computed by asom from recorded facts (C-02 separation of duties).
    Computed,
    /// Evidence entries recorded by machine principals.
    Evidence,
    /// The emergency override protocol (C-11).
    Override,
}

crate::names::closed_names!(Proof, "proof source", kebab, {
    ChangeSystem => "change-system",
    Computed => "computed",
    Evidence => "evidence",
    Override => "override",
});

// ---------------------------------------------------------------------------
// Document types
// ---------------------------------------------------------------------------

/// A control objective as it appears in the catalog document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Control {
    /// `C-NN`.
    pub id: ControlId,
    /// Short name ("separation of duties").
    pub title: String,
    /// What evidence proves it, in words.
    pub proven_by: String,
    /// Where the proof comes from.
    pub proof: Proof,
    /// Gates that always check it (never empty).
    pub gates: BTreeSet<Gate>,
    /// Gates that check it only when the change is material (C-10 at G4).
    #[serde(default)]
    pub gates_when_material: BTreeSet<Gate>,
    /// Checked only to pass a gate by emergency override (C-11).
    #[serde(default)]
    pub override_only: bool,
    /// Test categories whose results prove it (may be empty for non-test proof).
    #[serde(default)]
    pub categories: BTreeSet<Category>,
}

impl Control {
    /// Whether a normal (non-override) evaluation of `gate` must check this
    /// control, given whether the change is material.
    #[must_use]
    pub fn checked_at(&self, gate: Gate, material: bool) -> bool {
        !self.override_only
            && (self.gates.contains(&gate)
                || (material && self.gates_when_material.contains(&gate)))
    }
}

/// A test category and its title.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryDef {
    /// `T1` .. `T8`.
    pub id: Category,
    /// Its title ("unit/logic").
    pub title: String,
}

/// The minimum test categories of a change type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeTypeRule {
    /// The change type.
    pub id: ChangeType,
    /// Its title ("new pipeline").
    pub title: String,
    /// Categories always required (never empty).
    pub minimum: BTreeSet<Category>,
    /// Categories also required when the change is material.
    #[serde(default)]
    pub when_material: BTreeSet<Category>,
}

/// The whole catalog as a JSON document: what is shipped, replaced, and hashed.
/// Serialized for hashing: the digest is the SHA-256 of its RFC 8785 bytes, so
/// field names and array order (sorted by id) are part of the format.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogDocument {
    /// Always [`CATALOG_SCHEMA`].
    pub schema: String,
    /// The catalog's version, chosen by its author.
    pub version: String,
    /// The catalog's name.
    pub title: String,
    /// The controls.
    pub controls: Vec<Control>,
    /// The test taxonomy (all of T1..T8).
    pub categories: Vec<CategoryDef>,
    /// The change-type minimums (all change types).
    pub change_types: Vec<ChangeTypeRule>,
}

/// A change to one control in an overlay: fields left out keep their value.
/// A control the base does not have must give `title`, `proven_by`, `proof`
/// and `gates`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControlPatch {
    /// The control to change or add.
    pub id: ControlId,
    /// New title.
    #[serde(default)]
    pub title: Option<String>,
    /// New description of the proof.
    #[serde(default)]
    pub proven_by: Option<String>,
    /// New proof source.
    #[serde(default)]
    pub proof: Option<Proof>,
    /// New gate set (replaces the old one).
    #[serde(default)]
    pub gates: Option<BTreeSet<Gate>>,
    /// New material-only gate set.
    #[serde(default)]
    pub gates_when_material: Option<BTreeSet<Gate>>,
    /// New override-only flag.
    #[serde(default)]
    pub override_only: Option<bool>,
    /// New category set (replaces the old one).
    #[serde(default)]
    pub categories: Option<BTreeSet<Category>>,
}

/// A change to one change type's minimums in an overlay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeTypePatch {
    /// The change type.
    pub id: ChangeType,
    /// New minimum (replaces the old one).
    #[serde(default)]
    pub minimum: Option<BTreeSet<Category>>,
    /// New material additions (replaces the old ones).
    #[serde(default)]
    pub when_material: Option<BTreeSet<Category>>,
}

/// An organisation's changes to a base catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogOverlay {
    /// Always [`OVERLAY_SCHEMA`].
    pub schema: String,
    /// The overlay's version; the result's version is `<base>+<overlay>`.
    pub version: String,
    /// Controls to change or add, applied in order.
    #[serde(default)]
    pub controls: Vec<ControlPatch>,
    /// Controls to remove (C-02 cannot be).
    #[serde(default)]
    pub remove_controls: Vec<ControlId>,
    /// Change-type minimums to change.
    #[serde(default)]
    pub change_types: Vec<ChangeTypePatch>,
}

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/// Catalog or overlay data was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    /// Not JSON, not strict I-JSON (e.g. a repeated key), or not the document's shape.
    #[error("catalog data is not valid: {0}")]
    Json(String),
    /// The `schema` field is not the expected one.
    #[error("catalog data has schema {found:?}, expected {expected:?}")]
    Schema {
        /// What the document says.
        found: String,
        /// What was expected.
        expected: &'static str,
    },
    /// An empty version.
    #[error("catalog data has an empty version: give it a version so decisions can name it")]
    EmptyVersion,
    /// A control id appears twice.
    #[error("control {0} is defined twice: each control id must appear once")]
    DuplicateControl(ControlId),
    /// A category appears twice in the taxonomy.
    #[error("test category {0} is defined twice in the taxonomy")]
    DuplicateCategory(Category),
    /// A change type appears twice.
    #[error("change type {0} is defined twice")]
    DuplicateChangeType(ChangeType),
    /// A category is missing from the taxonomy.
    #[error("the taxonomy does not define test category {0}: define all of T1..T8")]
    MissingCategory(Category),
    /// A change type has no minimums.
    #[error(
        "change type {0} has no rule: define minimum categories for every change type ({all})",
        all = ChangeType::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ")
    )]
    MissingChangeType(ChangeType),
    /// A control with no gates.
    #[error("control {0} has an empty gate list: give it at least one of G1, G2, G3, G4")]
    EmptyGates(ControlId),
    /// A change type with an empty minimum.
    #[error("change type {0} has an empty minimum: give it at least one of T1..T8")]
    EmptyMinimum(ChangeType),
    /// An empty title or description.
    #[error("{what} of {id} is empty")]
    EmptyText {
        /// The field.
        what: &'static str,
        /// The control, category or change type.
        id: String,
    },
    /// A control id the catalog does not have.
    #[error("unknown control {id}: the catalog has {known}{hint}")]
    UnknownControl {
        /// The id.
        id: ControlId,
        /// The known ids, comma separated.
        known: String,
        /// What to do.
        hint: &'static str,
    },
    /// An attempt to remove or weaken C-02.
    #[error(
        "control C-02 (separation of duties) cannot be {0}: DESIGN.md §5 makes it part of every G3 and G4 decision, whatever the policy pack says"
    )]
    ProtectedControl(&'static str),
    /// No controls at all.
    #[error("the catalog has no controls")]
    NoControls,
    /// A control id that is not `C-NN`.
    #[error(transparent)]
    BadControlId(#[from] ControlIdError),
}

// ---------------------------------------------------------------------------
// Catalog
// ---------------------------------------------------------------------------

/// A validated catalog with its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalog {
    version: String,
    title: String,
    controls: BTreeMap<ControlId, Control>,
    categories: BTreeMap<Category, CategoryDef>,
    change_types: BTreeMap<ChangeType, ChangeTypeRule>,
    digest: Hash,
}

static BUILTIN: LazyLock<Catalog> = LazyLock::new(|| {
    Catalog::from_json(BUILTIN_CATALOG_JSON).expect("the built-in catalog is valid (tested)")
});

impl Catalog {
    /// The built-in ASOM v2 catalog.
    #[must_use]
    pub fn builtin() -> &'static Catalog {
        &BUILTIN
    }

    /// Reads and validates a whole catalog document (a replacement for the built-in one).
    pub fn from_json(text: &str) -> Result<Self, CatalogError> {
        let doc: CatalogDocument = parse_strict_json(text)?;
        Self::from_document(doc)
    }

    /// Validates a catalog document.
    pub fn from_document(doc: CatalogDocument) -> Result<Self, CatalogError> {
        if doc.schema != CATALOG_SCHEMA {
            return Err(CatalogError::Schema {
                found: clip(&doc.schema),
                expected: CATALOG_SCHEMA,
            });
        }
        if doc.version.trim().is_empty() {
            return Err(CatalogError::EmptyVersion);
        }
        let mut controls = BTreeMap::new();
        for control in doc.controls {
            let id = control.id;
            if controls.insert(id, control).is_some() {
                return Err(CatalogError::DuplicateControl(id));
            }
        }
        let mut categories = BTreeMap::new();
        for def in doc.categories {
            let id = def.id;
            if def.title.trim().is_empty() {
                return Err(CatalogError::EmptyText {
                    what: "the title",
                    id: id.to_string(),
                });
            }
            if categories.insert(id, def).is_some() {
                return Err(CatalogError::DuplicateCategory(id));
            }
        }
        let mut change_types = BTreeMap::new();
        for rule in doc.change_types {
            let id = rule.id;
            if change_types.insert(id, rule).is_some() {
                return Err(CatalogError::DuplicateChangeType(id));
            }
        }
        let catalog = Self {
            version: doc.version,
            title: doc.title,
            controls,
            categories,
            change_types,
            digest: Hash::default(),
        };
        catalog.validated()
    }

    /// Checks the invariants and computes the digest.
    fn validated(mut self) -> Result<Self, CatalogError> {
        if self.title.trim().is_empty() {
            return Err(CatalogError::EmptyText {
                what: "the title",
                id: "the catalog".into(),
            });
        }
        if self.controls.is_empty() {
            return Err(CatalogError::NoControls);
        }
        for control in self.controls.values() {
            if control.gates.is_empty() {
                return Err(CatalogError::EmptyGates(control.id));
            }
            if control.title.trim().is_empty() {
                return Err(CatalogError::EmptyText {
                    what: "the title",
                    id: control.id.to_string(),
                });
            }
            if control.proven_by.trim().is_empty() {
                return Err(CatalogError::EmptyText {
                    what: "proven_by",
                    id: control.id.to_string(),
                });
            }
        }
        match self.controls.get(&ControlId::SEPARATION_OF_DUTIES) {
            None => return Err(CatalogError::ProtectedControl("removed")),
            Some(c)
                if !(c.gates.contains(&Gate::G3) && c.gates.contains(&Gate::G4))
                    || c.override_only =>
            {
                return Err(CatalogError::ProtectedControl("taken off G3 or G4"));
            }
            Some(_) => {}
        }
        for &cat in Category::ALL {
            if !self.categories.contains_key(&cat) {
                return Err(CatalogError::MissingCategory(cat));
            }
        }
        for &ct in ChangeType::ALL {
            let Some(rule) = self.change_types.get(&ct) else {
                return Err(CatalogError::MissingChangeType(ct));
            };
            if rule.minimum.is_empty() {
                return Err(CatalogError::EmptyMinimum(ct));
            }
            if rule.title.trim().is_empty() {
                return Err(CatalogError::EmptyText {
                    what: "the title",
                    id: ct.to_string(),
                });
            }
        }
        let bytes = asom_ledger::jcs::to_canonical(&self.to_document())
            .map_err(|e| CatalogError::Json(e.to_string()))?;
        self.digest = Hash::of(&bytes);
        Ok(self)
    }

    /// Applies an overlay document (JSON) to this catalog and validates the result.
    pub fn with_overlay(&self, overlay_json: &str) -> Result<Self, CatalogError> {
        let overlay: CatalogOverlay = parse_strict_json(overlay_json)?;
        self.apply_overlay(&overlay)
    }

    /// Applies an overlay to this catalog and validates the result.
    pub fn apply_overlay(&self, overlay: &CatalogOverlay) -> Result<Self, CatalogError> {
        if overlay.schema != OVERLAY_SCHEMA {
            return Err(CatalogError::Schema {
                found: clip(&overlay.schema),
                expected: OVERLAY_SCHEMA,
            });
        }
        if overlay.version.trim().is_empty() {
            return Err(CatalogError::EmptyVersion);
        }
        let mut next = self.clone();
        next.version = format!("{}+{}", self.version, overlay.version.trim());
        let mut seen = BTreeSet::new();
        for patch in &overlay.controls {
            if !seen.insert(patch.id) {
                return Err(CatalogError::DuplicateControl(patch.id));
            }
            next.patch_control(patch)?;
        }
        for &id in &overlay.remove_controls {
            if id == ControlId::SEPARATION_OF_DUTIES {
                return Err(CatalogError::ProtectedControl("removed"));
            }
            if next.controls.remove(&id).is_none() {
                return Err(next.unknown(id, ": only a control the catalog has can be removed"));
            }
        }
        let mut seen = BTreeSet::new();
        for patch in &overlay.change_types {
            if !seen.insert(patch.id) {
                return Err(CatalogError::DuplicateChangeType(patch.id));
            }
            let rule = next
                .change_types
                .get_mut(&patch.id)
                .ok_or(CatalogError::MissingChangeType(patch.id))?;
            if let Some(minimum) = &patch.minimum {
                rule.minimum.clone_from(minimum);
            }
            if let Some(extra) = &patch.when_material {
                rule.when_material.clone_from(extra);
            }
        }
        next.validated()
    }

    fn patch_control(&mut self, patch: &ControlPatch) -> Result<(), CatalogError> {
        if let Some(control) = self.controls.get_mut(&patch.id) {
            if let Some(v) = &patch.title {
                control.title.clone_from(v);
            }
            if let Some(v) = &patch.proven_by {
                control.proven_by.clone_from(v);
            }
            if let Some(v) = patch.proof {
                control.proof = v;
            }
            if let Some(v) = &patch.gates {
                control.gates.clone_from(v);
            }
            if let Some(v) = &patch.gates_when_material {
                control.gates_when_material.clone_from(v);
            }
            if let Some(v) = patch.override_only {
                control.override_only = v;
            }
            if let Some(v) = &patch.categories {
                control.categories.clone_from(v);
            }
            return Ok(());
        }
        let (Some(title), Some(proven_by), Some(proof), Some(gates)) =
            (&patch.title, &patch.proven_by, patch.proof, &patch.gates)
        else {
            return Err(self.unknown(
                patch.id,
                "; to add a new control give its title, proven_by, proof and gates",
            ));
        };
        self.controls.insert(
            patch.id,
            Control {
                id: patch.id,
                title: title.clone(),
                proven_by: proven_by.clone(),
                proof,
                gates: gates.clone(),
                gates_when_material: patch.gates_when_material.clone().unwrap_or_default(),
                override_only: patch.override_only.unwrap_or(false),
                categories: patch.categories.clone().unwrap_or_default(),
            },
        );
        Ok(())
    }

    fn unknown(&self, id: ControlId, hint: &'static str) -> CatalogError {
        CatalogError::UnknownControl {
            id,
            known: self
                .controls
                .keys()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            hint,
        }
    }

    /// The catalog's version (an overlaid catalog's is `<base>+<overlay>`).
    #[must_use]
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The catalog's title.
    #[must_use]
    pub fn title(&self) -> &str {
        &self.title
    }

    /// SHA-256 of the RFC 8785 canonical bytes of [`Catalog::to_document`].
    #[must_use]
    pub fn digest(&self) -> Hash {
        self.digest
    }

    /// The controls, by id.
    pub fn controls(&self) -> impl Iterator<Item = &Control> {
        self.controls.values()
    }

    /// One control, if the catalog has it.
    #[must_use]
    pub fn control(&self, id: ControlId) -> Option<&Control> {
        self.controls.get(&id)
    }

    /// One control, or an error that lists the known ids.
    pub fn require_control(&self, id: ControlId) -> Result<&Control, CatalogError> {
        self.controls.get(&id).ok_or_else(|| self.unknown(id, ""))
    }

    /// Parses a control id and checks the catalog has it.
    pub fn parse_control_id(&self, text: &str) -> Result<ControlId, CatalogError> {
        let id = ControlId::parse(text)?;
        self.require_control(id).map(|c| c.id)
    }

    /// The controls a normal evaluation of `gate` checks.
    pub fn checked_at(&self, gate: Gate, material: bool) -> impl Iterator<Item = &Control> {
        self.controls
            .values()
            .filter(move |c| c.checked_at(gate, material))
    }

    /// The test categories that prove a control (empty if unknown or not test-proven).
    #[must_use]
    pub fn categories_for(&self, id: ControlId) -> BTreeSet<Category> {
        self.controls
            .get(&id)
            .map(|c| c.categories.clone())
            .unwrap_or_default()
    }

    /// The controls a test category helps prove.
    pub fn controls_for(&self, category: Category) -> impl Iterator<Item = &Control> {
        self.controls
            .values()
            .filter(move |c| c.categories.contains(&category))
    }

    /// The title of a test category.
    #[must_use]
    pub fn category_title(&self, category: Category) -> &str {
        self.categories
            .get(&category)
            .map_or("", |d| d.title.as_str())
    }

    /// The rule of a change type.
    #[must_use]
    pub fn change_type(&self, change_type: ChangeType) -> &ChangeTypeRule {
        // Every change type has a rule: `validated` checks it.
        &self.change_types[&change_type]
    }

    /// The minimum test categories for a change type (plus the material ones if `material`).
    #[must_use]
    pub fn minimum_categories(
        &self,
        change_type: ChangeType,
        material: bool,
    ) -> BTreeSet<Category> {
        let rule = self.change_type(change_type);
        let mut out = rule.minimum.clone();
        if material {
            out.extend(rule.when_material.iter().copied());
        }
        out
    }

    /// The catalog as a document, arrays sorted by id: what the digest covers.
    #[must_use]
    pub fn to_document(&self) -> CatalogDocument {
        CatalogDocument {
            schema: CATALOG_SCHEMA.to_owned(),
            version: self.version.clone(),
            title: self.title.clone(),
            controls: self.controls.values().cloned().collect(),
            categories: self.categories.values().cloned().collect(),
            change_types: self.change_types.values().cloned().collect(),
        }
    }

    /// The RFC 8785 canonical bytes of [`Catalog::to_document`].
    #[must_use]
    pub fn canonical_bytes(&self) -> Vec<u8> {
        asom_ledger::jcs::to_canonical(&self.to_document())
            .expect("a validated catalog is canonicalisable (checked when built)")
    }
}

/// Reads untrusted JSON strictly (no repeated keys, I-JSON) into `T`.
fn parse_strict_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, CatalogError> {
    let value = asom_ledger::jcs::parse_strict(text.as_bytes())
        .map_err(|e| CatalogError::Json(e.to_string()))?;
    serde_json::from_value(value).map_err(|e| CatalogError::Json(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_catalog_matches_design() {
        let c = Catalog::builtin();
        assert_eq!(c.controls().count(), 11);
        assert_eq!(c.version(), "1.0.0");
        let sod = c.control(ControlId::SEPARATION_OF_DUTIES).unwrap();
        assert_eq!(sod.title, "separation of duties");
        assert_eq!(sod.proof, Proof::Computed);
        let at_g4: Vec<_> = c
            .checked_at(Gate::G4, false)
            .map(|c| c.id.to_string())
            .collect();
        assert_eq!(at_g4, ["C-01", "C-02", "C-04", "C-05", "C-07", "C-09"]);
        let at_g4m: Vec<_> = c
            .checked_at(Gate::G4, true)
            .map(|c| c.id.to_string())
            .collect();
        assert!(at_g4m.contains(&"C-10".to_owned()));
        let at_g1: Vec<_> = c
            .checked_at(Gate::G1, false)
            .map(|c| c.id.to_string())
            .collect();
        assert_eq!(at_g1, ["C-03"]);
        assert!(
            !c.checked_at(Gate::G3, false)
                .any(|c| c.id == ControlId::EMERGENCY_OVERRIDE)
        );
        assert_eq!(
            c.categories_for(ControlId::DATA_CLASSIFICATION),
            [Category::T1, Category::T4, Category::T5].into()
        );
        assert_eq!(c.category_title(Category::T6), "incremental correctness");
    }

    #[test]
    fn change_type_minimums() {
        use Category::*;
        let c = Catalog::builtin();
        assert_eq!(
            c.minimum_categories(ChangeType::NewPipeline, false),
            [T1, T2, T3, T4, T5, T6, T8].into()
        );
        assert!(
            c.minimum_categories(ChangeType::NewPipeline, true)
                .contains(&T7)
        );
        assert_eq!(
            c.minimum_categories(ChangeType::IncrementalChange, false),
            [T1, T2, T3, T5, T6].into()
        );
        assert_eq!(
            c.minimum_categories(ChangeType::AccessChange, false),
            [T2, T4].into()
        );
        assert_eq!(
            c.minimum_categories(ChangeType::PerformanceChange, false),
            [T1, T7].into()
        );
        assert_eq!(
            c.minimum_categories(ChangeType::DqRuleChange, false),
            [T3].into()
        );
        assert_eq!(
            c.minimum_categories(ChangeType::ProdOnlyConfiguration, false),
            [T4, T8].into()
        );
    }

    #[test]
    fn digest_is_sha256_of_the_files_canonical_bytes() {
        let file = asom_ledger::jcs::canonicalize_text(BUILTIN_CATALOG_JSON.as_bytes()).unwrap();
        let c = Catalog::builtin();
        assert_eq!(
            c.canonical_bytes(),
            file,
            "data/catalog.json must be in normal form"
        );
        assert_eq!(c.digest(), Hash::of(&file));
    }

    #[test]
    fn ids_parse_with_errors_listing_valid_values() {
        assert_eq!(
            ControlId::parse("C-02").unwrap(),
            ControlId::SEPARATION_OF_DUTIES
        );
        assert_eq!(ControlId::parse("c-11").unwrap().to_string(), "C-11");
        for bad in [
            "", "C-1", "C-001", "C-00", "C02", "X-01", "C-0a", "C-+1", "C-１２",
        ] {
            let err = ControlId::parse(bad).unwrap_err().to_string();
            assert!(err.contains("C-01, C-02"), "{bad}: {err}");
        }
        assert_eq!("t3".parse::<Category>().unwrap(), Category::T3);
        let err = "T9".parse::<Category>().unwrap_err().to_string();
        assert!(err.contains("T1, T2, T3, T4, T5, T6, T7, T8"), "{err}");
        assert_eq!("g4".parse::<Gate>().unwrap(), Gate::G4);
        assert!(
            "G5".parse::<Gate>()
                .unwrap_err()
                .to_string()
                .contains("G1, G2, G3, G4")
        );
        assert_eq!(
            "PROD-only configuration".parse::<ChangeType>().unwrap(),
            ChangeType::ProdOnlyConfiguration
        );
        assert_eq!(
            "dq_rule_change".parse::<ChangeType>().unwrap(),
            ChangeType::DqRuleChange
        );
        let err = "hotfix".parse::<ChangeType>().unwrap_err().to_string();
        assert!(err.contains("new-pipeline, incremental-change"), "{err}");
    }

    fn builtin_value() -> serde_json::Value {
        serde_json::from_str(BUILTIN_CATALOG_JSON).unwrap()
    }

    fn err_of(value: &serde_json::Value) -> String {
        Catalog::from_json(&value.to_string())
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn replacement_catalogs_are_validated() {
        let mut v = builtin_value();
        v["controls"][3]["id"] = "C-03".into();
        assert!(err_of(&v).contains("control C-03 is defined twice"));

        let mut v = builtin_value();
        v["controls"][4]["gates"] = serde_json::json!([]);
        assert!(err_of(&v).contains("C-05 has an empty gate list"));

        let mut v = builtin_value();
        v["controls"][4]["gates"] = serde_json::json!(["G5"]);
        assert!(err_of(&v).contains("G1, G2, G3, G4"));

        let mut v = builtin_value();
        v["controls"][0]["id"] = "C1".into();
        assert!(err_of(&v).contains("invalid control id"));

        let mut v = builtin_value();
        v["controls"].as_array_mut().unwrap().remove(1);
        assert!(err_of(&v).contains("C-02 (separation of duties) cannot be removed"));

        let mut v = builtin_value();
        v["controls"][1]["gates"] = serde_json::json!(["G3"]);
        assert!(err_of(&v).contains("cannot be taken off"));

        let mut v = builtin_value();
        v["categories"].as_array_mut().unwrap().pop();
        assert!(err_of(&v).contains("does not define test category T8"));

        let mut v = builtin_value();
        v["change_types"][0]["minimum"] = serde_json::json!([]);
        assert!(err_of(&v).contains("new-pipeline has an empty minimum"));

        let mut v = builtin_value();
        v["controls"][0]["gatez"] = serde_json::json!(["G3"]);
        assert!(err_of(&v).contains("unknown field"));

        let mut v = builtin_value();
        v["schema"] = "asom.catalog.v9".into();
        assert!(err_of(&v).contains("expected \"asom.catalog.v1\""));

        let mut v = builtin_value();
        v["version"] = "  ".into();
        assert!(err_of(&v).contains("empty version"));

        for junk in ["", "{", "[]", "null", "{\"schema\":1}", "{\"a\":1,\"a\":2}"] {
            assert!(
                matches!(Catalog::from_json(junk), Err(CatalogError::Json(_))),
                "{junk}"
            );
        }
    }

    #[test]
    fn overlays_add_change_and_remove_controls() {
        let base = Catalog::builtin();
        let overlay = r#"{
            "schema": "asom.catalog-overlay.v1",
            "version": "acme-3",
            "controls": [
                {"id": "C-10", "gates": ["G3", "G4"]},
                {"id": "C-12", "title": "licensing", "proven_by": "SPDX report", "proof": "evidence",
                 "gates": ["G1"], "categories": ["T2"]}
            ],
            "remove_controls": ["C-09"],
            "change_types": [{"id": "access-change", "minimum": ["T1", "T2", "T4"]}]
        }"#;
        let c = base.with_overlay(overlay).unwrap();
        assert_eq!(c.version(), "1.0.0+acme-3");
        assert_ne!(c.digest(), base.digest());
        assert!(c.control(ControlId::OBSERVABILITY).is_none());
        assert!(
            c.control(ControlId::COST_PERFORMANCE)
                .unwrap()
                .gates
                .contains(&Gate::G4)
        );
        assert_eq!(
            c.control(ControlId::new(12).unwrap()).unwrap().title,
            "licensing"
        );
        assert_eq!(
            c.minimum_categories(ChangeType::AccessChange, false).len(),
            3
        );
        // The same overlay gives the same digest.
        assert_eq!(base.with_overlay(overlay).unwrap().digest(), c.digest());
    }

    #[test]
    fn overlays_are_validated() {
        let base = Catalog::builtin();
        let run = |body: &str| {
            let text = format!(r#"{{"schema":"asom.catalog-overlay.v1","version":"x",{body}}}"#);
            base.with_overlay(&text).unwrap_err().to_string()
        };
        let err = run(r#""controls":[{"id":"C-12","gates":["G3"]}]"#);
        assert!(err.contains("unknown control C-12"), "{err}");
        assert!(err.contains("C-01, C-02"), "{err}");
        assert!(err.contains("give its title"), "{err}");
        assert!(run(r#""remove_controls":["C-42"]"#).contains("unknown control C-42"));
        assert!(run(r#""remove_controls":["C-02"]"#).contains("cannot be removed"));
        assert!(
            run(r#""controls":[{"id":"C-02","gates":["G1"]}]"#).contains("cannot be taken off")
        );
        assert!(
            run(r#""controls":[{"id":"C-02","override_only":true}]"#)
                .contains("cannot be taken off")
        );
        assert!(
            run(r#""controls":[{"id":"C-05","gates":[]}]"#).contains("C-05 has an empty gate list")
        );
        assert!(
            run(r#""controls":[{"id":"C-05","title":"a"},{"id":"C-05","title":"b"}]"#)
                .contains("defined twice")
        );
        assert!(run(r#""controls":[{"id":"C-05","titel":"a"}]"#).contains("unknown field"));
        assert!(
            run(r#""change_types":[{"id":"hotfix","minimum":["T1"]}]"#).contains("new-pipeline")
        );
        let err = base
            .with_overlay(r#"{"schema":"asom.catalog.v1","version":"x"}"#)
            .unwrap_err();
        assert!(err.to_string().contains("asom.catalog-overlay.v1"));
    }
}
