"""`benchmark-db report --format html`: where the page goes without --output, and that it works offline."""

import re

import pytest

from benchmark_pipeline.cli.main import main
from benchmark_pipeline.service.samples import build_sample_warehouse
from benchmark_pipeline.lib.reports.render import PLOTLY_JS


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    return str(build_sample_warehouse(tmp_path_factory.mktemp("cli-out"), days=4))


def test_html_without_output_goes_under_the_data_dir(capsys, db, tmp_path, monkeypatch):
    monkeypatch.setenv("BENCHMARK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    assert main(["report", "summary", "--format", "html", "--db-path", db]) == 0
    out, err = capsys.readouterr()
    page = tmp_path / "data" / "reports" / "summary.html"
    assert out == "" and str(page) in err
    assert page.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert (page.parent / PLOTLY_JS).stat().st_size > 1_000_000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]  # nothing in the working directory


def test_html_to_a_new_folder_brings_its_plotly(capsys, db, tmp_path):
    target = tmp_path / "some" / "dir" / "x.html"
    assert main(["report", "model", "--format", "html", "--output", str(target), "--db-path", db]) == 0
    page = target.read_text(encoding="utf-8")
    assert re.findall(r'<script[^>]+src="([^"]+)"', page) == [PLOTLY_JS]
    bundle = target.parent / PLOTLY_JS
    assert bundle.exists()
    mtime = bundle.stat().st_mtime_ns
    assert main(["report", "summary", "--format", "html", "--output", str(target.with_name("s.html")),
                 "--db-path", db]) == 0
    assert bundle.stat().st_mtime_ns == mtime  # shared, written once
    bundle.write_text("stale", encoding="utf-8")
    assert main(["report", "summary", "--format", "html", "--output", str(target), "--db-path", db]) == 0
    assert bundle.stat().st_size > 1_000_000  # a stale or truncated bundle is replaced
    capsys.readouterr()


def test_markdown_and_json_still_go_to_stdout(capsys, db):
    assert main(["report", "regressions", "--db-path", db]) == 0
    out, _err = capsys.readouterr()
    assert out.startswith("# Regressions and trends") and "## At a glance" in out
