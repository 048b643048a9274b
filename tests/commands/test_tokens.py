"""`vigil token list | revoke` (issue 10, F9): one's own tokens, or anyone's as an administrator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.support.builders import make_user
from tests.support.cli import cli_environment, run
from vigil.db.session import session_scope
from vigil.errors import AuthenticationFailed
from vigil.governance.users import get_user, issue_token, user_for_token
from vigil.settings import load_settings
from vigil.system import open_system


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return cli_environment(tmp_path, monkeypatch)


def test_tokens_are_listed_and_revoked_one_by_one_from_the_cli(data_dir: Path) -> None:
    runner = CliRunner()
    run(runner, "db", "upgrade")
    system = open_system(load_settings())
    try:
        with session_scope(system.sessions) as db:
            ivy, _ = make_user(db, "ivy"), make_user(db, "una")
            first, second = issue_token(db, user=ivy, name="laptop"), issue_token(db, user=ivy, name="server")
        listed = json.loads(run(runner, "token", "list", "--as", "ivy", "--json"))
        assert [(t["name"], t["state"]) for t in listed] == [("server", "working"), ("laptop", "working")]
        laptop = next(t["id"] for t in listed if t["name"] == "laptop")
        assert json.loads(run(runner, "token", "list", "--as", "una", "--json")) == []
        assert "may not manage users" in run(runner, "token", "list", "--user", "ivy", "--as", "una", code=2)
        assert f"no API token {laptop}" in run(runner, "token", "revoke", str(laptop), "--as", "una", code=2)
        assert "revoked API token" in run(runner, "token", "revoke", str(laptop), "--as", "admin")
        states = {t["name"]: t["state"] for t in json.loads(run(runner, "token", "list", "--as", "ivy", "--json"))}
        assert states == {"laptop": "revoked", "server": "working"}
        with session_scope(system.sessions) as db:
            assert user_for_token(db, second).username == "ivy"
            with pytest.raises(AuthenticationFailed, match="revoked"):
                user_for_token(db, first)
            assert get_user(db, "ivy").is_active
    finally:
        system.close()
