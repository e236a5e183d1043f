//! Property tests for separation of duties (DESIGN.md §5, control C-02).
//!
//! Release facts are drawn from a small pool of people, each known under
//! several aliases (slug, email, git identity, case variants), plus a few
//! identities nobody mapped, so that aliases collide often.

use std::collections::BTreeSet;

use asom_core::crq::Stage;
use asom_core::identity::{IdentityDirectory, PersonId};
use asom_core::principal::{PrincipalKind, Slug};
use asom_core::sod::{
    Actor, AgentAct, ApprovalFact, EvidenceFact, ExceptionFact, OverrideFact, Quorum, ReleaseFacts,
    SodViolation, check,
};
use proptest::prelude::*;

const PEOPLE: [&str; 5] = ["alice", "bob", "carol", "dave", "erin"];
const UNMAPPED: [&str; 2] = ["ext1@vendor.example", "ext2@vendor.example"];

/// The `form`-th alias of person `p`.
fn alias(p: usize, form: usize) -> String {
    let name = PEOPLE[p % PEOPLE.len()];
    match form % 5 {
        0 => name.to_owned(),
        1 => format!("{name}@corp"),
        2 => format!("{} <{name}@corp.example>", name.to_uppercase()),
        3 => format!("{}@CORP", name.to_uppercase()),
        _ => format!("{name}@corp.example"),
    }
}

fn directory() -> IdentityDirectory {
    let mut d = IdentityDirectory::new();
    for (p, name) in PEOPLE.iter().enumerate() {
        let slug = Slug::new(name).unwrap();
        for form in 0..5 {
            d.map(&alias(p, form), &slug).unwrap();
        }
    }
    d
}

fn person(p: usize) -> PersonId {
    PersonId::from(Slug::new(PEOPLE[p % PEOPLE.len()]).unwrap())
}

fn identity() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (0..PEOPLE.len(), 0..5usize).prop_map(|(p, f)| alias(p, f)),
        1 => prop::sample::select(UNMAPPED.to_vec()).prop_map(str::to_owned),
    ]
}

fn kind() -> impl Strategy<Value = Option<PrincipalKind>> {
    prop_oneof![
        Just(None),
        Just(Some(PrincipalKind::Human)),
        Just(Some(PrincipalKind::Agent)),
        Just(Some(PrincipalKind::Machine)),
    ]
}

fn actor() -> impl Strategy<Value = Actor> {
    (identity(), kind()).prop_map(|(identity, kind)| Actor { identity, kind })
}

fn stage() -> impl Strategy<Value = Stage> {
    prop_oneof![Just(Stage::Qa), Just(Stage::Prod)]
}

fn approval() -> impl Strategy<Value = ApprovalFact> {
    (actor(), stage()).prop_map(|(approver, stage)| ApprovalFact {
        approver,
        stage,
        role: None,
    })
}

fn facts() -> impl Strategy<Value = ReleaseFacts> {
    (
        prop::collection::vec(identity(), 0..4),
        prop::collection::vec(approval(), 0..5),
        prop::collection::vec(actor(), 0..3),
        prop::collection::vec((0..50u32, actor()), 0..4),
        prop::collection::vec(actor(), 0..3),
        prop::collection::vec(actor(), 0..2),
        prop::collection::vec((actor(), prop::option::of(actor())), 0..2),
    )
        .prop_map(
            |(authors, approvals, deployers, evidence, verifiers, exceptions, overrides)| {
                ReleaseFacts {
                    authors,
                    approvals,
                    deployers,
                    evidence: evidence
                        .into_iter()
                        .map(|(id, producer)| EvidenceFact {
                            id: format!("e{id}"),
                            producer,
                        })
                        .collect(),
                    verifiers,
                    exceptions: exceptions
                        .into_iter()
                        .map(|granted_by| ExceptionFact {
                            control: "C-09".parse().unwrap(),
                            granted_by,
                        })
                        .collect(),
                    overrides: overrides
                        .into_iter()
                        .map(|(requested_by, approved_by)| OverrideFact {
                            requested_by,
                            approved_by,
                        })
                        .collect(),
                }
            },
        )
}

fn union(a: &ReleaseFacts, b: &ReleaseFacts) -> ReleaseFacts {
    let mut out = a.clone();
    out.authors.extend(b.authors.iter().cloned());
    out.approvals.extend(b.approvals.iter().cloned());
    out.deployers.extend(b.deployers.iter().cloned());
    out.evidence.extend(b.evidence.iter().cloned());
    out.verifiers.extend(b.verifiers.iter().cloned());
    out.exceptions.extend(b.exceptions.iter().cloned());
    out.overrides.extend(b.overrides.iter().cloned());
    out
}

