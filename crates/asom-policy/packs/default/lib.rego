# Shared rules of asom's default policy pack.
#
# The gate modules (g1.rego .. g4.rego) build their `violations` sets from
# the rules here. Everything is written fail-safe: a rule that says something
# *passes* requires the field to be present and to hold the right value, and a
# violation is raised with `not <passes>`, so a missing field, a null, a wrong
# type or an empty list always blocks, never passes.
#
# Data (loaded by asom, never by the pack itself):
#   data.asom.catalog  the control catalog (asom.catalog.v1) as shipped: the
#                      controls with their gates and test categories, the
#                      taxonomy, the minimum test categories per change type
#   data.asom.index    the same catalog indexed by asom when the pack loads
#                      (every list in it is a set):
#                      controls, category_titles and change_types by id;
#                      checked[gate] and checked_when_material[gate], the
#                      controls a normal evaluation of a gate checks, and
#                      evidence_checked[gate] and
#                      evidence_checked_when_material[gate], those of them
#                      proven by evidence; controls_of_category[T], the
#                      controls a test category helps prove
#   data.asom.pack     {"name", "version"} of the pack being evaluated
#
# Input: the compact view of one release (or one change for G1) that asom
# builds from its ledger; see the asom-policy crate documentation. asom
# evaluates data.asom.gates.<input.gate>.violations, so the rules here take
# the gate from input.gate.
#
# Written for regorus's interpreter: rules are preferred to functions (a rule
# is computed once per evaluation, a function at every call), sets are built
# with `contains` rules and set operators, and gate modules refer to these
# rules by their full path (data.asom.lib.x): through an `import` alias
# regorus evaluates the whole package on every reference.
package asom.lib

import rego.v1

# ---------------------------------------------------------------------------
# The catalog
# ---------------------------------------------------------------------------

idx := data.asom.index

controls := idx.controls

change_types := idx.change_types

# The gate being evaluated. Without one, violations still come out (naming
# no gate, which asom refuses as malformed): a missing gate never passes.
gate := input.gate if {
	is_string(input.gate)
} else := "(no gate)"

# "C-06 (data quality)", or the bare id for a control the catalog lacks.
control_name(id) := sprintf("%s (%s)", [id, controls[id].title])

control_name(id) := id if {
	not controls[id]
}

# "T3 (data quality)", or the bare id for a category the catalog lacks.
category_name(t) := sprintf("%s (%s)", [t, idx.category_titles[t]])

category_name(t) := t if {
	not idx.category_titles[t]
}

# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------

non_empty_string(s) if {
	is_string(s)
	trim_space(s) != ""
}

non_empty_array(a) if {
	is_array(a)
	count(a) > 0
}

# A ledger entry named by asom's view (its index) or by its id.
entry_named(e) if {
	is_number(e)
	e >= 0
}

entry_named(e) if non_empty_string(e)

# "a, b, c" for a set or array of strings.
joined(xs) := concat(", ", sort([x | some x in xs]))

# The violation shape every gate returns. `entries` name ledger entries as
# text: the evidence view's ledger indexes ("41"), which asom turns into
# entry ids, or ids as given (an override's).
violation(control, reason, remediation, entries) := {
	"control": control,
	"gate": gate,
	"reason": reason,
	"remediation": remediation,
	"entries": sort([entry_ref(e) | some e in entries]),
}

entry_ref(e) := sprintf("%d", [e]) if {
	is_number(e)
} else := e

# What remediation commands name when the input does not say.
release_id := input.release.id if {
	non_empty_string(input.release.id)
} else := "<release>"

crq_number := input.crq.number if {
	non_empty_string(input.crq.number)
} else := input.release.crq if {
	non_empty_string(input.release.crq)
} else := "<CRQ>"

# The release's head commit: `release.commits` lists commits oldest first.
head_commit := c if {
	non_empty_array(input.release.commits)
	c := input.release.commits[count(input.release.commits) - 1]
	non_empty_string(c)
} else := "<commit>"

