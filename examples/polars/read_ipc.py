"""Reads an athena-arrow Arrow IPC export into Polars without copying the data: Polars
memory-maps an uncompressed IPC file (which the CLI writes) and uses its Arrow buffers as they
are.

    athena-arrow --local query "SELECT * FROM many_rows" --format arrow -o result.arrow
    python examples/polars/read_ipc.py result.arrow

Prints the schema, then the frame as CSV (the CLI's tests compare it exactly).
"""

import sys

import polars as pl


def main() -> None:
    df = pl.read_ipc(sys.argv[1])
    print(dict(df.schema))
    print(df.write_csv(), end="")


if __name__ == "__main__":
    main()
