# G1 PR merge (DESIGN.md §3): the change links Jira keys with acceptance
# criteria; the test categories of the controls checked at G1 (C-03: T1 unit/
# logic and T2 contract/schema) ran for that commit and the latest result of
# each passed; the evidence is in the ledger. G1 can never be overridden.
#
# The evidence view of a G1 input covers the change's commit only. Product
# exclusions and N/A exceptions belong to releases and do not apply here.
package asom.gates.g1

import rego.v1

commit := input.change.commit if {
	data.asom.lib.non_empty_string(input.change.commit)
} else := "<sha>"

product := input.product.slug if {
	data.asom.lib.non_empty_string(input.product.slug)
} else := "<product>"

violations contains v if {
	not is_object(input.change)
	v := data.asom.lib.violation(
		"C-03",
		"G1 was asked about no change: it checks one commit, its Jira links and its T1/T2 results",
		"record the commit and check the gate for it: asom change record --product <product> --commit <sha> --jira <KEY>, then asom gate check G1 --release <release> --commit <sha>",
		[],
	)
}

violations contains v if {
	is_object(input.change)
	not data.asom.lib.non_empty_string(input.change.commit)
	v := data.asom.lib.violation(
		"C-03",
		"the change names no commit SHA, so its tests cannot be tied to the code being merged",
		"check the gate for a recorded commit: asom gate check G1 --release <release> --commit <sha>",
		[],
	)
}

violations contains v if {
	is_object(input.change)
	not jira_linked
	v := data.asom.lib.violation(
		"C-03",
		sprintf("commit %s links no Jira key: every change must reference the story it implements", [commit]),
		sprintf(
			"reference the story's Jira key in the commit or pull request, and record the change with it: asom change record --product %s --commit %s --jira <KEY>",
			[product, commit],
		),
		[],
	)
}

jira_linked if {
	data.asom.lib.non_empty_array(input.change.jira_keys)
	every k in input.change.jira_keys {
		data.asom.lib.non_empty_string(k)
	}
}

violations contains v if {
	is_object(input.change)
	some k in input.change.jira_keys
	data.asom.lib.non_empty_string(k)
	not has_acceptance_criteria(k)
	v := data.asom.lib.violation(
		"C-03",
		sprintf("Jira issue %s has no acceptance criteria: a change may only merge against a story whose acceptance criteria are written down", [k]),
		sprintf("write the acceptance criteria of %s in Jira (a human task), then check the gate again", [k]),
		[],
	)
}

has_acceptance_criteria(k) if {
	is_array(input.change.jira_with_acceptance_criteria)
	k in input.change.jira_with_acceptance_criteria
}

# [control, category] pairs G1 needs: every category of every control the
# catalog checks at G1.
required contains [id, t] if {
	some id in data.asom.lib.gate_controls
	some t in data.asom.lib.controls[id].categories
}

# A category ran for the commit and its latest result passed, with ledger
# entries named.
recorded(t) if {
	data.asom.lib.passing_categories[t]
	every e in input.evidence.categories[t].passing {
		data.asom.lib.entry_named(e)
	}
}

test_command(id, t) := sprintf(
	"run the %s tests in CI for commit %s and record the report as the CI machine principal: asom evidence record --control %s --category %s --commit %s --junit <report.xml>",
	[data.asom.lib.category_name(t), commit, id, t, commit],
)

violations contains v if {
	some pair in required
	id := pair[0]
	t := pair[1]
	not recorded(t)
	not data.asom.lib.failing_categories[t]
	v := data.asom.lib.violation(
		id,
		sprintf("%s needs a passing %s result for commit %s, and none is in the ledger", [data.asom.lib.control_name(id), data.asom.lib.category_name(t), commit]),
		test_command(id, t),
		[],
	)
}

violations contains v if {
	some pair in required
	id := pair[0]
	t := pair[1]
	data.asom.lib.failing_categories[t]
	v := data.asom.lib.violation(
		id,
		sprintf("%s is not proven: the latest %s result for commit %s failed", [data.asom.lib.control_name(id), data.asom.lib.category_name(t), commit]),
		sprintf("fix the failing tests, then %s", [test_command(id, t)]),
		data.asom.lib.category_failing(t),
	)
}

violations contains v if {
	some v in data.asom.lib.override_violations
}

violations contains v if {
	some v in data.asom.lib.planning_violations
}
