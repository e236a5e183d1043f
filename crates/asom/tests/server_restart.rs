//! `asom serve` killed with SIGKILL under load loses no acknowledged entry.
//!
//! Eight client threads append distinct evidence records over HTTP as a
//! machine principal, each remembering every acknowledged answer (the
//! entry's index and id). The server is killed with SIGKILL while they are
//! mid-flight, restarted on the same store, and takes a few more appends;
//! then it is stopped and the log is read back (`asom ledger tiles`): every
//! acknowledged entry must sit at its index with its id (the SHA-256 of its
//! bytes), and `asom ledger verify` must pass. Client errors while the server
//! is down are expected; a lost acknowledged entry fails the test.
//!
//! The embedded SQLite store always; PostgreSQL as well when
//! `ASOM_TEST_POSTGRES` names an admin URL that may create databases (a fresh
//! database per run, dropped afterwards), skipped with a note otherwise.

// The skip note and each run's summary go to stderr.
#![allow(clippy::print_stderr)]

mod support;

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use sha2::{Digest as _, Sha256};
use tempfile::TempDir;

/// Client threads.
const CLIENTS: usize = 8;
/// How long the clients append before the kill.
const BEFORE_KILL: Duration = Duration::from_millis(1500);
/// How long they append after the restart.
const AFTER_RESTART: Duration = Duration::from_millis(700);

/// The product and release the evidence is recorded for.
const PRODUCT: &str = "sales";
const RELEASE: &str = "sales@1.0.0";

/// An asom directory (and store URL, for PostgreSQL) with a machine
/// principal, a product and a release.
struct World {
    tmp: TempDir,
    dir: PathBuf,
    store: Option<String>,
    token: String,
}

impl World {
    fn new(store: Option<String>) -> Self {
        let tmp = TempDir::new().expect("temp dir");
        let dir = tmp.path().join("asom");
        let mut world = Self {
            tmp,
            dir,
            store,
            token: String::new(),
        };
        let init = world.asom().args(["--format", "json", "init"]).run().ok();
        let admin = init.json()["admin_token"]
            .as_str()
            .expect("init prints admin_token")
            .to_owned();
        for args in [
            &["principal", "create", "ci-bot", "--kind", "machine"][..],
            &[
                "product",
                "create",
                PRODUCT,
                "--team",
                "data-eng",
                "--classification",
                "internal",
                "--change-type",
                "dq-rule-change",
            ],
            &["release", "create", RELEASE],
        ] {
            world.asom().env("ASOM_TOKEN", &admin).args(args).run().ok();
        }
        world
            .asom()
            .env("ASOM_TOKEN", &admin)
            .args(["--format", "json", "token", "create", "ci-bot"])
            .run()
            .ok()
            .json()["token"]
            .as_str()
            .expect("token create prints token")
            .clone_into(&mut world.token);
        world
    }

    /// `asom --dir <dir> [--store URL] …`.
    fn asom(&self) -> support::Run {
        let run = support::asom(self.tmp.path(), &self.dir);
        match &self.store {
            Some(url) => run.arg("--store").arg(url),
            None => run,
        }
    }

