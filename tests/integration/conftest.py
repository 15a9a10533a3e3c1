import os
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.dirname(__file__))


@pytest.fixture(scope="session", autouse=True)
def temporary_files_under_pytest_basetemp(tmp_path_factory):
    """Every mkdtemp/mkstemp of the tests and the harness (daemon configs, logs, unix sockets,
    the SDK example's build) lands in pytest's own per-run directory, which pytest rotates
    (it keeps the three newest runs). Left in /tmp, each suite run used to leave ~100
    directories and several MiB behind for good. Failed runs stay inspectable until rotated."""
    base = str(tmp_path_factory.getbasetemp())
    saved = tempfile.tempdir
    tempfile.tempdir = base
    yield base
    tempfile.tempdir = saved
