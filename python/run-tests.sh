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

# The AWS SDK for Python in the other versions users run: 1.44.8 (the last whose Athena model is
# awsJson1_1) and the newest pip resolves today (unpinned on purpose: AWS changes wire shapes
# under us, and this run is where we see it first). test_boto3.py needs only boto3, pytest and
# pyarrow; each version gets a small venv of its own.
for boto3_version in 1.44.8 latest; do
  compat="$HOME/.cache/athena-py-boto3-$boto3_version"
  if [ ! -x "$compat/bin/python" ]; then
    python3 -m venv "$compat"
    "$compat/bin/python" -m pip install -q --upgrade pip
  fi
  if [ "$boto3_version" = latest ]; then
    "$compat/bin/python" -m pip install -q --upgrade boto3 "pytest==9.2.0" "pyarrow==26.0.1"
  else
    "$compat/bin/python" -m pip install -q "boto3==$boto3_version" "botocore==$boto3_version" "pytest==9.2.0" "pyarrow==26.0.1"
  fi
  echo "== test_boto3.py with boto3 $("$compat/bin/python" -c 'import boto3, botocore; print(boto3.__version__, "/ botocore", botocore.__version__)')"
  "$compat/bin/pytest" -q python/tests/test_boto3.py
done
