"""Python clients on one endpoint and one table: our ADBC driver (fetch_arrow_table through the
CSV and UNLOAD, a streamed fetch_record_batch, Polars' read_database) against PyAthena 4.2.1
(ArrowCursor CSV and unload=True, PolarsCursor), each with its default and with 0.05 s polling.

    benches/python/run.sh      # makes the venv, builds the release driver, runs this

Every case runs in its own process, once; it reports end to end seconds (execute to the whole
result in memory; the streamed case to the last batch), client seconds (that minus Athena's
TotalExecutionTime of the query: polling slack plus reading) and the process's peak RSS, with
its peak once imported and connected (before the query). The `_lean` cases stream with the
byte budgets a user bounding memory sets (the connect() keywords in CASE).
The endpoint is the release `athena-emulator`, shaped as S3 (30 ms first byte, 80 MB/s per
connection, 500 ms least query time), `default.bench` UNLOADed into files of 75,000 rows.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile

CASE = r"""
import json, os, sys, time
case, endpoint, sql = sys.argv[1], sys.argv[2], sys.argv[3]
staging = "s3://athena-results/pybench/"
def hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
def engine_ms(query_id):
    import boto3
    athena = boto3.client("athena", region_name="us-east-1", endpoint_url=endpoint)
    return athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Statistics"]["TotalExecutionTimeInMillis"]
os.environ["AWS_ENDPOINT_URL"] = endpoint
os.environ["AWS_ALLOW_HTTP"] = "true"
os.environ["AWS_ACCESS_KEY_ID"] = "test"
os.environ["AWS_SECRET_ACCESS_KEY"] = "test"
os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
tuned = case.endswith("_tuned")
if case.startswith("ours"):
    from adbc_driver_athena import dbapi
    unload = "_unload" in case
    kw = dict(s3_staging_dir=staging, region_name="us-east-1", endpoint_url=endpoint, unload=unload)
    if "_duckdb" in case:
        # Athena's DuckDB engine with managed results: the Arrow stream of GetQueryResultStream.
        kw = dict(region_name="us-east-1", endpoint_url=endpoint, work_group="duckdb")
    if "_lean" in case:
        # Budgets a user bounding memory sets: 8 ranged GETs of 2 MiB of the CSV in flight,
        # 16 MiB of UNLOAD files fetched and not decoded, 8 MiB of decoded batches waiting.
        kw.update(fetch_concurrency=8, fetch_range_bytes=2 << 20, fetch_unload_bytes=16 << 20, fetch_decoded_bytes=8 << 20)
    conn = dbapi.connect(**kw)
    connected_rss = hwm()
    start = time.perf_counter()
    cur = conn.cursor()
    limit = int(sql.rsplit("<", 1)[1])
    if "_scan" in case or "_readdb_filter" in case:
        # The Polars pushdown bench: a filtered, projected scan of the table against
        # read_database of the whole slice followed by the same Polars filter.
        import polars as pl
        wanted = (pl.col("id") < limit) & pl.col("label").is_in(["alpha", "golf"])
        if "_scan" in case:
            from adbc_driver_athena.polars import scan_athena
            frame = scan_athena(table="bench", **kw).filter(wanted).select("id", "amount", "label").collect()
        else:
            frame = pl.read_database(sql, connection=cur).filter(wanted).select("id", "amount", "label")
        rows = frame.height
    elif "_arrow_polars" in case:
        # What pl.read_database is measured against: the Arrow table, then Polars over it.
        import polars as pl
        cur.execute(sql)
        rows = pl.from_arrow(cur.fetch_arrow_table()).height
    elif "_polars" in case:
        import polars as pl
        frame = pl.read_database(sql, connection=cur)
        rows = frame.height
    elif "_stream" in case:
        cur.execute(sql)
        rows = sum(b.num_rows for b in cur.fetch_record_batch())
    else:
        cur.execute(sql)
        rows = cur.fetch_arrow_table().num_rows
    secs = time.perf_counter() - start
    total_ms = engine_ms(cur.query_id) if cur.query_id else 0
