#!/usr/bin/env bash
# Python benchmark: our ADBC driver against PyAthena on the S3-shaped local endpoint.
# Uses the peers venv (benches/peers/run.sh makes it), adds Polars and the driver built with the
# release profile (pip install ./python), builds the release endpoint, runs bench.py.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV="${PEERS_VENV:-$HOME/.cache/athena-peers-venv}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/athena-target}"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install --quiet "pyathena[arrow]==4.2.1" "pyarrow==25.0.1" "polars==2.1.0" "adbc-driver-manager==1.13.0"
"$VENV/bin/pip" install --quiet ./python
cargo build --release -p athena-emulator --bin athena-emulator
"$VENV/bin/python" benches/python/bench.py --emulator "$CARGO_TARGET_DIR/release/athena-emulator" "$@"
