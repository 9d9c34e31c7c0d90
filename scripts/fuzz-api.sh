#!/usr/bin/env bash
# Fuzzes the embedded server from its own /openapi.json with Schemathesis (from PyPI), as an admin
# so that admin routes are reached too: no 5xx, and
# every answer's status, content type and body as documented. Routes that reach out of the machine
# (the proxy, the route, payments and the processors' webhooks, webhook subscriptions) are left out,
# and so are MCP and the agent protocols' message routes, whose actions reach out too (a proxied
# request) and whose contracts are the protocols' (tests/flows/mcp.rs and agent_protocols.rs).
#
# Uses the daemon built in CARGO_TARGET_DIR (building it when missing) and a virtualenv under
# ~/.cache/gpuproxy (FUZZ_VENV), installed on first use. FUZZ_EXAMPLES sets the cases per operation,
# FUZZ_SEED the random seed (fixed by default, so that a run can be repeated).
set -euo pipefail
cd "$(dirname "$0")/.."

target="${CARGO_TARGET_DIR:-target}"
daemon="$target/debug/aiserve-gpuproxyd"
[ -x "$daemon" ] || cargo build --locked --quiet -p gpuproxy-daemon
daemon="$(cd "$(dirname "$daemon")" && pwd)/$(basename "$daemon")"

venv="${FUZZ_VENV:-$HOME/.cache/gpuproxy/venv-fuzz}"
if ! "$venv/bin/st" --version >/dev/null 2>&1; then
  echo "==> installing Schemathesis into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "schemathesis==4.32.5"
fi

work=$(mktemp -d)
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
http_port=$(free_port)
grpc_port=$(free_port)
base="http://127.0.0.1:$http_port"

# A clean environment and working directory: no .env or variable of the caller's changes the server.
(cd "$work" && exec env -i PATH="$PATH" HOME="$work" DATA_DIR="$work/data" SERVER_HOST=127.0.0.1 \
  SERVER_PORT="$http_port" GRPC_PORT="$grpc_port" RATE_LIMIT_ENABLED=false LOG_LEVEL=warn \
  ML_RUNTIME_CACHE="${ML_RUNTIME_CACHE:-$HOME/.cache/gpuproxy}" \
  JWT_SECRET=fuzzing-secret-fuzzing-secret-fuzzing-secret \
  BOOTSTRAP_ADMIN_EMAIL=fuzz@example.com BOOTSTRAP_ADMIN_PASSWORD=fuzzing-password \
  "$daemon" >"$work/server.log" 2>&1) &
pid=$!

for _ in $(seq 1 100); do
  curl -fsS "$base/health/live" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/server.log"; echo "the server died" >&2; exit 1; }
  sleep 0.2
done

key=$(python3 - "$base" <<'EOF'
import json, sys, urllib.request
base = sys.argv[1]
def post(path, body, token=None):
    request = urllib.request.Request(base + path, json.dumps(body).encode(), {"Content-Type": "application/json"})
    if token:
        request.add_header("Authorization", "Bearer " + token)
    return json.load(urllib.request.urlopen(request))
token = post("/api/v1/auth/login", {"email": "fuzz@example.com", "password": "fuzzing-password"})["data"]["token"]
print(post("/api/v1/auth/apikey", {"name": "fuzz"}, token)["api_key"])
EOF
)

echo "==> fuzzing $base/openapi.json"
# From the scratch directory: Schemathesis keeps a cache of its own in the working directory.
cd "$work"
"$venv/bin/st" run "$base/openapi.json" \
  --header "X-API-Key: $key" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --exclude-path-regex '^/api/v1/gpu/(proxy|route)|^/api/v1/billing/(payment|webhooks)|^/api/v1/webhooks(/billing)?$|^/ws|^/api/v1/(mcp|a2a|acp|fipa|kqml|langchain|agent)$' \
  --phases examples,coverage,fuzzing \
  --max-examples "${FUZZ_EXAMPLES:-25}" \
  --seed "${FUZZ_SEED:-20261207}" \
  --workers 2 \
  --request-timeout 30 \
  --no-color
