//! Evaluating a gate: a prepared regorus engine per pack, cloned per input.

use std::cmp::Ordering;
use std::collections::BTreeSet;

use asom_core::catalog::{ControlId, Gate};
use asom_ledger::Hash;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::pack::Pack;
use crate::{PolicyError, Result, input};

/// One reason a gate blocks.
///
/// Serialized into decisions (canonical JSON), so the field names are part of
/// the decision format.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Violation {
    /// The control, `C-NN`.
    pub control: String,
    /// The gate, `G1`..`G4`.
    pub gate: String,
    /// What is wrong, in words a newcomer understands.
    pub reason: String,
    /// What to do: the evidence category to add or the exact command to run.
    pub remediation: String,
    /// The ledger entries involved (failing evidence, an override), sorted.
    pub entries: Vec<String>,
}

impl Violation {
    fn sort_key(&self) -> (&str, &str, &str, &str, &[String]) {
        (
            &self.control,
            &self.reason,
            &self.gate,
            &self.remediation,
            &self.entries,
        )
    }
}

impl PartialOrd for Violation {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Violation {
    /// By control, then reason (then the other fields, so the order is total).
    fn cmp(&self, other: &Self) -> Ordering {
        self.sort_key().cmp(&other.sort_key())
    }
}

/// A pack's modules and data loaded into a prepared regorus engine.
///
/// Cheap to clone; [`Evaluator::evaluate`] clones the engine per call, so one
/// evaluator serves any number of evaluations (and threads).
#[derive(Clone)]
pub struct Evaluator {
    engine: regorus::Engine,
    pack_name: String,
    pack_digest: Hash,
    needs_raw_evidence: bool,
    sod_gates: BTreeSet<String>,
}

impl std::fmt::Debug for Evaluator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Evaluator")
            .field("pack_name", &self.pack_name)
            .field("pack_digest", &self.pack_digest)
            .finish_non_exhaustive()
    }
}

/// The rule path of a gate (`G3` → `data.asom.gates.g3.violations`).
#[must_use]
pub fn gate_rule(gate: &str) -> String {
    format!("data.asom.gates.{}.violations", gate.to_ascii_lowercase())
}

/// An engine with the pack's policy modules (tests optional) and data, and
/// the `(module file, package)` of each module loaded.
pub(crate) fn load_engine(
    pack: &Pack,
    with_tests: bool,
) -> Result<(regorus::Engine, Vec<(String, String)>)> {
    let mut engine = regorus::Engine::new();
    let mut packages = Vec::new();
    for (name, rego) in pack.modules() {
        if !with_tests && crate::pack::is_test_module(name) {
            continue;
        }
        let package =
            engine
                .add_policy(name.clone(), rego.clone())
                .map_err(|e| PolicyError::Rego {
                    module: name.clone(),
                    message: e.to_string(),
                })?;
        packages.push((name.clone(), package));
    }
    let data = rego_data(&pack.data())?;
    engine
        .add_data(data)
        .map_err(|e| PolicyError::Data(format!("the pack's data is refused by regorus: {e}")))?;
    Ok((engine, packages))
}

impl Evaluator {
    /// Loads the pack's policy modules and data, checks that every gate has
    /// its rule and blocks an empty input, and prepares the engine.
    pub fn new(pack: &Pack) -> Result<Self> {
        let (engine, packages) = load_engine(pack, false)?;
        let mut sod_gates = BTreeSet::new();
        if let Some(sod) = pack.catalog().control(ControlId::SEPARATION_OF_DUTIES) {
            sod_gates.extend(sod.gates.iter().map(|g: &Gate| g.as_str().to_owned()));
        }
        let mut evaluator = Self {
            engine,
            pack_name: pack.name().to_owned(),
            pack_digest: pack.digest(),
            needs_raw_evidence: pack.needs_raw_evidence(),
            sod_gates,
        };
        for gate in input::GATES {
            let package = format!("data.asom.gates.{}", gate.to_ascii_lowercase());
            let mut declared = false;
            for (module, _) in packages.iter().filter(|(_, p)| *p == package) {
                declared |= evaluator
                    .engine
                    .has_declared_rule_rooted_at(module, "violations")
                    .map_err(|e| PolicyError::Rego {
                        module: module.clone(),
                        message: e.to_string(),
                    })?;
            }
            if !declared {
                return Err(PolicyError::MissingGate {
                    pack: evaluator.pack_name.clone(),
                    gate: gate.to_owned(),
                });
            }
            // Evaluating on the engine itself (not a clone) prepares it once,
            // so every clone starts prepared. An empty input must block.
            let empty = serde_json::json!({ "gate": gate });
            if eval_gate(&mut evaluator.engine, gate, &empty)?.is_empty() {
                return Err(PolicyError::NotFailSafe {
                    pack: evaluator.pack_name.clone(),
                    gate: gate.to_owned(),
                });
            }
        }
        Ok(evaluator)
    }

    /// A copy of the prepared engine.
    pub(crate) fn engine_clone(&self) -> regorus::Engine {
        self.engine.clone()
    }

