//! Connecting to PostgreSQL, and the small bounded pool of read connections.

use std::collections::HashMap;
use std::ops::{Deref, DerefMut};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use asom_store::{Result, StoreError};
use postgres::config::{Host, SslMode};
use postgres::{Client, Config, NoTls, Statement};

/// How long a connection attempt may take when the URL sets no `connect_timeout`.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a caller waits for a pooled connection before giving up.
const POOL_WAIT: Duration = Duration::from_secs(30);

/// A parsed store URL and where it points, without the password.
#[derive(Clone)]
pub(crate) struct Target {
    pub(crate) config: Config,
    /// `postgres://user@host:port/database`: for messages and `describe()`.
    pub(crate) location: String,
}

impl Target {
    /// Parses a `postgres://` / `postgresql://` URL or a libpq `key=value` string.
    pub(crate) fn parse(url: &str) -> Result<Self> {
        let example = "postgres://USER:PASSWORD@HOST:5432/DATABASE";
        let mut config: Config = url.parse().map_err(|e: postgres::Error| {
            // The parser's messages name the bad option, never its value.
            StoreError::Invalid(format!(
                "the PostgreSQL store URL is not valid ({e}); write it as {example}"
            ))
        })?;
        if config.get_hosts().is_empty() {
            return Err(StoreError::Invalid(format!(
                "the PostgreSQL store URL names no host; write it as {example} \
                 (or host=/var/run/postgresql for a Unix socket)"
            )));
        }
        if config.get_ssl_mode() == SslMode::Require {
            return Err(StoreError::Invalid(
                "the PostgreSQL store does not speak TLS yet, but the URL says sslmode=require; \
                 connect over a Unix socket or loopback, or through a TLS-terminating proxy, \
                 and drop sslmode=require"
                    .into(),
            ));
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(DEFAULT_CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("asom");
        }
        let location = location(&config);
        Ok(Self { config, location })
    }

    /// Opens one connection, with an error that says what to check, and
    /// makes its commits durable.
    pub(crate) fn connect(&self) -> Result<Client> {
        let mut client = self.open_session()?;
        durable_commits(&mut client)?;
        Ok(client)
    }

    fn open_session(&self) -> Result<Client> {
        self.config.connect(NoTls).map_err(|e| {
            let c = &self.config;
            let hosts = c.get_hosts().iter().map(host_name).collect::<Vec<_>>();
            let ports = if c.get_ports().is_empty() {
                "5432".to_owned()
            } else {
                c.get_ports()
                    .iter()
                    .map(u16::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            };
            StoreError::Backend(format!(
                "cannot connect to PostgreSQL at {} (host {}, port {ports}, database {:?}, user {:?}): {e}; \
                 check that the server runs and accepts connections there, that the database exists, \
                 and that the user and password in the store URL are right",
                self.location,
                hosts.join(","),
                c.get_dbname().or(c.get_user()).unwrap_or(""),
                c.get_user().unwrap_or(""),
            ))
        })
    }
}

/// Makes sure a commit is flushed before it is acknowledged: a server
/// configured with `synchronous_commit = off` (or a role or database set so)
/// would otherwise acknowledge before the WAL is on disk. Other settings
/// (`local`, `on`, `remote_write`, `remote_apply`) all flush locally and are kept.
fn durable_commits(client: &mut Client) -> Result<()> {
    let row = client
        .query_one("SHOW synchronous_commit", &[])
        .map_err(crate::backend)?;
    let setting: String = crate::col(&row, 0)?;
    if setting == "off" {
        client
            .batch_execute("SET synchronous_commit = on")
            .map_err(crate::backend)?;
    }
    Ok(())
}

fn host_name(host: &Host) -> String {
    match host {
        Host::Tcp(name) => name.clone(),
        Host::Unix(path) => path.display().to_string(),
    }
}

/// `postgres://user@host:port/database`, never the password.
fn location(config: &Config) -> String {
    let hosts = config.get_hosts();
    let ports = config.get_ports();
    let mut out = String::from("postgres://");
    if let Some(user) = config.get_user() {
        out.push_str(user);
        out.push('@');
    }
    let places: Vec<String> = hosts
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
            match h {
                Host::Tcp(name) if name.contains(':') => format!("[{name}]:{port}"),
                Host::Tcp(name) => format!("{name}:{port}"),
                Host::Unix(path) => format!("{}:{port}", path.display()),
            }
        })
        .collect();
    out.push_str(&places.join(","));
    out.push('/');
    // libpq's default database is the user's name.
    out.push_str(config.get_dbname().or(config.get_user()).unwrap_or(""));
    out
}

