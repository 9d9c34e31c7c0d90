#!/usr/bin/env bash
# Puts ONNX Runtime's shared library where the inference service looks for it
# (ML_RUNTIME_CACHE, default ~/.cache/gpuproxy: onnxruntime-1.31.1/libonnxruntime.so.1.31.1), taken
# from the onnxruntime wheel on PyPI. Does nothing when it is there. The server can fetch it itself
# (ML_RUNTIME_AUTO_INSTALL=true, the default); the tests run this first so that no test waits for it.
set -euo pipefail

version=1.31.1
cache="${ML_RUNTIME_CACHE:-$HOME/.cache/gpuproxy}"
target="$cache/onnxruntime-$version/libonnxruntime.so.$version"
if [ -s "$target" ]; then
  exit 0
fi
echo "==> fetching ONNX Runtime $version into $target"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m pip download --quiet --no-deps --only-binary=:all: --dest "$work" "onnxruntime==$version"
mkdir -p "$(dirname "$target")"
python3 - "$work" "$target" "$version" <<'PY'
import glob, os, sys, zipfile
work, target, version = sys.argv[1:]
wheel = glob.glob(os.path.join(work, "onnxruntime-*.whl"))[0]
with zipfile.ZipFile(wheel) as archive:
    data = archive.read(f"onnxruntime/capi/libonnxruntime.so.{version}")
partial = f"{target}.{os.getpid()}.partial"
with open(partial, "wb") as out:
    out.write(data)
os.replace(partial, target)
PY
