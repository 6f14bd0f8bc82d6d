"""One result of 64 UNLOAD files read by one process, by Spark local[2] and by Ray with 2 workers
(see run.sh). Each reader runs twice: a cold run (workers started, imports made; its reading
time printed) and the measured one, as a job's later reads find the cluster. Prints rows/s end
to end (the query included) and reading only, the peak RSS of each process that read (sampled every 20 ms), and where a task's time goes:
each partition read records its phases (``ATHENA_TASK_TIMINGS``, see
``adbc_driver_athena._partitions.read``), and the time of a task slot beyond them is the
engine's (task start, scheduling, serialisation)."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import typing

import psutil


def cpu_seconds(p: psutil.Process) -> float:
    t = p.cpu_times()
    return t.user + t.system


def sampler(stop: threading.Event, peaks: dict, cpu: dict, match) -> threading.Thread:
    """Samples every 20 ms the peak RSS of each matching process, and its CPU seconds (first
    and last seen)."""

    def run():
        while not stop.is_set():
            for p in psutil.process_iter(["pid", "cmdline"]):
                try:
                    if match(p.info["cmdline"] or [], p.pid):
                        rss = p.memory_info().rss
                        peaks[p.pid] = max(peaks.get(p.pid, 0), rss)
                        now = cpu_seconds(p)
                        cpu[p.pid] = (cpu.get(p.pid, (now, now))[0], now)
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    pass
            time.sleep(0.02)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


#: The endpoint's process (set in main), whose CPU each measurement reports beside the readers'.
ENDPOINT: typing.Optional[psutil.Process] = None


def measure(name, fn, match, timings: str | None = None):
    """Runs `fn` once unmeasured (workers started, imports and connections made: a warm
    cluster, as a job's later reads find it; its reading time is printed as the cold run), then
    once measured. `timings`: the directory of partition timings, emptied after the cold run."""
    rows, cold = fn()
    if timings:
        for entry in os.listdir(timings):
            os.remove(os.path.join(timings, entry))
    stop, peaks, cpu = threading.Event(), {}, {}
    t = sampler(stop, peaks, cpu, match)
    endpoint_before = cpu_seconds(ENDPOINT) if ENDPOINT else 0.0
    start = time.perf_counter()
    rows, reading = fn()
    total = time.perf_counter() - start
    stop.set()
    t.join()
    endpoint = (cpu_seconds(ENDPOINT) - endpoint_before) if ENDPOINT else 0.0
    workers = sorted(peaks.values(), reverse=True)
    shown = ", ".join(f"{w / 1e6:.0f}" for w in workers[:4])
    print(f"{name:<34} {rows:>10} rows  total {total:7.2f} s {rows / total:>11.0f} rows/s  reading {reading:6.2f} s {rows / reading:>11.0f} rows/s  peak RSS MB per process: {shown}", flush=True)
    readers = sum(last - first for first, last in cpu.values())
    print(f"#   CPU while measured (query included): the reading processes {readers:.2f} s, the endpoint {endpoint:.2f} s; "
          f"the cold run before it read in {cold:.2f} s", flush=True)
    return reading


PHASES = ("connect", "open", "first_batch", "read", "convert", "hand_over", "total")


def timings_dir(base: str, name: str) -> str:
    """A fresh directory for one reader's partition timings, set in this process's environment
    (engines started after this inherit it in their workers)."""
    d = os.path.join(base, name)
    os.makedirs(d, exist_ok=True)
    os.environ["ATHENA_TASK_TIMINGS"] = d
    return d


def task_records(directory: str) -> list:
    records = []
    for name in os.listdir(directory):
        with open(os.path.join(directory, name), encoding="utf-8") as f:
            records += [json.loads(line) for line in f if line.strip()]
    return records


def breakdown(name: str, directory: str, reading: float, slots: int, bare: float | None) -> float:
    """Prints the median of each phase over the partitions read and over the tasks, and the task
    slot time beyond our read (reading wall time x slots / tasks); returns the median partition
    total (the bare read's)."""
    records = task_records(directory)
    parts = [r for r in records if r.get("kind") == "partition"]
    tasks = [r for r in records if r.get("kind") == "task"] or parts
    if not parts:
        print(f"#   {name}: no partition timings (workers without ATHENA_TASK_TIMINGS?)")
        return float("nan")
    med = {p: statistics.median(r[p] for r in parts) for p in PHASES}
    phases = ", ".join(f"{p.replace('_', ' ')} {med[p] * 1e3:.1f}" for p in PHASES[:-1])
    print(f"#   {name}: {len(parts)} partitions in {len({r['pid'] for r in parts})} processes; per partition (median ms): {phases}; "
          f"total {med['total'] * 1e3:.1f}")
    if tasks is not parts:
        per = statistics.median(r["partitions"] for r in tasks)
        print(f"#   {name}: {len(tasks)} tasks of {per:.0f} partitions (median); per task (median ms): total "
              f"{statistics.median(r['total'] for r in tasks) * 1e3:.1f}, waiting for reads ahead "
              f"{statistics.median(r['waited'] for r in tasks) * 1e3:.1f}, hand over {statistics.median(r['hand_over'] for r in tasks) * 1e3:.1f}")
    slot = reading * slots / len(tasks)
    ours = statistics.mean(r["total"] for r in tasks)
    line = f"#   {name}: task slot time {slot * 1e3:.1f} ms (reading {reading:.2f} s x {slots} slots / {len(tasks)} tasks), " \
           f"of which outside our read {(slot - ours) * 1e3:.1f} ms"
    if bare:
        # The same partitions read one after another in a warm process.
        same = bare * len(parts) / len(tasks)
        line += f"; a task / a bare read of its partitions in a warm process: {slot / same:.2f}x (target <= 1.5)"
    print(line)
    return med["total"]


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--emulator", required=True)
    p.add_argument("--rows", type=int, default=6_400_000)
    p.add_argument("--files", type=int, default=64)
    p.add_argument("--csv", action="store_true", help="read the result CSV (byte-range partitions) instead of UNLOAD files")
    p.add_argument("--csv-partition-bytes", type=int, default=64 << 20)
    args = p.parse_args()
    data = tempfile.mkdtemp(prefix="athena-scale-")
    per_file = args.rows // args.files
    emulator = subprocess.Popen(
        [args.emulator, "--listen", "127.0.0.1:0", "--data-dir", data, "--bench-rows", str(args.rows), "--unload-rows-per-file", str(per_file),
         "--s3-latency-ms", "30", "--s3-bandwidth-mbps", "80"],
        stdout=subprocess.PIPE, text=True,
    )
    url = re.search(r"(http://\S+)", emulator.stdout.readline()).group(1)
    global ENDPOINT
    ENDPOINT = psutil.Process(emulator.pid)
    # The workers' credentials come from their environment (as a cluster's instance or task
    # roles give them); the explicit keys below serve the query on the driver only.
    os.environ.update(AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_REGION="us-east-1")
    kwargs = dict(s3_staging_dir="s3://athena-results/scale/", region_name="us-east-1", endpoint_url=url,
                  aws_access_key_id="test", aws_secret_access_key="test", unload=not args.csv)
    if args.csv:
        kwargs["csv_partition_bytes"] = args.csv_partition_bytes
    sql = "SELECT * FROM bench"
    me = os.getpid()
    shape = f"the result CSV in byte ranges of {args.csv_partition_bytes} bytes" if args.csv else f"{args.files} UNLOAD files ({per_file} rows each)"
    print(f"# {args.rows} rows of `bench` as {shape}; 30 ms first byte, 80 MB/s per connection; {os.cpu_count()} cores")
    base = tempfile.mkdtemp(prefix="athena-task-timings-")
    try:
        from adbc_driver_athena import _partitions, dbapi

        def one_process():
            plan = _partitions.plan(sql, kwargs)
            print(f"#   {len(plan.partitions)} partitions", flush=True)
            # Warm, as a worker that has read before: the kept connection is opened first.
            _partitions._connection(kwargs)
            start = time.perf_counter()
            rows = sum(b.num_rows for p in plan.partitions for b in _partitions.read(p, kwargs))
            return rows, time.perf_counter() - start

        def one_reader():
            with dbapi.connect(**kwargs) as c, c.cursor() as cur:
                cur.execute(sql)
                start = time.perf_counter()
                rows = sum(b.num_rows for b in cur.fetch_record_batch())
            return rows, time.perf_counter() - start

        measure("our reader, one process (baseline)", one_reader, lambda cmd, pid: pid == me)
        d = timings_dir(base, "one")
        reading = measure("partitions read one by one", one_process, lambda cmd, pid: pid == me, d)
        bare = breakdown("bare reads, one warm process", d, reading, 1, None)

        os.environ["PYSPARK_PYTHON"] = sys.executable
        from pyspark.sql import SparkSession

        from adbc_driver_athena import spark as athena_spark

        d = timings_dir(base, "spark")
        spark = SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false").getOrCreate()
        athena_spark.register(spark)

        def with_spark():
            df = spark.read.format("athena").option("query", sql)
            for k, v in kwargs.items():
                df = df.option(k, str(v).lower() if isinstance(v, bool) else v)
            frame = df.load()
            start = time.perf_counter()
            rows = frame.count()
            return rows, time.perf_counter() - start

        reading = measure("Spark local[2]", with_spark, lambda cmd, pid: any("pyspark" in c for c in cmd) or (cmd and cmd[0].endswith("java")), d)
        breakdown("Spark tasks", d, reading, 2, bare)
        spark.stop()

        import ray

        d = timings_dir(base, "ray")
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        from adbc_driver_athena.ray import read_athena

        def with_ray():
            ds = read_athena(sql, **kwargs)
            start = time.perf_counter()
            rows = sum(b.num_rows for b in ds.iter_batches(batch_format="pyarrow", batch_size=None))
            return rows, time.perf_counter() - start

        reading = measure("Ray, 2 workers", with_ray, lambda cmd, pid: any(c.startswith("ray::") for c in cmd) or pid == me, d)
        breakdown("Ray tasks", d, reading, 2, bare)

        # Ray's own count (at least 200 blocks: one partition per task), which read_athena
        # replaces by default with tasks packed for the cluster's CPUs.
        d = os.path.join(base, "ray")
        for name in os.listdir(d):
            os.remove(os.path.join(d, name))

        def with_ray_own_count():
            ds = read_athena(sql, override_num_blocks=-1, **kwargs)
            start = time.perf_counter()
            rows = sum(b.num_rows for b in ds.iter_batches(batch_format="pyarrow", batch_size=None))
            return rows, time.perf_counter() - start

        reading = measure("Ray, 2 workers, Ray's block count", with_ray_own_count, lambda cmd, pid: any(c.startswith("ray::") for c in cmd) or pid == me, d)
        breakdown("Ray tasks, Ray's block count", d, reading, 2, bare)
        ray.shutdown()
    finally:
        emulator.terminate()
        emulator.wait()
        # The endpoint's data (gigabytes of results at these sizes) goes with the run.
        shutil.rmtree(data, ignore_errors=True)
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
