"""The driver installs as ADBC drivers do: its manifest written into a fresh virtual environment
lets adbc_driver_manager load it by name (``driver="athena"``), without this package's own
``connect``; the installer archive holds the manifest and the library."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import tarfile

import pytest

from adbc_driver_athena import manifest

WHEEL = os.environ.get("ATHENA_WHEEL")

QUERY_BY_NAME = """
import sys
import adbc_driver_manager.dbapi
uri = sys.argv[1]
with adbc_driver_manager.dbapi.connect(driver="athena", db_kwargs={"uri": uri, "username": "test", "password": "test"}) as conn:
    with conn.cursor() as cur:
        cur.execute("SELECT 40 + 2 AS answer")
        print(cur.fetchone()[0])
"""


def uri(endpoint) -> str:
    from urllib.parse import quote

    return f"athena://?region=us-east-1&s3_staging_dir={quote('s3://athena-results/manifest/', safe='')}&endpoint_url={quote(endpoint.url, safe='')}"


@pytest.mark.skipif(not WHEEL, reason="needs the built wheel (python/run-tests.sh sets ATHENA_WHEEL)")
def test_a_fresh_venv_loads_the_driver_by_name(tmp_path, endpoint):
    venv = tmp_path / "fresh"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = str(venv / "bin" / "python")
    pins = [line.split("#")[0].strip() for line in open(pathlib.Path(__file__).parent.parent / "requirements-test.txt")]
    wanted = [p for p in pins if p.startswith(("adbc-driver-manager==", "pyarrow=="))]
    subprocess.run([py, "-m", "pip", "install", "-q", WHEEL, *wanted], check=True)
    # Not yet: the manifest is written by the one documented command.
    before = subprocess.run([py, "-c", QUERY_BY_NAME, uri(endpoint)], capture_output=True, text=True)
    assert before.returncode != 0 and "athena" in before.stderr
    written = subprocess.run([py, "-m", "adbc_driver_athena.manifest", "install"], capture_output=True, text=True, check=True).stdout.strip()
    assert written == str(venv / "etc" / "adbc" / "drivers" / "athena.toml")
    text = pathlib.Path(written).read_text()
    assert 'entrypoint = "AdbcDriverAthenaInit"' in text and f"{manifest.arch()} = " in text
    after = subprocess.run([py, "-c", QUERY_BY_NAME, uri(endpoint)], capture_output=True, text=True)
    assert after.returncode == 0, after.stderr
    assert after.stdout.strip() == "42"


def test_the_installer_archive_holds_manifest_and_library(tmp_path):
    archive = manifest.package(str(tmp_path))
    with tarfile.open(archive) as tar:
        names = sorted(tar.getnames())
        toml = tar.extractfile("athena.toml").read().decode()
    assert names == ["athena.toml", "libadbc_driver_athena.so"]
    assert f'{manifest.arch()} = "libadbc_driver_athena.so"' in toml


def test_a_manifest_anywhere_on_the_search_path(tmp_path, endpoint):
    path = manifest.install(prefix=str(tmp_path))
    env = dict(os.environ, ADBC_DRIVER_PATH=str(path.parent))
    out = subprocess.run([sys.executable, "-c", QUERY_BY_NAME, uri(endpoint)], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "42"
