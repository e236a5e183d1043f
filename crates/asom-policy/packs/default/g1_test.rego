package asom.gates.g1_test

import rego.v1

import data.asom.fixtures
import data.asom.gates.g1

test_g1_passes if {
	count(g1.violations) == 0 with input as fixtures.g1
}

test_g1_blocks_without_jira_keys if {
	fixtures.controls_of(g1.violations) == {"C-03"} with input as object.union(fixtures.g1, {"change": {"jira_keys": []}})
	count(g1.violations) == 1 with input as object.union(fixtures.g1, {"change": {"jira_keys": []}})
}

test_g1_blocks_without_acceptance_criteria if {
	count(g1.violations) == 1 with input as object.union(fixtures.g1, {"change": {"jira_with_acceptance_criteria": []}})
}

test_g1_blocks_on_failed_t2 if {
	vs := g1.violations with input as object.union(fixtures.g1, {"evidence": {"categories": {"T2": fixtures.failing("e-bad")}}})
	some v in vs
	v.entries == ["e-bad"]
}

test_g1_blocks_on_missing_t1 if {
	count(g1.violations) == 1 with input as object.union(fixtures.g1, {"evidence": {"categories": {"T1": fixtures.none}}})
}

test_g1_blocks_without_change if {
	count(g1.violations) > 0 with input as object.union(fixtures.g1, {"change": null})
}

test_g1_refuses_overrides if {
	fixtures.controls_of(g1.violations) == {"C-11"} with input as object.union(fixtures.g1, {"overrides": [{"gate": "G1", "controls": ["C-03"], "entry": "o1", "expired": false}]})
}

test_g1_accepts_ledger_indexes_as_entries if {
	count(g1.violations) == 0 with input as object.union(fixtures.g1, {"evidence": {"categories": {
		"T1": {"passing": [41], "failing": [], "info": [], "latest": "pass"},
		"T2": {"passing": [42, 57], "failing": [], "info": [], "latest": "pass"},
	}}})
}