# Input values as text for a reason, "(none)" when missing.
shown_change_type := sprintf("%v", [v]) if {
	v := input.product.change_type
} else := "(none)"

shown_release_crq := sprintf("%v", [v]) if {
	v := input.release.crq
} else := "(none)"

shown_crq_state := sprintf("%v", [v]) if {
	v := input.crq.state
} else := "(none)"

# ---------------------------------------------------------------------------
# The product: change type, materiality, exclusions, exceptions
# ---------------------------------------------------------------------------

material if input.product.material == true

change_type_known if change_types[input.product.change_type]

# The minimum test categories of the product's change type (plus the
# material ones when the change is material). Empty when the change type is
# unknown: `profile_violations` blocks that case.
minimum := rule.minimum | rule.when_material if {
	rule := change_types[input.product.change_type]
	material
} else := rule.minimum if {
	rule := change_types[input.product.change_type]
} else := set()

# Only evidence-proven controls can be excluded by the product or marked N/A:
# change authorisation (change system), separation of duties (computed) and
# the emergency override protocol never can.
waived contains id if {
	is_array(input.product.excluded_controls)
	some id in input.product.excluded_controls
	controls[id].proof == "evidence"
}

# An approved N/A names the human who approved it and its ledger entry.
waived contains id if {
	is_object(input.exceptions)
	some id, e in input.exceptions
	controls[id].proof == "evidence"
	non_empty_string(e.approved_by)
	non_empty_string(e.entry)
}

# ---------------------------------------------------------------------------
# Which controls the gate checks
# ---------------------------------------------------------------------------

# Every control the catalog checks at the gate for this product.
gate_controls := idx.checked[gate] | idx.checked_when_material[gate] if {
	material
} else := idx.checked[gate] if {
	idx.checked[gate]
} else := set()

# The evidence-proven controls the gate checks, minus exclusions and N/As.
evidence_controls := (idx.evidence_checked[gate] | idx.evidence_checked_when_material[gate]) - waived if {
	material
} else := idx.evidence_checked[gate] - waived if {
	idx.evidence_checked[gate]
} else := set()

# The categories a control needs: those of its categories that the product's
# change type requires.
required(id) := {t | some t in controls[id].categories; minimum[t]}

# ---------------------------------------------------------------------------
# Evidence status (the compact view: passing/failing/info ids and the status
# of the latest entry, per category and per control)
#
# A category or control passes when its latest result passed and the passing
# entries are in the ledger (ids given). Info entries prove nothing. The
# rules below are arranged so that a release with complete evidence costs a
# few lookups per control: the violation rules only iterate what is missing.
# ---------------------------------------------------------------------------

passing_categories contains t if {
	is_object(input.evidence.categories)
	some t, v in input.evidence.categories
	v.latest == "pass"
	is_array(v.passing)
	count(v.passing) > 0
}

failing_categories contains t if {
	is_object(input.evidence.categories)
	some t, v in input.evidence.categories
	v.latest == "fail"
}

# Required categories with no result (neither passing nor failing latest).
missing_categories := (minimum - passing_categories) - failing_categories

passing_controls contains id if {
	some id in evidence_controls
	v := input.evidence.controls[id]
	v.latest == "pass"
	is_array(v.passing)
	count(v.passing) > 0
}

failing_controls contains id if {
	some id in evidence_controls
	input.evidence.controls[id].latest == "fail"
}

category_failing(t) := {e | some e in input.evidence.categories[t].failing}

control_failing(id) := {e | some e in input.evidence.controls[id].failing}

# [control, category] pairs: a required category with no result, and any
# category of the control whose latest result failed.
missing_pairs contains [id, t] if {
	some t in missing_categories
	some id in idx.controls_of_category[t]
	evidence_controls[id]
}

failing_pairs contains [id, t] if {
	some t in failing_categories
	some id in idx.controls_of_category[t]
	evidence_controls[id]
}

