"""The options table drives every training command's flags: a flag the table has is never declared by hand, and
every row reaches each command it names."""
from __future__ import annotations

import pytest
import typer

from actlab.cli import app
from actlab.cli.options import table_command
from actlab.sweep.command_help import COMMAND_HELP
from actlab.sweep.options import OPTIONS, TRAINING_COMMANDS, options_for

CLICK = typer.main.get_command(app)
TABLE_FLAGS = {name: option for option in OPTIONS for name in (option.flag, option.negation) if name}


def flags(param) -> list[str]:
    return [*param.opts, *param.secondary_opts]


@pytest.mark.parametrize("command", TRAINING_COMMANDS)
def test_no_training_command_declares_a_table_flag_by_hand(command):
    by_hand = []
    for param in CLICK.commands[command].params:
        for name in flags(param):
            option = TABLE_FLAGS.get(name)
            if option is not None and not (param.name == option.key and command in option.commands):
                by_hand.append(f"{command} {name} (declared as {param.name!r}; add {command!r} to the "
                               f"{option.key!r} row's commands instead)")
    assert not by_hand, "\n".join(by_hand)


@pytest.mark.parametrize("command", TRAINING_COMMANDS)
def test_every_row_reaches_each_command_it_names(command):
    params = {param.name: param for param in CLICK.commands[command].params}
    for option in options_for(command):
        assert option.key in params, f"{command} lacks {option.flag}"
        assert option.flag in flags(params[option.key])
        if option.negation:
            assert option.negation in flags(params[option.key])


def test_every_row_names_known_commands_and_each_command_help_belongs_to_a_row_that_names_it():
    rows = {option.key: option for option in OPTIONS}
    for option in OPTIONS:
        assert set(option.commands) <= set(TRAINING_COMMANDS), option.key
        assert "compare" in option.commands, f"{option.key}: every training option is a compare option"
    for key, per_command in COMMAND_HELP.items():
        assert key in rows and set(per_command) <= set(rows[key].commands), key
        for command, text in per_command.items():
            assert rows[key].help_text(command) == text


def test_the_scanner_catches_a_flag_declared_by_hand():
    def command(steps: int = 1, table: dict | None = None) -> None:  # --steps is the table's
        pass

    with pytest.raises(TypeError, match="steps"):
        table_command("boundary")(command)


def test_a_table_command_gets_the_given_values_and_none_for_the_rest():
    seen = {}

    def command(hidden: int = 2, table: dict | None = None) -> None:
        seen.update(hidden=hidden, table=table)

    wrapped = table_command("boundary")(command)
    keys = {option.key for option in options_for("boundary")}
    wrapped(hidden=3, **{key: None for key in keys} | {"lr": 0.5})
    assert seen["hidden"] == 3 and seen["table"] == {key: None for key in keys} | {"lr": 0.5}


def test_each_command_reads_every_row_that_names_it():
    import dataclasses

    from actlab.cli import boundary, selfnorm
    from actlab.diagnostics.presets import Setup

    assert {o.key for o in options_for("boundary")} == set(boundary.TAKES)
    assert {o.key for o in options_for("selfnorm")} == {*selfnorm.DEPTH_KEYS, "dropout"}
    setup = {f.name for f in dataclasses.fields(Setup)}
    for option in options_for("diagnose"):  # a Setup field, or a TrainConfig field through Setup.train
        assert option.key in setup or option.train_field is not None or option.key == "out", option.key
