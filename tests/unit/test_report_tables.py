from html.parser import HTMLParser

import pytest

from memspice.report.html import write_index
from memspice.report.tables import Table, export_tables

pytestmark = pytest.mark.unit


def table():
    return Table("adc_cost", "ADC cost & efficiency (50 %)", ["adc", "bits", "energy_per_conversion_fJ", "ok"],
                 [["SAR_baseline", 5, 170.0123, True], ["Q-cell", 5, 12.58, False], ["none", 4, None, True]],
                 digits={"energy_per_conversion_fJ": 4}, notes="energy in fJ; 1 fJ = 1e-15 J")


def test_latex_is_booktabs_and_escaped():
    tex = table().to_latex()
    assert "\\toprule" in tex and "\\midrule" in tex and "\\bottomrule" in tex
    assert "ADC cost \\& efficiency (50 \\%)" in tex
    assert "energy\\_per\\_conversion\\_fJ" in tex and "SAR\\_baseline" in tex
    assert "& 170.0 &" in tex and "12.58" in tex and "--" in tex
    assert "\\label{tab:adc_cost}" in tex


def test_markdown():
    md = table().to_markdown().splitlines()
    assert md[2] == "| adc | bits | energy_per_conversion_fJ | ok |"
    assert md[3] == "|---|---|---|---|"
    assert md[4] == "| SAR_baseline | 5 | 170.0 | yes |"


def test_round_trip_and_export(tmp_path):
    t = table()
    t.write(tmp_path, formats=("csv",))
    back = Table.read(tmp_path, "adc_cost")
    assert back.rows == t.rows and back.caption == t.caption and back.digits == t.digits
    paths = export_tables(tmp_path, ["latex", "md"])
    assert {p.suffix for p in paths} == {".tex", ".md"}
    assert (tmp_path / "adc_cost.tex").read_text() == t.to_latex()


def test_export_bad_format(tmp_path):
    from memspice.errors import SpecError

    table().write(tmp_path)
    with pytest.raises(SpecError, match="--format"):
        export_tables(tmp_path, ["docx"])


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.imgs, self.tables = [], 0

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.imgs.append(dict(attrs)["src"])
        if tag == "table":
            self.tables += 1


def test_index_links_only_existing_relative_files(tmp_path):
    table().write(tmp_path / "tables")
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "a.png").write_bytes(b"\x89PNG")
    write_index(tmp_path, "run", [("ADC", ["adc_cost"], [("figures/a.png", "a figure"), ("figures/b.png", "b")])],
                provenance={"seed": 0})
    html = (tmp_path / "index.html").read_text()
    parser = _Collect()
    parser.feed(html)
    assert parser.imgs == ["figures/a.png"] and parser.tables == 2
    assert "figure figures/b.png missing" in html
