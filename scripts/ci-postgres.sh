#!/usr/bin/env bash
# Installs (if needed) and starts a local PostgreSQL for asom's PostgreSQL
# store tests, with role `asom` (password `asom`, CREATEDB) and database `asom`.
# Idempotent: safe to run on a fresh machine and again on a ready one.
# Everything it prints goes to stderr. Afterwards:
#   export ASOM_TEST_POSTGRES=postgres://asom:asom@127.0.0.1:5432/asom
#   export ASOM_REQUIRE_POSTGRES=1
set -euo pipefail

say() { echo "ci-postgres: $*" >&2; }

# Root runs everything directly; anyone else goes through sudo.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}
as_postgres() {
    if [ "$(id -u)" -eq 0 ] && command -v runuser >/dev/null 2>&1; then
        runuser -u postgres -- "$@"
    else
        sudo -u postgres "$@"
    fi
}

if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    say "installing postgresql"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -qq >&2
    as_root apt-get install -y -qq postgresql >&2
fi

# The newest installed major version, and its cluster (created if missing).
version=$(ls /usr/lib/postgresql | sort -n | tail -1)
if [ -z "$version" ]; then
    say "no PostgreSQL server found under /usr/lib/postgresql"
    exit 1
fi
if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -qx "$version main"; then
    say "creating cluster $version/main"
    as_root pg_createcluster "$version" main >&2
fi
port=$(pg_lsclusters -h | awk -v v="$version" '$1==v && $2=="main" {print $3}')
if [ "$port" != "5432" ]; then
    say "warning: cluster $version/main listens on port $port, not 5432"
fi

status=$(pg_lsclusters -h | awk -v v="$version" '$1==v && $2=="main" {print $4}')
if [ "$status" != "online" ]; then
    say "starting cluster $version/main"
    as_root pg_ctlcluster "$version" main start >&2
else
    say "cluster $version/main is running"
fi

# Wait until it accepts connections.
for _ in $(seq 1 30); do
    if as_postgres psql -p "$port" -qAtc 'SELECT 1' >/dev/null 2>&1; then
        break
    fi
    sleep 1
done

psql_admin() { as_postgres psql -p "$port" -v ON_ERROR_STOP=1 -qAt "$@"; }

if [ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = 'asom'")" != "1" ]; then
    say "creating role asom"
    psql_admin -c "CREATE ROLE asom LOGIN CREATEDB PASSWORD 'asom'" >&2
else
    say "role asom exists; making sure it can log in and create databases"
    psql_admin -c "ALTER ROLE asom LOGIN CREATEDB PASSWORD 'asom'" >&2
fi
if [ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = 'asom'")" != "1" ]; then
    say "creating database asom"
    psql_admin -c "CREATE DATABASE asom OWNER asom" >&2
fi

if PGPASSWORD=asom psql -h 127.0.0.1 -p "$port" -U asom -d asom -qAtc 'SELECT 1' >/dev/null 2>&1; then
    say "ready: postgres://asom:asom@127.0.0.1:$port/asom"
else
    say "PostgreSQL runs, but asom cannot log in over 127.0.0.1:$port; check pg_hba.conf allows password (scram-sha-256/md5) logins from 127.0.0.1"
    exit 1
fi
