#!/usr/bin/env bash
# Runs the whole test suite: formatting, lints, then every test in both modes (embedded: SQLite,
# in-memory stores, in-process bus; fleet: PostgreSQL, Redis, NATS JetStream).
#
# Makes sure the three servers run first: starts them when installed, installs them from Debian's
# packages when not (needs root or sudo). Where the servers are can be overridden with
# TEST_DATABASE_URL, TEST_REDIS_HOST, TEST_REDIS_PORT and TEST_NATS_URL.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n==> %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "need root (or sudo) to run: $*" >&2; return 1
  fi
}

apt_install() {
  say "installing $* from Debian's packages"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for_port() {
  for _ in $(seq 1 50); do listening "$1" && return 0; sleep 0.2; done
  echo "nothing listens on port $1 after 10 s" >&2; return 1
}

ensure_postgres() {
  if ! listening 5432; then
    command -v pg_ctlcluster >/dev/null || apt_install postgresql
    local version; version=$(ls /etc/postgresql | sort -V | tail -n 1)
    say "starting PostgreSQL $version"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    wait_for_port 5432
  fi
  # The tests connect as postgres over TCP without a password. A fresh Debian install asks for
  # one on 127.0.0.1; on a test machine, trust local connections instead.
  command -v psql >/dev/null || return 0
  if ! psql "${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}" -qAtc 'select 1' >/dev/null 2>&1; then
    local hba; hba=$(as_root find /etc/postgresql -name pg_hba.conf | sort -V | tail -n 1)
    say "trusting local TCP connections in $hba (test machine)"
    as_root sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
    as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main reload
    sleep 1
  fi
}

ensure_redis() {
  listening 6379 && return 0
  command -v redis-server >/dev/null || apt_install redis-server
  say "starting Redis"
  as_root mkdir -p /var/lib/redis /var/log/redis
  as_root redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/gpuproxy-tests.log
  wait_for_port 6379
}

ensure_nats() {
  # The outage tests start (and kill) a server of their own, so the binary must be here even when
  # something else already serves 4222.
  command -v nats-server >/dev/null || [ -x /usr/sbin/nats-server ] || apt_install nats-server
  listening 4222 && return 0
  local server; server=$(command -v nats-server || echo /usr/sbin/nats-server)
  say "starting NATS with JetStream"
  as_root mkdir -p /var/lib/nats-server
  as_root start-stop-daemon --start --oknodo --background --exec "$server" -- \
    -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
  wait_for_port 4222
}

say "checking PostgreSQL, Redis and NATS"
ensure_postgres
ensure_redis
ensure_nats

say "formatting"
cargo fmt --all -- --check

say "lints"
cargo clippy --workspace --all-targets --locked -- -D warnings

say "removing what interrupted runs left behind (test databases and streams)"
cargo run --quiet --locked -p gpuproxy-testkit --bin gpuproxy-test-janitor

say "the official client SDKs the tests drive (a2a-sdk, tritonclient)"
./scripts/client-sdks.sh

say "an S3-protocol server for the fleet's model storage"
./scripts/s3-server.sh

say "ONNX Runtime's library, which serves models"
./scripts/onnxruntime.sh

say "tests, embedded and fleet"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast
else
  cargo test --workspace --locked --no-fail-fast
fi

say "fuzzing the REST API from its own /openapi.json"
./scripts/fuzz-api.sh
