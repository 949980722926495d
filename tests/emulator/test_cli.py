"""`python -m azure_emulator serve --help` explains every flag."""

from __future__ import annotations

import pytest

from azure_emulator.__main__ import main


@pytest.mark.parametrize("command", ["serve", "init", "reset"])
def test_every_flag_of_the_command_has_an_explanation(command, capsys):
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    assert exited.value.code == 0
    text = capsys.readouterr().out
    flags = [word for word in text.split() if word.startswith("--") and word != "--help"]
    assert flags
    for flag in set(flags):
        block = text.split(flag, 2)[-1].split("\n  -", 1)[0]
        assert len(block.split()) >= 3, f"{flag} is not explained"
