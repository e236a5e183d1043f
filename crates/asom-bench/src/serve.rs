//! `asom-bench serve`: `asom serve` under load, over loopback, beside the
//! DESIGN.md §10 budget (HTTP evidence ingestion ≥ 10,000 req/s, p99 ≤ 20 ms).
//!
//! ```text
//! cargo build --release -p asom -p asom-bench
//! ./target/release/asom-bench serve [--seconds 10] [--requests N] [--clients 64] [--only sqlite|postgres]
//! ASOM_BENCH_POSTGRES=postgres://asom:asom@127.0.0.1:5432/asom ./target/release/asom-bench serve
//! ```
//!
//! `ASOM_BENCH_POSTGRES_SET=name=value[,…]` sets PostgreSQL parameters on
//! the benchmark's database (for experiments, e.g. `plan_cache_mode`).
//!
//! For each backend (the embedded SQLite store; PostgreSQL when
//! `ASOM_BENCH_POSTGRES` names an admin URL that may create databases) it
//! sets up a world with the real `asom` binary (`asom init`, a product, a
//! machine principal and its token, two releases with their CRQs), starts
//! `asom serve --listen 127.0.0.1:0` as a child process, and runs `--clients`
//! concurrent clients, each a thread with one keep-alive connection, for a
//! fixed time or a fixed number of requests:
//!
//! - references: `GET /healthz` (the HTTP layer alone) and `POST /whoami`
//!   (plus the token check on the blocking pool), short runs;
//! - evidence ingestion: `POST /v1/evidence`, distinct content each request,
//!   so every request is a real durable append;
//! - gate checks: `POST /v1/gates/check` G3 on a release with 100 evidence
//!   entries (each check records its decision durably).
//!
//! The client is a minimal HTTP/1.1 client over `std::net::TcpStream` (one
//! write per request, `TCP_NODELAY`), lighter than a general HTTP client, so
//! that as much of the two cores as possible is left to the server; the
//! report prints the CPU time each side used. Every non-200 answer is an
//! error, and the first one's body is printed.
//!
//! Afterwards the log must verify (`asom ledger verify`), must have grown by
//! exactly the entries the server acknowledged as new, and every acknowledged
//! entry must sit at its index with its id (read back from `asom ledger
//! tiles`). A run that loses an acknowledged entry says so and exits non-zero.
//!
//! Bounded: every workload stops at its deadline or at its request cap,
//! whichever comes first, and every socket read has a timeout.

use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use sha2::{Digest as _, Sha256};

use crate::gates::ms;
use crate::{human, row};

/// The most requests one workload sends, whatever the flags say.
const MAX_REQUESTS: u64 = 5_000_000;
/// The longest one workload runs, whatever the flags say.
const MAX_SECONDS: u64 = 300;
/// How long a client waits for an answer before counting an error.
const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Sequential gate checks timed alone before and after the gate workload.
const PROBE_CHECKS: u64 = 20;
/// Evidence entries on the gate-check release.
const GATE_EVIDENCE: u32 = 100;
/// The commits of the two releases.
const INGEST_COMMIT: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const GATE_COMMIT: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const INGEST_RELEASE: &str = "sales@1.0.0";
const GATE_RELEASE: &str = "sales@2.0.0";
/// Controls and categories of the gate release's evidence (as the gates benchmark).
const CONTROLS: [(&str, &str); 6] = [
    ("C-03", "T1"),
    ("C-03", "T2"),
    ("C-06", "T3"),
    ("C-05", "T4"),
    ("C-08", "T5"),
    ("C-08", "T6"),
];

/// The command line of `asom-bench serve`.
#[derive(Debug, Clone)]
struct Options {
    seconds: u64,
    requests: Option<u64>,
    clients: usize,
    only: Option<String>,
    /// Run only these workloads (comma-separated: `healthz`, `whoami`,
    /// `evidence`, `gates`), to profile them.
    workload: Option<String>,
}

impl Options {
    fn parse(args: &[String]) -> anyhow::Result<Self> {
        let mut o = Self {
            seconds: 10,
            requests: None,
            clients: 64,
            only: None,
            workload: None,
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let mut value = |name: &str| {
                it.next()
                    .cloned()
                    .with_context(|| format!("{name} needs a value"))
            };
            match a.as_str() {
                "--seconds" => o.seconds = value("--seconds")?.parse()?,
                "--requests" => o.requests = Some(value("--requests")?.parse()?),
                "--clients" => o.clients = value("--clients")?.parse()?,
                "--only" => o.only = Some(value("--only")?),
                "--workload" => o.workload = Some(value("--workload")?),
                other => bail!(
                    "asom-bench serve: unknown option {other:?}; usage: asom-bench serve \
                     [--seconds S] [--requests N] [--clients C] [--only sqlite|postgres] \
                     [--workload healthz,whoami,evidence,gates]"
                ),
            }
        }
        ensure!(
            (1..=MAX_SECONDS).contains(&o.seconds),
            "--seconds must be 1 to {MAX_SECONDS}"
        );
        ensure!(
            o.requests.is_none_or(|n| (1..=MAX_REQUESTS).contains(&n)),
            "--requests must be 1 to {MAX_REQUESTS}"
        );
        ensure!(
            o.workload.as_deref().is_none_or(|w| w
                .split(',')
                .all(|w| ["healthz", "whoami", "evidence", "gates"].contains(&w))),
            "--workload takes healthz, whoami, evidence or gates, comma-separated"
        );
        ensure!(
            (1..=1024).contains(&o.clients),
            "--clients must be 1 to 1024"
        );
        Ok(o)
    }

