#!/usr/bin/env bash
# Measures what GPU Proxy adds to proxied traffic against the upstream alone and nginx, and how fast
# 16 GPUs are reserved; writes bench-reports/proxy_overhead.md. Installs nginx and wrk from Debian's
# packages when they are missing (needs root or sudo).
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "need root (or sudo) to run: $*" >&2; return 1
  fi
}

missing=()
command -v nginx >/dev/null || missing+=(nginx-light)
command -v wrk >/dev/null || missing+=(wrk)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "==> installing ${missing[*]} from Debian's packages"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
exec cargo bench -p gpuproxy-integration-tests --bench proxy_overhead
