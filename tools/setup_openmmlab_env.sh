#!/usr/bin/env bash
# Creates the original-releases environment (mmsegmentation 1.2.2, mmcv 2.1.0 with ops,
# mmengine 0.10.7, openmim 0.3.9) in the folder given as $1 (default .venv-openmmlab).
#
# mmcv 2.1.0 publishes no wheel for torch 2.13, so it is built from source with its compiled
# ops (mmseg imports mmcv.ops at import time). The build takes about 9 minutes on 2 cores;
# the wheel is cached in $MMCV_WHEEL_CACHE (default ~/.cache/mmseg-psp-ext/wheels) and reused.
set -euo pipefail
venv=${1:-.venv-openmmlab}
cache=${MMCV_WHEEL_CACHE:-$HOME/.cache/mmseg-psp-ext/wheels}
pip_flags=(-q --disable-pip-version-check)
cd "$(dirname "$0")/.."

test -x "$venv/bin/python" || python3 -m venv "$venv"
"$venv/bin/pip" install "${pip_flags[@]}" -r requirements/openmmlab.txt wheel ninja

wheel=$(ls "$cache"/mmcv-2.1.0-*.whl 2>/dev/null | head -n 1 || true)
if [ -z "$wheel" ]; then
  echo "Building mmcv 2.1.0 with ops from source (about 9 minutes on 2 cores)..."
  mkdir -p "$cache"
  tmp=$(mktemp -d)
  "$venv/bin/pip" download "${pip_flags[@]}" --no-deps --no-binary :all: mmcv==2.1.0 -d "$tmp"
  MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} "$venv/bin/pip" wheel "${pip_flags[@]}" \
    --no-build-isolation --no-deps -w "$tmp/wheel" "$tmp"/mmcv-2.1.0.tar.gz
  # Move into the cache atomically so that an interrupted build never leaves a broken wheel.
  built=$(ls "$tmp"/wheel/mmcv-2.1.0-*.whl)
  cp "$built" "$cache/.partial.whl" && mv "$cache/.partial.whl" "$cache/$(basename "$built")"
  wheel="$cache/$(basename "$built")"
  rm -rf "$tmp"
fi
"$venv/bin/pip" install "${pip_flags[@]}" --no-deps "$wheel"
"$venv/bin/pip" install "${pip_flags[@]}" --no-deps --no-build-isolation -e .
"$venv/bin/python" -c "import mmcv.ops, mmseg, mmengine; print('openmmlab stack:', mmseg.__version__, mmcv.__version__, mmengine.__version__)"
