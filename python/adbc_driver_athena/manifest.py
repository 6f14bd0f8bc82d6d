"""The driver's ADBC manifest (``athena.toml``), so that ADBC driver managers load it by name.

``python -m adbc_driver_athena.manifest install`` writes ``<prefix>/etc/adbc/drivers/athena.toml``
(default prefix: the running Python's, i.e. the active virtual environment, where
adbc_driver_manager looks for manifests), pointing at the library this package carries. Then,
without this package's own ``connect``::

    import adbc_driver_manager.dbapi
    conn = adbc_driver_manager.dbapi.connect(driver="athena", db_kwargs={"uri": "athena://?region=..."})

A manifest must name the library by absolute path, which a wheel cannot know before it is
installed: hence this one command after ``pip install``. ``--user`` writes to the user's ADBC
directory (``~/.config/adbc/drivers``) instead.

``python -m adbc_driver_athena.manifest package DIR`` writes ``DIR/athena-<version>-<arch>.tar.gz``:
``athena.toml`` (the library by its file name, for installers that place both) and the library,
the archive ADBC driver installers take for the C, Go and R driver managers.
"""

from __future__ import annotations

import argparse
import io
import os
import pathlib
import platform
import sys
import tarfile
import typing

import adbc_driver_athena

#: The name drivers are loaded by (``driver="athena"``) and the manifest's file name.
NAME = "athena"


def arch() -> str:
    """The platform key of ``Driver.shared`` as ADBC driver managers spell it."""
    system = {"Linux": "linux", "Darwin": "macos", "Windows": "windows"}.get(platform.system(), platform.system().lower())
    machine = platform.machine().lower()
    machine = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)
    return f"{system}_{machine}"


def manifest_text(library: str) -> str:
    """The manifest naming `library` for this platform."""
    escaped = library.replace("\\", "\\\\").replace('"', '\\"')
    return f"""manifest_version = 1
name = "Amazon Athena (athena-arrow)"
version = "{adbc_driver_athena.__version__}"
license = "Apache-2.0"

[ADBC]
version = "1.1.0"

[Driver]
entrypoint = "{adbc_driver_athena.ENTRYPOINT}"

[Driver.shared]
{arch()} = "{escaped}"
"""


def install(prefix: typing.Optional[str] = None, user: bool = False) -> pathlib.Path:
    """Writes the manifest where ADBC driver managers look; returns its path."""
    if user:
        base = pathlib.Path(os.environ.get("XDG_CONFIG_HOME", pathlib.Path.home() / ".config")) / "adbc" / "drivers"
    else:
        base = pathlib.Path(prefix or sys.prefix) / "etc" / "adbc" / "drivers"
    base.mkdir(parents=True, exist_ok=True)
    path = base / f"{NAME}.toml"
    path.write_text(manifest_text(str(pathlib.Path(adbc_driver_athena.driver_path()).resolve())), encoding="utf-8")
    return path


def package(outdir: str) -> pathlib.Path:
    """Writes the installer archive (manifest + library); returns its path."""
    library = pathlib.Path(adbc_driver_athena.driver_path())
    out = pathlib.Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    archive = out / f"{NAME}-{adbc_driver_athena.__version__}-{arch()}.tar.gz"
    lib_name = "libadbc_driver_athena" + library.suffix
    with tarfile.open(archive, "w:gz") as tar:
        text = manifest_text(lib_name).encode()
        info = tarfile.TarInfo(f"{NAME}.toml")
        info.size = len(text)
        tar.addfile(info, io.BytesIO(text))
        tar.add(str(library), arcname=lib_name)
    return archive


def main(argv: typing.Optional[typing.Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m adbc_driver_athena.manifest", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    i = sub.add_parser("install", help="write athena.toml where ADBC driver managers look")
    i.add_argument("--prefix", help="environment prefix (default: this Python's)")
    i.add_argument("--user", action="store_true", help="the user's ADBC directory instead")
    sub.add_parser("print", help="print the manifest")
    k = sub.add_parser("package", help="write the installer archive (manifest + library)")
    k.add_argument("dir")
    args = p.parse_args(argv)
    if args.command == "install":
        print(install(args.prefix, args.user))
    elif args.command == "print":
        print(manifest_text(str(pathlib.Path(adbc_driver_athena.driver_path()).resolve())), end="")
    else:
        print(package(args.dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
