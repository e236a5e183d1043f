package asom.gates.g4_test

import rego.v1

import data.asom.fixtures
import data.asom.gates.g4

test_g4_passes if {
	count(g4.violations) == 0 with input as fixtures.g4
}

test_g4_blocks_without_prod_approval if {
	fixtures.controls_of(g4.violations) == {"C-01"} with input as object.union(fixtures.g4, {"crq": {"approval": {"prod": "rejected"}}})
}

test_g4_blocks_when_g3_did_not_pass if {
	fixtures.controls_of(g4.violations) == {"C-01"} with input as object.union(fixtures.g4, {"g3_passed": false})
}

test_g4_blocks_outside_the_window if {
	fixtures.controls_of(g4.violations) == {"C-01"} with input as object.union(fixtures.g4, {"crq": {"window_open": null}})
}

test_g4_needs_access_control_proven_for_prod if {
	vs := g4.violations with input as object.union(fixtures.g4, {"evidence": {"prod_controls": {"C-05": fixtures.none}}})
	fixtures.controls_of(vs) == {"C-05"}
	some v in vs
	contains(v.reason, "not proven for PROD")
	contains(v.remediation, "--environment prod")
}

test_g4_a_failing_prod_result_blocks if {
	vs := g4.violations with input as object.union(fixtures.g4, {"evidence": {"prod_controls": {"C-05": fixtures.failing("e-x")}}})
	fixtures.controls_of(vs) == {"C-05"}
}

test_g4_access_control_missing_everywhere_is_one_violation if {
	vs := g4.violations with input as object.union(fixtures.g4, {"evidence": {"controls": {"C-05": fixtures.none}, "prod_controls": {"C-05": fixtures.none}}})
	count({v | some v in vs; v.control == "C-05"}) == 1
}

test_g4_needs_observability_evidence if {
	fixtures.controls_of(g4.violations) == {"C-09"} with input as object.union(fixtures.g4, {"evidence": {"controls": {"C-09": fixtures.none}}})
}

test_g4_needs_cost_evidence_when_material if {
	vs := g4.violations with input as object.union(fixtures.g4, {
		"product": {"material": true},
		"evidence": {"controls": {"C-10": fixtures.none}},
	})
	fixtures.controls_of(vs) == {"C-10"}
}

test_g4_blocks_on_unresolved_qa_failures if {
	fixtures.controls_of(g4.violations) == {"C-03"} with input as object.union(fixtures.g4, {"unresolved_qa_failures": 2})
}

test_g4_blocks_without_governance_verification if {
	fixtures.controls_of(g4.violations) == {"C-02"} with input as object.union(fixtures.g4, {"governance_verification": false})
}