    /// The request cap of a run.
    fn cap(&self) -> u64 {
        self.requests.unwrap_or(MAX_REQUESTS)
    }

    fn limit_text(&self) -> String {
        match self.requests {
            Some(n) => format!("{n} requests"),
            None => format!("{} s", self.seconds),
        }
    }
}

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let options = Options::parse(args)?;
    let asom = std::env::current_exe()?.with_file_name("asom");
    ensure!(
        asom.is_file(),
        "{} is missing: build it beside asom-bench (cargo build --release -p asom -p asom-bench)",
        asom.display()
    );
    println!(
        "asom serve benchmark: release build, {} clients (one keep-alive connection each), {} per workload, loopback, {} cores",
        options.clients,
        options.limit_text(),
        std::thread::available_parallelism().map_or(0, std::num::NonZero::get),
    );
    println!(
        "{:<10} {:<52} {:>18}   {:<26}",
        "group", "what", "measured", "target"
    );
    let mut failures = Vec::new();
    if options.only.as_deref().is_none_or(|o| o == "sqlite")
        && let Err(e) = backend(&asom, None, &options)
    {
        failures.push(format!("sqlite: {e:#}"));
    }
    if options.only.as_deref().is_none_or(|o| o == "postgres") {
        match std::env::var("ASOM_BENCH_POSTGRES") {
            Ok(admin) if !admin.trim().is_empty() => {
                if let Err(e) = postgres(&asom, admin.trim(), &options) {
                    failures.push(format!("postgres: {e:#}"));
                }
            }
            _ => println!(
                "serve      PostgreSQL not run: set ASOM_BENCH_POSTGRES to an admin URL that may create databases \
                 (scripts/ci-postgres.sh, then postgres://asom:asom@127.0.0.1:5432/asom)"
            ),
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        bail!("{}", failures.join("\n"))
    }
}

/// A fresh database through the admin URL, the run on it, and the database dropped.
fn postgres(asom: &Path, admin: &str, options: &Options) -> anyhow::Result<()> {
    let help = Command::new(asom).arg("--help").output()?;
    if !String::from_utf8_lossy(&help.stdout).contains("--store") {
        println!("serve      PostgreSQL not run: this asom has no --store flag yet");
        return Ok(());
    }
    let name = format!("asom_bench_{:016x}", random_u64());
    psql(admin, &format!("CREATE DATABASE {name}"))?;
    // Experiments: `ASOM_BENCH_POSTGRES_SET="plan_cache_mode=force_custom_plan"`
    // sets parameters for every session of the benchmark's database.
    if let Ok(settings) = std::env::var("ASOM_BENCH_POSTGRES_SET") {
        for setting in settings.split(',').filter(|s| !s.trim().is_empty()) {
            let (key, value) = setting
                .split_once('=')
                .context("ASOM_BENCH_POSTGRES_SET is name=value[,name=value]")?;
            psql(
                admin,
                &format!(
                    "ALTER DATABASE {name} SET {} = '{}'",
                    key.trim(),
                    value.trim()
                ),
            )?;
            println!("serve      PostgreSQL database setting: {}", setting.trim());
        }
    }
    let result = backend(asom, Some(&with_database(admin, &name)), options);
    if let Err(e) = psql(
        admin,
        &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
    ) {
        println!("serve      note: could not drop database {name}: {e:#}");
    }
    result
}

