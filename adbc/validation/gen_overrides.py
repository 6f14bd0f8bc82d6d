"""Athena-specific overrides of the validation suite's setup DDL (Hive column types).

Usage: python gen_overrides.py <checkout of the validation suite>
Writes queries/type/{select,bind}/*.txtcase next to this file; the literal/ overrides are
written by hand.
"""
import re
import sys
from pathlib import Path

base = Path(sys.argv[1]) / "adbc_drivers_validation" / "queries" / "type"
out = Path(__file__).parent / "queries" / "type"

HIVE = [
    (r"\bBLOB\b", "binary"), (r"\bVARBINARY\(\d+\)", "binary"), (r"\bVARBINARY\b", "binary"),
    (r"\bNUMERIC\((\d+),\s*(\d+)\)", r"decimal(\1,\2)"), (r"\bDOUBLE PRECISION\b", "double"),
    (r"\bTIMESTAMP\(3\)", "timestamp"),
]
SKIP = {
    "time": "Athena tables have no TIME columns",
    "tz": "Athena tables have no TIMESTAMP WITH TIME ZONE columns",
    "prec": "Athena's Hive tables store timestamp at millisecond precision (timestamp(3)) only",
}

def parts(text):
    out, cur, name = {}, [], None
    for line in text.splitlines(keepends=True):
        m = re.match(r"^//\s*part:\s*(\w+)", line)
        if m:
            if name: out[name] = "".join(cur)
            name, cur = m.group(1), []
        elif name:
            cur.append(line)
    if name: out[name] = "".join(cur)
    return out

for path in sorted(base.rglob("*.txtcase")):
    rel = path.relative_to(base)
    p = parts(path.read_text())
    setup = p.get("setup_query")
    if setup is None:
        continue
    cols = re.search(r"CREATE TABLE[^(]*\((.*?)\);", setup, re.S)
    coltext = cols.group(1) if cols else ""
    reason = None
    if re.search(r"WITH TIME ZONE", coltext, re.I):
        reason = SKIP["tz"]
    elif re.search(r"\bTIME\b(?!STAMP)|\bTIME\(", coltext, re.I):
        reason = SKIP["time"]
    elif re.search(r"TIMESTAMP\((?!3\))\d\)|\bTIMESTAMP\b(?!\()", coltext, re.I):
        reason = SKIP["prec"]
    dest = out / rel
    if reason:
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(f'// part: metadata\n\nskip = "{reason}"\n')
        continue
    new = setup
    for pat, rep in HIVE:
        new = re.sub(pat, rep, new, flags=re.I)
    if new != setup:
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text("// part: setup_query\n" + new)
        print("override", rel)
