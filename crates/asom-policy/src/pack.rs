//! Policy packs: the manifest, the data (the control catalog and an
//! organisation's own data), the Rego modules, and the digest over all three.

use std::collections::BTreeMap;
use std::path::Path;

use asom_core::catalog::{Catalog, Category, Gate, OVERLAY_SCHEMA, Proof};
use asom_ledger::Hash;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{PolicyError, Result};

/// The `schema` value of a pack manifest.
pub const PACK_SCHEMA: &str = "asom.policy-pack.v1";

/// The manifest file of a pack.
pub const MANIFEST_FILE: &str = "pack.json";
/// A replacement catalog (optional).
pub const CATALOG_FILE: &str = "catalog.json";
/// An overlay applied to the catalog (optional).
pub const CATALOG_OVERLAY_FILE: &str = "catalog-overlay.json";
/// An organisation's own data, at `data.asom.extra` (optional).
pub const EXTRA_DATA_FILE: &str = "data.json";

/// The suffix that marks a Rego unit-test module.
pub const TEST_MODULE_SUFFIX: &str = "_test.rego";

/// The largest file a pack may hold, in bytes.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// The files of the built-in pack, embedded.
const DEFAULT_PACK: &[(&str, &str)] = &[
    ("pack.json", include_str!("../packs/default/pack.json")),
    ("lib.rego", include_str!("../packs/default/lib.rego")),
    ("g1.rego", include_str!("../packs/default/g1.rego")),
    ("g2.rego", include_str!("../packs/default/g2.rego")),
    ("g3.rego", include_str!("../packs/default/g3.rego")),
    ("g4.rego", include_str!("../packs/default/g4.rego")),
    (
        "fixtures_test.rego",
        include_str!("../packs/default/fixtures_test.rego"),
    ),
    (
        "lib_test.rego",
        include_str!("../packs/default/lib_test.rego"),
    ),
    (
        "g1_test.rego",
        include_str!("../packs/default/g1_test.rego"),
    ),
    (
        "g2_test.rego",
        include_str!("../packs/default/g2_test.rego"),
    ),
    (
        "g3_test.rego",
        include_str!("../packs/default/g3_test.rego"),
    ),
    (
        "g4_test.rego",
        include_str!("../packs/default/g4_test.rego"),
    ),
];

/// `pack.json`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    schema: String,
    name: String,
    version: String,
    #[serde(default)]
    description: Option<String>,
    needs_raw_evidence: bool,
}

/// A validated policy pack: manifest, data and Rego modules, with its digest.
///
/// Building one checks everything a gate evaluation relies on: the manifest,
/// the catalog (and overlay), that every module compiles, that every gate
/// has its rule, and that every gate blocks an empty input.
#[derive(Debug, Clone)]
pub struct Pack {
    manifest: Manifest,
    manifest_value: Value,
    catalog: Catalog,
    extra: Value,
    modules: BTreeMap<String, String>,
    /// Every file as given, by name (what an export ships).
    files: BTreeMap<String, String>,
    digest: Hash,
    /// The evaluator built while validating, kept so that evaluating the
    /// pack does not compile and check it a second time.
    evaluator: Option<Box<crate::Evaluator>>,
}

impl Pack {
    /// The built-in pack (`packs/default/`): DESIGN.md §3's gates over the
    /// built-in catalog.
    pub fn default_pack() -> Result<Pack> {
        Self::from_files(
            DEFAULT_PACK
                .iter()
                .map(|(name, text)| ((*name).to_owned(), (*text).to_owned())),
        )
    }

    /// An organisation's own pack, from a directory with the same layout as
    /// the built-in one (see the crate documentation). Files other than
    /// `*.rego` and `*.json` (a README, say) and subdirectories are ignored.
    pub fn from_dir(path: &Path) -> Result<Pack> {
        let io = |p: &Path, e: std::io::Error| PolicyError::Io {
            path: p.display().to_string(),
            message: e.to_string(),
        };
        let mut files = Vec::new();
        for entry in std::fs::read_dir(path).map_err(|e| io(path, e))? {
            let entry = entry.map_err(|e| io(path, e))?;
            let file = entry.path();
            let meta = std::fs::metadata(&file).map_err(|e| io(&file, e))?;
            if !meta.is_file() {
                continue;
            }
            let Some(name) = file.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if !(has_extension(name, "rego") || has_extension(name, "json")) {
                continue;
            }
            if meta.len() > MAX_FILE_BYTES {
                return Err(PolicyError::Io {
                    path: file.display().to_string(),
                    message: format!("larger than {MAX_FILE_BYTES} bytes"),
                });
            }
            let text = std::fs::read_to_string(&file).map_err(|e| io(&file, e))?;
            files.push((name.to_owned(), text));
        }
        Self::from_files(files)
    }