fn psql(url: &str, sql: &str) -> anyhow::Result<()> {
    let out = Command::new("psql")
        .arg(url)
        .args(["-v", "ON_ERROR_STOP=1", "-qAtc", sql])
        .stdin(Stdio::null())
        .output()
        .context("running psql (the PostgreSQL client) to create the benchmark's database")?;
    ensure!(
        out.status.success(),
        "psql -c {sql:?}: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(())
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

fn random_u64() -> u64 {
    use std::hash::{BuildHasher as _, Hasher as _};
    std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish()
}

// ---------------------------------------------------------------------------
// The world, through the real asom binary
// ---------------------------------------------------------------------------

/// An asom directory (and, for PostgreSQL, a store URL) set up for the run.
struct World {
    asom: PathBuf,
    /// Removed when the world is dropped.
    tmp: tempfile::TempDir,
    dir: PathBuf,
    store: Option<String>,
    admin: String,
    ci: String,
}

impl World {
    fn new(asom: &Path, store: Option<&str>) -> anyhow::Result<Self> {
        let tmp = tempfile::Builder::new()
            .prefix("asom-bench-serve-")
            .tempdir_in(std::env::temp_dir())?;
        let dir = tmp.path().join("asom");
        let mut world = Self {
            asom: asom.to_path_buf(),
            dir,
            tmp,
            store: store.map(str::to_owned),
            admin: String::new(),
            ci: String::new(),
        };
        let init = world.json(None, &["init"])?;
        init["admin_token"]
            .as_str()
            .context("asom init printed no admin_token")?
            .clone_into(&mut world.admin);
        if store.is_some() {
            ensure!(
                !world.dir.join("asom.db").exists(),
                "asom init --store made an embedded database: the PostgreSQL store was not used"
            );
        }
        let admin = world.admin.clone();
        let a = Some(admin.as_str());
        world.ok(
            a,
            &[
                "product",
                "create",
                "sales",
                "--team",
                "data-eng",
                "--classification",
                "internal",
                "--change-type",
                "dq-rule-change",
            ],
        )?;
        world.ok(
            a,
            &[
                "principal",
                "create",
                "alice",
                "--kind",
                "human",
                "--role",
                "developer",
            ],
        )?;
        world.ok(a, &["principal", "create", "ci-bot", "--kind", "machine"])?;
        world.json(a, &["token", "create", "ci-bot"])?["token"]
            .as_str()
            .context("token create printed no token")?
            .clone_into(&mut world.ci);
        for (release, commit, jira) in [
            (INGEST_RELEASE, INGEST_COMMIT, "ORD-1"),
            (GATE_RELEASE, GATE_COMMIT, "ORD-2"),
        ] {
            world.ok(
                a,
                &[
                    "change",
                    "record",
                    "--product",
                    "sales",
                    "--commit",
                    commit,
                    "--author",
                    "alice",
                    "--jira",
                    jira,
                ],
            )?;
            world.ok(a, &["release", "create", release])?;
            world.ok(
                a,
                &[
                    "release", "scope", release, "--jira", jira, "--commit", commit,
                ],
            )?;
            world.ok(a, &["crq", "create", "--release", release])?;
        }
        Ok(world)
    }

    /// `asom --dir <dir> [--store URL] …` with a clean `ASOM_*` environment.
    fn command(&self, token: Option<&str>) -> Command {
        let mut cmd = Command::new(&self.asom);
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("ASOM_") {
                cmd.env_remove(name);
            }
        }
        cmd.current_dir(self.tmp.path()).arg("--dir").arg(&self.dir);
        if let Some(url) = &self.store {
            cmd.arg("--store").arg(url);
        }
        if let Some(token) = token {
            cmd.env("ASOM_TOKEN", token);
        }
        cmd.stdin(Stdio::null());
        cmd
    }

    fn ok(&self, token: Option<&str>, args: &[&str]) -> anyhow::Result<std::process::Output> {
        let out = self.command(token).args(args).output()?;
        ensure!(
            out.status.success(),
            "asom {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
        Ok(out)
    }

    fn json(&self, token: Option<&str>, args: &[&str]) -> anyhow::Result<serde_json::Value> {
        let mut all = vec!["--format", "json"];
        all.extend_from_slice(args);
        let out = self.ok(token, &all)?;
        serde_json::from_slice(&out.stdout)
            .with_context(|| format!("asom {}: the output is not JSON", args.join(" ")))
    }

    /// The signed log size.
    fn size(&self) -> anyhow::Result<u64> {
        self.json(None, &["ledger", "checkpoint"])?["size"]
            .as_u64()
            .context("ledger checkpoint printed no size")
    }

    /// Every entry's id (SHA-256 of its bytes), by index, read back from
    /// the log written as tlog tiles by `asom ledger tiles`.
    fn entry_ids(&self, size: u64) -> anyhow::Result<Vec<[u8; 32]>> {
        let tiles = self.tmp.path().join("tiles");
        self.ok(None, &["ledger", "tiles", &tiles.to_string_lossy()])?;
        let mut ids = Vec::with_capacity(size as usize);
        for tile in asom_ledger::tiles::tiles_for(size)
            .into_iter()
            .filter(|t| t.level == 0)
        {
            let path = tiles.join(tile.entries_path());
            let bundle = std::fs::read(&path).with_context(|| format!("{}", path.display()))?;
            let entries = asom_ledger::tiles::parse_entry_bundle(&bundle)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            ids.extend(entries.iter().map(|e| <[u8; 32]>::from(Sha256::digest(e))));
        }
        let _ = std::fs::remove_dir_all(&tiles);
        ensure!(
            ids.len() as u64 == size,
            "the tiles hold {} entries, the checkpoint {size}",
            ids.len()
        );
        Ok(ids)
    }
}

// ---------------------------------------------------------------------------
// The server as a child process
// ---------------------------------------------------------------------------

/// `asom serve` running on the world's store.
struct Server {
    child: Child,
    addr: SocketAddr,
    /// The last lines it wrote on stderr.
    log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start(world: &World) -> anyhow::Result<Self> {
        let mut child = world
            .command(None)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .context("starting asom serve")?;
        let stderr = child.stderr.take().context("no stderr")?;
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let lines = Arc::clone(&log);
        // Drains stderr for the server's whole life, so it never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let addr = rest.split_whitespace().next().unwrap_or("").to_owned();
                    let _ = tx.send(addr);
                }
                let mut l = lines.lock().unwrap_or_else(PoisonError::into_inner);
                if l.len() >= 200 {
                    l.remove(0);
                }
                l.push(line);
            }
        });
        let Ok(addr) = rx.recv_timeout(Duration::from_secs(30)) else {
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "asom serve did not say where it listens:\n{}",
                log.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .join("\n")
            );
        };
        let mut server = Self {
            child,
            addr: addr
                .parse()
                .with_context(|| format!("asom serve's address {addr:?}"))?,
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let mut c = Client::new(server.addr);
            if matches!(c.send("GET", "/readyz", None, &[]), Ok((200, _))) {
                break;
            }
            if Instant::now() > deadline || server.child.try_wait()?.is_some() {
                let log = server.log_text();
                server.stop();
                bail!("asom serve did not become ready:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(server)
    }

    fn log_text(&self) -> String {
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .join("\n")
    }

    /// User + system CPU time the server used so far (Linux `/proc`).
    fn cpu(&self) -> Option<Duration> {
        cpu_of(&format!("/proc/{}/stat", self.child.id()))
    }

    /// SIGTERM (the server finishes the requests in flight), then SIGKILL
    /// if it has not stopped within 15 s. Returns whether it stopped cleanly.
    fn stop(&mut self) -> bool {
        if let Ok(Some(status)) = self.child.try_wait() {
            return status.success();
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        false
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

/// utime + stime of a `/proc/<pid>/stat` file, at the usual 100 ticks/s.
fn cpu_of(path: &str) -> Option<Duration> {
    let text = std::fs::read_to_string(path).ok()?;
    // The fields after the command name (which may hold spaces) in parentheses.
    let rest = text.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

// ---------------------------------------------------------------------------
// A minimal HTTP/1.1 keep-alive client
// ---------------------------------------------------------------------------

/// One keep-alive connection, reopened after any error.
struct Client {
    addr: SocketAddr,
    conn: Option<BufReader<TcpStream>>,
    request: Vec<u8>,
}

impl Client {
    fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            conn: None,
            request: Vec::with_capacity(1024),
        }
    }

    fn connect(&mut self) -> std::io::Result<&mut BufReader<TcpStream>> {
        if self.conn.is_none() {
            let s = TcpStream::connect_timeout(&self.addr, Duration::from_secs(10))?;
            s.set_nodelay(true)?;
            s.set_read_timeout(Some(READ_TIMEOUT))?;
            s.set_write_timeout(Some(READ_TIMEOUT))?;
            self.conn = Some(BufReader::with_capacity(16 * 1024, s));
        }
        Ok(self.conn.as_mut().expect("connected above"))
    }

    /// Sends one request; returns the status and the body.
    fn send(
        &mut self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: &[u8],
    ) -> std::io::Result<(u16, Vec<u8>)> {
        let result = self.exchange(method, path, token, body);
        if result.is_err() {
            self.conn = None;
        }
        result
    }

    fn exchange(
        &mut self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: &[u8],
    ) -> std::io::Result<(u16, Vec<u8>)> {
        let mut request = std::mem::take(&mut self.request);
        request.clear();
        let _ = write!(
            request,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\n",
            self.addr
        );
        if let Some(t) = token {
            let _ = write!(request, "Authorization: Bearer {t}\r\n");
        }
        if method == "POST" {
            let _ = write!(
                request,
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                body.len()
            );
        }
        request.extend_from_slice(b"\r\n");
        request.extend_from_slice(body);
        let conn = self.connect()?;
        let written = conn.get_mut().write_all(&request);
        self.request = request;
        written?;
        let conn = self.conn.as_mut().expect("connected above");
        read_response(conn)
    }
}

fn bad(what: impl Into<String>) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what.into())
}

fn read_response(conn: &mut BufReader<TcpStream>) -> std::io::Result<(u16, Vec<u8>)> {
    let mut line = String::new();
    if conn.read_line(&mut line)? == 0 {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad(format!("bad status line {line:?}")))?;
    let mut length = None;
    let mut chunked = false;
    let mut close = false;
    loop {
        line.clear();
        if conn.read_line(&mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = Some(value.parse::<usize>().map_err(|_| bad("content-length"))?);
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value.eq_ignore_ascii_case("chunked");
            } else if name.eq_ignore_ascii_case("connection") {
                close = value.eq_ignore_ascii_case("close");
            }
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            line.clear();
            conn.read_line(&mut line)?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| bad("chunk size"))?;
            let start = body.len();
            body.resize(start + size, 0);
            conn.read_exact(&mut body[start..])?;
            line.clear();
            conn.read_line(&mut line)?;
            if size == 0 {
                break;
            }
        }
    } else if let Some(n) = length {
        body.resize(n, 0);
        conn.read_exact(&mut body)?;
    } else {
        conn.read_to_end(&mut body)?;
        close = true;
    }
    if close {
        return Err(bad(format!(
            "the server closed the connection after a {status} answer"
        )));
    }
    Ok((status, body))
}

