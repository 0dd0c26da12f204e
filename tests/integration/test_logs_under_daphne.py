"""No log line carries a usable signed-link token: the whole output of a real daphne process
started the way the README's production section says (its flags, read from the README), the
server's own lines included, after signed links are used, mistyped and pasted in every way a
visitor or a chat app does it."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.fixtures.dashboard import ROOT, Dashboard, running_dashboard
from tests.fixtures.simulator import Simulator


def readme_daphne_options() -> list[str]:
    """The flags of the production daphne command in the README, without the address to bind
    and the application (the test binds a free port)."""
    text = (ROOT / "README.md").read_text()
    production = text.split("## Production", 1)[1].split("\n## ", 1)[0]
    command = re.search(r"^daphne (.+?jobsdash\.asgi:application)", production, re.MULTILINE | re.DOTALL)
    assert command is not None, "the README's production section gives no daphne command"
    words = shlex.split(command.group(1).replace("\\\n", " "))
    options: list[str] = []
    skip = False
    for word in words[:-1]:
        if skip:
            skip = False
        elif word in ("-b", "-p", "--bind", "--port"):
            skip = True
        else:
            options.append(word)
    return options


def _forms_of(token: str) -> list[str]:
    """How a token could be written in a log: as it is, URL-encoded, or just its signature."""
    signature = token.rsplit(":", 1)[1]
    return [token, quote(token, safe=""), signature]


def test_the_readme_runs_daphne_without_its_own_access_log() -> None:
    options = readme_daphne_options()
    assert "--access-log" in options, "without it daphne writes every path, tokens included, to stdout"
    assert options[options.index("--access-log") + 1] == "/dev/null"


def test_no_line_of_a_daphne_run_carries_a_signed_link_token(sim: Simulator, tmp_path: Path) -> None:
    with running_dashboard(tmp_path, sim.url, readme_daphne_options()) as board:
        tokens = _use_links_every_way(board)
    log = (tmp_path / "daphne.log").read_text(errors="replace")
    # The lines are there (this is not an empty log), with the token masked ...
    assert "logger=jobsdash.access" in log and "path=/e/***/" in log
    assert "logger=django.request" in log and "Forbidden: /e/***" in log
    # ... and no form of either token anywhere, the server's own lines included.
    for secret in (form for token in tokens for form in _forms_of(token)):
        assert secret not in log, f"a token leaked into the log: {secret[:12]}..."


def _use_links_every_way(board: Dashboard) -> list[str]:
    """Open a signed link, mistype it, paste it, open its socket; its token and a revoked one's."""
    path = board.manage("embed_link", "acme", "--query", "type=build").strip()
    token = path.split("/")[2]
    revoked_path = board.manage("embed_link", "acme", "--query", "state=failed").strip()
    revoked_token = revoked_path.split("/")[2]
    board.manage(
        "shell",
        "-c",
        "from django.utils import timezone; from jobsdash.links.models import EmbedLink; "
        "EmbedLink.objects.filter(query='state=failed').update(revoked_at=timezone.now())",
    )
    with httpx.Client(base_url=board.url, trust_env=False, timeout=10) as client:
        assert client.get(path).status_code == 200
        assert client.get(f"{path}row/build/{quote('no$such', safe='')}/").status_code == 404
        assert client.get(f"{path}no/such/page/").status_code == 404
        # What chat apps do to a copied link: a stray character before or after the token.
        for stray in ("%C3%A9", "%E2%80%8B", "%22", "%27", "%20"):
            assert client.get(f"/e/{stray}{token}/").status_code == 403
            assert client.get(f"/e/{token}{stray}/").status_code == 403
        assert client.get(revoked_path).status_code == 403
        # A link pasted into another page's query string.
        assert client.get("/t/acme/jobs/", params={"q": f"{board.url}{path}"}).status_code == 302
    origin = {"Origin": board.url}
    ws = board.url.replace("http://", "ws://")
    with connect(f"{ws}/ws/t/acme/jobs/?type=build&token={quote(token, safe='')}", additional_headers=origin):
        pass
    with pytest.raises(InvalidStatus):
        connect(f"{ws}/ws/t/acme/jobs/?token={quote('é' + token, safe='')}", additional_headers=origin)
    return [token, revoked_token]
