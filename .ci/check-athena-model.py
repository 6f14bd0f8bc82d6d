#!/usr/bin/env python3
"""Fails when the Athena model of the pinned botocore (python/requirements-test.txt) has an
operation or a binding that the endpoint's route table does not know.

The endpoint routes `rest-json` requests by the model it bundles
(emulator/model/athena/2017-05-18/service-2.json.gz, botocore's file). This compares, operation by
operation, what a route is made of: the protocol, the method, the path, the success status, where
each input and output member travels (path, query string, header, body, payload), and each
error's HTTP status. Fast: no build; botocore's wheel is downloaded once into ~/.cache.

When it fails: copy the new file over the bundled one, update emulator/model/README.md, run the
endpoint's tests, and decide for each new operation whether the endpoint serves it.
"""

from __future__ import annotations

import gzip
import json
import pathlib
import re
import subprocess
import sys
import zipfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "emulator/model/athena/2017-05-18/service-2.json.gz"
MODEL_IN_WHEEL = "botocore/data/athena/2017-05-18/service-2.json.gz"
SERVED_IN = ROOT / "emulator/src/protocol/athena/model.rs"


def pinned_version() -> str:
    text = (ROOT / "python/requirements-test.txt").read_text()
    m = re.search(r"^botocore==(\S+)", text, re.M)
    if not m:
        sys.exit("python/requirements-test.txt pins no botocore version")
    return m.group(1)


def pinned_model(version: str) -> dict:
    cache = pathlib.Path.home() / ".cache" / "athena-botocore" / version
    wheels = list(cache.glob("botocore-*.whl"))
    if not wheels:
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(cache), f"botocore=={version}"],
            check=True,
        )
        wheels = list(cache.glob("botocore-*.whl"))
    with zipfile.ZipFile(wheels[0]) as wheel:
        return json.loads(gzip.decompress(wheel.read(MODEL_IN_WHEEL)))


def routes(model: dict) -> dict:
    """Everything a route depends on, per operation, as comparable values."""
    shapes = model["shapes"]

    def members(shape_name: str | None) -> dict:
        if not shape_name:
            return {}
        shape = shapes[shape_name]
        out = {name: (m.get("location", "body"), m.get("locationName", name), shapes[m["shape"]]["type"]) for name, m in shape.get("members", {}).items()}
        if "payload" in shape:
            out["<payload>"] = shape["payload"]
        return out

    def status(error: str) -> int:
        shape = shapes[error]
        return shape.get("error", {}).get("httpStatusCode", 500 if shape.get("fault") else 400)

    table = {"<protocol>": model["metadata"]["protocol"]}
    for name, op in model["operations"].items():
        http = op["http"]
        table[name] = {
            "method": http["method"],
            "path": http["requestUri"],
            "status": http.get("responseCode", 200),
            "input": members(op.get("input", {}).get("shape")),
            "output": members(op.get("output", {}).get("shape")),
            "errors": {e["shape"]: status(e["shape"]) for e in op.get("errors", [])},
        }
    return table


def main() -> int:
    version = pinned_version()
    pinned = routes(pinned_model(version))
    bundled = routes(json.loads(gzip.decompress(BUNDLED.read_bytes())))
    problems = []
    for name, route in pinned.items():
        if name not in bundled:
            problems.append(f"{name}: in botocore {version}'s model, unknown to the endpoint's route table")
        elif bundled[name] != route:
            problems.append(f"{name}: botocore {version} binds it as {route}\n    the endpoint's route table: {bundled[name]}")
    for name in bundled:
        if name not in pinned:
            problems.append(f"{name}: in the endpoint's route table, gone from botocore {version}'s model")
    served = re.search(r"pub const SERVED: &\[&str\] = &\[(.*?)\];", SERVED_IN.read_text(), re.S)
    for name in re.findall(r'"(\w+)"', served.group(1) if served else ""):
        if name not in pinned:
            problems.append(f"{name}: served by the endpoint, not in botocore {version}'s model")
    if problems:
        print(f"The endpoint's route table ({BUNDLED.relative_to(ROOT)}) differs from botocore {version}'s Athena model:")
        for p in problems:
            print("  " + p)
        return 1
    print(f"The endpoint's route table matches botocore {version}'s Athena model ({len(pinned) - 1} operations, {pinned['<protocol>']}).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
