"""Tokens: made by the CLI (the token is the last line of stdout), stored hashed beside the warehouse and never
inside it, nested scopes, expiry and revocation."""

from __future__ import annotations

import json
import os
import stat
from datetime import datetime, timedelta, timezone

import duckdb
import pytest

from benchmark_pipeline.cli.main import main
from benchmark_pipeline.rest.tokens import AuthError, TokenError, TokenStore, covers


def test_scopes_nest():
    assert covers("admin", "submit") and covers("admin", "read") and covers("submit", "read")
    assert not covers("read", "submit") and not covers("submit", "admin")


def test_store_keeps_only_hashes_with_private_permissions(tmp_path):
    store = TokenStore(tmp_path / "w.duckdb.tokens.json")
    token, info = store.create("submit", name="ci")
    text = store.path.read_text()
    assert token not in text and token.split("_")[-1] not in text
    assert info.sha256 in text and json.loads(text)["tokens"][0]["scope"] == "submit"
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    assert store.verify(token, "submit").id == info.id
    assert store.verify(token, "read").id == info.id


def test_verify_says_why_a_token_is_refused(tmp_path):
    store = TokenStore(tmp_path / "t.json")
    reader, _ = store.create("read")
    with pytest.raises(AuthError) as weak:
        store.verify(reader, "submit")
    assert weak.value.status == 403 and "scope 'read'" in weak.value.message

    with pytest.raises(AuthError) as malformed:
        store.verify("hunter2", "read")
    assert malformed.value.status == 401 and malformed.value.code == "invalid_token"

    forged = reader[:-4] + ("AAAA" if not reader.endswith("AAAA") else "BBBB")
    with pytest.raises(AuthError) as unknown:
        store.verify(forged, "read")
    assert unknown.value.code == "invalid_token"

    other = TokenStore(tmp_path / "other.json")
    foreign, _ = other.create("admin")
    with pytest.raises(AuthError):
        store.verify(foreign, "read")  # a token of another warehouse


def test_expired_and_revoked_tokens_are_refused(tmp_path):
    store = TokenStore(tmp_path / "t.json")
    token, info = store.create("admin", expires_days=1)
    assert store.verify(token, "admin")
    assert info.expired(datetime.now(timezone.utc) + timedelta(days=2))
    data = json.loads(store.path.read_text())
    data["tokens"][0]["expires_at"] = (datetime.now(timezone.utc) - timedelta(seconds=1)).isoformat()
    store.path.write_text(json.dumps(data))
    with pytest.raises(AuthError) as expired:
        store.verify(token, "read")
    assert expired.value.code == "expired_token"

    second, second_info = store.create("submit")
    assert store.verify(second, "submit")
    store.revoke(second_info.id)
    with pytest.raises(AuthError) as revoked:
        store.verify(second, "read")
    assert revoked.value.code == "revoked_token"
    with pytest.raises(TokenError, match="no token with id"):
        store.revoke("deadbeef")


def test_cli_create_list_revoke(tmp_path, capsys):
    db = tmp_path / "warehouse" / "benchmarks.duckdb"
    assert main(["token", "create", "--scope", "submit", "--expires", "30", "--name", "nightly", "--db-path",
                 str(db)]) == 0
    out, err = capsys.readouterr()
    token = out.strip().splitlines()[-1]
    assert token.startswith("bdb_") and "not shown again" in err
    tokens_file = db.with_name("benchmarks.duckdb.tokens.json")
    assert TokenStore(tokens_file).verify(token, "submit").name == "nightly"

    assert main(["token", "list", "--format", "json", "--db-path", str(db)]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(t["scope"], t["state"], t["name"]) for t in listed] == [("submit", "active", "nightly")]
    assert "sha256" not in listed[0] and token not in json.dumps(listed)

    assert main(["token", "revoke", listed[0]["id"], "--db-path", str(db)]) == 0
    capsys.readouterr()
    assert main(["token", "list", "--db-path", str(db)]) == 0
    assert "\trevoked\t" in capsys.readouterr().out
    assert main(["token", "revoke", "0000ffff", "--db-path", str(db)]) == 2
    assert "no token with id" in capsys.readouterr().err
    assert main(["token", "create", "--scope", "read", "--expires", "-1", "--db-path", str(db)]) == 2


def test_tokens_never_enter_the_warehouse(warehouse, capsys):
    assert main(["token", "create", "--scope", "admin", "--db-path", str(warehouse)]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    digest = TokenStore(warehouse.with_name(warehouse.name + ".tokens.json")).list()[0].sha256
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        tables = [r[0] for r in conn.execute("SELECT table_name FROM information_schema.tables").fetchall()]
        for table in tables:
            text = conn.execute(f'SELECT count(*) FROM "{table}" t WHERE CAST(t AS VARCHAR) LIKE ? OR '
                                f'CAST(t AS VARCHAR) LIKE ?', [f"%{token[4:12]}%", f"%{digest[:16]}%"]).fetchall()
            assert text[0][0] == 0, table
    assert b"bdb_" not in warehouse.read_bytes()