    /// The digest of the pack this evaluator runs.
    #[must_use]
    pub fn pack_digest(&self) -> Hash {
        self.pack_digest
    }

    /// The name of the pack this evaluator runs.
    #[must_use]
    pub fn pack_name(&self) -> &str {
        &self.pack_name
    }

    /// Evaluates the gate `input.gate` names. Returns its violations, sorted
    /// by control then reason, without duplicates: empty means the gate's
    /// requirements are met. Separation-of-duties violations in `input.sod`
    /// are included at the gates that check C-02 even if the pack left them
    /// out.
    pub fn evaluate(&self, input: &Value) -> Result<Vec<Violation>> {
        let gate = input::check(input)?;
        if self.needs_raw_evidence && !input.get("raw_evidence").is_some_and(Value::is_array) {
            return Err(PolicyError::Input(format!(
                "policy pack {} needs the raw evidence records: include them as raw_evidence (an array)",
                self.pack_name
            )));
        }
        let mut engine = self.engine.clone();
        let mut violations = eval_gate(&mut engine, gate, input)?;
        if self.sod_gates.contains(gate) {
            sod_floor(gate, input, &mut violations);
        }
        violations.sort();
        violations.dedup();
        Ok(violations)
    }
}

fn eval_gate(engine: &mut regorus::Engine, gate: &str, input: &Value) -> Result<Vec<Violation>> {
    let evaluation = |message: String| PolicyError::Evaluation {
        gate: gate.to_owned(),
        message,
    };
    engine.set_input(to_rego(input)?);
    let result = engine
        .eval_rule(gate_rule(gate))
        .map_err(|e| evaluation(e.to_string()))?;
    let malformed = |message: String| PolicyError::MalformedViolation {
        gate: gate.to_owned(),
        message,
    };
    let items: Vec<regorus::Value> = match &result {
        regorus::Value::Set(set) => set.iter().cloned().collect(),
        regorus::Value::Array(items) => items.iter().cloned().collect(),
        regorus::Value::Undefined => {
            return Err(evaluation(format!(
                "{} is undefined for this input: a gate rule must always produce a set (empty means pass)",
                gate_rule(gate)
            )));
        }
        other => {
            return Err(malformed(format!(
                "{} must be a set of violations, got {}",
                gate_rule(gate),
                clip(&other.to_string())
            )));
        }
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let json = serde_json::to_value(&item).map_err(|e| malformed(format!("not JSON: {e}")))?;
        out.push(check_violation(gate, json).map_err(malformed)?);
    }
    Ok(out)
}

/// The pack's data as regorus loads it: JSON, except that every list under
/// `data.asom.index` becomes a set, so rules combine them with set operators
/// (native code) instead of iterating.
fn rego_data(data: &Value) -> Result<regorus::Value> {
    fn sets(value: &Value) -> Result<regorus::Value> {
        Ok(match value {
            Value::Array(items) => regorus::Value::from(
                items
                    .iter()
                    .map(sets)
                    .collect::<Result<std::collections::BTreeSet<_>>>()?,
            ),
            Value::Object(map) => {
                let mut out = std::collections::BTreeMap::new();
                for (key, item) in map {
                    out.insert(regorus::Value::from(key.as_str()), sets(item)?);
                }
                regorus::Value::from(out)
            }
            other => to_rego(other)?,
        })
    }
    let Value::Object(top) = data else {
        return Err(PolicyError::Data(
            "the pack's data is not an object".to_owned(),
        ));
    };
    let mut out = std::collections::BTreeMap::new();
    for (key, item) in top {
        let converted = match (key.as_str(), item) {
            ("asom", Value::Object(asom)) => {
                let mut inner = std::collections::BTreeMap::new();
                for (k, v) in asom {
                    let v = if k == "index" { sets(v)? } else { to_rego(v)? };
                    inner.insert(regorus::Value::from(k.as_str()), v);
                }
                regorus::Value::from(inner)
            }
            _ => to_rego(item)?,
        };
        out.insert(regorus::Value::from(key.as_str()), converted);
    }
    Ok(regorus::Value::from(out))
}

/// Converts JSON to a regorus value directly: one allocation per string
/// (serde's path makes two), which is most of the cost for large evidence
/// views. Numbers go through regorus's own reader, so they mean the same.
fn to_rego(value: &Value) -> Result<regorus::Value> {
    Ok(match value {
        Value::Null => regorus::Value::Null,
        Value::Bool(b) => regorus::Value::Bool(*b),
        Value::String(s) => regorus::Value::from(s.as_str()),
        // Integers (the view's ledger indexes) directly; anything else
        // through regorus's own reader, so it means the same.
        Value::Number(n) if n.is_u64() => regorus::Value::from(n.as_u64().unwrap_or_default()),
        Value::Number(n) if n.is_i64() => regorus::Value::from(n.as_i64().unwrap_or_default()),
        Value::Number(_) => regorus::Value::deserialize(value)
            .map_err(|e| PolicyError::Input(format!("a number regorus cannot read: {e}")))?,
        Value::Array(items) => {
            regorus::Value::from(items.iter().map(to_rego).collect::<Result<Vec<_>>>()?)
        }
        Value::Object(map) => {
            let mut out = std::collections::BTreeMap::new();
            for (key, item) in map {
                out.insert(regorus::Value::from(key.as_str()), to_rego(item)?);
            }
            regorus::Value::from(out)
        }
    })
}

