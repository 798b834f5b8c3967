from __future__ import annotations

import io
import subprocess
import sys
import types

import pytest

from benchmark_pipeline.cli import main as cli_main

A_V0 = "QmfDmsHTywy6L9Ne5RXsj5YumDedfBLMvCvmaxjBoe6w4d"
A_V1 = "bafkreigks6arfsq3xxfpvqrrwonchxcnu6do76auprhhfomao6c273sixm"
MIB_V1 = "bafybeiedpcapwld4tkgtzwahfofgn4wex5ryysf4se6hwpmlrsh4ntnrau"


def _mib() -> bytes:
    return (bytes(range(251)) * 4200)[: 1 << 20]


@pytest.fixture
def run(monkeypatch):
    """Run ``benchmark-db`` in-process with only this command group registered (others' modules
    are tested on their own); returns (exit code, stdout bytes, stderr text)."""
    monkeypatch.setattr(cli_main, "COMMAND_MODULES", ("snapshot",))

    def _run(*argv: str, stdin: bytes = b""):
        out, err = io.BytesIO(), io.StringIO()
        fake_stdout = types.SimpleNamespace(buffer=out, write=lambda s: out.write(s.encode()), flush=lambda: None)
        monkeypatch.setattr(sys, "stdout", fake_stdout)
        monkeypatch.setattr(sys, "stderr", err)
        monkeypatch.setattr(sys, "stdin", types.SimpleNamespace(buffer=io.BytesIO(stdin)))
        code = cli_main.main(list(argv))
        return code, out.getvalue(), err.getvalue()

    return _run


def test_snapshot_is_registered_with_the_cli():
    assert "snapshot" in cli_main.COMMAND_MODULES


def test_cid_prints_the_cid_alone(run, tmp_path):
    (tmp_path / "a").write_bytes(b"a")
    assert run("snapshot", "cid", str(tmp_path / "a")) == (0, f"{A_V1}\n".encode(), "")
    assert run("snapshot", "cid", str(tmp_path / "a"), "--profile", "kubo-v0")[1] == f"{A_V0}\n".encode()


def test_cid_of_a_multi_chunk_file_and_of_stdin(run, tmp_path):
    (tmp_path / "m").write_bytes(_mib())
    assert run("snapshot", "cid", str(tmp_path / "m"))[1] == f"{MIB_V1}\n".encode()
    assert run("snapshot", "cid", "-", stdin=_mib())[1] == f"{MIB_V1}\n".encode()