// ---------------------------------------------------------------------------
// Workloads
// ---------------------------------------------------------------------------

/// What one request looks like, and what an acknowledged one recorded.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Workload {
    Healthz,
    Whoami,
    Evidence,
    Gates,
}

impl Workload {
    fn request(self, client: usize, seq: u64) -> (&'static str, &'static str, Vec<u8>) {
        match self {
            Self::Healthz => ("GET", "/healthz", Vec::new()),
            Self::Whoami => ("POST", "/t/default/v1/whoami", b"{}".to_vec()),
            Self::Evidence => (
                "POST",
                "/t/default/v1/evidence",
                evidence_body(
                    INGEST_RELEASE,
                    INGEST_COMMIT,
                    client,
                    seq,
                    ("C-06", "T3"),
                    true,
                ),
            ),
            Self::Gates => (
                "POST",
                "/t/default/v1/gates/check",
                format!(r#"{{"gate":"G3","release":"{GATE_RELEASE}"}}"#).into_bytes(),
            ),
        }
    }

    /// Its name for `--workload`.
    fn name(self) -> &'static str {
        match self {
            Self::Healthz => "healthz",
            Self::Whoami => "whoami",
            Self::Evidence => "evidence",
            Self::Gates => "gates",
        }
    }

    /// Whether its answers carry a ledger entry (`recorded`).
    fn appends(self) -> bool {
        matches!(self, Self::Evidence | Self::Gates)
    }
}

