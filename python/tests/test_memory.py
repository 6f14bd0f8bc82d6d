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


def run(endpoint, mode, unload, rows, **options):
    kwargs = endpoint.kwargs(unload=unload, **options)
    out = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(kwargs), mode, str(rows)], capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["rows"] == rows
    return report["after"] - report["before"], report["nbytes"]


#: Budgets a user bounding memory would set: 4 ranged GETs of 1 MiB of a result CSV in flight; 16 MiB
#: of UNLOAD files fetched and not yet decoded, 8 MiB of decoded batches waiting.
TIGHT = dict(fetch_concurrency=4, fetch_range_bytes=1 << 20, fetch_unload_bytes=16 << 20, fetch_decoded_bytes=8 << 20)


def test_streamed_read_keeps_rss_bounded(endpoint):
    for unload in (False, True):
        small, _ = run(endpoint, "stream", unload, BENCH_ROWS // 4)
        grown, nbytes = run(endpoint, "stream", unload, BENCH_ROWS)
        tight, _ = run(endpoint, "stream", unload, BENCH_ROWS, **TIGHT)
        held_small, _ = run(endpoint, "table", unload, BENCH_ROWS // 4)
        held, _ = run(endpoint, "table", unload, BENCH_ROWS)
        print(
            f"unload={unload}: {nbytes / 1e6:.0f} MB of Arrow; peak RSS grew {small / 1e6:.0f} MB streaming a quarter, "
            f"{grown / 1e6:.0f} MB streaming all, {tight / 1e6:.0f} MB streaming all under tight budgets, "
            f"{held_small / 1e6:.0f} MB materialising a quarter, {held / 1e6:.0f} MB all"
        )
        # Streaming holds a window (the reader's byte budgets: by default about 130 MB on 2 cores),
        # not the result: the three quarters more rows cost streaming far less than they cost
        # holding (a leak of batches would track the materialised growth).
        assert grown - small < (held - held_small) / 2, (small, grown, held_small, held)
        # The window follows the budgets a user sets (4 MiB of CSV ranges or 24 MiB of UNLOAD
        # here; the rest is the decoder's and the runtime's own): far below holding the result,
        # and below the defaults' window.
        assert tight < held / 4, (tight, held)
        assert tight < grown / 2, (tight, grown)