/// A connection with its prepared statements (prepared once per session).
pub(crate) struct Conn {
    pub(crate) client: Client,
    statements: HashMap<&'static str, Statement>,
}

impl Conn {
    pub(crate) fn new(client: Client) -> Self {
        Self {
            client,
            statements: HashMap::new(),
        }
    }

    /// The prepared form of `sql`, prepared on first use.
    pub(crate) fn statement(&mut self, sql: &'static str) -> Result<Statement> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql).map_err(crate::backend)?;
        self.statements.insert(sql, s.clone());
        Ok(s)
    }
}

struct PoolState {
    idle: Vec<Conn>,
    open: usize,
}

/// At most `max` connections, opened on demand and kept for reuse; a caller
/// beyond `max` waits for one to come back.
pub(crate) struct Pool {
    target: Target,
    max: usize,
    state: Mutex<PoolState>,
    returned: Condvar,
}

impl Pool {
    pub(crate) fn new(target: Target, max: usize) -> Self {
        Self {
            target,
            max: max.max(1),
            state: Mutex::new(PoolState {
                idle: Vec::new(),
                open: 0,
            }),
            returned: Condvar::new(),
        }
    }

    /// Hands back an idle connection, or opens one, or waits for one.
    pub(crate) fn get(&self) -> Result<Pooled<'_>> {
        let mut state = self.state.lock().expect("pool lock");
        loop {
            if let Some(conn) = state.idle.pop() {
                if conn.client.is_closed() {
                    state.open -= 1;
                    continue;
                }
                return Ok(Pooled {
                    pool: self,
                    conn: Some(conn),
                });
            }
            if state.open < self.max {
                state.open += 1;
                drop(state);
                return match self.target.connect() {
                    Ok(client) => Ok(Pooled {
                        pool: self,
                        conn: Some(Conn::new(client)),
                    }),
                    Err(e) => {
                        self.state.lock().expect("pool lock").open -= 1;
                        self.returned.notify_one();
                        Err(e)
                    }
                };
            }
            let (next, timeout) = self
                .returned
                .wait_timeout(state, POOL_WAIT)
                .expect("pool lock");
            state = next;
            if timeout.timed_out() && state.idle.is_empty() && state.open >= self.max {
                return Err(StoreError::Backend(format!(
                    "all {} connections to {} stayed busy for {} s; the database is slow or a query hangs",
                    self.max,
                    self.target.location,
                    POOL_WAIT.as_secs()
                )));
            }
        }
    }

    /// How many connections are open (idle or lent).
    #[cfg(test)]
    pub(crate) fn open_connections(&self) -> usize {
        self.state.lock().expect("pool lock").open
    }
}

/// A connection lent by the pool; it goes back when dropped (or is closed
/// for good when its session broke).
pub(crate) struct Pooled<'a> {
    pool: &'a Pool,
    conn: Option<Conn>,
}

impl Deref for Pooled<'_> {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        self.conn.as_ref().expect("a lent connection")
    }
}

