# G4 promote to PROD (DESIGN.md §3): the CRQ is approved for PROD by a
# human; G3 passed for this release; the governance verification is present;
# the controls the catalog checks at G4 are satisfied (C-09 observability,
# C-05 access control for PROD, C-10 cost and performance when material, and
# the others the catalog lists); no QA failure is unresolved; the change
# window is open. Separation of duties holds.
package asom.gates.g4

import rego.v1

violations contains v if {
	some v in data.asom.lib.crq_violations
}

violations contains v if {
	some v in data.asom.lib.approval_violations("prod", "PROD")
}

violations contains v if {
	some v in data.asom.lib.sod_violations
}

violations contains v if {
	some v in data.asom.lib.evidence_violations
}

violations contains v if {
	some v in data.asom.lib.profile_violations
}

violations contains v if {
	some v in data.asom.lib.commit_violations
}

violations contains v if {
	some v in data.asom.lib.override_violations
}

violations contains v if {
	not input.g3_passed == true
	v := data.asom.lib.violation(
		"C-01",
		"G3 (promote to QA) has not passed for this release: a release reaches PROD only through QA",
		sprintf("pass G3 first: asom gate check G3 --release %s, then asom promote --release %s --to QA", [data.asom.lib.release_id, data.asom.lib.release_id]),
		[],
	)
}

violations contains v if {
	is_object(input.crq)
	not input.crq.window_open == true
	v := data.asom.lib.violation(
		"C-01",
		window_reason,
		sprintf("promote inside CRQ %s's change window, or have the change manager schedule a window that includes now", [data.asom.lib.crq_number]),
		[],
	)
}

window_reason := sprintf("the change window of CRQ %s is closed: PROD changes happen only inside it", [data.asom.lib.crq_number]) if {
	input.crq.window_open == false
} else := sprintf("CRQ %s has no change window asom could read: PROD changes happen only inside one", [data.asom.lib.crq_number])

violations contains v if {
	not input.governance_verification == true
	v := data.asom.lib.violation(
		"C-02",
		"governance has not verified this release's evidence: before PROD, someone with the governance role who produced none of the evidence must verify it",
		sprintf("a governance reviewer who produced none of the evidence verifies the release: asom release verify %s (as a governance principal)", [data.asom.lib.release_id]),
		[],
	)
}

violations contains v if {
	not input.unresolved_qa_failures == 0
	v := data.asom.lib.violation(
		"C-03",
		qa_failures_reason,
		"resolve the failed QA tests (fix and rerun them, or record why each is not a defect), then check the gate again",
		[],
	)
}

qa_failures_reason := sprintf("%v QA failure(s) are unresolved: PROD waits until QA is clean", [n]) if {
	n := input.unresolved_qa_failures
	is_number(n)
} else := "the number of unresolved QA failures is unknown: PROD waits until QA is shown to be clean"

# Controls G4 wants proven *for PROD*: evidence produced in the prod
# environment (DESIGN.md §3, "C-05 for PROD"). Reported only when the control
# is otherwise proven, so a control with no evidence at all is one violation.
prod_environment_controls := {"C-05"}

violations contains v if {
	some id in data.asom.lib.passing_controls
	id in prod_environment_controls
	not prod_passing(id)
	v := data.asom.lib.violation(
		id,
		sprintf(
			"%s is not proven for PROD: its passing evidence was produced outside the prod environment",
			[data.asom.lib.control_name(id)],
		),
		sprintf(
			"run the %s checks against PROD and record the passing result with --environment prod: %s",
			[data.asom.lib.category_name(data.asom.lib.record_category(id)), prod_command(id)],
		),
		[],
	)
}

prod_passing(id) if {
	p := input.evidence.prod_controls[id]
	p.latest == "pass"
	is_array(p.passing)
	count(p.passing) > 0
}

prod_command(id) := sprintf(
	"asom evidence record --release %s --control %s --category %s --commit %s --environment prod --status pass --file <result file>",
	[data.asom.lib.release_id, id, data.asom.lib.record_category(id), data.asom.lib.head_commit],
)

violations contains v if {
	some v in data.asom.lib.planning_violations
}
