#![allow(clippy::print_stdout, missing_docs)]
use std::time::Instant;
#[path = "timing.rs"] mod timing;
#[test]
fn pieces() {
    let pack = asom_policy::Pack::default_pack().unwrap();
    let mut engine = regorus::Engine::new();
    for (n, r) in pack.policy_modules() { engine.add_policy(n.to_owned(), r.to_owned()).unwrap(); }
    engine.add_data(regorus::Value::from(pack.data())).unwrap();
    let input = timing::g3_input(100);
    engine.set_input(regorus::Value::from(input));
    for q in ["data.asom.lib.controls", "data.asom.lib.evidence_violations", "data.asom.lib.crq_violations", "data.asom.lib.profile_violations",
              "data.asom.lib.sod_violations", "data.asom.lib.override_violations", "data.asom.lib.gate_controls", "data.asom.lib.evidence_controls",
              "data.asom.lib.minimum", "data.asom.lib.required", "data.asom.lib.approval_violations(\"qa\", \"QA\")", "data.asom.gates.g3.violations", "data.asom.lib.passing_categories", "data.asom.lib.category_problem", "1 == 1"] {
        let _ = engine.eval_query(q.to_owned(), false).unwrap();
        let t = Instant::now(); for _ in 0..50 { let _ = engine.eval_query(q.to_owned(), false).unwrap(); } println!("{q}: {:?}", t.elapsed()/50);
    }
    let e = asom_policy::Evaluator::new(&pack).unwrap();
    for n in [100usize, 1000, 10_000] {
        let input = timing::g3_input(n);
        let t = Instant::now(); for _ in 0..50 { let _ = e.evaluate(&input).unwrap(); } println!("{n} eval {:?}", t.elapsed()/50);
    }
}
