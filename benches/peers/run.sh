#!/usr/bin/env bash
# Installs the Python clients we compare with (PyAthena with pyarrow, awswrangler) into a venv,
# then runs the fast_path bench, which starts the endpoint, measures athena-arrow, runs
# peers.py against the same endpoint and prints our ratios to them.
#
#   benches/peers/run.sh            # 5M rows, 20 ms S3 latency then none, medians of 3
#   BENCH_ROWS=1000000 benches/peers/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV="${PEERS_VENV:-$HOME/.cache/athena-peers-venv}"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
# Versions measured in the README; newer ones may differ.
"$VENV/bin/pip" install --quiet "pyathena[arrow]==4.2.1" "awswrangler==3.17.1" "pyarrow==25.0.1"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/athena-target}"
BENCH_PEERS_PYTHON="$VENV/bin/python" cargo bench --workspace --bench fast_path