# Controls whose category-level problems explain why they are not proven.
category_problem contains pair[0] if some pair in missing_pairs

category_problem contains pair[0] if some pair in failing_pairs

# The category a remediation command records: the first required one, else
# the first the control lists, else none.
record_category(id) := t if {
	t := sort([x | some x in required(id)])[0]
} else := t if {
	t := sort([x | some x in controls[id].categories])[0]
} else := ""

record_command(id, t, commit) := sprintf(
	"asom evidence record --release %s --control %s --category %s --commit %s --status pass --file <result file>",
	[release_id, id, t, commit],
) if {
	t != ""
} else := sprintf(
	"asom evidence record --release %s --control %s --commit %s --status pass --file <artifact>",
	[release_id, id, commit],
)

record_remediation(id, t) := sprintf(
	"run the %s checks in CI for the release's head commit and record the passing result as the CI machine principal: %s",
	[category_name(t), record_command(id, t, head_commit)],
) if {
	t != ""
} else := sprintf(
	"record %s evidence (%s) from CI as its machine principal: %s",
	[control_name(id), controls[id].proven_by, record_command(id, t, head_commit)],
)

proven_by_hint(id) := sprintf("; it is proven by %s", [concat(", ", names)]) if {
	names := [category_name(t) | some t in sort([x | some x in controls[id].categories])]
	count(names) > 0
} else := ""

# Violations for the evidence-proven controls of the gate (G3 and G4): each
# required category must have a passing latest result, no category of the
# control may have a failing latest result, and the control itself must have
# passing latest evidence. A category problem is reported per category; the
# control-level problem only when no category problem explains it, so one
# missing result is one violation.
evidence_violations contains v if {
	some pair in missing_pairs
	[id, t] := pair
	v := violation(
		id,
		sprintf(
			"%s needs passing %s results: the product's change type (%s) requires them, and none has been recorded for this release",
			[control_name(id), category_name(t), shown_change_type],
		),
		record_remediation(id, t),
		[],
	)
}

evidence_violations contains v if {
	some pair in failing_pairs
	[id, t] := pair
	v := violation(
		id,
		sprintf(
			"%s is not proven: the latest %s result for this release failed (a failure blocks until a later run passes)",
			[control_name(id), category_name(t)],
		),
		sprintf("fix what the failing %s result reports, then rerun it; %s", [category_name(t), record_remediation(id, t)]),
		category_failing(t),
	)
}

evidence_violations contains v if {
	some id in ((evidence_controls - passing_controls) - failing_controls) - category_problem
	v := violation(
		id,
		sprintf("%s has no passing evidence recorded for this release%s", [control_name(id), proven_by_hint(id)]),
		record_remediation(id, record_category(id)),
		[],
	)
}

evidence_violations contains v if {
	some id in failing_controls - category_problem
	v := violation(
		id,
		sprintf(
			"%s is not proven: the latest evidence recorded for it failed (a failure blocks until a later run passes)",
			[control_name(id)],
		),
		sprintf("fix what the failing evidence reports, then %s", [record_remediation(id, record_category(id))]),
		control_failing(id),
	)
}

# ---------------------------------------------------------------------------
# The product profile (control applicability assessment)
# ---------------------------------------------------------------------------

change_type_names := joined(object.keys(change_types))

profile_violations contains v if {
	not change_type_known
	v := violation(
		"C-03",
		sprintf(
			"the product's change type %s is missing or unknown, so the test categories this release must prove cannot be decided (known change types: %s)",
			[shown_change_type, change_type_names],
		),
		sprintf("set the product's change type to one of %s", [change_type_names]),
		[],
	)
}

profile_violations contains v if {
	not is_boolean(input.product.material)
	v := violation(
		"C-10",
		"the product does not say whether its changes are material (true or false), so the cost and performance guardrails that apply cannot be decided",
		"set the product's materiality (material: true or false) in its profile",
		[],
	)
}