/// One distinct evidence request: the artifact digest, build and source
/// differ per (client, seq).
fn evidence_body(
    release: &str,
    commit: &str,
    client: usize,
    seq: u64,
    (control, category): (&str, &str),
    pass: bool,
) -> Vec<u8> {
    let digest = Sha256::digest(format!("{release}/{client}/{seq}"));
    let status = if pass { "pass" } else { "fail" };
    format!(
        r#"{{"release":"{release}","control":"{control}","category":"{category}","commit":"{commit}","build":"b-{client}-{seq}","environment":"ci","status":"{status}","sha256":"{}","source_ref":"s3://bench/{client}/{seq}.json","source_type":"dq-report"}}"#,
        hex_of(&digest)
    )
    .into_bytes()
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn parse_hex32(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// What one workload measured.
#[derive(Default)]
struct Outcome {
    ok: u64,
    errors: u64,
    first_error: Option<String>,
    latencies: Vec<Duration>,
    elapsed: Duration,
    /// New entries the server acknowledged: (index, id).
    acked: Vec<(u64, [u8; 32])>,
    /// Answers that said the content was already in the log.
    duplicates: u64,
    /// When each acknowledged request completed, from the start.
    done_at: Vec<Duration>,
    server_cpu: Option<Duration>,
    client_cpu: Option<Duration>,
    /// Busy CPU time of the whole machine (every process), from `/proc/stat`.
    machine_cpu: Option<Duration>,
    /// CPU time of the processes named `postgres` (the database server's).
    postgres_cpu: Option<Duration>,
}

impl Outcome {
    fn merge(&mut self, other: Self) {
        self.ok += other.ok;
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
        self.latencies.extend(other.latencies);
        self.done_at.extend(other.done_at);
        self.acked.extend(other.acked);
        self.duplicates += other.duplicates;
    }

    fn error(&mut self, what: String) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(what);
        }
    }

    /// The nearest-rank percentile, `per_mille` of 1000.
    fn percentile(&self, per_mille: usize) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let n = self.latencies.len();
        let rank = (n * per_mille).div_ceil(1000).clamp(1, n);
        self.latencies[rank - 1]
    }

    /// Acknowledged requests per second in the first and the last fifth
    /// of the run (a cost that grows with the log shows as a drop).
    fn rate_first_last(&self) -> (f64, f64) {
        let fifth = self.elapsed / 5;
        let first = self.done_at.iter().filter(|d| **d < fifth).count();
        let last = self
            .done_at
            .iter()
            .filter(|d| **d >= self.elapsed.saturating_sub(fifth))
            .count();
        let secs = fifth.as_secs_f64().max(1e-9);
        (first as f64 / secs, last as f64 / secs)
    }
}

