//! The ledger over HTTP, as a witness or mirror sees it: a real server on
//! loopback over a real SQLite store, followed with nothing but the
//! checkpoint and tile paths and the log's verifier key.

use std::sync::Arc;

use asom_ledger::checkpoint::Checkpoint;
use asom_ledger::merkle;
use asom_ledger::note::NoteSigner;
use asom_ledger::receipt::Receipt;
use asom_ledger::tiles::{self, TileId};
use asom_server::AppState;
use asom_store::{NewEntry, Store as _, Tenant};
use asom_store_sqlite::SqliteStore;
use serde_json::{Value, json};

struct Running {
    base: String,
    store: Arc<SqliteStore>,
    signer_verifier: asom_ledger::note::NoteVerifier,
    _dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn append(store: &SqliteStore, n: usize, from: usize) {
    let batch: Vec<NewEntry> = (from..from + n)
        .map(|i| NewEntry::new("record", &json!({"n": i}), "admin").expect("entry"))
        .collect();
    store.append("acme", batch).expect("append");
}

fn start(entries: usize) -> Running {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(SqliteStore::open(dir.path().join("asom.db")).expect("store"));
    let signer = NoteSigner::from_seed("asom.test/acme", [7; 32]).expect("signer");
    let verifier = signer.verifier();
    store
        .create_tenant(
            &Tenant {
                slug: "acme".into(),
                origin: "asom.test/acme".into(),
            },
            Arc::new(signer),
            "2026-11-21T00:00:00.000Z",
        )
        .expect("tenant");
    // Two batches, so the log has signed checkpoints at 300 and at the end.
    append(&store, entries.min(300), 0);
    if entries > 300 {
        append(&store, entries - 300, 300);
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let state = AppState::new(store.clone()).with_public_entries(true);
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            asom_server::serve(listener, state, async {
                let _ = stopped.await;
            })
            .await
            .expect("serve");
        });
    });
    Running {
        base,
        store,
        signer_verifier: verifier,
        _dir: dir,
        stop: Some(stop),
        thread: Some(thread),
    }
}

fn get(url: &str) -> (u16, String, Vec<u8>, Option<String>) {
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent();
    let r = agent.get(url).call().expect("request");
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let cache = r
        .headers()
        .get("cache-control")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = r.into_body().read_to_vec().expect("body");
    (status, ct, body, cache)
}

#[test]
fn a_mirror_recomputes_the_root_from_the_tile_paths_alone() {
    let s = start(700);
    let t = format!("{}/t/acme", s.base);
    let (status, ct, note, cache) = get(&format!("{t}/checkpoint"));
    assert_eq!(status, 200);
    assert!(ct.starts_with("text/plain"));
    assert_eq!(cache.as_deref(), Some("no-cache"));
    let cp = Checkpoint::open(
        std::str::from_utf8(&note).expect("utf-8"),
        &s.signer_verifier,
    )
    .expect("signed");
    assert_eq!(cp.size, 700);
    let mut fetched = Vec::new();
    let root = tiles::root_from_tiles(cp.size, |tile: TileId| {
        let (status, _, body, cache) = get(&format!("{t}/{}", tile.path()));
        fetched.push((tile, cache));
        if status == 200 { Ok(body) } else { Err(status) }
    })
    .expect("tiles");
    assert_eq!(root, cp.root);
    for (tile, cache) in &fetched {
        let want = if tile.width == 256 {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        assert_eq!(cache.as_deref(), Some(want), "{tile}");
    }
    // Every entry, from its bundle, hashes to its leaf in the level-0 tile.
    for tile in tiles::tiles_for(cp.size)
        .into_iter()
        .filter(|t| t.level == 0)
    {
        let (_, _, hashes, _) = get(&format!("{t}/{}", tile.path()));
        let (status, _, bundle, _) = get(&format!("{t}/{}", tile.entries_path()));
        assert_eq!(status, 200);
        let entries = tiles::parse_entry_bundle(&bundle).expect("bundle");
        assert_eq!(entries.len(), usize::from(tile.width));
        for (i, e) in entries.iter().enumerate() {
            assert_eq!(merkle::leaf_hash(e).0[..], hashes[i * 32..i * 32 + 32]);
        }
    }
    // A receipt per entry, and consistency between two sizes.
    let (status, _, text, _) = get(&format!("{t}/receipt/42"));
    assert_eq!(status, 200);
    let receipt = Receipt::parse(std::str::from_utf8(&text).expect("utf-8")).expect("receipt");
    let entry = s.store.entry_at("acme", 42).expect("entry");
    receipt
        .verify(&entry.bytes, &s.signer_verifier)
        .expect("included");
    let (status, _, proof, _) = get(&format!("{t}/consistency?from=300&to=700"));
    assert_eq!(status, 200);
    let proof: Vec<asom_ledger::Hash> = std::str::from_utf8(&proof)
        .expect("utf-8")
        .lines()
        .map(|l| asom_ledger::Hash::from_base64(l).expect("hash"))
        .collect();
    let old = s
        .store
        .checkpoint_at("acme", 300)
        .expect("a checkpoint at 300");
    merkle::verify_consistency(300, 700, &proof, &old.root, &cp.root).expect("consistent");
    // The log grows: the partial tiles grow, full tiles stay byte-identical.
    let (_, _, first, _) = get(&format!("{t}/tile/0/000"));
    append(&s.store, 100, 700);
    let (_, _, again, _) = get(&format!("{t}/tile/0/000"));
    assert_eq!(first, again);
    let (status, _, _, _) = get(&format!("{t}/tile/0/003.p/32"));
    assert_eq!(status, 200, "800 entries: the fourth tile has 32");
}

fn problem(url: &str, status: u16, says: &str) {
    let (got, ct, body, _) = get(url);
    assert_eq!(got, status, "{url}");
    assert_eq!(ct, "application/problem+json", "{url}");
    let p: Value = serde_json::from_slice(&body).expect("problem json");
    assert_eq!(p["status"], status);
    assert!(
        p["detail"].as_str().unwrap_or("").contains(says),
        "{url}: {p}"
    );
    assert!(p["title"].is_string() && p["type"].is_string());
}

#[test]
fn bad_requests_are_problems() {
    let s = start(10);
    let t = format!("{}/t/acme", s.base);
    problem(
        &format!("{t}/tile/0/000"),
        404,
        "has no complete tile 0/000",
    );
    problem(&format!("{t}/tile/0/000.p/11"), 404, "no complete tile");
    problem(&format!("{t}/tile/0/0000"), 400, "3-digit groups");
    problem(&format!("{t}/tile/9/000"), 400, "level must be 0 to 5");
    problem(
        &format!("{t}/receipt/10"),
        404,
        "not in the tree of size 10",
    );
    problem(
        &format!("{t}/consistency?from=5&to=99"),
        400,
        "from <= to <= 10",
    );
    problem(&format!("{}/t/nobody/checkpoint", s.base), 404, "nobody");
    problem(&format!("{}/nothing", s.base), 404, "no such path");
    let (status, _, body, _) = get(&format!("{}/healthz", s.base));
    assert_eq!((status, body.as_slice()), (200, &b"ok\n"[..]));
    let (status, _, _, _) = get(&format!("{}/readyz", s.base));
    assert_eq!(status, 200);
    let (status, _, _, _) = get(&format!("{t}/tile/0/000.p/10"));
    assert_eq!(status, 200);
}