    /// Starts `asom serve` on the store and waits until it is ready.
    fn serve(&self) -> Server {
        let mut cmd = self.asom().args(["serve", "--listen", "127.0.0.1:0"]).cmd;
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting asom serve");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let lines = Arc::clone(&log);
        // Drains stderr for the server's whole life.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let addr = rest.split_whitespace().next().unwrap_or("").to_owned();
                    let _ = tx.send(addr);
                }
                let mut l = lines.lock().unwrap_or_else(PoisonError::into_inner);
                l.push_str(&line);
                l.push('\n');
            }
        });
        let Ok(addr) = rx.recv_timeout(Duration::from_secs(20)) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "asom serve did not say where it listens:\n{}",
                log.lock().unwrap_or_else(PoisonError::into_inner)
            );
        };
        let server = Server {
            child,
            base: format!("http://{addr}"),
            log,
        };
        let agent = agent();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = agent
                .get(format!("{}/readyz", server.base))
                .call()
                .is_ok_and(|r| r.status() == 200);
            if ready {
                return server;
            }
            assert!(
                Instant::now() < deadline,
                "asom serve did not become ready:\n{}",
                server.log()
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Every entry's id (SHA-256 of its bytes), by index, read back through
    /// `asom ledger tiles`; and the signed log size.
    fn entry_ids(&self) -> Vec<[u8; 32]> {
        let size = self
            .asom()
            .args(["--format", "json", "ledger", "checkpoint"])
            .run()
            .ok()
            .json()["size"]
            .as_u64()
            .expect("checkpoint size");
        let tiles = self.tmp.path().join("tiles");
        self.asom().args(["ledger", "tiles"]).arg(&tiles).run().ok();
        let mut ids = Vec::new();
        for tile in asom_ledger::tiles::tiles_for(size)
            .into_iter()
            .filter(|t| t.level == 0)
        {
            let path = tiles.join(tile.entries_path());
            let bundle =
                std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
            let entries = asom_ledger::tiles::parse_entry_bundle(&bundle)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            ids.extend(entries.iter().map(|e| <[u8; 32]>::from(Sha256::digest(e))));
        }
        assert_eq!(ids.len() as u64, size, "the tiles hold every entry");
        ids
    }
}

/// A running `asom serve`.
struct Server {
    child: Child,
    base: String,
    log: Arc<Mutex<String>>,
}