else:
    import pyarrow.fs as pafs
    original = pafs.S3FileSystem
    host = endpoint.split("://", 1)[1].rstrip("/")
    def s3fs(*a, **k):
        k.setdefault("endpoint_override", host)
        k.setdefault("scheme", "http")
        return original(*a, **k)
    pafs.S3FileSystem = s3fs
    from pyathena import connect
    kwargs = {"poll_interval": 0.05} if tuned else {}
    unload = "_unload" in case
    if "_polars" in case:
        from pyathena.polars.cursor import PolarsCursor as C
    else:
        from pyathena.arrow.cursor import ArrowCursor as C
    conn = connect(s3_staging_dir=staging, region_name="us-east-1", cursor_class=C, **kwargs)
    connected_rss = hwm()
    start = time.perf_counter()
    cur = conn.cursor(unload=unload).execute(sql)
    rows = (cur.as_polars().height if "_polars" in case else cur.as_arrow().num_rows)
    secs = time.perf_counter() - start
    total_ms = engine_ms(cur.query_id)
print(json.dumps({"case": case, "rows": rows, "seconds": secs, "client_seconds": secs - total_ms / 1000, "peak_rss": hwm(), "connected_rss": connected_rss}))
"""


CASES = [
    "ours_duckdb",
    "ours_stream_duckdb",
    "ours_csv",
    "ours_unload",
    "ours_stream_csv",
    "ours_stream_unload",
    "ours_stream_lean_csv",
    "ours_stream_lean_unload",
    "ours_polars_csv",
    "ours_polars_unload",
    "ours_arrow_polars_csv",
    "ours_arrow_polars_unload",
    "ours_scan_polars_unload",
    "ours_readdb_filter_polars_unload",
    "ours_scan_polars_csv",
    "ours_readdb_filter_polars_csv",
    "pyathena_arrow_csv_default",
    "pyathena_arrow_csv_tuned",
    "pyathena_arrow_unload_default",
    "pyathena_arrow_unload_tuned",
    "pyathena_polars_csv_default",
    "pyathena_polars_csv_tuned",
    "pyathena_polars_unload_default",
    "pyathena_polars_unload_tuned",
]


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) process `pid` has used (Linux /proc; 0 elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def children_cpu() -> float:
    """CPU seconds of this process's finished children (the cases)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def start_endpoint(binary: str, data: str, rows: int, *extra: str) -> tuple[subprocess.Popen, str]:
    """The release endpoint shaped as S3 (30 ms first byte, 80 MB/s per connection, 500 ms least
    query time), `default.bench` of `rows` rows UNLOADed into files of 75,000 rows; the process
    and its URL. `budgets.py` starts it too, so that its figures compare with these."""
    endpoint = subprocess.Popen(
        [binary, "--listen", "127.0.0.1:0", "--data-dir", data, "--bench-rows", str(rows), "--unload-rows-per-file", "75000",
         "--s3-latency-ms", "30", "--s3-bandwidth-mbps", "80", "--min-query-ms", "500", *extra],
        stdout=subprocess.PIPE, text=True,
    )
    return endpoint, re.search(r"(http://\S+)", endpoint.stdout.readline()).group(1)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--emulator", required=True, help="the release athena-emulator binary")
    p.add_argument("--rows", default="1000000,5000000")
    p.add_argument("--only", default="", help="run only the cases whose name holds one of these comma-separated parts")
    args = p.parse_args()
    sizes = [int(r) for r in args.rows.split(",")]
    data = tempfile.mkdtemp(prefix="athena-pybench-")
    log = os.path.join(tempfile.mkdtemp(prefix="athena-pybench-log-"), "requests.log")
    emulator, url = start_endpoint(args.emulator, data, max(sizes), "--request-log", log)
    results = []
    try:
        for rows in sizes:
            sql = f"SELECT * FROM bench WHERE id < {rows}"
            for case in CASES:
                if args.only and not any(part in case for part in args.only.split(",")):
                    continue
                since = os.path.getsize(log) if os.path.exists(log) else 0
                endpoint_before, client_before = process_cpu(emulator.pid), children_cpu()
                out = subprocess.run([sys.executable, "-c", CASE, case, url, sql], capture_output=True, text=True, timeout=900)
                endpoint_cpu, client_cpu = process_cpu(emulator.pid) - endpoint_before, children_cpu() - client_before
                # Bytes the case downloaded from S3: the endpoint's log of GETs (`GET path range bytes`).
                with open(log, "rb") as f:
                    f.seek(since)
                    downloaded = sum(int(line.split()[-1]) for line in f.read().decode().splitlines() if line.startswith("GET "))
                if out.returncode != 0:
                    r = {"case": case, "rows": rows, "error": out.stderr.strip().splitlines()[-1][:300]}
                else:
                    r = json.loads(out.stdout.strip().splitlines()[-1])
                    r["size"] = rows
                    r["downloaded"] = downloaded
                    r["client_cpu"] = client_cpu
                    r["endpoint_cpu"] = endpoint_cpu
                r.setdefault("size", rows)
                print(json.dumps(r), flush=True)
                results.append(r)
    finally:
        emulator.terminate()
        emulator.wait()
        # The endpoint's data (gigabytes of results at these sizes) goes with the run.
        shutil.rmtree(data, ignore_errors=True)
        shutil.rmtree(os.path.dirname(log), ignore_errors=True)
    print()
    # CPU: the case's process (the client), and the endpoint's while the case ran (both share
    # the machine's cores: a figure says what bounded it).
    # Peak RSS once imported and connected (before the query): what the libraries cost, before
    # any result byte.
    print(f"| case | rows | end to end s | client s | peak RSS MB | of it at connect MB | client CPU s | endpoint CPU s |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        if "error" in r:
            print(f"| {r['case']} | {r['size']} | failed: {r['error']} | | | | | |")
        else:
            print(f"| {r['case']} | {r['rows']} | {r['seconds']:.2f} | {r['client_seconds']:.2f} | {r['peak_rss'] / 1e6:.0f} | "
                  f"{r['connected_rss'] / 1e6:.0f} | {r['client_cpu']:.2f} | {r['endpoint_cpu']:.2f} |")
    by = {(r["case"], r["size"]): r for r in results if "error" not in r}
    print()
    for rows in sizes:
        for ours, theirs, target in [
            ("ours_csv", "pyathena_arrow_csv_tuned", 3.0),
            ("ours_unload", "pyathena_arrow_unload_tuned", 3.0),
        ]:
            a, b = by.get((ours, rows)), by.get((theirs, rows))
            if a and b:
                print(f"{rows} rows: client time {theirs} / {ours} = {b['client_seconds'] / a['client_seconds']:.2f}x (target >= {target}x)")
        for ours, base in [("ours_duckdb", "ours_csv"), ("ours_duckdb", "ours_unload")]:
            a, b = by.get((ours, rows)), by.get((base, rows))
            if a and b:
                print(f"{rows} rows: client time {base} / {ours} = {b['client_seconds'] / a['client_seconds']:.2f}x")
        for source in ("unload", "csv"):
            a, b = by.get((f"ours_scan_polars_{source}", rows)), by.get((f"ours_readdb_filter_polars_{source}", rows))
            if a and b:
                print(
                    f"{rows} rows, {source}: scan_athena with pushdown {a['seconds']:.2f} s, {a['downloaded'] / 1e6:.1f} MB downloaded, "
                    f"{a['peak_rss'] / 1e6:.0f} MB peak RSS; read_database + the same filter {b['seconds']:.2f} s, "
                    f"{b['downloaded'] / 1e6:.1f} MB, {b['peak_rss'] / 1e6:.0f} MB: {b['seconds'] / a['seconds']:.1f}x faster, "
                    f"{b['downloaded'] / max(a['downloaded'], 1):.1f}x fewer bytes"
                )
        for ours, theirs in [
            ("ours_stream_csv", "pyathena_arrow_csv_tuned"),
            ("ours_stream_unload", "pyathena_arrow_unload_tuned"),
            ("ours_stream_lean_csv", "pyathena_arrow_csv_tuned"),
            ("ours_stream_lean_unload", "pyathena_arrow_unload_tuned"),
        ]:
            a, b = by.get((ours, rows)), by.get((theirs, rows))
            if a and b:
                # Beside the ratio: each side's growth from connected to its peak (the result's
                # cost without the imports').
                print(
                    f"{rows} rows: peak RSS {ours} / {theirs} = {a['peak_rss'] / b['peak_rss']:.2f} (target <= 0.33); "
                    f"beyond connect {(a['peak_rss'] - a['connected_rss']) / 1e6:.0f} / {(b['peak_rss'] - b['connected_rss']) / 1e6:.0f} MB, "
                    f"client s {a['client_seconds']:.2f} / {b['client_seconds']:.2f}"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
