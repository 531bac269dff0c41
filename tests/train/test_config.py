"""TrainConfig: TOML, flags, validation messages, --help."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from agentgym.errors import ConfigError
from agentgym.train.config import (
    SFTConfig,
    TrainConfig,
    add_config_arguments,
    config_from_namespace,
)


def test_toml_with_tables_and_flag_overrides(tmp_path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        'env = "GuessNumber-v0"\n[credit]\nestimator = "igpo"\nigpo_gamma = 0.9\n'
        '[env_kwargs]\ndifficulty = "easy"\n'
    )
    cfg = TrainConfig.from_args(["--config", str(path), "--group_size", "6", "--history", "2",
                                 "--lora_target_modules", "q_proj,v_proj", "--lora", "true"])
    assert (cfg.estimator, cfg.igpo_gamma, cfg.group_size, cfg.history) == ("igpo", 0.9, 6, 2)
    assert cfg.env_kwargs == {"difficulty": "easy"} and cfg.lora is True
    assert cfg.lora_target_modules == ("q_proj", "v_proj")
    assert cfg.credit_params() == {"gamma": 0.9, "norm": "mean_std"}


def test_saved_config_loads_back_identical(tmp_path) -> None:
    cfg = TrainConfig(env_kwargs={"difficulty": "easy"}, history=3, similarity=0.9, adam_betas=(0.9, 0.95))
    again = TrainConfig.from_toml(cfg.save(tmp_path / "config.toml"))
    assert again == cfg
    none_history = TrainConfig()
    assert TrainConfig.from_toml(none_history.save(tmp_path / "n.toml")).history is None


@pytest.mark.parametrize(
    ("changes", "fix"),
    [
        ({"group_size": 1}, "group_size >= 2"),
        ({"estimator": "gigp"}, "Did you mean 'gigpo'"),
        ({"temperature": 0.0}, "eval_temperature"),
        ({"step_rewards": "igpo", "estimator": "grpo"}, "estimator='gigpo'"),
        ({"num_mini_batches": 100}, "lower it"),
    ],
)
def test_validation_says_how_to_fix(changes, fix) -> None:
    with pytest.raises(ConfigError, match=fix):
        TrainConfig(**changes)


def test_unknown_keys_and_bad_values() -> None:
    with pytest.raises(ConfigError, match="Did you mean 'gamma'"):
        TrainConfig.from_dict({"gama": 0.9})
    with pytest.raises(ConfigError, match="whole number"):
        TrainConfig.from_dict({"iterations": 2.5})
    with pytest.raises(ConfigError, match="true or false"):
        TrainConfig.from_args(["--lora", "maybe"])
    with pytest.raises(ConfigError, match="norm"):
        TrainConfig.from_args(["--norm", "zscore"])


def test_every_field_is_a_flag_with_its_doc_as_help() -> None:
    parser = argparse.ArgumentParser()
    add_config_arguments(parser, TrainConfig)
    text = " ".join(parser.format_help().split())
    assert "--clip_eps_high" in text and "DAPO clip-higher" in text
    assert "--omega" in text and "weight of GiGPO's step-level advantage" in text
    sft_parser = argparse.ArgumentParser()
    add_config_arguments(sft_parser, SFTConfig)
    assert "--only_success" in sft_parser.format_help()


@pytest.mark.parametrize("path", sorted((Path(__file__).resolve().parents[2] / "configs").glob("*.toml")),
                         ids=lambda p: p.name)
def test_shipped_configs_load_and_validate(path) -> None:
    cls = SFTConfig if path.stem.endswith("_sft") else TrainConfig
    parser = argparse.ArgumentParser()
    add_config_arguments(parser, cls)
    cfg = config_from_namespace(cls, parser.parse_args(["--config", str(path)]))  # as the CLI loads it
    if path.name == "asktoact_easy_gigpo.toml":  # the demo trains on success alone
        assert cfg.reward_weights == {"invalid_action": 0.0, "question": 0.0}


# --- the saved config.toml reads back: every field, any value ------------------
import dataclasses  # noqa: E402
import types  # noqa: E402
import typing  # noqa: E402

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=8)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False) | _TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=8,
)


def _strategy(tp: typing.Any) -> st.SearchStrategy:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return st.none() | _strategy(next(a for a in args if a is not type(None)))
    if origin is typing.Literal:
        return st.sampled_from(args)
    if origin is tuple:
        item = st.floats(0.0, 0.999) if args[0] is float else st.text("abcdefghij_,", min_size=1, max_size=6)
        return st.lists(item, min_size=1, max_size=3).map(tuple)
    if origin is dict:
        return st.dictionaries(_TEXT, _JSON if args[1] is typing.Any else st.floats(-5, 5), max_size=4)
    return {bool: st.booleans(), int: st.integers(0, 64), float: st.floats(0.0, 10.0), str: _TEXT}[tp]


@pytest.mark.parametrize("cls", [TrainConfig, SFTConfig])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_every_field_round_trips_through_the_saved_toml(cls, data, tmp_path) -> None:
    import tomllib

    from agentgym.train.config import _flatten_and_convert, to_toml

    hints = typing.get_type_hints(cls)
    cfg = cls()
    for f in dataclasses.fields(cls):
        value = data.draw(_strategy(hints[f.name]), label=f.name)
        try:
            cfg = dataclasses.replace(cfg, **{f.name: value})
        except ConfigError:
            pass  # a value the validation refuses: keep the field as it was
    text = to_toml(cfg.to_dict())
    again = cls(**_flatten_and_convert(cls, tomllib.loads(text)))
    assert again == cfg, text


def test_an_unknown_env_fails_before_a_model_is_built_or_a_file_written(tmp_path) -> None:
    from agentgym.errors import UnknownEnvError
    from agentgym.train import SFTConfig, TrainConfig, sft, train

    # A policy that cannot load: reaching it would raise another error.
    for run, config in (
        (train, TrainConfig(env="AskToAkt-v0", policy="hf:/nonexistent", out_dir=str(tmp_path / "rl"))),
        (sft, SFTConfig(env="AskToAkt-v0", policy="hf:/nonexistent", out_dir=str(tmp_path / "sft"))),
    ):
        with pytest.raises(UnknownEnvError, match="AskToAct-v0"):  # did you mean
            run(config)
    assert list(tmp_path.iterdir()) == []


def test_shipped_configs_load_by_name_and_a_file_wins(tmp_path, monkeypatch) -> None:
    from agentgym import configs
    from agentgym.errors import ConfigError
    from agentgym.train import TrainConfig
    from agentgym.train.config import read_config

    assert {"asktoact_easy_gigpo", "asktoact_easy_sft", "guess_number_gigpo"} <= set(configs.names())
    by_name = TrainConfig.from_toml("guess_number_gigpo")
    assert by_name == TrainConfig.from_toml(Path(configs.__file__).parent / "guess_number_gigpo.toml")
    assert read_config("guess_number_gigpo.toml") == read_config("guess_number_gigpo")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "guess_number_gigpo").write_text('iterations = 3\n')
    assert read_config("guess_number_gigpo") == {"iterations": 3}  # a file of that name wins
    with pytest.raises(ConfigError, match="Did you mean.*guess_number_gigpo"):
        read_config("guess_numbr_gigpo")
    with pytest.raises(ConfigError, match="neither a file"):
        read_config("../configs/guess_number_gigpo")


def test_sft_config_loads_by_name_and_replaces_with_validation() -> None:
    from agentgym.errors import ConfigError
    from agentgym.train import SFTConfig

    config = SFTConfig.from_toml("asktoact_easy_sft", {"tasks": 600})
    assert config.tasks == 600 and config.from_policy == "scripted:terse_explorer"
    assert config.replace(epochs=6).epochs == 6
    with pytest.raises(ConfigError, match="Did you mean 'epochs'"):
        config.replace(epoch=6)
    with pytest.raises(ConfigError, match="epochs must be >= 1"):
        config.replace(epochs=0)
