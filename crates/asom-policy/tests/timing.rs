//! How long a G3 evaluation takes with 100 / 1,000 / 10,000 evidence ids in
//! the compact view. Ignored by default (timings never decide a test); run
//! with `cargo test -p asom-policy --release --test timing -- --ignored --nocapture`.

use std::time::{Duration, Instant};

use asom_policy::{Evaluator, Pack};
use serde_json::{Value, json};

/// A passing G3 input whose `n` evidence ids are spread over the categories
/// and controls, with one in eight failing before a later pass.
fn g3_input(n: usize) -> Value {
    let categories = ["T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8"];
    let controls: Vec<String> = (1..=11).map(|i| format!("C-{i:02}")).collect();
    let mut cat_views: Vec<(Vec<String>, Vec<String>)> = vec![(vec![], vec![]); categories.len()];
    let mut ctl_views: Vec<(Vec<String>, Vec<String>)> = vec![(vec![], vec![]); controls.len()];
    for i in 0..n {
        let id = format!("{:064x}", i + 1);
        let c = i % categories.len();
        let k = i % controls.len();
        if i % 8 == 7 {
            cat_views[c].1.push(id.clone());
            ctl_views[k].1.push(id);
        } else {
            cat_views[c].0.push(id.clone());
            ctl_views[k].0.push(id);
        }
    }
    let view = |(passing, failing): &(Vec<String>, Vec<String>)| json!({"passing": passing, "failing": failing, "info": [], "latest": "pass"});
    let cats: serde_json::Map<String, Value> = categories
        .iter()
        .zip(&cat_views)
        .map(|(t, v)| ((*t).to_owned(), view(v)))
        .collect();
    let ctls: serde_json::Map<String, Value> = controls
        .iter()
        .zip(&ctl_views)
        .map(|(c, v)| (c.clone(), view(v)))
        .collect();
    json!({
        "gate": "G3",
        "release": {"id": "sales@1.4.0", "scope": ["SALES-1"], "commits": ["aaaa"], "crq": "CRQ0000001"},
        "product": {"slug": "sales", "change_type": "new-pipeline", "classification": "confidential",
                    "material": true, "excluded_controls": []},
        "change": null,
        "evidence": {"categories": cats, "controls": ctls},
        "exceptions": {}, "overrides": [],
        "crq": {"number": "CRQ0000001", "type": "normal", "state": "scheduled", "shared": false,
                "approval": {"qa": "approved", "prod": "pending"}, "window_open": null},
        "sod": {"holds": true, "violations": []},
        "qa_report": true, "governance_verification": false, "unresolved_qa_failures": 0, "g3_passed": false
    })
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

#[test]
#[ignore = "timing report; run explicitly in release mode"]
// This test exists to print its figures.
#[allow(clippy::print_stdout)]
fn g3_evaluation_time() {
    let start = Instant::now();
    let pack = Pack::default_pack().unwrap();
    let loaded = start.elapsed();
    let start = Instant::now();
    let evaluator = Evaluator::new(&pack).unwrap();
    let prepared = start.elapsed();
    println!("default pack: loaded and checked in {loaded:?}, evaluator prepared in {prepared:?}");
    println!(
        "G3 decision over the compact view (target, DESIGN.md §10: ≤ 0.5 ms at 1,000, ≤ 5 ms at 10,000)"
    );
    for n in [100, 1_000, 10_000] {
        let input = g3_input(n);
        assert_eq!(evaluator.evaluate(&input).unwrap(), [], "{n}");
        let runs = if n >= 10_000 { 50 } else { 200 };
        let mut samples = Vec::with_capacity(runs);
        for _ in 0..runs {
            let t = Instant::now();
            let vs = evaluator.evaluate(&input).unwrap();
            samples.push(t.elapsed());
            assert!(vs.is_empty());
        }
        println!("  {n:>6} evidence ids: median {:?}", median(samples));
    }
}
