#!/usr/bin/env bash
# One-command set-up: creates .venv/ in the repo root and installs everything pinned.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
# Headless MuJoCo rendering uses EGL with Mesa's software renderer (Debian packages).
if ! ldconfig -p | grep -q 'libEGL.so.1 ' && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  apt-get update -qq && apt-get install -y -qq libegl1 libegl-mesa0 libgl1-mesa-dri >/dev/null
fi
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -r requirements.txt
# The genuine Udacity client; its declared dependencies cannot install on Python 3.11,
# its real imports (numpy<2, protobuf, grpcio, Pillow) are pinned in requirements.txt.
.venv/bin/python -m pip install --quiet --no-deps unityagents==0.4.0
# Its 2018 message modules run only on pure-Python protobuf: regenerate them from their own
# embedded descriptors for today's compiled protobuf (the 2018 ones are kept in
# .venv/unityagents-2018/, with the protobuf 3.20.3 that reads them, to measure the old path).
if [ ! -d .venv/unityagents-2018/google/protobuf ]; then
  .venv/bin/python -m pip install --quiet --no-deps --target .venv/unityagents-2018 protobuf==3.20.3
fi
.venv/bin/python scripts/regenerate_unity_messages.py
# ipykernel stages the kernel spec in a temporary folder that it never removes: give it one of
# ours and delete it.
kernel_tmp=$(mktemp -d)
TMPDIR=$kernel_tmp .venv/bin/python -m ipykernel install --sys-prefix --name python3 >/dev/null
rm -rf "$kernel_tmp"
echo "set-up done: $(.venv/bin/python --version), venv at $(pwd)/.venv"