impl Server {
    fn log(&self) -> String {
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// SIGKILL (`Child::kill` on unix): no chance to finish anything.
    fn kill_9(mut self) {
        self.child.kill().expect("SIGKILL asom serve");
        let status = self.child.wait().expect("waiting for asom serve");
        assert!(
            status.code().is_none(),
            "asom serve should have died of SIGKILL, but exited with {status}:\n{}",
            self.log()
        );
    }

    /// SIGTERM, then a clean exit within 15 s.
    fn stop(mut self) {
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("running kill");
        assert!(sent.success(), "kill -TERM");
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                assert!(
                    status.success(),
                    "asom serve did not stop cleanly on SIGTERM ({status}):\n{}",
                    self.log()
                );
                return;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "asom serve did not stop within 15 s of SIGTERM:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .new_agent()
}

/// One distinct evidence record.
fn evidence(client: usize, seq: u64) -> String {
    let digest = Sha256::digest(format!("restart/{client}/{seq}"));
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    serde_json::json!({
        "release": RELEASE,
        "control": "C-06",
        "category": "T3",
        "commit": "4b825dc642cb6eb9a060e54bf8d69288fbee4904",
        "build": format!("b-{client}-{seq}"),
        "environment": "ci",
        "status": "pass",
        "sha256": hex,
        "source_ref": format!("s3://restart/{client}/{seq}.json"),
        "source_type": "dq-report",
    })
    .to_string()
}

/// What the clients saw.
#[derive(Default)]
struct Seen {
    /// Acknowledged entries: index → (id, which request).
    acked: BTreeMap<u64, ([u8; 32], String)>,
    errors: u64,
    first_error: Option<String>,
}

/// The clients: append until `stop`, against whichever server `base` names
/// (none while it is down).
struct Load {
    base: Arc<RwLock<Option<String>>>,
    stop: Arc<AtomicBool>,
    acks: Arc<AtomicU64>,
    handles: Vec<std::thread::JoinHandle<Seen>>,
}

impl Load {
    fn start(token: &str, base: &str) -> Self {
        let shared_base = Arc::new(RwLock::new(Some(base.to_owned())));
        let stop = Arc::new(AtomicBool::new(false));
        let acks = Arc::new(AtomicU64::new(0));
        let handles = (0..CLIENTS)
            .map(|c| {
                let (base, stop, acks) = (
                    Arc::clone(&shared_base),
                    Arc::clone(&stop),
                    Arc::clone(&acks),
                );
                let token = token.to_owned();
                std::thread::spawn(move || client(c, &token, &base, &stop, &acks))
            })
            .collect();
        Self {
            base: shared_base,
            stop,
            acks,
            handles,
        }
    }

    fn set_base(&self, base: Option<String>) {
        *self.base.write().unwrap_or_else(PoisonError::into_inner) = base;
    }

    fn acks(&self) -> u64 {
        self.acks.load(Ordering::Relaxed)
    }

    /// Waits at least `least`, and until `count` acknowledgements (at most 15 s).
    fn wait(&self, least: Duration, count: u64) {
        let start = Instant::now();
        while start.elapsed() < least
            || (self.acks() < count && start.elapsed() < Duration::from_secs(15))
        {
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn finish(self) -> Seen {
        self.stop.store(true, Ordering::Relaxed);
        let mut all = Seen::default();
        for h in self.handles {
            let seen = h.join().expect("a client thread panicked");
            all.errors += seen.errors;
            if all.first_error.is_none() {
                all.first_error = seen.first_error;
            }
            for (index, (id, what)) in seen.acked {
                if let Some((other, first)) = all.acked.insert(index, (id, what.clone())) {
                    assert_eq!(
                        other, id,
                        "index {index} was acknowledged for two different entries ({first}, {what})"
                    );
                }
            }
        }
        all
    }
}

fn client(
    c: usize,
    token: &str,
    base: &RwLock<Option<String>>,
    stop: &AtomicBool,
    acks: &AtomicU64,
) -> Seen {
    let mut agent = agent();
    let mut seen = Seen::default();
    let mut seq = 0u64;
    let mut last_base = None;
    while !stop.load(Ordering::Relaxed) {
        let current = base.read().unwrap_or_else(PoisonError::into_inner).clone();
        let Some(current) = current else {
            std::thread::sleep(Duration::from_millis(5));
            continue;
        };
        if last_base.as_ref() != Some(&current) {
            // A new server: new connections.
            agent = self::agent();
            last_base = Some(current.clone());
        }
        let body = evidence(c, seq);
        let what = format!("client {c} request {seq}");
        seq += 1;
        let answer = agent
            .post(format!("{current}/t/default/v1/evidence"))
            .header("Authorization", format!("Bearer {token}"))
            .content_type("application/json")
            .send(body.as_bytes())
            .and_then(|mut r| Ok((r.status().as_u16(), r.body_mut().read_to_string()?)));
        match answer {
            Ok((200, text)) => {
                let doc: serde_json::Value = serde_json::from_str(&text)
                    .unwrap_or_else(|e| panic!("{what}: a 200 answer is not JSON ({e}): {text}"));
                let recorded = &doc["recorded"];
                let index = recorded["index"]
                    .as_u64()
                    .unwrap_or_else(|| panic!("{what}: no recorded.index in {text}"));
                let id = recorded["id"]
                    .as_str()
                    .and_then(hex_32)
                    .unwrap_or_else(|| panic!("{what}: no recorded.id in {text}"));
                assert_eq!(
                    recorded["new"], true,
                    "{what}: distinct content was not new: {text}"
                );
                seen.acked.insert(index, (id, what));
                acks.fetch_add(1, Ordering::Relaxed);
            }
            Ok((status, text)) => {
                seen.errors += 1;
                seen.first_error
                    .get_or_insert_with(|| format!("{what}: HTTP {status}: {text}"));
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => {
                // Expected while the server is down.
                seen.errors += 1;
                seen.first_error
                    .get_or_insert_with(|| format!("{what}: {e}"));
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
    seen
}

fn hex_32(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// The whole scenario on one store.
fn kill_and_restart(store: Option<String>) {
    let world = World::new(store);
    let first = world.serve();
    let load = Load::start(&world.token, &first.base);
    load.wait(BEFORE_KILL, 20);
    let before = load.acks();
    if before == 0 {
        load.set_base(None);
        let seen = load.finish();
        panic!(
            "no append was acknowledged before the kill (first error: {:?}):\n{}",
            seen.first_error,
            first.log()
        );
    }
    load.set_base(None);
    first.kill_9();

    // Nothing can be acknowledged while no server runs.
    let at_kill = load.acks();

    let second = world.serve();
    load.set_base(Some(second.base.clone()));
    load.wait(AFTER_RESTART, at_kill + 10);
    let seen = load.finish();
    assert!(
        seen.acked.len() as u64 > at_kill,
        "no append was acknowledged after the restart (first error: {:?}):\n{}",
        seen.first_error,
        second.log()
    );
    second.stop();

    let ids = world.entry_ids();
    let mut lost = Vec::new();
    for (index, (id, what)) in &seen.acked {
        if ids.get(*index as usize) != Some(id) {
            lost.push(format!("{what}: entry {index}"));
        }
    }
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged entries are not in the log at their index with their id: {lost:?}",
        lost.len(),
        seen.acked.len()
    );
    world.asom().args(["ledger", "verify"]).run().ok();
    eprintln!(
        "{}: {} entries acknowledged ({at_kill} before the SIGKILL, the rest after the restart), \
         {} client errors, log of {} entries verified",
        world.store.as_deref().map_or("sqlite", |_| "postgres"),
        seen.acked.len(),
        seen.errors,
        ids.len()
    );
}

#[test]
fn sqlite_server_killed_under_load_loses_no_acknowledged_entry() {
    kill_and_restart(None);
}

#[test]
fn postgres_server_killed_under_load_loses_no_acknowledged_entry() {
    let admin = match std::env::var("ASOM_TEST_POSTGRES") {
        Ok(url) if !url.trim().is_empty() => url.trim().to_owned(),
        _ => {
            assert!(
                std::env::var("ASOM_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                "ASOM_REQUIRE_POSTGRES=1 but ASOM_TEST_POSTGRES is not set"
            );
            eprintln!(
                "skipped postgres_server_killed_under_load_loses_no_acknowledged_entry: \
                 ASOM_TEST_POSTGRES is not set (run scripts/ci-postgres.sh and export \
                 ASOM_TEST_POSTGRES=postgres://asom:asom@127.0.0.1:5432/asom)"
            );
            return;
        }
    };
    let database = Database::create(&admin);
    kill_and_restart(Some(database.url.clone()));
}

/// A fresh PostgreSQL database, dropped (best effort) when this is dropped.
struct Database {
    admin: String,
    name: String,
    url: String,
}

impl Database {
    fn create(admin: &str) -> Self {
        use std::hash::{BuildHasher as _, Hasher as _};
        let random = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
        let name = format!("asom_restart_{random:016x}");
        psql(admin, &format!("CREATE DATABASE {name}"));
        Self {
            admin: admin.to_owned(),
            url: with_database(admin, &name),
            name,
        }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let _ = std::process::Command::new("psql")
            .arg(&self.admin)
            .args([
                "-qAtc",
                &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            ])
            .stdin(Stdio::null())
            .output();
    }
}

fn psql(url: &str, sql: &str) {
    let out = std::process::Command::new("psql")
        .arg(url)
        .args(["-v", "ON_ERROR_STOP=1", "-qAtc", sql])
        .stdin(Stdio::null())
        .output()
        .expect("running psql (the PostgreSQL client) to create the test database");
    assert!(
        out.status.success(),
        "psql -c {sql:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `url` pointing at database `name` instead.
fn with_database(url: &str, name: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return format!("{url} dbname={name}");
    };
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let authority_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    format!("{}/{name}{query}", &base[..authority_end])
}
