#!/usr/bin/env bash
# Start (idempotently) the PostgreSQL server that the SQL environment's
# `backend="postgres"` and the tests marked `postgres` use.
#
#   bash scripts/start_postgres.sh                 # start if needed, say where it is
#   bash scripts/start_postgres.sh --print-env     # start if needed, print `export ...` lines
#   source <(bash scripts/start_postgres.sh --print-env)
#   bash scripts/start_postgres.sh --stop          # stop the cluster
#   bash scripts/start_postgres.sh --reset         # stop, delete the cluster, start a fresh one
#
# What it sets up (once; later runs only start the server if it is down):
#   * a cluster (initdb) listening on 127.0.0.1 only, port $AGENTGYM_PG_PORT
#     (default 55432), no Unix socket, password (scram-sha-256) authentication;
#     data dir $AGENTGYM_PG_DATA (default /tmp/agentgym-postgres-<port>/data),
#     owned by the `postgres` system user when run as root (PostgreSQL refuses
#     to run as root), by the current user otherwise;
#   * role `agentgym_admin` (superuser: the env builds one schema per task
#     database through it) and role `agentgym_ro` (login, read-only: SELECT
#     only, default_transaction_read_only, statement_timeout 2 s,
#     temp_file_limit 256 MB, at most 32 connections);
#   * database `agentgym_sql`, in which the env creates one schema per
#     generated database (`sql_<content hash>`) and grants `agentgym_ro` read access.
# Passwords are random, kept in <base>/credentials (mode 600).
set -euo pipefail

PORT=${AGENTGYM_PG_PORT:-55432}
BASE=${AGENTGYM_PG_BASE:-/tmp/agentgym-postgres-$PORT}
DATA=${AGENTGYM_PG_DATA:-$BASE/data}
DB=agentgym_sql
MODE=${1:-}
case "$MODE" in ""|--print-env|--stop|--reset) ;; *) echo "usage: $0 [--print-env|--stop|--reset]" >&2; exit 2 ;; esac

log() { if [ "$MODE" = "--print-env" ]; then echo "[start_postgres] $*" >&2; else echo "[start_postgres] $*"; fi; }
die() { echo "[start_postgres] error: $*" >&2; exit 1; }

PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$PGBIN" ] && command -v pg_ctl >/dev/null 2>&1; then PGBIN=$(dirname "$(command -v pg_ctl)"); fi
[ -n "$PGBIN" ] || die "PostgreSQL is not installed: run scripts/setup.sh (installs the Debian package 'postgresql')."

# Run server-side commands as the `postgres` system user when we are root.
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || die "running as root but there is no 'postgres' system user to run the server as."
  RUN_USER=postgres
  as_pg() { runuser -u postgres -- "$@"; }
else
  RUN_USER=$(id -un)
  as_pg() { "$@"; }
fi

if [ "$MODE" = "--stop" ] || [ "$MODE" = "--reset" ]; then
  if [ -f "$DATA/PG_VERSION" ]; then as_pg "$PGBIN/pg_ctl" -D "$DATA" -m fast stop >/dev/null 2>&1 || true; fi
  log "stopped"
  [ "$MODE" = "--stop" ] && exit 0
  # Schemas are named by content hash, so old ones pile up as generators change.
  rm -rf "$DATA" "$BASE/credentials"
  log "deleted $DATA"
fi

mkdir -p "$BASE"
CRED="$BASE/credentials"
if [ ! -f "$CRED" ]; then
  umask 077
  printf 'ADMIN_PW=%s\nRO_PW=%s\n' "$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')" \
    "$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')" >"$CRED"
fi
# shellcheck disable=SC1090
. "$CRED"

if [ ! -f "$DATA/PG_VERSION" ]; then
  log "initdb $DATA (as $RUN_USER)"
  rm -rf "$DATA"
  mkdir -p "$DATA"
  pwfile=$(mktemp)
  printf '%s\n' "$ADMIN_PW" >"$pwfile"
  if [ "$RUN_USER" = postgres ] && [ "$(id -u)" = 0 ]; then chown -R postgres: "$BASE" "$pwfile"; fi
  chmod 700 "$DATA"
  as_pg "$PGBIN/initdb" -D "$DATA" -U agentgym_admin --pwfile="$pwfile" --auth=scram-sha-256 \
    -E UTF8 --locale=C.UTF-8 >"$BASE/initdb.log" 2>&1 || { rm -f "$pwfile"; die "initdb failed, see $BASE/initdb.log"; }
  rm -f "$pwfile"
  {
    echo "listen_addresses = '127.0.0.1'"
    echo "port = $PORT"
    echo "unix_socket_directories = ''"
    echo "max_connections = 100"
    echo "shared_buffers = 64MB"
    # A scratch cluster of generated data: durability is not needed, speed is.
    echo "fsync = off"
    echo "synchronous_commit = off"
    echo "full_page_writes = off"
  } >>"$DATA/postgresql.conf"
fi

if ! as_pg "$PGBIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
  log "starting the server on 127.0.0.1:$PORT"
  as_pg "$PGBIN/pg_ctl" -D "$DATA" -l "$DATA/../server.log" -w -t 60 start >/dev/null \
    || die "pg_ctl start failed, see $BASE/server.log"
fi

psql_admin() { PGPASSWORD=$ADMIN_PW "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U agentgym_admin "$@"; }

# Roles and database: idempotent statements, run on every start (cheap).
psql_admin -d postgres >/dev/null <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'agentgym_ro') THEN
    CREATE ROLE agentgym_ro LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT CONNECTION LIMIT 32;
  END IF;
END \$\$;
ALTER ROLE agentgym_ro PASSWORD '$RO_PW';
ALTER ROLE agentgym_ro SET statement_timeout = '2s';
ALTER ROLE agentgym_ro SET default_transaction_read_only = on;
ALTER ROLE agentgym_ro SET temp_file_limit = '256MB';
ALTER ROLE agentgym_ro SET work_mem = '16MB';
ALTER ROLE agentgym_ro SET idle_in_transaction_session_timeout = '60s';
SELECT 'CREATE DATABASE $DB' WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '$DB')\gexec
SQL
psql_admin -d "$DB" >/dev/null <<SQL
REVOKE ALL ON DATABASE $DB FROM PUBLIC;
GRANT CONNECT ON DATABASE $DB TO agentgym_ro;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
REVOKE TEMPORARY ON DATABASE $DB FROM PUBLIC;
SQL

RO_DSN="postgresql://agentgym_ro:$RO_PW@127.0.0.1:$PORT/$DB"
ADMIN_DSN="postgresql://agentgym_admin:$ADMIN_PW@127.0.0.1:$PORT/$DB"
if [ "$MODE" = "--print-env" ]; then
  echo "export AGENTGYM_PG_DSN='$RO_DSN'"
  echo "export AGENTGYM_PG_ADMIN_DSN='$ADMIN_DSN'"
else
  log "ready on 127.0.0.1:$PORT (database $DB; data $DATA)"
  log "use it with: source <(bash scripts/start_postgres.sh --print-env)"
fi
