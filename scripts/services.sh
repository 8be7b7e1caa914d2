#!/usr/bin/env bash
# Make sure PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379) answer; start them if not.
# Exits non-zero when one cannot be started: the tests need both, they never skip them.
set -uo pipefail
pg_up() { pg_isready -q -h 127.0.0.1 -p 5432; }
redis_up() { [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = "PONG" ]; }
wait_for() { for _ in $(seq 1 40); do "$1" && return 0; sleep 0.5; done; return 1; }

if ! pg_up; then
  echo "services: starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
fi
if ! redis_up; then
  echo "services: starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
fi
wait_for pg_up || { echo "services: PostgreSQL on 127.0.0.1:5432 is down and could not be started" >&2; exit 1; }
wait_for redis_up || { echo "services: Redis on 127.0.0.1:6379 is down and could not be started" >&2; exit 1; }
psql -h 127.0.0.1 -U postgres -d postgres -Atc "select 1" >/dev/null \
  || { echo "services: cannot connect to PostgreSQL as postgres (trust auth expected)" >&2; exit 1; }
echo "services: PostgreSQL and Redis are up"