profile_violations contains v if {
	not non_empty_string(input.product.classification)
	v := violation(
		"C-04",
		"the product has no data classification, so its data handling rules cannot be assessed",
		"set the product's data classification (e.g. public, internal, confidential, restricted) in its profile",
		[],
	)
}

# ---------------------------------------------------------------------------
# The change request (C-01)
# ---------------------------------------------------------------------------

# The change system could not be read (asom recorded the failed read): the
# gate blocks and says so; it never decides without the CRQ.
change_system_error := e if {
	e := input.change_system.error
	non_empty_string(e)
}

change_system_name := p if {
	p := input.change_system.provider
	non_empty_string(p)
} else := "the change system"

crq_violations contains v if {
	change_system_error
	v := violation(
		"C-01",
		sprintf("the CRQ could not be read from %s: %s; asom never decides without reading it", [change_system_name, change_system_error]),
		"fix the connection to the change system (asom doctor shows what fails), then check the gate again",
		[],
	)
}

# Stories the gate reads could not be read from the planning system.
planning_violations contains v if {
	is_object(input.planning.errors)
	some key, e in input.planning.errors
	v := violation(
		"C-03",
		sprintf("story %s could not be read from the planning system: %v; asom never decides without reading it", [key, e]),
		"fix the connection to the planning system (asom doctor shows what fails), then check the gate again",
		[],
	)
}

crq_violations contains v if {
	not is_object(input.crq)
	not change_system_error
	v := violation(
		"C-01",
		"the release has no change request (CRQ): exactly one CRQ must govern every release",
		sprintf("create the release's CRQ: asom crq create --release %s", [release_id]),
		[],
	)
}

crq_violations contains v if {
	is_object(input.crq)
	not crq_bound
	v := violation(
		"C-01",
		sprintf(
			"the release is not bound to the CRQ that was read: the release names %s, the change system returned %s",
			[shown_release_crq, crq_number],
		),
		sprintf("lock the release's scope with its one CRQ (asom crq create --release %s) and check the gate again", [release_id]),
		[],
	)
}

crq_bound if {
	input.release.crq == input.crq.number
	is_string(input.crq.number)
	input.crq.number != ""
}

crq_violations contains v if {
	is_object(input.crq)
	not input.crq.shared == false
	v := violation(
		"C-01",
		sprintf("CRQ %s is shared with another release: each release needs exactly one CRQ of its own", [crq_number]),
		sprintf("create a CRQ for this release alone (asom crq create --release %s) and cancel its use by the other release", [release_id]),
		[],
	)
}

crq_violations contains v if {
	is_object(input.crq)
	not crq_open
	v := violation(
		"C-01",
		sprintf("CRQ %s is in state %s: only an open CRQ can authorise a release", [crq_number, shown_crq_state]),
		sprintf("use an open CRQ: create a new one for the release (asom crq create --release %s)", [release_id]),
		[],
	)
}

dead_crq_states := {"closed", "canceled", "cancelled"}

crq_open if {
	non_empty_string(input.crq.state)
	not lower(input.crq.state) in dead_crq_states
}

# The CRQ approval for `stage` ("qa" or "prod") by a human release approver.
approval_violations(stage, stage_name) := {v |
	is_object(input.crq)
	not input.crq.approval[stage] == "approved"
	v := violation(
		"C-01",
		approval_reason(stage, stage_name),
		sprintf(
			"a release approver who authored none of the release's commits approves CRQ %s for %s in the change system (built-in: asom crq approve %s --stage %s)",
			[crq_number, stage_name, crq_number, stage],
		),
		[],
	)
}

approval_reason(stage, stage_name) := sprintf(
	"CRQ %s was rejected for %s: a human approval for %s is required",
	[crq_number, stage_name, stage_name],
) if {
	input.crq.approval[stage] == "rejected"
} else := sprintf(
	"CRQ %s is not approved for %s yet (its %s approval is %s): a human release approver must approve it",
	[crq_number, stage_name, stage_name, approval_status(stage)],
)