/// Runs `workload` from `clients` threads until `seconds` pass or `cap`
/// requests were sent.
fn load(
    server: &Server,
    token: &str,
    workload: Workload,
    clients: usize,
    seconds: u64,
    cap: u64,
) -> Outcome {
    let tickets = AtomicU64::new(cap);
    let barrier = Barrier::new(clients + 1);
    let addr = server.addr;
    let (cpu0, self0, machine0) = (server.cpu(), cpu_of("/proc/self/stat"), machine_busy());
    let postgres0 = processes_cpu("postgres");
    let start = std::sync::OnceLock::new();
    let mut total = std::thread::scope(|s| {
        let handles: Vec<_> = (0..clients)
            .map(|c| {
                let (tickets, barrier, start) = (&tickets, &barrier, &start);
                s.spawn(move || {
                    let mut client = Client::new(addr);
                    let mut out = Outcome::default();
                    // Connect before the clock starts.
                    let connected = client.connect().map(|_| ());
                    barrier.wait();
                    let start: Instant = *start.get_or_init(Instant::now);
                    if let Err(e) = connected {
                        out.error(format!("connecting: {e}"));
                        return out;
                    }
                    let deadline = Instant::now() + Duration::from_secs(seconds);
                    let mut seq = 0u64;
                    while Instant::now() < deadline
                        && tickets
                            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                                n.checked_sub(1)
                            })
                            .is_ok()
                    {
                        let (method, path, body) = workload.request(c, seq);
                        seq += 1;
                        let started = Instant::now();
                        let answer = client.send(method, path, Some(token), &body);
                        let took = started.elapsed();
                        match answer {
                            Ok((200, body)) => {
                                out.ok += 1;
                                out.latencies.push(took);
                                out.done_at.push(start.elapsed());
                                if workload.appends() {
                                    record_ack(&mut out, &body);
                                }
                            }
                            Ok((status, body)) => {
                                out.latencies.push(took);
                                out.error(format!(
                                    "{method} {path}: HTTP {status}: {}",
                                    String::from_utf8_lossy(&body)
                                ));
                            }
                            Err(e) => {
                                out.error(format!("{method} {path}: {e}"));
                                // A refused or reset connection must not spin.
                                std::thread::sleep(Duration::from_millis(10));
                            }
                        }
                    }
                    out
                })
            })
            .collect();
        barrier.wait();
        start.get_or_init(Instant::now);
        let mut total = Outcome::default();
        for h in handles {
            total.merge(h.join().expect("a client thread panicked"));
        }
        total
    });
    total.elapsed = start.get().map_or(Duration::ZERO, Instant::elapsed);
    total.server_cpu = server.cpu().zip(cpu0).map(|(b, a)| b.saturating_sub(a));
    total.client_cpu = cpu_of("/proc/self/stat")
        .zip(self0)
        .map(|(b, a)| b.saturating_sub(a));
    total.machine_cpu = machine_busy()
        .zip(machine0)
        .map(|(b, a)| b.saturating_sub(a));
    total.postgres_cpu = processes_cpu("postgres")
        .zip(postgres0)
        .map(|(b, a)| b.saturating_sub(a));
    total.latencies.sort_unstable();
    total
}

/// Busy CPU time of the whole machine so far: every CPU's time minus idle
/// and I/O wait, from the first line of `/proc/stat` (100 ticks/s).
fn machine_busy() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    let fields: Vec<u64> = text
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    let total: u64 = fields.iter().take(8).sum();
    let idle = fields.get(3)? + fields.get(4)?;
    Some(Duration::from_millis((total - idle) * 10))
}

/// CPU time used so far by the live processes named `command` (Linux `/proc`).
fn processes_cpu(command: &str) -> Option<Duration> {
    let mut total = Duration::ZERO;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let path = entry.path().join("stat");
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let comm = text
            .split_once('(')
            .and_then(|(_, rest)| rest.rsplit_once(')'))
            .map(|(c, _)| c);
        if comm == Some(command) {
            total += cpu_of(&path.to_string_lossy()).unwrap_or_default();
        }
    }
    Some(total)
}

/// Reads the `recorded` object (evidence, gate checks: the answer's last
/// field) of a 200 answer: the new entry's index and id, or a duplicate.
fn record_ack(out: &mut Outcome, body: &[u8]) {
    let recorded = find(body, b"\"recorded\":").and_then(|at| {
        serde_json::Deserializer::from_slice(&body[at + 11..])
            .into_iter::<serde_json::Value>()
            .next()?
            .ok()
    });
    let parsed = recorded.as_ref().and_then(|r| {
        Some((
            r["index"].as_u64()?,
            parse_hex32(r["id"].as_str()?)?,
            r["new"].as_bool()?,
        ))
    });
    match parsed {
        Some((index, id, true)) => out.acked.push((index, id)),
        Some((_, _, false)) => out.duplicates += 1,
        None => out.error(format!(
            "a 200 answer without a readable `recorded`: {}",
            String::from_utf8_lossy(body)
        )),
    }
}

/// The last position of `needle` in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}

