#!/usr/bin/env bash
# Creates the original-releases environment (mmsegmentation 1.2.2, mmcv 2.1.0 with ops,
# mmengine 0.10.7, openmim 0.3.9, torch 2.13.0 CPU) in the folder given as $1
# (default .venv-openmmlab), with this plugin installed in editable mode.
#
# mmcv 2.1.0 publishes no wheel for torch 2.13, so it is built from source with its compiled
# ops (mmseg imports mmcv.ops at import time). The build takes about 9 minutes on 2 idle
# cores; the wheel is cached in $MMCV_WHEEL_CACHE (default ~/.cache/mmseg-psp-ext/wheels)
# and reused while it imports with the installed torch (compiled ops are tied to torch's
# ABI: a wheel that no longer imports is rebuilt).
set -euo pipefail
venv=${1:-.venv-openmmlab}
cache=${MMCV_WHEEL_CACHE:-$HOME/.cache/mmseg-psp-ext/wheels}
pip_flags=(-q --disable-pip-version-check)
cd "$(dirname "$0")/.."

test -x "$venv/bin/python" || python3 -m venv "$venv"
# setuptools<81 (still has pkg_resources, which mmcv's setup.py imports), wheel and ninja
# are the build tools for mmcv; the build runs without isolation against the installed torch.
"$venv/bin/pip" install "${pip_flags[@]}" -r requirements/openmmlab.txt wheel ninja

py_tag=$("$venv/bin/python" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
mmcv_imports() {
  "$venv/bin/python" -c 'import mmcv, mmcv.ops; assert mmcv.__version__ == "2.1.0"' 2>/dev/null
}

build_mmcv() {
  echo "Building mmcv 2.1.0 with ops from source (about 9 minutes on 2 cores)..."
  mkdir -p "$cache"
  local tmp built
  tmp=$(mktemp -d)
  "$venv/bin/pip" download "${pip_flags[@]}" --no-deps --no-binary :all: mmcv==2.1.0 -d "$tmp"
  MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} "$venv/bin/pip" wheel "${pip_flags[@]}" \
    --no-build-isolation --no-deps -w "$tmp/wheel" "$tmp"/mmcv-2.1.0.tar.gz
  # Move into the cache atomically so that an interrupted build never leaves a broken wheel.
  built=$(ls "$tmp"/wheel/mmcv-2.1.0-*.whl)
  cp "$built" "$cache/.partial.whl" && mv "$cache/.partial.whl" "$cache/$(basename "$built")"
  rm -rf "$tmp"
}

# --no-deps: mmcv's own dependencies (addict, yapf, Pillow, opencv-python, ...) are
# mmengine's too and already installed.
if ! mmcv_imports; then
  wheel=$(ls "$cache"/mmcv-2.1.0-"$py_tag"-*.whl 2>/dev/null | head -n 1 || true)
  if [ -n "$wheel" ]; then
    "$venv/bin/pip" install "${pip_flags[@]}" --force-reinstall --no-deps "$wheel"
    if ! mmcv_imports; then
      echo "Cached $wheel does not import with this torch; rebuilding it."
      rm -f "$wheel"
      wheel=
    fi
  fi
  if [ -z "$wheel" ]; then
    build_mmcv
    wheel=$(ls "$cache"/mmcv-2.1.0-"$py_tag"-*.whl | head -n 1)
    "$venv/bin/pip" install "${pip_flags[@]}" --force-reinstall --no-deps "$wheel"
  fi
fi
"$venv/bin/pip" install "${pip_flags[@]}" --no-deps --no-build-isolation -e .
"$venv/bin/python" -c "import mmcv.ops, mmseg, mmengine, torch, numpy; print('openmmlab stack: mmseg', mmseg.__version__, 'mmcv', mmcv.__version__, 'mmengine', mmengine.__version__, 'torch', torch.__version__, 'numpy', numpy.__version__)"
