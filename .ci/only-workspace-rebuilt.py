#!/usr/bin/env python3
"""Reads `cargo build --message-format json` on stdin and fails when any crate outside the
workspace was compiled (not "fresh"): the README's two commands must share one dependency build.

Usage: cargo build -p athena-arrow-cli --message-format json | python3 .ci/only-workspace-rebuilt.py
"""
import json
import sys

compiled, fresh, ours = [], 0, 0
for line in sys.stdin:
    try:
        msg = json.loads(line)
    except ValueError:
        continue
    if msg.get("reason") == "build-finished" and not msg.get("success"):
        sys.exit("the build failed")
    if msg.get("reason") != "compiler-artifact":
        continue
    pid = msg["package_id"]
    # Workspace members are path dependencies: "path+file:///...#name@version".
    if pid.startswith("path+file://"):
        ours += 1
    elif msg.get("fresh"):
        fresh += 1
    else:
        compiled.append(msg["target"]["name"] + " " + pid.rsplit("#", 1)[-1])

print(f"{fresh} third-party crates fresh, {ours} workspace crates, {len(compiled)} third-party crates compiled again")
if compiled:
    print("compiled again (their features differ between the two commands; run `cargo hakari generate`):")
    for c in compiled:
        print("  " + c)
    sys.exit(1)
