"""A streamed read under different byte budgets: its time and the process's peak RSS, each set
of connect() keywords in a process of its own, against one S3-shaped endpoint (30 ms first byte,
80 MB/s per connection, 500 ms least query time, UNLOAD files of 75,000 rows).

    benches/python/run.sh makes the venv and the release driver and endpoint; then
    $VENV/bin/python benches/python/budgets.py --emulator $CARGO_TARGET_DIR/release/athena-emulator \
        --unload '[{}, {"fetch_unload_bytes": 16777216, "fetch_decoded_bytes": 8388608}]'

Prints one JSON line per set: the keywords, rows, seconds from the first to the last batch
(the query's own time left out) and the peak RSS (VmHWM).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile

from bench import start_endpoint

CHILD = r"""
import json, os, sys, time
os.environ.update(AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION="us-east-1")
from adbc_driver_athena import dbapi
url, unload, rows, options = sys.argv[1], sys.argv[2] == "1", int(sys.argv[3]), json.loads(sys.argv[4])
conn = dbapi.connect(s3_staging_dir="s3://athena-results/budgets/", region_name="us-east-1", endpoint_url=url,
                     unload=unload, **options)
cur = conn.cursor()
cur.execute(f"SELECT * FROM bench WHERE id < {rows}")
start = time.perf_counter()
got = sum(b.num_rows for b in cur.fetch_record_batch())
seconds = time.perf_counter() - start
hwm = next(int(l.split()[1]) * 1024 for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(json.dumps({"options": options, "unload": unload, "rows": got, "read_seconds": round(seconds, 3), "peak_rss_mb": hwm // 10**6}))
"""


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--emulator", required=True, help="the release athena-emulator binary")
    p.add_argument("--rows", type=int, default=5_000_000)
    p.add_argument("--unload", default="[]", help="a JSON list of connect() keyword sets, read with unload=True")
    p.add_argument("--csv", default="[]", help="a JSON list of connect() keyword sets, read from the result CSV")
    args = p.parse_args()
    data = tempfile.mkdtemp(prefix="athena-budgets-")
    emulator, url = start_endpoint(args.emulator, data, args.rows)
    failed = False
    try:
        for unload, sets in (("1", json.loads(args.unload)), ("0", json.loads(args.csv))):
            for options in sets:
                out = subprocess.run([sys.executable, "-c", CHILD, url, unload, str(args.rows), json.dumps(options)],
                                     capture_output=True, text=True, timeout=900)
                if out.returncode != 0:
                    failed = True
                    print(json.dumps({"options": options, "unload": unload == "1", "error": out.stderr.strip()[-300:]}), flush=True)
                else:
                    print(out.stdout.strip().splitlines()[-1], flush=True)
    finally:
        emulator.terminate()
        emulator.wait()
        shutil.rmtree(data, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
