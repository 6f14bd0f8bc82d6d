from adbc_drivers_validation.tests.statement import (  # noqa: F401
    TestStatement,
    generate_tests,
)

from . import athena


def pytest_generate_tests(metafunc) -> None:
    return generate_tests(athena.QUIRKS, metafunc)
