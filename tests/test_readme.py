"""The README documents every command and keeps the two set-up commands."""

from __future__ import annotations

from pathlib import Path

import typer.main

from flows.cli.app import app

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def command_names(group: typer.Typer, prefix: str = "") -> list[str]:
    click_group = typer.main.get_command(group)
    names = []
    for name, command in click_group.commands.items():  # type: ignore[attr-defined]
        if hasattr(command, "commands"):
            names += [f"{prefix}{name} {sub}" for sub in command.commands]
        else:
            names.append(f"{prefix}{name}")
    return names


def test_every_command_is_documented() -> None:
    names = command_names(app)
    assert {"run", "serve", "predict", "runs", "tui", "demo", "server start"} <= set(names)
    for name in names:
        assert f"`autopipe {name}" in README, f"autopipe {name} is not in README.md"


def test_the_two_setup_commands_are_there_and_ci_installs_what_the_readme_says() -> None:
    assert ".venv/bin/autopipe demo" in README
    install = ".venv/bin/pip install -e '.[dev,text,dask]'"
    assert f"{install} && .venv/bin/pytest" in README
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text()
    assert install.replace("install", "install --quiet") in ci
