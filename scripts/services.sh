#!/usr/bin/env bash
# PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379) for the tests and the benchmarks.
#
#   scripts/services.sh check    # exit 1 unless both answer
#   scripts/services.sh ensure   # start whichever is down, wait up to ~20 s, exit 1 if one is
#                                # still down (default)
#
# The tests need both: CI must fail, never skip, when a service cannot be started.
# It also checks that the `postgres` role can sign in over TCP (trust auth on these machines),
# which is how the tests create and drop their throwaway databases.
set -euo pipefail

PG_HOST=127.0.0.1
PG_PORT=5432
REDIS_HOST=127.0.0.1
REDIS_PORT=6379
WAIT_SECONDS=20

die() { echo "services: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "'$1' not found: $2"; }

pg_up() { pg_isready -q -h "$PG_HOST" -p "$PG_PORT" -t 2 >/dev/null 2>&1; }
redis_up() {
  [ "$(timeout 3 redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null)" = "PONG" ]
}
# wait_for CHECK: poll CHECK twice a second for up to WAIT_SECONDS.
wait_for() {
  local i
  for ((i = 0; i < WAIT_SECONDS * 2; i++)); do
    "$1" && return 0
    sleep 0.5
  done
  "$1"
}

start_pg() {
  [ -d /etc/postgresql ] || die "PostgreSQL is down and not installed (/etc/postgresql missing)"
  local version
  version=$(ls /etc/postgresql | sort -V | tail -n 1)  # one version on these machines
  echo "services: PostgreSQL is down; starting cluster $version/main"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start \
    || echo "services: pg_ctlcluster failed (see /var/log/postgresql/)" >&2
}

start_redis() {
  echo "services: Redis is down; starting redis-server on $REDIS_HOST:$REDIS_PORT"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log \
    || echo "services: redis-server failed (see /var/log/redis/ci.log)" >&2
}

pg_role_ok() {
  PGCONNECT_TIMEOUT=5 psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -XAtqc 'select 1' \
    >/dev/null
}

# The `test` database some tools expect by default; the tests make their own on top of it.
ensure_test_db() {
  local exists
  exists=$(PGCONNECT_TIMEOUT=5 psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -XAtqc \
    "select 1 from pg_database where datname = 'test'")
  if [ "$exists" != 1 ]; then
    echo "services: creating database 'test'"
    psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -Xqc 'CREATE DATABASE test' >/dev/null
  fi
}

mode=${1:-ensure}
case "$mode" in
  check | ensure) ;;
  *) echo "usage: $0 [check|ensure]" >&2; exit 2 ;;
esac

need pg_isready "install postgresql-client"
need redis-cli "install redis-tools"
need psql "install postgresql-client"

status=0
if ! pg_up; then
  if [ "$mode" = ensure ]; then
    need pg_ctlcluster "install postgresql-common"
    start_pg
    wait_for pg_up || { echo "services: PostgreSQL on $PG_HOST:$PG_PORT is still down after ${WAIT_SECONDS}s" >&2; status=1; }
  else
    echo "services: PostgreSQL on $PG_HOST:$PG_PORT is down" >&2
    status=1
  fi
fi

if ! redis_up; then
  if [ "$mode" = ensure ]; then
    need redis-server "install redis-server"
    start_redis
    wait_for redis_up || { echo "services: Redis on $REDIS_HOST:$REDIS_PORT is still down after ${WAIT_SECONDS}s" >&2; status=1; }
  else
    echo "services: Redis on $REDIS_HOST:$REDIS_PORT is down" >&2
    status=1
  fi
fi

if [ $status -eq 0 ]; then
  pg_role_ok || die "PostgreSQL answers but 'psql -h $PG_HOST -U postgres' fails (trust auth for the postgres role over TCP is expected)"
  [ "$mode" = ensure ] && ensure_test_db
  echo "services: PostgreSQL ($PG_HOST:$PG_PORT) and Redis ($REDIS_HOST:$REDIS_PORT) are up"
else
  die "a service the tests need is not running; they fail rather than skip"
fi