fn prohibitions(violations: &[SodViolation]) -> BTreeSet<SodViolation> {
    violations
        .iter()
        .filter(|v| v.is_prohibition())
        .cloned()
        .collect()
}

/// A violation without the resolved person: what stays the same when the
/// directory learns that two names are one person.
fn key(v: &SodViolation) -> serde_json::Value {
    let mut value = serde_json::to_value(v).unwrap();
    value.as_object_mut().unwrap().remove("person");
    value
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Any author approving, under any alias, is flagged against C-02 with both names.
    #[test]
    fn an_author_approving_under_any_alias_is_flagged(
        mut f in facts(),
        p in 0..PEOPLE.len(),
        author_form in 0..5usize,
        approver_form in 0..5usize,
        s in stage(),
        k in kind(),
        target in stage(),
    ) {
        let author = alias(p, author_form);
        let approver = alias(p, approver_form);
        f.authors.push(author.clone());
        f.approvals.push(ApprovalFact { approver: Actor { identity: approver.clone(), kind: k }, stage: s, role: None });
        let report = check(&f, &directory(), target, Quorum::ONE);
        let expected = SodViolation::AuthorApproves { stage: s, approver, author, person: person(p) };
        prop_assert!(report.violations.contains(&expected), "{:?}", report.violations);
        prop_assert!(!report.holds());
        for v in &report.violations {
            prop_assert_eq!(v.control().to_string(), "C-02");
        }
    }

    /// Adding facts never removes a prohibition's violation.
    #[test]
    fn prohibition_violations_never_disappear_when_facts_are_added(
        f in facts(), g in facts(), target in stage(), q in 1..4usize,
    ) {
        let dir = directory();
        let quorum = Quorum::new(q).unwrap();
        let before = prohibitions(&check(&f, &dir, target, quorum).violations);
        let after = prohibitions(&check(&union(&f, &g), &dir, target, quorum).violations);
        prop_assert!(before.is_subset(&after), "lost: {:?}", before.difference(&after).collect::<Vec<_>>());
    }

    /// Approval requirements are only ever met by adding approvals: adding any
    /// other facts never removes an empty-set or quorum violation.
    #[test]
    fn approval_requirements_are_not_met_by_other_facts(
        f in facts(), mut g in facts(), target in stage(), q in 1..4usize,
    ) {
        g.approvals.clear();
        let dir = directory();
        let quorum = Quorum::new(q).unwrap();
        let before = check(&f, &dir, target, quorum);
        let after = check(&union(&f, &g), &dir, target, quorum);
        let rules = |r: &asom_core::sod::SodReport| -> BTreeSet<&'static str> {
            r.violations.iter().filter(|v| !v.is_prohibition()).map(SodViolation::rule).collect()
        };
        prop_assert!(rules(&before).is_subset(&rules(&after)));
        prop_assert!(after.eligible_approvers.is_subset(&before.eligible_approvers));
    }

    /// Teaching the directory that more names are one person never hides a violation.
    #[test]
    fn mapping_more_aliases_never_removes_a_prohibition_violation(
        f in facts(), target in stage(), which in 0..UNMAPPED.len(), p in 0..PEOPLE.len(),
    ) {
        let small = directory();
        let mut big = directory();
        big.map(UNMAPPED[which], &Slug::new(PEOPLE[p]).unwrap()).unwrap();
        let before: BTreeSet<_> = prohibitions(&check(&f, &small, target, Quorum::ONE).violations).iter().map(key).map(|v| v.to_string()).collect();
        let after: BTreeSet<_> = prohibitions(&check(&f, &big, target, Quorum::ONE).violations).iter().map(key).map(|v| v.to_string()).collect();
        prop_assert!(before.is_subset(&after));
    }

    /// With no approval for the target stage, the check always fails.
    #[test]
    fn an_empty_approver_set_always_fails(mut f in facts(), target in stage(), q in 1..4usize) {
        f.approvals.retain(|a| a.stage != target);
        let report = check(&f, &directory(), target, Quorum::new(q).unwrap());
        prop_assert!(!report.holds());
        let empty = SodViolation::ApproverSetEmpty { stage: target };
        prop_assert!(report.violations.contains(&empty), "{:?}", report.violations);
        prop_assert!(report.eligible_approvers.is_empty());
    }

    /// Approving again under another alias never adds to the quorum count.
    #[test]
    fn quorum_is_invariant_under_aliases_of_the_same_person(
        f in facts(), target in stage(), forms in prop::collection::vec(0..5usize, 1..4), q in 1..5usize,
    ) {
        let dir = directory();
        let quorum = Quorum::new(q).unwrap();
        let before = check(&f, &dir, target, quorum);
        let mut g = f.clone();
        for a in f.approvals.iter().filter(|a| a.stage == target) {
            let Some(p) = PEOPLE.iter().position(|name| dir.resolve(&a.approver.identity).as_str() == *name) else { continue };
            for form in &forms {
                g.approvals.push(ApprovalFact { approver: Actor { identity: alias(p, *form), kind: a.approver.kind }, stage: target, role: None });
            }
        }
        let after = check(&g, &dir, target, quorum);
        prop_assert_eq!(&before.eligible_approvers, &after.eligible_approvers);
        let quorum_failed = |r: &asom_core::sod::SodReport| r.violations.iter().any(|v| v.rule() == "quorum-not-met");
        prop_assert_eq!(quorum_failed(&before), quorum_failed(&after));
    }

    /// The quorum counts distinct persons: never more than the people who approved.
    #[test]
    fn quorum_never_counts_a_person_twice(f in facts(), target in stage()) {
        let dir = directory();
        let report = check(&f, &dir, target, Quorum::ONE);
        let persons: BTreeSet<PersonId> = f.approvals.iter().filter(|a| a.stage == target).map(|a| dir.resolve(&a.approver.identity)).collect();
        prop_assert!(report.eligible_approvers.is_subset(&persons));
        let authors: BTreeSet<PersonId> = f.authors.iter().map(|a| dir.resolve(a)).collect();
        prop_assert!(report.eligible_approvers.is_disjoint(&authors));
    }

    /// Whatever else is true, an agent in an authoritative position is a violation.
    #[test]
    fn agents_acting_are_always_flagged(mut f in facts(), name in "[a-z]{1,8}-bot", what in 0..7usize, target in stage()) {
        let agent = Actor::agent(name.clone());
        let act = match what {
            0 => { f.approvals.push(ApprovalFact { approver: agent, stage: Stage::Prod, role: None }); AgentAct::Approved(Stage::Prod) }
            1 => { f.deployers.push(agent); AgentAct::Deployed }
            2 => { f.evidence.push(EvidenceFact { id: "x".into(), producer: agent }); AgentAct::RecordedEvidence }
            3 => { f.verifiers.push(agent); AgentAct::VerifiedEvidence }
            4 => { f.exceptions.push(ExceptionFact { control: "C-05".parse().unwrap(), granted_by: agent }); AgentAct::GrantedException }
            5 => { f.overrides.push(OverrideFact { requested_by: agent, approved_by: None }); AgentAct::RequestedOverride }
            _ => { f.overrides.push(OverrideFact { requested_by: Actor::human("dave"), approved_by: Some(agent) }); AgentAct::ApprovedOverride }
        };
        let report = check(&f, &directory(), target, Quorum::ONE);
        let expected = SodViolation::AgentActed { agent: name, act };
        prop_assert!(report.violations.contains(&expected), "{:?}", report.violations);
    }

    /// The report depends on the facts, not on their order.
    #[test]
    fn the_check_is_deterministic_and_order_independent(f in facts(), target in stage()) {
        let dir = directory();
        let mut reversed = f.clone();
        reversed.authors.reverse();
        reversed.approvals.reverse();
        reversed.deployers.reverse();
        reversed.evidence.reverse();
        reversed.verifiers.reverse();
        reversed.exceptions.reverse();
        reversed.overrides.reverse();
        let a = check(&f, &dir, target, Quorum::ONE);
        prop_assert_eq!(&a, &check(&f, &dir, target, Quorum::ONE));
        prop_assert_eq!(&a, &check(&reversed, &dir, target, Quorum::ONE));
    }
}

#[test]
fn issue_scenarios_author_and_alias_of_author_approving() {
    // "an author approves their own release's CRQ → flagged as a C-02 violation;
    //  an alias of the author approves → the same flag".
    let dir = directory();
    for approver in ["alice", "alice@corp", "ALICE <alice@corp.example>"] {
        let f = ReleaseFacts {
            authors: vec!["Alice <alice@corp.example>".into()],
            approvals: vec![
                ApprovalFact {
                    approver: Actor::human(approver),
                    stage: Stage::Qa,
                    role: None,
                },
                ApprovalFact {
                    approver: Actor::human("bob"),
                    stage: Stage::Qa,
                    role: None,
                },
            ],
            ..ReleaseFacts::default()
        };
        let r = check(&f, &dir, Stage::Qa, Quorum::ONE);
        assert_eq!(r.violations.len(), 1, "{approver}: {:?}", r.violations);
        assert_eq!(r.violations[0].rule(), "author-approves");
        assert!(r.violations[0].to_string().contains(approver));
    }
}