def test_cid_writes_nothing_to_the_blockstore(run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a").write_bytes(b"a")
    run("snapshot", "cid", "a")
    assert not (tmp_path / "data").exists()


def test_cid_of_a_missing_file_is_a_usage_error(run, tmp_path):
    code, out, err = run("snapshot", "cid", str(tmp_path / "nope"))
    assert (code, out) == (2, b"")
    assert "nope" in err


def test_unknown_profile_is_rejected_by_the_parser(run, tmp_path):
    with pytest.raises(SystemExit) as info:
        run("snapshot", "cid", "x", "--profile", "kubo-v9")
    assert info.value.code == 2


def test_add_then_cat_round_trip_in_the_default_store(run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BENCHMARK_BLOCKS_DIR", raising=False)
    (tmp_path / "m").write_bytes(_mib())
    code, out, err = run("snapshot", "add", "m")
    assert (code, out) == (0, f"{MIB_V1}\n".encode())
    assert "5 blocks" in err
    assert any((tmp_path / "data" / "snapshots" / "blocks").rglob("*.data"))
    assert run("snapshot", "cat", MIB_V1) == (0, _mib(), "")


def test_cat_refuses_a_corrupt_block(run, tmp_path):
    blocks = tmp_path / "blocks"
    (tmp_path / "a").write_bytes(b"a")
    run("snapshot", "add", str(tmp_path / "a"), "--blocks-dir", str(blocks))
    (block_file,) = blocks.rglob("*.data")
    block_file.write_bytes(b"b")
    code, out, err = run("snapshot", "cat", A_V1, "--blocks-dir", str(blocks))
    assert (code, out) == (1, b"")
    assert "corrupt" in err and A_V1 in err


def test_cat_of_an_unknown_or_malformed_cid_is_a_usage_error(run, tmp_path):
    blocks = str(tmp_path / "blocks")
    code, _, err = run("snapshot", "cat", A_V1, "--blocks-dir", blocks)
    assert code == 2 and f"no block {A_V1}" in err  # names nothing stored: usage, not bad content
    assert run("snapshot", "export-car", A_V1, str(tmp_path / "x.car"), "--blocks-dir", blocks)[0] == 2
    assert run("snapshot", "cat", "not-a-cid", "--blocks-dir", blocks)[0] == 2


def test_car_export_and_import_between_stores(run, tmp_path):
    (tmp_path / "m").write_bytes(_mib())
    first, second = str(tmp_path / "one"), str(tmp_path / "two")
    cid = run("snapshot", "add", str(tmp_path / "m"), "--profile", "kubo-v0", "--blocks-dir", first)[1].decode().strip()
    car = tmp_path / "m.car"
    assert run("snapshot", "export-car", cid, str(car), "--blocks-dir", first)[0] == 0
    assert run("snapshot", "import-car", str(car), "--blocks-dir", second)[:2] == (0, f"{cid}\n".encode())
    assert run("snapshot", "cat", cid, "--blocks-dir", second)[1] == _mib()


def test_export_of_an_incomplete_dag_fails_without_leaving_a_file(run, tmp_path):
    blocks = tmp_path / "blocks"
    (tmp_path / "m").write_bytes(_mib())
    run("snapshot", "add", str(tmp_path / "m"), "--blocks-dir", str(blocks))
    sorted(blocks.rglob("*.data"))[0].unlink()
    code, _, err = run("snapshot", "export-car", MIB_V1, str(tmp_path / "out.car"), "--blocks-dir", str(blocks))
    assert code == 1 and "not in the blockstore" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocks", "m"]  # no OUT.car, no temp file


def test_import_car_refuses_corrupt_and_incomplete_cars(run, tmp_path):
    (tmp_path / "m").write_bytes(_mib())
    src = str(tmp_path / "src")
    run("snapshot", "add", str(tmp_path / "m"), "--blocks-dir", src)
    car = tmp_path / "m.car"
    run("snapshot", "export-car", MIB_V1, str(car), "--blocks-dir", src)
    data = car.read_bytes()

    car.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    code, _, err = run("snapshot", "import-car", str(car), "--blocks-dir", str(tmp_path / "t1"))
    assert code == 1 and "corrupt" in err

    last_section = 3 + 36 + 262_144  # varint length, CIDv1 raw, the fourth chunk
    cut = data[:-last_section]
    car.write_bytes(cut)
    code, _, err = run("snapshot", "import-car", str(car), "--blocks-dir", str(tmp_path / "t2"))
    assert code == 1 and "incomplete" in err


def test_import_car_of_a_missing_file_is_a_usage_error(run, tmp_path):
    assert run("snapshot", "import-car", str(tmp_path / "none.car"), "--blocks-dir", str(tmp_path))[0] == 2


def test_profile_choices_match_the_library():
    from benchmark_pipeline.cli.snapshot import PROFILE_NAMES
    from benchmark_pipeline.lib.content.unixfs import DEFAULT_PROFILE, PROFILES

    assert PROFILE_NAMES == tuple(PROFILES)
    assert PROFILE_NAMES[0] == DEFAULT_PROFILE.name


def test_registering_the_commands_imports_no_content_code():
    # Keeps `benchmark-db --help` fast: the library is imported by handlers only.
    code = (
        "import sys, argparse; from benchmark_pipeline.cli import snapshot;"
        "snapshot.register(argparse.ArgumentParser().add_subparsers());"
        "print(sorted(m for m in sys.modules if m.startswith('benchmark_pipeline.lib')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