    /// A pack from its files, by file name (no directories).
    pub fn from_files(files: impl IntoIterator<Item = (String, String)>) -> Result<Pack> {
        Self::parsed(files)?.validated()
    }

    /// The digest a pack of these files has, without compiling or checking
    /// its rules: what an offline verifier compares with the digest a
    /// decision or an export recorded. The files must still parse (manifest,
    /// catalog, overlay, data).
    pub fn digest_of_files(files: impl IntoIterator<Item = (String, String)>) -> Result<Hash> {
        let mut pack = Self::parsed(files)?;
        pack.compute_digest()?;
        Ok(pack.digest)
    }

    /// The files read into a pack whose digest and rules are not checked yet.
    fn parsed(files: impl IntoIterator<Item = (String, String)>) -> Result<Pack> {
        let mut manifest_text = None;
        let mut catalog_text = None;
        let mut overlay_text = None;
        let mut extra_text = None;
        let mut modules = BTreeMap::new();
        let mut all = BTreeMap::new();
        for (name, text) in files {
            all.insert(name.clone(), text.clone());
            let slot = match name.as_str() {
                MANIFEST_FILE => &mut manifest_text,
                CATALOG_FILE => &mut catalog_text,
                CATALOG_OVERLAY_FILE => &mut overlay_text,
                EXTRA_DATA_FILE => &mut extra_text,
                _ if has_extension(&name, "rego") => {
                    if modules.insert(name.clone(), text).is_some() {
                        return Err(PolicyError::Manifest(format!(
                            "module {name} is given twice"
                        )));
                    }
                    continue;
                }
                _ => {
                    return Err(PolicyError::Data(format!(
                        "unknown pack file {name}: a pack holds {MANIFEST_FILE}, {CATALOG_FILE}, {CATALOG_OVERLAY_FILE}, {EXTRA_DATA_FILE} and *.rego modules"
                    )));
                }
            };
            if slot.replace(text).is_some() {
                return Err(PolicyError::Manifest(format!("file {name} is given twice")));
            }
        }
        let manifest_text = manifest_text.ok_or_else(|| {
            PolicyError::Manifest(format!(
                "the pack has no {MANIFEST_FILE}: give it one with schema {PACK_SCHEMA:?}, name, version and needs_raw_evidence"
            ))
        })?;
        let (manifest, manifest_value) = parse_manifest(&manifest_text)?;
        let mut catalog = match catalog_text {
            Some(text) => Catalog::from_json(&text)
                .map_err(|e| PolicyError::Data(format!("{CATALOG_FILE}: {e}")))?,
            None => Catalog::builtin().clone(),
        };
        if let Some(text) = overlay_text {
            catalog = catalog
                .with_overlay(&text)
                .map_err(|e| PolicyError::Data(format!("{CATALOG_OVERLAY_FILE}: {e}")))?;
        }
        let extra = match extra_text {
            Some(text) => {
                let value = strict_json(EXTRA_DATA_FILE, &text).map_err(PolicyError::Data)?;
                if !value.is_object() {
                    return Err(PolicyError::Data(format!(
                        "{EXTRA_DATA_FILE}: expected a JSON object"
                    )));
                }
                value
            }
            None => json!({}),
        };
        if !modules.keys().any(|name| !is_test_module(name)) {
            return Err(PolicyError::Manifest(
                "the pack has no Rego modules: give it one module per gate (data.asom.gates.g1 .. g4)"
                    .to_owned(),
            ));
        }
        Ok(Pack {
            manifest,
            manifest_value,
            catalog,
            extra,
            modules,
            files: all,
            digest: Hash::default(),
            evaluator: None,
        })
    }

    /// Computes the digest and checks the pack compiles and is fail-safe.
    fn validated(mut self) -> Result<Self> {
        self.compute_digest()?;
        // Checks each gate (compiles the policy modules), then that the test
        // modules compile on top of them.
        let evaluator = crate::Evaluator::new(&self)?;
        crate::rego_tests::compile_tests_on(&evaluator, &self)?;
        self.evaluator = Some(Box::new(evaluator));
        Ok(self)
    }

    fn compute_digest(&mut self) -> Result<()> {
        let modules: Vec<Value> = self
            .modules
            .iter()
            .map(|(name, rego)| json!({"name": name, "rego": rego}))
            .collect();
        let document = json!({
            "manifest": self.manifest_value,
            "data": self.data(),
            "modules": modules,
        });
        let bytes = asom_ledger::jcs::canonicalize(&document)
            .map_err(|e| PolicyError::Data(format!("the pack cannot be canonicalised: {e}")))?;
        self.digest = Hash::of(&bytes);
        Ok(())
    }

    /// An evaluator of this pack, prepared when the pack was validated
    /// (a clone of it: cheap).
    #[must_use]
    pub fn evaluator(&self) -> crate::Evaluator {
        match &self.evaluator {
            Some(e) => (**e).clone(),
            None => unreachable!("a Pack is only built validated"),
        }
    }

