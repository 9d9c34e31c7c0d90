#!/usr/bin/env bash
# Starts an S3-protocol server for the fleet tests' model storage: moto (from PyPI, in a
# virtualenv under ~/.cache/gpuproxy, S3_SERVER_VENV) on 127.0.0.1:TEST_S3_PORT (9000), in the
# background. Does nothing when something already answers there. Any access key is accepted, and
# buckets address by path, as OCI Object Storage's S3 compatibility does.
set -euo pipefail

port="${TEST_S3_PORT:-9000}"
if curl -s -o /dev/null "http://127.0.0.1:$port/"; then
  exit 0
fi
venv="${S3_SERVER_VENV:-$HOME/.cache/gpuproxy/venv-s3}"
if ! "$venv/bin/moto_server" --help >/dev/null 2>&1; then
  echo "==> installing moto into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "moto[server]>=5.1,<6"
fi
log="$HOME/.cache/gpuproxy/s3-server.log"
mkdir -p "$(dirname "$log")"
nohup "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
for _ in $(seq 100); do
  if curl -s -o /dev/null "http://127.0.0.1:$port/"; then
    exit 0
  fi
  sleep 0.2
done
echo "the S3 server did not start on port $port; see $log" >&2
exit 1
