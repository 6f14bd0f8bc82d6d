"""A streamed read keeps the process's memory bounded: a child process reads `default.bench`
through fetch_record_batch and reports its peak RSS (VmHWM) before and after, against the size
of the result it read."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import BENCH_ROWS

CHILD = r"""
import json, sys
import pyarrow as pa
from adbc_driver_athena import dbapi

def hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
kwargs = json.loads(sys.argv[1])
mode, limit = sys.argv[2], int(sys.argv[3])
with dbapi.connect(**kwargs) as conn, conn.cursor() as cur:
    cur.execute("SELECT 1")
    cur.fetchall()
    before = hwm()
    cur.execute(f"SELECT * FROM bench LIMIT {limit}")
    rows = 0
    nbytes = 0
    if mode == "stream":
        for batch in cur.fetch_record_batch():
            rows += batch.num_rows
            nbytes += batch.nbytes
    else:
        table = cur.fetch_arrow_table()
        rows, nbytes = table.num_rows, table.nbytes
    print(json.dumps({"before": before, "after": hwm(), "rows": rows, "nbytes": nbytes}))
"""


def run(endpoint, mode, unload, rows):
    kwargs = endpoint.kwargs(unload=unload)
    out = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(kwargs), mode, str(rows)], capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["rows"] == rows
    return report["after"] - report["before"], report["nbytes"]


def test_streamed_read_keeps_rss_bounded(endpoint):
    for unload in (False, True):
        small, _ = run(endpoint, "stream", unload, BENCH_ROWS // 4)
        grown, nbytes = run(endpoint, "stream", unload, BENCH_ROWS)
        held_small, _ = run(endpoint, "table", unload, BENCH_ROWS // 4)
        held, _ = run(endpoint, "table", unload, BENCH_ROWS)
        print(
            f"unload={unload}: {nbytes / 1e6:.0f} MB of Arrow; peak RSS grew {small / 1e6:.0f} MB streaming a quarter, "
            f"{grown / 1e6:.0f} MB streaming all, {held_small / 1e6:.0f} MB materialising a quarter, {held / 1e6:.0f} MB all"
        )
        # Streaming holds a bounded window (the reader's byte budgets), not the result: far less
        # than holding it, and the three quarters more rows cost streaming far less than they
        # cost holding (a leak of batches would track the materialised growth).
        assert grown < held / 2, (grown, held)
        assert grown - small < (held - held_small) / 2, (small, grown, held_small, held)
