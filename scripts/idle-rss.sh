#!/usr/bin/env bash
# Measures the resident memory of an idle embedded server (every service in one process) after
# start-up and a few requests, from a release build.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build --release --locked --quiet --bin aiserve-gpuproxyd
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
(cd "$work" && exec env -i PATH="$PATH" SERVER_HOST=127.0.0.1 SERVER_PORT=18080 GRPC_PORT=19090 LOG_LEVEL=warn \
  "$target/release/aiserve-gpuproxyd" -dv >"$work/banner.txt" 2>"$work/log.txt") &
pid=$!
for _ in $(seq 1 100); do curl -sf http://127.0.0.1:18080/health/live >/dev/null && break; sleep 0.1; done
for _ in $(seq 1 20); do curl -sf http://127.0.0.1:18080/health >/dev/null; done
sleep 5
rss_kib=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")
hwm_kib=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status")
threads=$(awk '/^Threads:/ {print $2}' "/proc/$pid/status")
printf 'idle RSS of the embedded server: %s MiB (peak %s MiB, %s threads)\n' \
  "$(awk "BEGIN {printf \"%.1f\", $rss_kib/1024}")" "$(awk "BEGIN {printf \"%.1f\", $hwm_kib/1024}")" "$threads"