// ---------------------------------------------------------------------------
// One backend
// ---------------------------------------------------------------------------

fn backend(asom: &Path, store: Option<&str>, options: &Options) -> anyhow::Result<()> {
    let name = if store.is_some() {
        "postgres"
    } else {
        "sqlite"
    };
    let setup = Instant::now();
    let world = World::new(asom, store)?;
    let mut server = Server::start(&world)?;
    progress(&format!(
        "{name}: world set up and asom serve ready on {} in {:.1} s",
        server.addr,
        setup.elapsed().as_secs_f64()
    ));
    let result = measure(&world, &server, name, options);
    let stopped = server.stop();
    let log = server.log_text();
    drop(server);
    let acked = result?;
    ensure!(
        stopped,
        "asom serve did not stop cleanly on SIGTERM:\n{log}"
    );
    check_log(&world, name, &acked)
}

/// The entries the server acknowledged, and the log size before the first.
struct Acked {
    size_before: u64,
    entries: Vec<(u64, [u8; 32])>,
    /// Requests that failed: each may or may not have been written.
    unknown: u64,
    /// Gate decisions recorded on the gate release so far.
    decisions: u64,
}

/// The gate release's evidence, over HTTP, one request at a time; every
/// seventh record fails, so G3 blocks with reasons.
fn seed_gate_release(world: &World, server: &Server, acked: &mut Acked) -> anyhow::Result<()> {
    let mut client = Client::new(server.addr);
    for i in 0..GATE_EVIDENCE {
        let body = evidence_body(
            GATE_RELEASE,
            GATE_COMMIT,
            usize::MAX,
            u64::from(i),
            CONTROLS[i as usize % CONTROLS.len()],
            i % 7 != 0,
        );
        let (status, answer) =
            client.send("POST", "/t/default/v1/evidence", Some(&world.ci), &body)?;
        ensure!(
            status == 200,
            "recording the gate release's evidence: HTTP {status}: {}",
            String::from_utf8_lossy(&answer)
        );
        let mut out = Outcome::default();
        record_ack(&mut out, &answer);
        ensure!(
            out.errors == 0 && out.acked.len() == 1,
            "evidence {i} was not new"
        );
        acked.entries.extend(out.acked);
    }
    Ok(())
}

fn measure(world: &World, server: &Server, name: &str, options: &Options) -> anyhow::Result<Acked> {
    let size_before = world.size()?;
    let mut acked = Acked {
        size_before,
        entries: Vec::new(),
        unknown: 0,
        decisions: 0,
    };
    seed_gate_release(world, server, &mut acked)?;

    let short = options.seconds.min(3);
    let short_cap = options.cap();
    let runs = [
        (
            Workload::Healthz,
            "GET /healthz (reference: HTTP alone)",
            short,
            short_cap,
        ),
        (
            Workload::Whoami,
            "POST /v1/whoami (reference: + token check)",
            short,
            short_cap,
        ),
        (
            Workload::Evidence,
            "POST /v1/evidence (distinct records)",
            options.seconds,
            options.cap(),
        ),
        (
            Workload::Gates,
            "POST /v1/gates/check G3, 100 entries",
            options.seconds,
            options.cap(),
        ),
    ];
    for (workload, what, seconds, cap) in runs {
        if options
            .workload
            .as_deref()
            .is_some_and(|w| !w.split(',').any(|w| w == workload.name()))
        {
            continue;
        }
        // A gate check alone, before and after the load: its cost as the
        // release's recorded decisions grow.
        let alone = |acked: &mut Acked| {
            let probe = load(server, &world.ci, workload, 1, 60, PROBE_CHECKS);
            acked.unknown += probe.errors;
            let decisions = acked.decisions;
            acked.decisions += probe.acked.len() as u64;
            acked.entries.extend(probe.acked.iter().copied());
            (probe.percentile(500), decisions)
        };
        let before = (workload == Workload::Gates).then(|| alone(&mut acked));
        let out = load(server, &world.ci, workload, options.clients, seconds, cap);
        report(name, what, workload, &out);
        if workload.appends() {
            acked.unknown += out.errors;
        }
        if workload == Workload::Gates {
            acked.decisions += out.acked.len() as u64;
        }
        acked.entries.extend(out.acked.iter().copied());
        if let Some((first, at)) = before {
            let (last, later) = alone(&mut acked);
            row(
                "serve",
                &format!(
                    "  one check alone (median of {PROBE_CHECKS}), after {at} / {later} decisions"
                ),
                &format!("{} / {}", ms(first), ms(last)),
                "",
                None,
            );
        }
        if let Some(e) = &out.first_error {
            println!("{:<10}   first error: {}", "serve", shorten(e, 400));
            if e.contains("HTTP 5") || e.contains("closed") {
                println!(
                    "{:<10}   server log (last lines):\n{}",
                    "serve",
                    server.log_text()
                );
            }
        }
    }
    Ok(acked)
}

