//! Running a pack's own Rego unit tests (`*_test.rego`, rules named
//! `test_*`), the way `opa test` does: a test passes when its rule is `true`.

use serde::Serialize;

use crate::evaluator::load_engine;
use crate::pack::{Pack, is_test_module};
use crate::{PolicyError, Result};

/// The outcome of [`Pack::run_rego_tests`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RegoTestReport {
    /// The tests that passed, as `data.<package>.<rule>`.
    pub passed: Vec<String>,
    /// The tests that failed, with why (`false`, undefined, or an error).
    pub failed: Vec<(String, String)>,
}

impl RegoTestReport {
    /// Whether there were tests and all passed.
    #[must_use]
    pub fn all_passed(&self) -> bool {
        self.failed.is_empty() && !self.passed.is_empty()
    }
}

/// Parses and compiles every module of the pack, tests included.
/// Checks that the pack's test modules compile on top of an evaluator's
/// already compiled policy modules.
pub(crate) fn compile_tests_on(evaluator: &crate::Evaluator, pack: &Pack) -> Result<()> {
    let mut engine = evaluator.engine_clone();
    let mut any = false;
    for (name, rego) in pack.modules() {
        if crate::pack::is_test_module(name) {
            any = true;
            engine
                .add_policy(name.clone(), rego.clone())
                .map_err(|e| PolicyError::Rego {
                    module: name.clone(),
                    message: e.to_string(),
                })?;
        }
    }
    if any {
        engine
            .eval_query("true".to_owned(), false)
            .map_err(|e| PolicyError::Rego {
                module: "(the pack's modules together)".to_owned(),
                message: e.to_string(),
            })?;
    }
    Ok(())
}

/// The names of the `test_*` rules a module defines, in order, once each.
fn test_rules(rego: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for line in rego.lines() {
        // Rule heads start in column 0 in `opa fmt`-formatted code.
        if !line.starts_with("test_") {
            continue;
        }
        let name: String = line
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

impl Pack {
    /// Runs the pack's Rego unit tests: every `test_*` rule of every
    /// `*_test.rego` module must evaluate to `true`.
    pub fn run_rego_tests(&self) -> Result<RegoTestReport> {
        let (mut engine, packages) = load_engine(self, true)?;
        let mut report = RegoTestReport::default();
        for (module, package) in &packages {
            if !is_test_module(module) {
                continue;
            }
            for rule in test_rules(&self.modules()[module]) {
                let path = format!("{package}.{rule}");
                match engine.eval_rule(path.clone()) {
                    Ok(regorus::Value::Bool(true)) => report.passed.push(path),
                    Ok(regorus::Value::Undefined) => {
                        report
                            .failed
                            .push((path, "undefined (a condition failed)".to_owned()));
                    }
                    Ok(other) => report.failed.push((path, format!("{other}"))),
                    Err(e) => report.failed.push((path, format!("error: {e}"))),
                }
            }
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_test_rules_once() {
        let rego = "package x\n\ntest_a if {\n\ttrue\n}\n\ntest_a if true\n\ntest_b := true\n\n# test_c\nhelper_test_d := 1\n";
        assert_eq!(test_rules(rego), ["test_a", "test_b"]);
    }
}
