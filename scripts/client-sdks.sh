#!/usr/bin/env bash
# Installs the official client SDKs the integration tests drive, unmodified, into a virtualenv under
# ~/.cache/gpuproxy (CLIENT_SDKS_VENV): the A2A Python SDK (integration-tests/a2a/sdk_client.py)
# and NVIDIA Triton's HTTP and gRPC clients (integration-tests/kserve/tritonclient_check.py). Does nothing
# when they are already there.
set -euo pipefail

venv="${CLIENT_SDKS_VENV:-$HOME/.cache/gpuproxy/venv-clients}"
if ! "$venv/bin/python" -c 'import a2a.client, httpx, tritonclient.http, tritonclient.grpc, numpy' >/dev/null 2>&1; then
  echo "==> installing a2a-sdk and tritonclient into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "a2a-sdk==1.3.0" "tritonclient[http,grpc]==2.73.0" numpy
fi
