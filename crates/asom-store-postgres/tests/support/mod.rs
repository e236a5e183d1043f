//! Fresh PostgreSQL databases for tests: one per test, created from the admin
//! URL in `ASOM_TEST_POSTGRES` and dropped afterwards (best effort), so tests
//! run in parallel without sharing state.

#![allow(dead_code, clippy::print_stderr)] // Each test binary uses part of it; skips are reported on stderr.

use std::hash::{BuildHasher as _, Hasher as _};

use postgres::{Client, NoTls};

/// The admin URL, or `None` (after saying so) when PostgreSQL tests are not
/// configured. With `ASOM_REQUIRE_POSTGRES=1` a missing URL is a failure, so
/// CI can never skip them silently.
pub fn admin_url(test: &str) -> Option<String> {
    match std::env::var("ASOM_TEST_POSTGRES") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("ASOM_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                "ASOM_REQUIRE_POSTGRES=1 but ASOM_TEST_POSTGRES is not set: run scripts/ci-postgres.sh \
                 and export ASOM_TEST_POSTGRES=postgres://asom:asom@127.0.0.1:5432/asom"
            );
            eprintln!(
                "skipped {test}: ASOM_TEST_POSTGRES is not set (run scripts/ci-postgres.sh and export \
                 ASOM_TEST_POSTGRES=postgres://asom:asom@127.0.0.1:5432/asom to run it)"
            );
            None
        }
    }
}

/// `url` pointing at database `name` instead (URL or `key=value` form).
pub fn with_database(url: &str, name: &str) -> String {
    if let Some(scheme_end) = url.find("://").map(|i| i + 3) {
        let (base, query) = match url.split_once('?') {
            Some((b, q)) => (b, format!("?{q}")),
            None => (url, String::new()),
        };
        let authority_end = base[scheme_end..]
            .find('/')
            .map_or(base.len(), |i| scheme_end + i);
        format!("{}/{name}{query}", &base[..authority_end])
    } else {
        format!("{url} dbname={name}")
    }
}

/// A database created for one test, dropped when this is dropped.
pub struct TestDatabase {
    admin: String,
    /// The database's name.
    pub name: String,
    /// The URL of the database.
    pub url: String,
}

impl TestDatabase {
    /// Creates `asom_test_<random>` through the admin URL.
    pub fn create(admin: &str) -> Self {
        let random = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
        let name = format!("asom_test_{random:016x}");
        let mut client = Client::connect(admin, NoTls)
            .unwrap_or_else(|e| panic!("connecting to ASOM_TEST_POSTGRES: {e}"));
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|e| {
                panic!("creating test database {name} (the role needs CREATEDB): {e}")
            });
        let url = with_database(admin, &name);
        Self {
            admin: admin.to_owned(),
            name,
            url,
        }
    }

    /// A raw connection to this database.
    pub fn client(&self) -> Client {
        Client::connect(&self.url, NoTls).expect("connecting to the test database")
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Ok(mut client) = Client::connect(&self.admin, NoTls) {
            let _ = client.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

#[test]
fn urls_are_pointed_at_another_database() {
    assert_eq!(
        with_database("postgres://a:b@h:5432/asom", "x"),
        "postgres://a:b@h:5432/x"
    );
    assert_eq!(
        with_database("postgresql://a@h/asom?sslmode=disable", "x"),
        "postgresql://a@h/x?sslmode=disable"
    );
    assert_eq!(with_database("postgres://h", "x"), "postgres://h/x");
    assert_eq!(
        with_database("host=h user=a", "x"),
        "host=h user=a dbname=x"
    );
}
