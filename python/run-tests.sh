#!/usr/bin/env bash
# Makes (once) a venv, installs the package from this folder into it with the workspace's debug
# build (same target dir, same profile as `cargo test`, so only the driver crate compiles), builds
# the CLI whose `emulator` command the tests start, and runs the Python tests.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/athena-target}"
VENV="${ATHENA_PY_VENV:-$HOME/.cache/athena-py-venv}"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q -r python/requirements-test.txt
# setuptools-rust runs cargo; SETUPTOOLS_RUST_CARGO_PROFILE=dev keeps the test build's profile
# (a user's `pip install ./python` builds the release profile).
WHEELS="$CARGO_TARGET_DIR/python-wheels"
rm -rf "$WHEELS"
SETUPTOOLS_RUST_CARGO_PROFILE=dev "$VENV/bin/python" -m pip wheel -q --no-deps -w "$WHEELS" ./python
ATHENA_WHEEL="$(ls "$WHEELS"/adbc_driver_athena-*.whl)"
export ATHENA_WHEEL
"$VENV/bin/python" -m pip install -q --force-reinstall --no-deps "$ATHENA_WHEEL"
cargo build -p athena-arrow-cli -q
"$VENV/bin/pytest" -q python/tests "$@"
