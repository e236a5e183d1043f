package asom.gates.g3_test

import rego.v1

import data.asom.fixtures
import data.asom.gates.g3

test_g3_passes if {
	count(g3.violations) == 0 with input as fixtures.g3
}

test_g3_blocks_without_qa_approval if {
	fixtures.controls_of(g3.violations) == {"C-01"} with input as object.union(fixtures.g3, {"crq": {"approval": {"qa": "pending"}}})
}

test_g3_blocks_on_missing_dq_results if {
	vs := g3.violations with input as object.union(fixtures.g3, {"evidence": {"categories": {"T3": fixtures.none}}})
	fixtures.controls_of(vs) == {"C-06"}
	count(vs) == 1
}

test_g3_blocks_on_failed_dq_results if {
	vs := g3.violations with input as object.union(fixtures.g3, {"evidence": {"categories": {"T3": fixtures.failing("e-dq")}}})
	some v in vs
	v.control == "C-06"
	v.entries == ["e-dq"]
}

test_g3_accepts_an_approved_na if {
	count(g3.violations) == 0 with input as object.union(fixtures.g3, {
		"evidence": {"controls": {"C-05": fixtures.none}},
		"exceptions": {"C-05": {"approved_by": "gina", "entry": "n1"}},
	})
}

test_g3_reports_sod if {
	fixtures.controls_of(g3.violations) == {"C-02"} with input as object.union(fixtures.g3, {"sod": {"holds": false, "violations": [{"rule": "author-approves", "message": "alice approved her own change", "identities": ["alice"]}]}})
}

test_g3_blocks_without_qa_report if {
	fixtures.controls_of(g3.violations) == {"C-03"} with input as object.union(fixtures.g3, {"qa_report": false})
}

test_g3_blocks_on_expired_override if {
	fixtures.controls_of(g3.violations) == {"C-11"} with input as object.union(fixtures.g3, {"overrides": [{"gate": "G3", "controls": ["C-05"], "entry": "o1", "expired": true}]})
}

test_g3_blocks_when_the_change_system_cannot_be_read if {
	vs := g3.violations with input as object.union(fixtures.g3, {
		"crq": null,
		"change_system": {"provider": "servicenow", "error": "ServiceNow: 401 Unauthorized"},
	})
	fixtures.controls_of(vs) == {"C-01"}
	count(vs) == 1
	some v in vs
	contains(v.reason, "could not be read from servicenow: ServiceNow: 401 Unauthorized")
}

test_g3_blocks_when_a_story_cannot_be_read if {
	vs := g3.violations with input as object.union(fixtures.g3, {"planning": {"errors": {"SALES-1": "Jira: timeout"}}})
	fixtures.controls_of(vs) == {"C-03"}
}
