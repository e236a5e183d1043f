# G2 release candidate (DESIGN.md §3): the scope is defined (Jira keys);
# exactly one CRQ exists, is bound to the release and is not shared; control
# applicability is assessed and every applicable control has an evidence plan.
#
# In the default pack the evidence plan is the catalog itself (what proves
# each control, and the test categories per change type), so G2 checks that
# the product's profile lets asom derive it: a known change type, a
# materiality flag and a data classification. Evidence may still be missing
# at G2. G2 can never be overridden.
package asom.gates.g2

import rego.v1

violations contains v if {
	some v in data.asom.lib.scope_violations
}

violations contains v if {
	some v in data.asom.lib.crq_violations
}

violations contains v if {
	some v in data.asom.lib.profile_violations
}

violations contains v if {
	some v in data.asom.lib.override_violations
}

violations contains v if {
	some v in data.asom.lib.planning_violations
}
