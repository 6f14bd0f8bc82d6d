#!/usr/bin/env bash
# Scale-out benchmark: one 64-file UNLOAD result read by one process (our reader), by Spark
# local[2] and by Ray with 2 workers, on the release endpoint at S3's shape. Uses the test venv
# (python/run-tests.sh makes it) with the driver built in the release profile.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/athena-target}"
VENV="${ATHENA_PY_VENV:-$HOME/.cache/athena-py-venv}"
"$VENV/bin/pip" install -q psutil -r python/requirements-test.txt
"$VENV/bin/pip" install -q --force-reinstall --no-deps ./python
cargo build --release -p athena-emulator --bin athena-emulator
"$VENV/bin/python" benches/scale_out/bench.py --emulator "$CARGO_TARGET_DIR/release/athena-emulator" "$@"