    /// The pack's name (`asom-default` for the built-in one).
    #[must_use]
    pub fn name(&self) -> &str {
        &self.manifest.name
    }

    /// The pack's version.
    #[must_use]
    pub fn version(&self) -> &str {
        &self.manifest.version
    }

    /// The manifest's description, if any.
    #[must_use]
    pub fn description(&self) -> Option<&str> {
        self.manifest.description.as_deref()
    }

    /// SHA-256 of the canonical JSON of `{manifest, data, modules}`: part of
    /// every decision.
    #[must_use]
    pub fn digest(&self) -> Hash {
        self.digest
    }

    /// Whether the pack's rules read `input.raw_evidence` (the full records),
    /// so the caller must include them.
    #[must_use]
    pub fn needs_raw_evidence(&self) -> bool {
        self.manifest.needs_raw_evidence
    }

    /// The control catalog the pack evaluates with.
    #[must_use]
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Every file of the pack as it was given, by name: enough to load the
    /// same pack again ([`Pack::from_files`]) and get the same digest.
    #[must_use]
    pub fn files(&self) -> &BTreeMap<String, String> {
        &self.files
    }

    /// The modules, by file name, tests included.
    #[must_use]
    pub fn modules(&self) -> &BTreeMap<String, String> {
        &self.modules
    }

    /// The modules a gate evaluation loads: all but the `*_test.rego` ones.
    pub fn policy_modules(&self) -> impl Iterator<Item = (&str, &str)> {
        self.modules
            .iter()
            .filter(|(name, _)| !is_test_module(name))
            .map(|(n, r)| (n.as_str(), r.as_str()))
    }

    /// The data document loaded into the engine:
    /// `{"asom": {"catalog", "index", "pack": {"name", "version"}, "extra"}}`.
    ///
    /// `catalog` is the catalog document as validated; `index` is the same
    /// catalog indexed for Rego, so rules look facts up instead of searching
    /// arrays on every evaluation: `controls`, `category_titles` and
    /// `change_types` by id; per gate the controls a normal evaluation
    /// checks (`checked`), those it adds when the change is material
    /// (`checked_when_material`), and the same two lists restricted to
    /// evidence-proven controls (`evidence_checked`,
    /// `evidence_checked_when_material`); per test category the controls it
    /// helps prove (`controls_of_category`).
    #[must_use]
    pub fn data(&self) -> Value {
        let catalog = &self.catalog;
        let document = catalog.to_document();
        let by_id = |items: Vec<Value>| -> Value {
            Value::Object(
                items
                    .into_iter()
                    .map(|item| (item["id"].as_str().unwrap_or_default().to_owned(), item))
                    .collect(),
            )
        };
        let controls = by_id(to_values(&document.controls));
        let change_types = by_id(to_values(&document.change_types));
        let category_titles: serde_json::Map<String, Value> = document
            .categories
            .iter()
            .map(|c| (c.id.to_string(), Value::from(c.title.clone())))
            .collect();
        let ids = |controls: &mut dyn Iterator<Item = &asom_core::catalog::Control>,
                   evidence_only: bool| {
            controls
                .filter(|c| !evidence_only || c.proof == Proof::Evidence)
                .map(|c| c.id.to_string())
                .collect::<Vec<_>>()
        };
        let mut checked = serde_json::Map::new();
        let mut checked_when_material = serde_json::Map::new();
        let mut evidence_checked = serde_json::Map::new();
        let mut evidence_checked_when_material = serde_json::Map::new();
        for &gate in Gate::ALL {
            let name = gate.to_string();
            let always = |evidence_only| ids(&mut catalog.checked_at(gate, false), evidence_only);
            let added = |evidence_only| {
                let base = always(evidence_only);
                ids(&mut catalog.checked_at(gate, true), evidence_only)
                    .into_iter()
                    .filter(|id| !base.contains(id))
                    .collect::<Vec<_>>()
            };
            checked.insert(name.clone(), json!(always(false)));
            checked_when_material.insert(name.clone(), json!(added(false)));
            evidence_checked.insert(name.clone(), json!(always(true)));
            evidence_checked_when_material.insert(name, json!(added(true)));
        }
        let controls_of_category: serde_json::Map<String, Value> = Category::ALL
            .iter()
            .map(|&t| {
                let of: Vec<String> = catalog.controls_for(t).map(|c| c.id.to_string()).collect();
                (t.to_string(), json!(of))
            })
            .collect();
        let document =
            serde_json::to_value(&document).expect("a catalog document serializes (plain data)");
        json!({
            "asom": {
                "catalog": document,
                "index": {
                    "controls": controls,
                    "category_titles": category_titles,
                    "change_types": change_types,
                    "checked": checked,
                    "checked_when_material": checked_when_material,
                    "evidence_checked": evidence_checked,
                    "evidence_checked_when_material": evidence_checked_when_material,
                    "controls_of_category": controls_of_category,
                },
                "pack": {"name": self.manifest.name, "version": self.manifest.version},
                "extra": self.extra,
            }
        })
    }

