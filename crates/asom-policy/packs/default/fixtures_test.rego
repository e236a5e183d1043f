# Inputs shared by the default pack's Rego unit tests: a release of an
# incremental change whose every gate passes. Tests change one fact at a time.
package asom.fixtures

import rego.v1

passing(id) := {"passing": [id], "failing": [], "info": [], "latest": "pass"}

failing(id) := {"passing": [], "failing": [id], "info": [], "latest": "fail"}

none := {"passing": [], "failing": [], "info": [], "latest": null}

release := {
	"release": {"id": "sales@1.4.0", "scope": ["SALES-1", "SALES-2"], "commits": ["aaaa", "bbbb"], "crq": "CRQ0000001"},
	"product": {
		"slug": "sales", "change_type": "incremental-change", "classification": "confidential",
		"material": false, "excluded_controls": [],
	},
	"change": null,
	"evidence": {
		"categories": {
			"T1": passing("e-t1"), "T2": passing("e-t2"), "T3": passing("e-t3"), "T4": passing("e-t4"),
			"T5": passing("e-t5"), "T6": passing("e-t6"), "T7": none, "T8": passing("e-t8"),
		},
		"controls": {
			"C-01": none, "C-02": none, "C-03": passing("e-c03"), "C-04": passing("e-c04"),
			"C-05": passing("e-c05"), "C-06": passing("e-c06"), "C-07": passing("e-c07"),
			"C-08": passing("e-c08"), "C-09": passing("e-c09"), "C-10": passing("e-c10"), "C-11": none,
		},
		"prod_controls": {"C-05": passing("e-c05-prod")},
	},
	"exceptions": {},
	"overrides": [],
	"crq": {
		"number": "CRQ0000001", "type": "normal", "state": "scheduled", "shared": false,
		"approval": {"qa": "approved", "prod": "approved"}, "window_open": true,
	},
	"sod": {"holds": true, "violations": []},
	"qa_report": true,
	"governance_verification": true,
	"unresolved_qa_failures": 0,
	"g3_passed": true,
}

g1 := object.union(release, {
	"gate": "G1",
	"change": {"commit": "bbbb", "jira_keys": ["SALES-1"], "jira_with_acceptance_criteria": ["SALES-1"]},
})

g2 := object.union(release, {"gate": "G2"})

g3 := object.union(release, {"gate": "G3"})

g4 := object.union(release, {"gate": "G4"})

# The controls named by a set of violations.
controls_of(vs) := {v.control | some v in vs}
