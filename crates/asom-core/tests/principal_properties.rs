//! Property tests for permissions: agents never get an authoritative
//! capability, whatever they hold; only machines record evidence and deploy.

use std::collections::BTreeSet;

use asom_core::crq::Stage;
use asom_core::principal::{
    Action, AgentKind, Principal, PrincipalKind, RefusalReason, Role, Slug, perm,
};
use proptest::prelude::*;

fn role() -> impl Strategy<Value = Role> {
    prop::sample::select(Role::ALL.to_vec())
}

fn agent_kind() -> impl Strategy<Value = AgentKind> {
    prop::sample::select(AgentKind::ALL.to_vec())
}

fn action() -> impl Strategy<Value = Action> {
    prop::sample::select(Action::ALL.to_vec())
}

fn slug() -> impl Strategy<Value = Slug> {
    "[a-z0-9][a-z0-9._-]{0,20}".prop_map(|s| Slug::new(&s).unwrap())
}

proptest! {
    /// An agent is refused every action but reading, with a reason and a failure mode.
    #[test]
    fn agents_never_get_an_authoritative_capability(s in slug(), k in agent_kind(), a in action(), disabled in any::<bool>()) {
        let mut agent = Principal::agent(s, k);
        agent.set_disabled(disabled);
        match agent.authorize(a) {
            Ok(cap) => {
                prop_assert_eq!(cap.action(), Action::ReadAll);
                prop_assert!(!disabled);
            }
            Err(refusal) => {
                prop_assert!(a.is_authoritative() || disabled);
                if !disabled {
                    prop_assert_eq!(refusal.reason, RefusalReason::AgentNeverAuthoritative);
                    prop_assert!(refusal.failure_mode.is_some());
                    let message = refusal.to_string();
                    prop_assert!(message.starts_with("agent '"), "{}", message);
                    prop_assert!(message.contains("never act authoritatively"), "{}", message);
                }
            }
        }
        prop_assert!(agent.authorize_for::<perm::RecordEvidence>().is_err());
        prop_assert!(agent.authorize_for::<perm::ApproveProd>().is_err());
        prop_assert!(agent.authorize_for::<perm::ApproveOverride>().is_err());
    }

    /// No way to hand an agent roles: not by constructor, not through JSON.
    #[test]
    fn agents_cannot_be_given_roles(s in slug(), k in agent_kind(), roles in prop::collection::btree_set(role(), 1..7)) {
        let built = Principal::new(s.clone(), PrincipalKind::Agent, roles.clone(), Some(k), None);
        prop_assert!(built.is_err());
        let roles: Vec<String> = roles.iter().map(ToString::to_string).collect();
        let json = serde_json::json!({"slug": s, "kind": "agent", "agent_kind": k, "roles": roles});
        prop_assert!(serde_json::from_value::<Principal>(json).is_err());
    }

    /// Whatever roles a human holds, they never record evidence, promote or deploy.
    #[test]
    fn humans_never_record_evidence_or_deploy(s in slug(), roles in prop::collection::btree_set(role(), 0..7)) {
        let human = Principal::human(s, roles);
        for a in [Action::RecordEvidence, Action::Deploy, Action::Promote] {
            prop_assert_eq!(human.authorize(a).unwrap_err().reason, RefusalReason::WrongKind);
        }
    }

    /// A human approves exactly when they hold release-approver or change-manager.
    #[test]
    fn approval_needs_an_approver_role(s in slug(), roles in prop::collection::btree_set(role(), 0..7)) {
        let expected = roles.contains(&Role::ReleaseApprover) || roles.contains(&Role::ChangeManager);
        let human = Principal::human(s, roles);
        for stage in Stage::ALL {
            prop_assert_eq!(human.may(Action::Approve(stage)), expected);
        }
    }

    /// Refusals always explain themselves.
    #[test]
    fn every_refusal_names_who_and_what(s in slug(), roles in prop::collection::btree_set(role(), 0..7), a in action()) {
        let human = Principal::human(s.clone(), roles);
        if let Err(r) = human.authorize(a) {
            let m = r.to_string();
            prop_assert!(m.contains(s.as_str()));
            prop_assert!(m.contains(a.describe()));
            prop_assert!(m.contains("only"));
        }
    }
}

#[test]
fn machines_hold_exactly_the_machine_actions() {
    let ci = Principal::machine(Slug::new("ci").unwrap());
    let allowed: BTreeSet<Action> = Action::ALL.into_iter().filter(|a| ci.may(*a)).collect();
    let expected: BTreeSet<Action> = [
        Action::AppendLedger,
        Action::RecordEvidence,
        Action::RecordChange,
        Action::ManageReleases,
        Action::CreateCrq,
        Action::RecordStory,
        Action::Promote,
        Action::Deploy,
        Action::ReadAll,
    ]
    .into();
    assert_eq!(allowed, expected);
}