fn clip(text: &str) -> String {
    if text.chars().count() > 200 {
        format!("{}…", text.chars().take(200).collect::<String>())
    } else {
        text.to_owned()
    }
}

fn check_violation(gate: &str, json: Value) -> std::result::Result<Violation, String> {
    let shown = clip(&json.to_string());
    let v: Violation = serde_json::from_value(json).map_err(|e| {
        format!("{shown}: {e} (a violation is {{control, gate, reason, remediation, entries}})")
    })?;
    if ControlId::parse(&v.control).is_err() {
        return Err(format!("{shown}: control must be a control id C-NN"));
    }
    if v.gate != gate {
        return Err(format!("{shown}: gate must be {gate}"));
    }
    if v.reason.trim().is_empty() {
        return Err(format!("{shown}: reason is empty"));
    }
    if v.remediation.trim().is_empty() {
        return Err(format!("{shown}: remediation is empty"));
    }
    if v.entries.iter().any(|e| e.trim().is_empty()) {
        return Err(format!("{shown}: entries must be ledger entry ids"));
    }
    let mut v = v;
    v.entries.sort();
    v.entries.dedup();
    Ok(v)
}

/// The text of a separation-of-duties violation's reason. The default pack
/// writes exactly this (`lib.rego`, `sod_reason`), so the floor adds nothing
/// to its output.
fn sod_reason(rule: &str, message: &str) -> String {
    format!("separation of duties broken ({rule}): {message}")
}

const SOD_DEFAULT_REMEDIATION: &str = "the people named must not hold both duties: have another authorised person act, then check the gate again";

/// Adds the C-02 violations asom computed that the pack left out: packs
/// cannot remove separation of duties (DESIGN.md §5).
fn sod_floor(gate: &str, input: &Value, violations: &mut Vec<Violation>) {
    let text = |v: Option<&Value>, default: &str| -> String {
        match v {
            Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
            _ => default.to_owned(),
        }
    };
    let reported: Vec<Violation> = input
        .pointer("/sod/violations")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .map(|s| Violation {
                    control: "C-02".to_owned(),
                    gate: gate.to_owned(),
                    reason: sod_reason(
                        &text(s.get("rule"), "unknown rule"),
                        &text(s.get("message"), "no details given"),
                    ),
                    remediation: text(s.get("remediation"), SOD_DEFAULT_REMEDIATION),
                    entries: Vec::new(),
                })
                .collect()
        })
        .unwrap_or_default();
    let has_c02 = |vs: &[Violation], reason: &str| {
        vs.iter()
            .any(|v| v.control == "C-02" && v.reason.contains(reason))
    };
    let mut added = Vec::new();
    for v in &reported {
        let message = v
            .reason
            .split_once("): ")
            .map_or(v.reason.as_str(), |(_, m)| m);
        if !has_c02(violations, message) {
            added.push(v.clone());
        }
    }
    let holds = input.pointer("/sod/holds") == Some(&Value::Bool(true));
    if !holds && reported.is_empty() && !violations.iter().any(|v| v.control == "C-02") {
        added.push(Violation {
            control: "C-02".to_owned(),
            gate: gate.to_owned(),
            reason: "separation of duties was not shown to hold for this release (asom's check reported no result)".to_owned(),
            remediation: "check the release's separation of duties with asom release show; a gate passes only when the check ran and holds".to_owned(),
            entries: Vec::new(),
        });
    }
    violations.extend(added);
}

/// Whether an active emergency override (C-11) of `input.gate` covers every
/// violation, so the gate's result may be `override` rather than `block`.
///
/// True only at G3 and G4, when there are violations, and every one names a
/// control listed by an override of this gate that has not expired and has a
/// ledger entry. Separation of duties (C-02) and the override protocol itself
/// (C-11) are never covered. Deciding the result stays with the caller.
#[must_use]
pub fn override_covers(input: &Value, violations: &[Violation]) -> bool {
    let Some(gate) = input.get("gate").and_then(Value::as_str) else {
        return false;
    };
    if !matches!(gate, "G3" | "G4") || violations.is_empty() {
        return false;
    }
    let mut covered: BTreeSet<&str> = BTreeSet::new();
    for o in input
        .get("overrides")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let active = o.get("gate").and_then(Value::as_str) == Some(gate)
            && o.get("expired") == Some(&Value::Bool(false))
            && o.get("entry")
                .and_then(Value::as_str)
                .is_some_and(|e| !e.trim().is_empty());
        if active {
            covered.extend(
                o.get("controls")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str),
            );
        }
    }
    violations.iter().all(|v| {
        v.gate == gate
            && v.control != "C-02"
            && v.control != "C-11"
            && covered.contains(v.control.as_str())
    })
}
