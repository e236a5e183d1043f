package asom.lib_test

import rego.v1

import data.asom.fixtures
import data.asom.lib

test_catalog_is_indexed if {
	lib.controls["C-06"].title == "data quality"
	lib.category_name("T3") == "T3 (data quality)"
	lib.control_name("C-99") == "C-99"
}

test_gate_controls_follow_the_catalog if {
	lib.gate_controls == {"C-03"} with input as fixtures.g1
	lib.gate_controls == {"C-01", "C-02", "C-04", "C-05", "C-07", "C-09"} with input as fixtures.g4
	lib.evidence_controls == {"C-04", "C-05", "C-07", "C-09"} with input as fixtures.g4
}

test_material_adds_c10_at_g4 if {
	"C-10" in lib.gate_controls with input as object.union(fixtures.g4, {"product": {"material": true}})
}

test_minimum_comes_from_the_change_type if {
	lib.minimum == {"T1", "T2", "T3", "T5", "T6"} with input as fixtures.g3
	lib.minimum == {"T2", "T4"} with input as object.union(fixtures.g3, {"product": {"change_type": "access-change"}})
	count(lib.minimum) == 0 with input as object.union(fixtures.g3, {"product": {"change_type": "hotfix"}})
}

test_required_categories_per_control if {
	lib.required("C-04") == {"T1", "T5"} with input as fixtures.g3
	lib.required("C-05") == set() with input as fixtures.g3
}

test_exclusions_and_exceptions_waive_evidence_controls_only if {
	lib.waived == {"C-05"} with input as object.union(fixtures.g3, {"product": {"excluded_controls": ["C-05"]}})
	lib.waived == {"C-05"} with input as object.union(fixtures.g3, {"exceptions": {"C-05": {"approved_by": "gina", "entry": "x"}}})
	count(lib.waived) == 0 with input as object.union(fixtures.g3, {"exceptions": {"C-05": {"approved_by": "", "entry": "x"}}})
	count(lib.waived) == 0 with input as object.union(fixtures.g3, {"product": {"excluded_controls": ["C-02"]}})
	count(lib.waived) == 0 with input as object.union(fixtures.g3, {"exceptions": {"C-01": {"approved_by": "gina", "entry": "x"}}})
}

test_latest_result_counts if {
	"T3" in lib.passing_categories with input as object.union(fixtures.g3, {"evidence": {"categories": {"T3": {"failing": ["old"], "latest": "pass"}}}})
	not "T3" in lib.passing_categories with input as object.union(fixtures.g3, {"evidence": {"categories": {"T3": {"latest": "fail"}}}})
	not "T3" in lib.passing_categories with input as object.union(fixtures.g3, {"evidence": {"categories": {"T3": {"passing": []}}}})
	not "T3" in lib.passing_categories with input as object.union(fixtures.g3, {"evidence": {"categories": {"T3": {"latest": null}}}})
}
