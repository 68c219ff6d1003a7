"""deploy/slack-app-manifest.yaml: the /triage command, interactivity, Socket Mode, and only the scopes used."""

from __future__ import annotations

import re
from typing import Any

import yaml

from tests.ship.ship_kit import DEPLOY

MANIFEST = DEPLOY / "slack-app-manifest.yaml"
ALLOWED_BOT_SCOPES = {
    "commands",
    "chat:write",
    "files:write",
    "usergroups:read",
    "users:read",
    "channels:history",  # conversations.history: an alert thread found again after Redis lost its record
    "groups:history",
}
REQUEST_URL = "https://triage.example.com/slack/events"


def manifest() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(MANIFEST.read_text())
    return loaded


def test_parses_as_a_manifest() -> None:
    app = manifest()
    assert app["_metadata"]["major_version"] == 1
    assert app["display_information"]["name"]
    assert len(app["display_information"]["description"]) <= 140
    assert 175 <= len(app["display_information"]["long_description"]) <= 4000  # Slack's bounds
    assert re.fullmatch(r"#[0-9a-fA-F]{6}", app["display_information"]["background_color"])
    assert app["features"]["bot_user"]["display_name"]


def test_slash_command() -> None:
    (command,) = manifest()["features"]["slash_commands"]
    assert command["command"] == "/triage"
    assert command["usage_hint"] == "SERVICE [NAMESPACE] | help"
    assert command["url"] == REQUEST_URL
    assert command["description"]


def test_interactivity_and_socket_mode() -> None:
    settings = manifest()["settings"]
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["interactivity"]["request_url"] == REQUEST_URL
    assert settings["socket_mode_enabled"] is True
    for url in re.findall(r"https?://\S+", MANIFEST.read_text()):
        assert url.startswith("https://triage.example.com/") or url.startswith("https://api.slack.com"), url


def test_only_the_scopes_the_bot_uses() -> None:
    scopes = manifest()["oauth_config"]["scopes"]
    assert set(scopes) == {"bot"}, "no user scopes"
    bot = scopes["bot"]
    assert len(bot) == len(set(bot))
    assert set(bot) <= ALLOWED_BOT_SCOPES, set(bot) - ALLOWED_BOT_SCOPES
    assert {"commands", "chat:write"} <= set(bot)


def test_every_scope_is_justified() -> None:
    """Each requested scope carries a comment saying what the bot does with it."""
    lines = MANIFEST.read_text().splitlines()
    for scope in manifest()["oauth_config"]["scopes"]["bot"]:
        (line,) = [line for line in lines if re.match(rf"\s*-\s*{re.escape(scope)}\s*(#|$)", line)]
        assert "#" in line and len(line.split("#", 1)[1].strip()) > 10, line
