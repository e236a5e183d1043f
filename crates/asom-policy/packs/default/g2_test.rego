package asom.gates.g2_test

import rego.v1

import data.asom.fixtures
import data.asom.gates.g2

test_g2_passes_without_evidence if {
	count(g2.violations) == 0 with input as object.union(fixtures.g2, {"evidence": null})
}

test_g2_blocks_on_empty_scope if {
	fixtures.controls_of(g2.violations) == {"C-03"} with input as object.union(fixtures.g2, {"release": {"scope": []}})
}

test_g2_blocks_without_crq if {
	fixtures.controls_of(g2.violations) == {"C-01"} with input as object.union(fixtures.g2, {"crq": null})
	count(g2.violations) == 1 with input as object.union(fixtures.g2, {"crq": null})
}

test_g2_blocks_on_shared_crq if {
	count(g2.violations) == 1 with input as object.union(fixtures.g2, {"crq": {"shared": true}})
}

test_g2_blocks_on_unknown_change_type if {
	fixtures.controls_of(g2.violations) == {"C-03"} with input as object.union(fixtures.g2, {"product": {"change_type": "hotfix"}})
}
