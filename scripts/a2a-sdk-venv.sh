#!/usr/bin/env bash
# Installs the official A2A Python SDK (from PyPI) into a virtualenv under ~/.cache/gpuproxy
# (A2A_SDK_VENV), where the integration tests' A2A client (integration-tests/a2a/sdk_client.py)
# finds it. Does nothing when it is already there.
set -euo pipefail

venv="${A2A_SDK_VENV:-$HOME/.cache/gpuproxy/venv-a2a}"
if ! "$venv/bin/python" -c 'import a2a.client, httpx' >/dev/null 2>&1; then
  echo "==> installing a2a-sdk into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "a2a-sdk==1.3.0"
fi
