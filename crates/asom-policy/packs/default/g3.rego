# G3 promote to QA (DESIGN.md §3): the CRQ is approved for QA by a human;
# every control applicable at G3 has passing evidence bound to this
# release's commit, build and CRQ (or an approved N/A); separation of duties
# holds; the QA execution report is present.
#
# "Passing" means the latest result passed: a failure followed by a pass
# counts as passing, a pass followed by a failure blocks (both entries stay
# in the ledger and in reports). The evidence view a G3 input carries holds
# only evidence bound to this release (asom filters it before evaluation).
package asom.gates.g3

import rego.v1

violations contains v if {
	some v in data.asom.lib.crq_violations
}

violations contains v if {
	some v in data.asom.lib.approval_violations("qa", "QA")
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
	not input.qa_report == true
	v := data.asom.lib.violation(
		"C-03",
		"no QA execution report is recorded for this release: QA must show which tests ran against the stories' acceptance criteria",
		sprintf(
			"record the QA execution report from the QA pipeline as its machine principal: asom evidence record --release %s --control C-03 --source-type qa-execution-report --commit %s --status pass --file <report>",
			[data.asom.lib.release_id, data.asom.lib.head_commit],
		),
		[],
	)
}

violations contains v if {
	some v in data.asom.lib.planning_violations
}