fn shorten(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

fn report(name: &str, what: &str, workload: Workload, out: &Outcome) {
    let rate = out.ok as f64 / out.elapsed.as_secs_f64();
    let p99 = out.percentile(990);
    let ingest = workload == Workload::Evidence;
    row(
        "serve",
        &format!("{name}: {what}"),
        &format!("{}req/s", human(rate)),
        if ingest { "≥ 10,000 req/s" } else { "" },
        ingest.then_some(rate >= 10_000.0 && out.errors == 0),
    );
    row(
        "serve",
        &format!(
            "  p50 / p99 ({} ok, {} errors, {:.1} s)",
            out.ok,
            out.errors,
            out.elapsed.as_secs_f64()
        ),
        &format!("{} / {}", ms(out.percentile(500)), ms(p99)),
        if ingest { "p99 ≤ 20 ms" } else { "" },
        ingest.then_some(p99 <= Duration::from_millis(20)),
    );
    let cores = |d: Option<Duration>| {
        d.map_or("?".to_owned(), |d| {
            format!("{:.2}", d.as_secs_f64() / out.elapsed.as_secs_f64())
        })
    };
    row(
        "serve",
        "  max latency",
        &ms(out.latencies.last().copied().unwrap_or_default()),
        "",
        None,
    );
    let other =
        out.machine_cpu.zip(out.server_cpu).zip(out.client_cpu).map(
            |((machine, server), client)| machine.saturating_sub(server).saturating_sub(client),
        );
    row(
        "serve",
        "  CPU cores busy: asom serve / client / all other processes",
        &format!(
            "{} / {} / {}",
            cores(out.server_cpu),
            cores(out.client_cpu),
            cores(other)
        ),
        "(of 2)",
        None,
    );
    if name == "postgres" {
        row(
            "serve",
            "  of which PostgreSQL's processes",
            &cores(out.postgres_cpu),
            "",
            None,
        );
    }
    if workload == Workload::Evidence {
        let (first, last) = out.rate_first_last();
        row(
            "serve",
            "  req/s in the first / last fifth of the run",
            &format!("{first:.0} / {last:.0}"),
            "",
            None,
        );
    }
    match workload {
        Workload::Evidence if out.duplicates > 0 => row(
            "serve",
            "  answers that said `new: false` (distinct records: none expected)",
            &out.duplicates.to_string(),
            "",
            Some(false),
        ),
        Workload::Gates => row(
            "serve",
            "  decisions recorded / checks that got an earlier identical one",
            &format!("{} / {}", out.acked.len(), out.duplicates),
            "(same content, same ms)",
            None,
        ),
        _ => {}
    }
}

/// The log verifies, grew by exactly the acknowledged new entries (give or
/// take failed requests, which may have been written), and holds every
/// acknowledged entry at its index with its id.
fn check_log(world: &World, name: &str, acked: &Acked) -> anyhow::Result<()> {
    let verify = world.command(None).args(["ledger", "verify"]).output()?;
    let verified = verify.status.success();
    row(
        "serve",
        &format!("{name}: `asom ledger verify` after the run"),
        if verified { "verified" } else { "FAILED" },
        "",
        Some(verified),
    );
    let size = world.size()?;
    let grew = size - acked.size_before;
    let count = acked.entries.len() as u64;
    let ids = world.entry_ids(size)?;
    let mut seen = BTreeSet::new();
    let mut problems = Vec::new();
    let mut by_index: HashMap<u64, [u8; 32]> = HashMap::with_capacity(acked.entries.len());
    for (index, id) in &acked.entries {
        if !seen.insert(*index) {
            problems.push(format!("index {index} was acknowledged twice"));
        }
        by_index.insert(*index, *id);
    }
    let mut lost = 0u64;
    for (index, id) in &by_index {
        if ids.get(*index as usize) != Some(id) {
            lost += 1;
            if lost <= 5 {
                problems.push(format!(
                    "acknowledged entry {index} ({}) is not in the log at its index",
                    hex_of(id)
                ));
            }
        }
    }
    if grew < count || grew > count + acked.unknown {
        problems.push(format!(
            "the log grew by {grew} entries; the server acknowledged {count} new ones ({} failed requests may have written)",
            acked.unknown
        ));
    }
    row(
        "serve",
        &format!("{name}: log growth / acknowledged new entries"),
        &format!("{grew} / {count}"),
        "equal, none lost",
        Some(problems.is_empty()),
    );
    if lost > 0 {
        problems.push(format!("{lost} acknowledged entries LOST"));
    }
    if !verified {
        problems.push(format!(
            "asom ledger verify failed: {}",
            String::from_utf8_lossy(&verify.stderr).trim()
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        for p in &problems {
            println!("{:<10}   DATA CHECK FAILED: {p}", "serve");
        }
        bail!("{name}: the log does not hold what the server acknowledged")
    }
}

fn progress(message: &str) {
    let _ = writeln!(std::io::stderr(), "  ({message})");
}
