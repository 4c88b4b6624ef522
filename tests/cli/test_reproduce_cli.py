"""``memspice reproduce hong2025``: a real (quick) Fig. 2b run, its page read by a headless browser, bad input."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.cli.conftest import assert_clean_error

BROWSER = "chromium-headless-shell"  # Debian package of the same name; setup.sh installs it

PROBE = ("<script>window.addEventListener('load',()=>{const im=[...document.images];"
         "document.body.setAttribute('data-probe',JSON.stringify({images:im.length,"
         "loaded:im.filter(i=>i.complete&&i.naturalWidth>0).length,"
         "tables:document.querySelectorAll('table').length}));});</script>")


def browser_probe(index: Path) -> dict:
    """Load ``index`` in headless Chromium; count images, images that decoded, and tables."""
    exe = shutil.which(BROWSER)
    assert exe, f"{BROWSER} not found: ./scripts/setup.sh installs it"
    probe = index.with_name(".probe.html")
    probe.write_text(index.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dom = subprocess.run([exe, "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files",
                          "--virtual-time-budget=5000", "--dump-dom", probe.as_uri()],
                         capture_output=True, text=True, timeout=120).stdout
    probe.unlink()
    start = dom.index('data-probe="') + len('data-probe="')
    return json.loads(dom[start:dom.index('"', start)].replace("&quot;", '"'))


@pytest.mark.ngspice
def test_reproduce_fig2b_quick_writes_the_page(cli, tmp_path):
    proc = cli("reproduce", "hong2025", "--figures", "2b", "--quick", "--out", "rep")
    assert proc.returncode == 0, proc.stderr
    run = tmp_path / "rep"
    report = (run / "report.md").read_text()
    assert "## Fig. 2b" in report and "window lower edge" in report
    rows = (run / "tables" / "fig2b_delta.csv").read_text().splitlines()
    lower = next(r for r in rows if r.startswith("window lower edge")).split(",")
    # write-verify programs the paper's window: the edges agree to within a millivolt
    assert abs(float(lower[4])) < 1e-3
    assert (run / "tables" / "fig2b_delta.tex").read_text().count("\\toprule") == 1
    seen = browser_probe(run / "index.html")
    assert seen["images"] == 1 and seen["loaded"] == 1 and seen["tables"] >= 2, seen
    again = cli("reproduce", "hong2025", "--figures", "2b", "--quick", "--out", "rep")
    assert again.returncode == 0 and "(cached)" in again.stdout


def test_reproduce_bad_input(cli, tmp_path):
    assert_clean_error(cli("reproduce", "hong2024"), 2, "PAPER", "hong2024", "hong2025")
    assert_clean_error(cli("reproduce", "hong2025", "--figures", "2b,7"), 2, "--figures", "7")
    assert_clean_error(cli("reproduce", "hong2025", "--data", str(tmp_path / "nope")), 2, "--data")
    assert_clean_error(cli("reproduce", "hong2025", "--explore", str(tmp_path)), 2, "--explore", "pareto.csv")
    assert_clean_error(cli("reproduce", "hong2025", "--fig5-network", "qat4"), 2, "--fig5-network", "qat4", "float")
    assert not (tmp_path / "runs").exists()
