import os
import subprocess
import sys

import pytest


@pytest.fixture
def cli(tmp_path):
    """Run ``memspice ARGS`` as a user would (a new process); returns the CompletedProcess."""

    def run(*args: str, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
        full_env = {**os.environ, "MEMSPICE_PROGRESS": "off", **(env or {})}
        return subprocess.run([sys.executable, "-m", "memspice", *args], capture_output=True, text=True,
                              cwd=tmp_path, env=full_env, timeout=timeout)

    return run


def assert_clean_error(proc, code: int, *needles: str) -> None:
    """Exit code ``code``, one error message naming ``needles``, no traceback."""
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    assert "memspice: error:" in proc.stderr
    for needle in needles:
        assert needle in proc.stderr, (needle, proc.stderr)
