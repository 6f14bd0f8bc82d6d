"""The Python clients athena-arrow is measured against, timed on the same endpoint.

Run by the fast_path bench (see run.sh) while its endpoint serves; prints one JSON object per
line: {"name", "seconds", "client_seconds", "rows"}; client seconds leave out Athena's own
TotalExecutionTime (what remains is polling slack and reading). Each case is timed from execute to the last row in Arrow
(awswrangler: to its pandas DataFrame, which is what it returns), best of --repeat runs.

boto3 reaches the endpoint through AWS_ENDPOINT_URL; pyarrow's S3FileSystem, which PyAthena's
ArrowCursor creates itself, needs endpoint_override, patched in below.
"""

import argparse
import json
import os
import sys
import time
import uuid


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--endpoint", required=True)
    p.add_argument("--region", default="us-east-1")
    p.add_argument("--staging", required=True, help="s3:// result location")
    p.add_argument("--query", required=True)
    p.add_argument("--one-row", default="SELECT 1 AS one")
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--tuned-poll", type=float, default=0.05, help="polling interval matched to ours (seconds)")
    args = p.parse_args()

    os.environ["AWS_ENDPOINT_URL"] = args.endpoint
    os.environ.setdefault("AWS_DEFAULT_REGION", args.region)

    import pyarrow.fs as pafs

    original = pafs.S3FileSystem
    host = args.endpoint.split("://", 1)[1].rstrip("/")

    def s3_filesystem(*a, **kw):
        kw.setdefault("endpoint_override", host)
        kw.setdefault("scheme", "http")
        return original(*a, **kw)

    pafs.S3FileSystem = s3_filesystem

    import awswrangler as wr
    import boto3
    from pyathena import connect
    from pyathena.arrow.cursor import ArrowCursor

    def pyathena(sql, unload, poll):
        kwargs = {} if poll is None else {"poll_interval": poll}
        conn = connect(s3_staging_dir=args.staging, region_name=args.region, cursor_class=ArrowCursor, **kwargs)
        cursor = conn.cursor(unload=unload).execute(sql)
        table = cursor.as_arrow()
        total_ms = getattr(cursor, "total_execution_time_in_millis", None)
        if total_ms is None and getattr(cursor, "result_set", None) is not None:
            total_ms = cursor.result_set.total_execution_time_in_millis
        return table.num_rows, total_ms

    def wrangler(sql, poll):
        session = boto3.Session(region_name=args.region)
        kwargs = {} if poll is None else {"athena_query_wait_polling_delay": poll}
        df = wr.athena.read_sql_query(
            sql,
            database="default",
            ctas_approach=False,
            unload_approach=True,
            s3_output=f"{args.staging.rstrip('/')}/wrangler/{uuid.uuid4()}/",
            boto3_session=session,
            **kwargs,
        )
        total_ms = (getattr(df, "query_metadata", None) or {}).get("Statistics", {}).get("TotalExecutionTimeInMillis")
        return len(df), total_ms

    cases = [
        ("pyathena_arrow_unload_default", lambda: pyathena(args.query, True, None)),
        ("pyathena_arrow_unload_tuned", lambda: pyathena(args.query, True, args.tuned_poll)),
        ("pyathena_arrow_csv_default", lambda: pyathena(args.query, False, None)),
        ("pyathena_arrow_csv_tuned", lambda: pyathena(args.query, False, args.tuned_poll)),
        ("awswrangler_unload_default", lambda: wrangler(args.query, None)),
        ("awswrangler_unload_tuned", lambda: wrangler(args.query, args.tuned_poll)),
        ("pyathena_arrow_one_row_default", lambda: pyathena(args.one_row, False, None)),
        ("pyathena_arrow_one_row_tuned", lambda: pyathena(args.one_row, False, args.tuned_poll)),
    ]
    only = os.environ.get("PEERS_ONLY")
    for name, run in cases:
        if only and only not in name:
            continue
        best = None
        for _ in range(args.repeat):
            start = time.perf_counter()
            try:
                rows, total_ms = run()
            except Exception as e:  # a peer that fails is reported, not fatal for the others
                print(json.dumps({"name": name, "error": f"{type(e).__name__}: {e}"[:500]}), flush=True)
                best = None
                break
            secs = time.perf_counter() - start
            # Client time: what the client adds to Athena's own time (polling slack, reading).
            client = secs - (total_ms or 0) / 1000.0
            if best is None or secs < best["seconds"]:
                best = {"name": name, "seconds": secs, "client_seconds": client, "rows": rows}
        if best is not None:
            print(json.dumps(best), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
