import os

import adbc_drivers_validation.model
import pytest
from adbc_drivers_validation.tests.conftest import (  # noqa: F401
    conn,
    conn_factory,
    db_kwargs,
    manual_test,
    noci,
    pytest_addoption,
    pytest_collection_modifyitems,
)

from .athena import AthenaQuirks


@pytest.fixture(scope="session")
def driver(request) -> adbc_drivers_validation.model.DriverQuirks:
    assert request.param.startswith("athena:")
    return AthenaQuirks()


@pytest.fixture(scope="session")
def driver_path(driver) -> str:
    return os.environ["ATHENA_DRIVER"]