approval_status(stage) := sprintf("%v", [v]) if {
	v := input.crq.approval[stage]
} else := "missing"

# ---------------------------------------------------------------------------
# Separation of duties (C-02): computed by asom in Rust; reported here
# ---------------------------------------------------------------------------

sod_violations contains v if {
	is_array(input.sod.violations)
	some s in input.sod.violations
	v := violation("C-02", sod_reason(s), sod_remediation(s), [])
}

sod_violations contains v if {
	not input.sod.holds == true
	not non_empty_array(input.sod.violations)
	v := violation(
		"C-02",
		"separation of duties was not shown to hold for this release (asom's check reported no result)",
		"check the release's separation of duties with asom release show; a gate passes only when the check ran and holds",
		[],
	)
}

# The Rust side adds exactly this text when a pack leaves a SoD violation out,
# so keep the two in step (asom-policy's `sod_floor`).
sod_reason(s) := sprintf("separation of duties broken (%s): %s", [sod_rule(s), sod_message(s)])

sod_rule(s) := s.rule if {
	non_empty_string(s.rule)
} else := "unknown rule"

sod_message(s) := s.message if {
	non_empty_string(s.message)
} else := "no details given"

sod_remediation(s) := s.remediation if {
	non_empty_string(s.remediation)
} else := "the people named must not hold both duties: have another authorised person act, then check the gate again"

# ---------------------------------------------------------------------------
# Overrides (C-11)
# ---------------------------------------------------------------------------

# G1 and G2 can never be overridden.
override_violations contains v if {
	gate in {"G1", "G2"}
	is_array(input.overrides)
	some o in input.overrides
	o.gate == gate
	v := violation(
		"C-11",
		sprintf("%s can never be overridden: an emergency override was recorded for it and is ignored", [gate]),
		sprintf("meet %s's requirements; the emergency override protocol applies to G3 and G4 only", [gate]),
		override_entries(o),
	)
}

# An expired override (or one that does not say it is not) blocks again.
override_violations contains v if {
	gate in {"G3", "G4"}
	is_array(input.overrides)
	some o in input.overrides
	o.gate == gate
	not o.expired == false
	v := violation(
		"C-11",
		sprintf(
			"the emergency override of %s for %s passed its remediation deadline without the deferred evidence being recorded",
			[gate, override_controls(o)],
		),
		override_remediation(o),
		override_entries(o),
	)
}

override_remediation(o) := sprintf(
	"record the deferred evidence (%s), then close the override: asom override remediate %s",
	[override_controls(o), substring(o.entry, 0, 12)],
) if {
	non_empty_string(o.entry)
	count(o.entry) >= 12
} else := "record the deferred evidence for the controls it names, close the override with asom override remediate <id>, then check the gate again"

override_controls(o) := joined(o.controls) if {
	non_empty_array(o.controls)
} else := "no named controls"

override_entries(o) := [o.entry] if {
	non_empty_string(o.entry)
} else := []

# ---------------------------------------------------------------------------
# Release facts
# ---------------------------------------------------------------------------

scope_violations contains v if {
	not scope_defined
	v := violation(
		"C-03",
		"the release's scope is empty: it must list the Jira keys it delivers",
		sprintf("add the Jira keys of the release's scope: asom release scope %s --jira <KEY>", [release_id]),
		[],
	)
}

scope_defined if {
	non_empty_array(input.release.scope)
	every k in input.release.scope {
		non_empty_string(k)
	}
}

commit_violations contains v if {
	not non_empty_array(input.release.commits)
	v := violation(
		"C-07",
		"the release lists no commits, so nothing binds its evidence to the code being promoted",
		sprintf("add the release's recorded commits: asom release scope %s --commit <sha>", [release_id]),
		[],
	)
}