    /// This pack with an overlay applied to its catalog: a JSON document with
    /// schema `asom.catalog-overlay.v1` (add or change controls and their
    /// gates and categories, remove controls, change the change-type
    /// minimums). The overlay is validated like the catalog; the result has
    /// its own digest, and its catalog version is `<base>+<overlay>`.
    pub fn with_data_overlay(&self, json: &str) -> Result<Pack> {
        let catalog = self
            .catalog
            .with_overlay(json)
            .map_err(|e| PolicyError::Data(format!("overlay ({OVERLAY_SCHEMA}): {e}")))?;
        if self.files.contains_key(CATALOG_OVERLAY_FILE) {
            return Err(PolicyError::Data(format!(
                "the pack already has {CATALOG_OVERLAY_FILE}: merge the overlays into one file"
            )));
        }
        let mut files = self.files.clone();
        files.insert(CATALOG_OVERLAY_FILE.to_owned(), json.to_owned());
        Pack {
            catalog,
            files,
            digest: Hash::default(),
            evaluator: None,
            ..self.clone()
        }
        .validated()
    }
}

/// Whether a file name ends in `.<ext>` (in any case).
fn has_extension(name: &str, ext: &str) -> bool {
    Path::new(name)
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case(ext))
}

/// A catalog list (plain data) as JSON values.
fn to_values<T: serde::Serialize>(items: &[T]) -> Vec<Value> {
    items
        .iter()
        .map(|item| serde_json::to_value(item).expect("catalog items serialize (plain data)"))
        .collect()
}

/// Whether a module file is a Rego unit-test module.
#[must_use]
pub fn is_test_module(name: &str) -> bool {
    name.ends_with(TEST_MODULE_SUFFIX)
}

fn parse_manifest(text: &str) -> Result<(Manifest, Value)> {
    let value = strict_json(MANIFEST_FILE, text).map_err(PolicyError::Manifest)?;
    let manifest: Manifest =
        serde_json::from_value(value.clone()).map_err(|e| PolicyError::Manifest(e.to_string()))?;
    if manifest.schema != PACK_SCHEMA {
        return Err(PolicyError::Manifest(format!(
            "schema is {:?}, expected {PACK_SCHEMA:?}",
            manifest.schema
        )));
    }
    if manifest.name.trim().is_empty() {
        return Err(PolicyError::Manifest(
            "name is empty: give the pack a name so decisions can name it".to_owned(),
        ));
    }
    if manifest.version.trim().is_empty() {
        return Err(PolicyError::Manifest(
            "version is empty: give the pack a version so decisions can name it".to_owned(),
        ));
    }
    Ok((manifest, value))
}

fn strict_json(file: &str, text: &str) -> std::result::Result<Value, String> {
    asom_ledger::jcs::parse_strict(text.as_bytes()).map_err(|e| format!("{file}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_default_pack_matches_its_directory() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("packs/default");
        let from_dir = Pack::from_dir(&dir).unwrap();
        let embedded = Pack::default_pack().unwrap();
        assert_eq!(
            from_dir.modules().keys().collect::<Vec<_>>(),
            embedded.modules().keys().collect::<Vec<_>>(),
            "every file of packs/default must be listed in DEFAULT_PACK"
        );
        assert_eq!(from_dir.digest(), embedded.digest());
    }

    #[test]
    fn manifest_is_checked() {
        let with = |manifest: &str| {
            let mut files: BTreeMap<String, String> = DEFAULT_PACK
                .iter()
                .map(|(n, t)| ((*n).to_owned(), (*t).to_owned()))
                .collect();
            files.insert(MANIFEST_FILE.to_owned(), manifest.to_owned());
            Pack::from_files(files).unwrap_err().to_string()
        };
        assert!(with("{").contains("pack.json"));
        assert!(
            with(r#"{"schema":"asom.policy-pack.v2","name":"x","version":"1","needs_raw_evidence":false}"#)
                .contains("expected \"asom.policy-pack.v1\"")
        );
        assert!(
            with(r#"{"schema":"asom.policy-pack.v1","name":" ","version":"1","needs_raw_evidence":false}"#)
                .contains("name is empty")
        );
        assert!(
            with(r#"{"schema":"asom.policy-pack.v1","name":"x","version":"1"}"#)
                .contains("needs_raw_evidence")
        );
        assert!(
            with(r#"{"schema":"asom.policy-pack.v1","name":"x","version":"1","needs_raw_evidence":false,"extra":1}"#)
                .contains("unknown field")
        );
    }
}