impl DerefMut for Pooled<'_> {
    fn deref_mut(&mut self) -> &mut Conn {
        self.conn.as_mut().expect("a lent connection")
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else { return };
        let mut state = self.pool.state.lock().expect("pool lock");
        if conn.client.is_closed() || std::thread::panicking() {
            state.open -= 1;
        } else {
            state.idle.push(conn);
        }
        drop(state);
        self.pool.returned.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_malformed_url_says_how_to_write_one() {
        for url in [
            "postgres://asom:secret@localhost:notaport/asom",
            "postgres://asom:secret@localhost/asom?sslmode=sometimes",
            "host=localhost port=99999999 password=secret",
        ] {
            let e = Target::parse(url).err().expect("refused");
            let text = e.to_string();
            assert!(matches!(e, StoreError::Invalid(_)), "{url}: {e:?}");
            assert!(
                text.contains("postgres://USER:PASSWORD@HOST:5432/DATABASE"),
                "{text}"
            );
            assert!(!text.contains("secret"), "the password leaked: {text}");
        }
    }

    #[test]
    fn tls_required_is_refused_with_the_way_out() {
        let e = Target::parse("postgres://a:secret@db.example/asom?sslmode=require")
            .err()
            .expect("refused");
        assert!(e.to_string().contains("TLS-terminating proxy"), "{e}");
    }

    #[test]
    fn the_location_never_holds_the_password() {
        let t = Target::parse("postgresql://asom:hunter2@db.internal:6543/ledger").expect("valid");
        assert_eq!(t.location, "postgres://asom@db.internal:6543/ledger");
        let t = Target::parse("host=127.0.0.1 user=ops password=hunter2").expect("valid");
        assert_eq!(t.location, "postgres://ops@127.0.0.1:5432/ops");
    }

    #[test]
    fn an_unreachable_server_names_host_port_and_database() {
        // Port 1 on loopback: nothing listens there, the refusal is immediate.
        let t = Target::parse("postgres://asom:hunter2@127.0.0.1:1/ledger?connect_timeout=5")
            .expect("valid");
        let e = t.connect().err().expect("nothing listens on port 1");
        let text = e.to_string();
        assert!(matches!(e, StoreError::Backend(_)), "{e:?}");
        for part in [
            "host 127.0.0.1",
            "port 1",
            "database \"ledger\"",
            "server runs",
        ] {
            assert!(text.contains(part), "{part:?} missing from: {text}");
        }
        assert!(!text.contains("hunter2"), "the password leaked: {text}");
    }

    #[test]
    fn commits_are_durable_even_when_the_server_says_otherwise() {
        let Ok(url) = std::env::var("ASOM_TEST_POSTGRES") else {
            return;
        };
        let sep = if url.contains('?') { '&' } else { '?' };
        let url = format!("{url}{sep}options=-c%20synchronous_commit%3Doff");
        let mut client = Target::parse(&url)
            .expect("valid")
            .connect()
            .expect("connect");
        let row = client
            .query_one("SHOW synchronous_commit", &[])
            .expect("show");
        assert_eq!(row.get::<_, String>(0), "on");
    }

    #[test]
    fn the_pool_is_bounded_and_waits_for_a_returned_connection() {
        let Ok(url) = std::env::var("ASOM_TEST_POSTGRES") else {
            return;
        };
        let pool = Pool::new(Target::parse(&url).expect("valid"), 2);
        let a = pool.get().expect("first");
        let b = pool.get().expect("second");
        assert_eq!(pool.open_connections(), 2);
        std::thread::scope(|s| {
            let waiter = s.spawn(|| {
                let mut c = pool.get().expect("third, after one came back");
                c.client.simple_query("SELECT 1").expect("query");
            });
            std::thread::sleep(Duration::from_millis(200));
            assert!(!waiter.is_finished(), "a third connection must wait");
            drop(a);
            waiter.join().expect("thread");
        });
        assert_eq!(pool.open_connections(), 2);
        drop(b);
        assert_eq!(pool.open_connections(), 2);
    }
}
