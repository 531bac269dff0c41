"""ToolCalls-v0: tasks, oracle, grading (near misses per category), bad input, the user, anchors."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from typing import Any

import pytest

import agentgym
from agentgym.envs.tools.backends import ALL_APIS, BACKENDS
from agentgym.envs.tools.env import ToolCallsEnv
from agentgym.envs.tools.reward import accepts, check_message, toolrl_score
from agentgym.envs.tools.schema import validate_value
from agentgym.envs.tools.tasks import CATEGORIES, ToolCallsTasks
from agentgym.envs.tools.user import NOTHING_TO_ADD, PolicyUser, ScriptedUser, UserView
from agentgym.errors import ArgumentError, ConfigError
from agentgym.policy import Completion
from agentgym.suites import get_suite
from agentgym.tasks import SPLITS
from agentgym.testing import check_agent_env, run_scripted_episode
from agentgym.tools import ToolCall

SUITE_TASKS = 25


def make(category: str | None = None, split: str = "val", **kwargs: Any) -> ToolCallsEnv:
    env = agentgym.make("ToolCalls-v0", split=split, category=category, **kwargs)
    assert isinstance(env, ToolCallsEnv)
    return env


def C(name: str, **arguments: Any) -> str:
    return ToolCall(name, arguments).render()


@cache
def index_of(category: str, template: str, n: int = 400) -> int:
    """The first val task of ``category`` built from ``template``."""
    gen = ToolCallsTasks(seed=0, category=category)
    for i in range(n):
        if gen.task("val", i).meta["template"] == template:
            return i
    raise AssertionError(f"no {template} task in the first {n} val tasks")


def start(category: str, template: str, **kwargs: Any) -> ToolCallsEnv:
    env = make(category, **kwargs)
    env.reset(seed=0, options={"task_index": index_of(category, template)})
    return env


def play(env: ToolCallsEnv, actions: list[str]) -> dict[str, Any]:
    """Step the actions; then finish with the oracle (if still running); return the last info."""
    info: dict[str, Any] = {}
    done = False
    for a in actions:
        *_, terminated, truncated, info = env.step(a)
        done = terminated or truncated
        assert info["action_valid"], info
    while not done:
        *_, terminated, truncated, info = env.step(env.scripted_action("oracle"))
        done = terminated or truncated
    return info


def gold_steps(env: ToolCallsEnv, turn: int = 0) -> list[dict[str, Any]]:
    return env.task.meta["turns"][turn]["steps"]


def gold_call(env: ToolCallsEnv, name: str, turn: int = 0) -> dict[str, Any]:
    return next(c for s in gold_steps(env, turn) for c in s.get("calls", ()) if c["name"] == name)


def respond_gold(env: ToolCallsEnv, turn: int = 0) -> str:
    return C("respond", message=gold_steps(env, turn)[-1]["respond"])


# --------------------------------------------------------------------------
# Registration, contract, tasks
# --------------------------------------------------------------------------
def test_registered_with_a_suite_per_category() -> None:
    assert "agentgym/ToolCalls-v0" in [e.id for e in agentgym.list_envs()]
    suite = [e for e in get_suite("tools-v0") if e.env_id == "agentgym/ToolCalls-v0"]  # BFCL-v0 is there too
    assert [(e.split, e.n_tasks, e.kwargs["category"]) for e in suite] == [("val", SUITE_TASKS, c) for c in CATEGORIES]


@pytest.mark.parametrize("category", ["parallel", "multi_turn"])
def test_conforms(category: str) -> None:
    check_agent_env("ToolCalls-v0", category=category, split="val")


def test_domains_have_8_to_20_tools_with_rich_schemas() -> None:
    features: dict[str, set[str]] = {}
    for domain, cls in BACKENDS.items():
        assert 8 <= len(cls.apis) <= 20, domain
        found = features.setdefault(domain, set())
        for api in cls.apis.values():
            params = api.schema["function"]["parameters"]
            found |= {"optional"} if set(params["properties"]) - set(params["required"]) else set()
            for s in _walk(params["properties"]):
                found |= {"enum"} if "enum" in s else set()
                found |= {"array"} if s.get("type") == "array" else set()
                found |= {"nested"} if s.get("type") == "object" else set()
                found |= {f"format:{s['format']}"} if "format" in s else set()
                found |= {"unit"} if "x-unit" in s or s.get("x-kind") in ("money", "duration") else set()
        assert {"optional", "enum", "array", "nested", "format:date", "unit"} <= found, (domain, found)
    all_found = set().union(*features.values())
    assert {"format:time", "format:email", "format:path"} <= all_found


def _walk(props: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for s in props.values():
        out.append(s)
        out += _walk(s.get("properties", {}))
        if "items" in s:
            out += _walk({"_": s["items"]})
    return out


def test_the_model_sees_each_episodes_tools_without_private_keys() -> None:
    env = make("distractor")
    _, info = env.reset(seed=0, options={"task_index": 0})
    names = [t["function"]["name"] for t in info["tools"]]
    assert names == list(env.task.meta["tools"]) and names[-2:] == ["ask_user", "respond"]
    assert len(env.task.meta["domains"]) == 2  # a second domain's tools are the distractors
    assert "x-kind" not in json.dumps(info["tools"]) and "minLength" not in json.dumps(info["tools"])
    assert len(env.tools) == len(ALL_APIS) + 2


def test_mixed_stream_interleaves_the_category_streams() -> None:
    mixed = ToolCallsTasks(seed=0)
    for i in range(16):
        cat = CATEGORIES[i % 8]
        task = mixed.task("val", i)
        assert task.meta["category"] == cat and task.id == f"tools/val/{cat}/{i // 8}"
        assert task == ToolCallsTasks(seed=0, category=cat).task("val", i // 8)
    with pytest.raises(ConfigError, match="category"):
        make("cooking")


def test_splits_are_disjoint_per_category() -> None:
    for cat in CATEGORIES:
        gen = ToolCallsTasks(seed=0, category=cat)
        keys = {s: {gen.content_key(t) for t in gen.tasks(s, 12)} for s in SPLITS}
        assert not keys["train"] & keys["val"] and not keys["train"] & keys["test"] and not keys["val"] & keys["test"]


def test_answer_is_the_gold_final_call() -> None:
    env = make("single")
    env.reset(seed=0, options={"task_index": index_of("single", "bank.single.freeze")})
    assert env.task.answer == C("freeze_card", **gold_call(env, "freeze_card")["arguments"])
    env.reset(seed=0, options={"task_index": index_of("single", "bank.single.balance")})
    assert env.task.answer == respond_gold(env)


# --------------------------------------------------------------------------
# The oracle
# --------------------------------------------------------------------------
@pytest.mark.parametrize("category", CATEGORIES)
def test_oracle_scores_one_on_every_suite_task(category: str) -> None:
    env = make(category)
    for i in range(SUITE_TASKS):
        metrics = run_scripted_episode(env, seed=i, options={"task_index": i})[-1]
        assert metrics["success"] == 1.0 and metrics["return"] == pytest.approx(1.0), (env.task.id, env.why)
        assert metrics["invalid_actions"] == 0


def test_oracle_makes_parallel_calls_in_one_action() -> None:
    env = make("parallel")
    metrics = run_scripted_episode(env, seed=0, options={"task_index": 0})[-1]
    assert metrics["parallel_actions"] == 1 and metrics["tool_calls"] >= 2


# --------------------------------------------------------------------------
# Near misses, one or more per category: graded down
# --------------------------------------------------------------------------
def _graded_down(info: dict[str, Any], part: str | None = None) -> None:
    m = info["metrics"]
    assert m["success"] == 0.0 and m["return"] < 1.0 - 1e-9, m
    if part is not None:
        assert info["reward_parts"][part] == 0.0, info["reward_parts"]


def test_near_miss_single_wrong_argument() -> None:
    env = start("single", "bank.single.freeze")
    args = dict(gold_call(env, "freeze_card")["arguments"], reason="lost")
    _graded_down(play(env, [C("freeze_card", **args)]), "calls")
    assert env.verdict["state_match"] == 0.0  # the stored reason differs too


def test_near_miss_single_extra_call() -> None:
    env = start("single", "bank.single.balance")
    balance = gold_call(env, "get_balance")["arguments"]
    info = play(env, [C("list_accounts"), C("get_balance", **balance), respond_gold(env)])
    _graded_down(info, "calls")
    assert "extra call" in env.why and info["reward_parts"]["state"] > 0  # reads leave the state alone


def test_near_miss_distractor_synonym_tool() -> None:
    env = start("distractor", "bank.distractor.convert")
    gold = gold_call(env, "convert_amount")["arguments"]
    # The look-alike: the rate (then the arithmetic), not the conversion tool the task is about.
    info = play(env, [C("get_exchange_rate", base=gold["amount"]["currency"], quote=gold["to_currency"]),
                      respond_gold(env)])
    _graded_down(info, "calls")
    assert info["reward_parts"]["message"] > 0


def test_near_miss_distractor_cancel_instead_of_decline() -> None:
    env = start("distractor", "calendar.distractor.decline")
    event = gold_call(env, "decline_event")["arguments"]["event_id"]
    info = play(env, [C("cancel_event", event_id=event)])
    _graded_down(info, "calls")
    assert info["metrics"]["forbidden_actions"] == 1 and info["metrics"]["return"] == 0.0  # someone else's event


def test_near_miss_parallel_calls_made_one_by_one() -> None:
    env = make("parallel")
    metrics = [run_scripted_episode(env, seed=i, name="sequential", options={"task_index": i})[-1]
               for i in range(8)]
    assert all(m["success"] == 0.0 and m["calls_match"] == 0.0 and m["state_match"] == 1.0 for m in metrics)


def test_near_miss_parallel_missing_one_call() -> None:
    env = start("parallel", "bank.parallel.freeze")
    first = gold_steps(env)[0]["calls"][0]
    _graded_down(play(env, [C(first["name"], **first["arguments"])]), "calls")
    assert env.verdict["state_match"] == 0.0


def test_near_miss_chained_wrong_argument_from_the_lookup() -> None:
    env = start("chained", "bank.chained.freeze_last4")
    gold = gold_call(env, "freeze_card")["arguments"]
    other = next(c for c in env.backends["bank"].store.tables["cards"] if c != gold["card_id"])
    _graded_down(play(env, [C("list_cards"), C("freeze_card", card_id=other, reason=gold["reason"])]), "state")


def test_near_miss_chained_extra_state_change() -> None:
    env = start("chained", "shop.chained.cancel_unshipped")
    order = gold_call(env, "cancel_order")["arguments"]["order_id"]
    info = play(env, [C("list_orders", status="processing"),
                      C("add_order_note", order_id=order, note="cancel please"),
                      C("cancel_order", order_id=order, reason="found_cheaper")])
    _graded_down(info, "calls")
    assert "extra call: add_order_note" in env.why


def test_near_miss_irrelevance_calls_a_tool() -> None:
    env = start("irrelevance", "bank.irrelevance.math")
    info = play(env, [C("list_accounts"), respond_gold(env)])
    _graded_down(info, "calls")
    assert info["reward_parts"]["message"] > 0 and info["reward_parts"]["state"] > 0


def test_near_miss_irrelevance_off_topic_must_be_declined() -> None:
    env = start("irrelevance", "shop.irrelevance.offtopic")
    _graded_down(play(env, [C("respond", message="Great choice, here you go!")]), "message")
    env = start("irrelevance", "shop.irrelevance.offtopic")
    assert play(env, [C("respond", message="I\u2019m afraid that is not something I can do.")])["metrics"]["success"] == 1.0


def test_near_miss_irrelevance_wrong_answer() -> None:
    env = start("irrelevance", "calendar.irrelevance.minutes")
    _graded_down(play(env, [C("respond", message="That is about two hours.")]), "message")


def test_near_miss_missing_info_no_ask() -> None:
    env = make("missing_info")
    for i in range(6):
        metrics = run_scripted_episode(env, seed=i, name="no_ask", options={"task_index": i})[-1]
        assert metrics["success"] == 0.0 and metrics["calls_match"] == 0.0 and metrics["questions_asked"] == 0
        assert metrics["state_match"] == 1.0  # the right action, but on facts the agent was never told


def test_near_miss_missing_info_guessed_value() -> None:
    env = start("missing_info", "bank.missing_info.amount")
    gold = gold_call(env, "transfer_funds")["arguments"]
    guess = dict(gold, amount={"amount": 100.0, "currency": "USD"})
    info = play(env, [C("verify_identity", **gold_call(env, "verify_identity")["arguments"]),
                      C("transfer_funds", **guess), respond_gold(env)])
    _graded_down(info, "state")
    assert info["reward_parts"]["calls"] == 0.0


def test_near_miss_multi_turn_follow_up_ignored() -> None:
    env = start("multi_turn", "shop.multi_turn.status_then_cancel")
    info = play(env, [C("get_order", **gold_call(env, "get_order")["arguments"]), respond_gold(env),
                      C("respond", message="Sure, it's cancelled.")])  # says so, does nothing
    assert env.user_turn == 1 and info["metrics"]["user_turns"] == 2
    _graded_down(info, "state")
    assert info["reward_parts"]["calls"] == 0.0


def test_near_miss_multi_turn_second_action_in_the_first_turn() -> None:
    env = start("multi_turn", "shop.multi_turn.status_then_cancel")
    cancel = gold_call(env, "cancel_order", turn=1)["arguments"]
    info = play(env, [C("cancel_order", **cancel), respond_gold(env), C("respond", message="It is cancelled.")])
    _graded_down(info, "calls")  # the state matches, but the call came before the user asked for it
    assert info["metrics"]["state_match"] == 1.0


def test_near_miss_policy_forbidden_action_scores_zero() -> None:
    env = start("policy", "shop.policy.late_return")
    order = env.task.meta["turns"][0]["steps"][0]["calls"][0]["arguments"]["order_id"]
    line = env.backends["shop"].store.get("orders", order)["items"][0]
    info = play(env, [C("return_items", order_id=order, items=[{"sku": line["sku"], "quantity": 1}],
                        reason="no_longer_needed"), respond_gold(env)])
    assert info["metrics"]["forbidden_actions"] == 1 and info["metrics"]["return"] == 0.0
    parts = info["reward_parts"]
    assert parts["message"] > 0 and parts["forbidden"] == pytest.approx(-(parts["state"] + parts["calls"] + parts["message"]))


def test_near_miss_policy_payment_before_identity_check() -> None:
    env = start("policy", "bank.policy.identity")
    pay = gold_call(env, "send_payment")["arguments"]
    info = play(env, [C("send_payment", **pay), respond_gold(env)])
    assert info["metrics"]["forbidden_actions"] == 1 and info["metrics"]["return"] == 0.0
    assert "before the customer's identity was verified" in env.why


def test_policy_refusal_without_the_reason_is_graded_down() -> None:
    env = start("policy", "bank.policy.over_limit")
    _graded_down(play(env, [C("respond", message="I can't do that, sorry.")]), "message")


# --------------------------------------------------------------------------
# Bad input: a clear error, action_valid=False, the back-end unchanged
# --------------------------------------------------------------------------
def _bank_env() -> tuple[ToolCallsEnv, str, str]:
    env = start("single", "bank.single.balance")
    accounts = list(env.backends["bank"].store.tables["accounts"])
    return env, accounts[0], accounts[1]


def _files_env() -> ToolCallsEnv:
    return start("single", "files.single.size")


M = {"amount": 5, "currency": "USD"}
BAD_BANK: dict[str, tuple[Callable[[str, str], str], str, str]] = {
    "malformed json": (lambda a, b: '<tool_call>{"name": "get_balance", "arguments": {"account_id": </tool_call>',
                       "parse_error", "Could not decode the JSON"),
    "unknown tool": (lambda a, b: C("transfer_money", from_account_id=a), "unknown_tool", "Did you mean 'transfer_funds'"),
    "another domain's tool": (lambda a, b: C("cancel_order", order_id="ORD-12345", reason="other"), "unknown_tool",
                              "Available tools: verify_identity"),
    "wrong type": (lambda a, b: C("transfer_funds", from_account_id=a, to_account_id=b, amount="fifty"),
                   "bad_arguments", "must be object"),
    "wrong nested type": (lambda a, b: C("transfer_funds", from_account_id=a, to_account_id=b,
                                         amount={"amount": "five", "currency": "USD"}), "bad_arguments", "amount.amount"),
    "bad enum": (lambda a, b: C("get_exchange_rate", base="usd", quote="BTC"), "bad_arguments", "one of"),
    "extra argument": (lambda a, b: C("get_balance", account_id=a, verbose=True), "bad_arguments", "unexpected"),
    "extra nested field": (lambda a, b: C("transfer_funds", from_account_id=a, to_account_id=b,
                                          amount={**M, "fee": 1}), "bad_arguments", "unexpected field"),
    "missing argument": (lambda a, b: C("transfer_funds", from_account_id=a, amount=M), "bad_arguments",
                         "missing the argument 'to_account_id'"),
    "missing nested field": (lambda a, b: C("transfer_funds", from_account_id=a, to_account_id=b,
                                            amount={"amount": 5}), "bad_arguments", "missing the field 'currency'"),
    "huge number": (lambda a, b: C("transfer_funds", from_account_id=a, to_account_id=b,
                                   amount={"amount": 1e308, "currency": "USD"}), "bad_arguments", "finite number"),
    "huge integer": (lambda a, b: C("get_transactions", account_id=a, limit=10**30), "bad_arguments", "at most 50"),
    # json.dumps writes these as the bare NaN / Infinity tokens that Python's json (and the parser) accept.
    "NaN": (lambda a, b: C("transfer_funds", from_account_id=a, to_account_id=b,
                           amount={"amount": float("nan"), "currency": "USD"}), "bad_arguments", "finite number"),
    "Infinity": (lambda a, b: C("convert_amount", amount={"amount": float("inf"), "currency": "USD"},
                                to_currency="EUR"), "bad_arguments", "finite"),
    "negative amount": (lambda a, b: C("transfer_funds", from_account_id=a, to_account_id=b,
                                       amount={"amount": -50, "currency": "USD"}), "bad_arguments", "at least 0.01"),
    "sub-cent amount": (lambda a, b: C("transfer_funds", from_account_id=a, to_account_id=b,
                                       amount={"amount": 5.555, "currency": "USD"}), "bad_arguments", "decimal places"),
    "injection in an id": (lambda a, b: C("get_balance", account_id=a + "' OR '1'='1"), "bad_arguments", "matching"),
    "bad date": (lambda a, b: C("get_transactions", account_id=a, since="2026-02-30"), "bad_arguments", "calendar date"),
    "1 MB string": (lambda a, b: C("transfer_funds", from_account_id=a, to_account_id=b, amount=M,
                                   memo="x" * 1_000_000), "bad_arguments", "the limit is 140"),
    "100 parallel calls": (lambda a, b: C("transfer_funds", from_account_id=a, to_account_id=b, amount=M)
                           + "".join(C("get_balance", account_id=a) for _ in range(99)), "too_many_calls", "limit is 16"),
    "valid call then a bad one": (lambda a, b: C("transfer_funds", from_account_id=a, to_account_id=b, amount=M)
                                  + C("get_balance", account_id="nope"), "bad_arguments", "None of this turn's calls"),
    "call after respond": (lambda a, b: C("get_balance", account_id=a)
                           + C("respond", message="done") + C("get_balance", account_id=a), "call_order",
                           "must be the last call"),
    "refused by the back-end": (lambda a, b: C("transfer_funds", from_account_id=a, to_account_id=b,
                                               amount={"amount": 999999, "currency": "USD"}), "invalid_action",
                                "Insufficient funds"),
}

BAD_FILES: dict[str, tuple[str, str, str]] = {
    "path with ..": (C("read_file", path="/home/docs/../../etc/passwd"), "bad_arguments", "'..'"),
    "path outside the roots": (C("delete_file", path="/etc/passwd"), "bad_arguments", "must be under"),
    "relative path": (C("write_file", path="notes.txt", content="x"), "bad_arguments", "absolute path"),
    "shell injection in a path": (C("delete_file", path="/home/tmp/x; rm -rf /"), "bad_arguments", "path segment"),
    "header injection in an e-mail": (C("send_message", to=["a@b.example\nBcc: evil@x.example"], subject="s",
                                        body="b"), "bad_arguments", "e-mail address"),
    "1 MB file content": (C("write_file", path="/home/docs/big.txt", content="y" * 1_000_000), "bad_arguments",
                          "the limit is 20000"),
    "too many recipients": (C("share_file", path="/home/docs/a.txt", permission="view",
                              recipients=[f"p{i}@northwind.example" for i in range(11)]), "bad_arguments", "at most 10"),
    "duplicate recipients": (C("send_message", to=["a@x.example", "A@x.example"], subject="s", body="b"),
                             "bad_arguments", "same item twice"),
}


def test_nan_reaches_the_env_as_json() -> None:
    assert '"amount": NaN' in BAD_BANK["NaN"][0]("ACC-1111", "ACC-2222")


def _assert_rejected(env: ToolCallsEnv, action: str, kind: str, text: str) -> None:
    before = env.backend_digest()
    anchor = env.state_key()
    obs, reward, terminated, truncated, info = env.step(action)
    assert obs.startswith("Error") and text in obs, obs[:300]
    assert info["action_valid"] is False and info["error"] == kind, info
    assert reward == -env.invalid_action_penalty and info["reward_parts"] == {"invalid_action": reward}
    assert env.backend_digest() == before and env.state_key() == anchor == info["anchor"]
    assert not (terminated or truncated) and len(obs) < 2000


@pytest.mark.parametrize("case", list(BAD_BANK))
def test_bad_input_bank(case: str) -> None:
    env, a, b = _bank_env()
    build, kind, text = BAD_BANK[case]
    _assert_rejected(env, build(a, b), kind, text)


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_input_files(case: str) -> None:
    env = _files_env()
    _assert_rejected(env, *BAD_FILES[case])


def test_a_rejected_action_leaves_nothing_behind() -> None:
    env, a, b = _bank_env()
    build, kind, text = BAD_BANK["valid call then a bad one"]
    _assert_rejected(env, build(a, b), kind, text)
    assert env.executed == [] and env.turn_actions == 0
    obs, *_, info = env.step(C("transfer_funds", from_account_id=a, to_account_id=b, amount=M))
    assert info["action_valid"] and obs.startswith("transfer_funds: ") and json.loads(obs.split(": ", 1)[1])


# --------------------------------------------------------------------------
# Grading pieces
# --------------------------------------------------------------------------
def test_units_and_formats_are_normalized_before_comparison() -> None:
    api = ALL_APIS["create_event"]
    gold = {"name": "create_event", "arguments": {"title": "Sync", "date": "2026-03-02", "start_time": "09:00",
                                                    "duration": {"value": 60, "unit": "minutes"}}}
    same = api.validate({"title": " sync ", "date": "2026-03-02", "start_time": "09:00",
                         "duration": {"value": 1, "unit": "Hours"}, "reminder_minutes": 10})
    assert accepts(gold, "create_event", same, api)  # 1 hour == 60 minutes; default reminder == omitted
    other = api.validate({**same, "duration": {"value": 90, "unit": "minutes"}})
    assert not accepts(gold, "create_event", other, api)
    assert not accepts(gold, "create_event", api.validate({**same, "reminder_minutes": 30}), api)
    assert validate_value("Ana@Example.com", {"type": "string", "format": "email"}, "to") == "ana@example.com"
    with pytest.raises(ArgumentError, match="24-hour"):
        validate_value("9am", {"type": "string", "format": "time"}, "start_time")


def test_unordered_arrays_and_checks() -> None:
    api = ALL_APIS["send_message"]
    gold = {"name": "send_message", "arguments": {"to": ["a@x.example", "b@x.example"], "subject": "Hi", "body": "x"},
            "checks": {"body": {"contains": ["friday"]}, "subject": {"any": True}}}
    got = api.validate({"to": ["b@x.example", "a@x.example"], "subject": "Hello", "body": "See you Friday."})
    assert accepts(gold, "send_message", got, api)
    assert not accepts(gold, "send_message", {**got, "body": "See you Monday."}, api)
    assert not accepts(gold, "send_message", {**got, "cc": ["c@x.example"]}, api)


def test_message_facts_match_common_surface_forms() -> None:
    assert check_message("Your balance is $12,345.50 as of March 3rd.", [["12345.50", "12345.5"], ["march 3"]])[0]
    ok, missing = check_message("Your balance is $12,345.55.", [["12345.5"]])
    assert not ok and missing == ["12345.5"]
    assert not check_message("Call at 15:005", [["15:00"]])[0]


def test_toolrl_partial_reward_is_bounded_and_format_never_wins() -> None:
    gold = [{"name": "transfer_funds", "arguments": {"from_account_id": "ACC-1111", "to_account_id": "ACC-2222",
                                                       "amount": {"amount": 5.0, "currency": "USD"}}}]
    right = [("transfer_funds", {"from_account_id": "ACC-1111", "to_account_id": "ACC-2222",
                                 "amount": {"amount": 5.0, "currency": "USD"}})]
    wrong_values = [("transfer_funds", {"from_account_id": "ACC-2222", "to_account_id": "ACC-1111",
                                        "amount": {"amount": 9.0, "currency": "USD"}})]
    wrong_tool = [("get_balance", {"account_id": "ACC-1111"})]
    scores = [toolrl_score(c, gold, ALL_APIS) for c in (right, wrong_values, wrong_tool)]
    assert scores[0] == pytest.approx(1.0) and scores[2] == pytest.approx(0.1) and scores[2] < scores[1] < scores[0]
    # In an episode: the oracle still scores 1.0; format alone earns at most 0.1 w.
    env = make("single", partial_reward=0.2)
    metrics = run_scripted_episode(env, seed=0, options={"task_index": index_of("single", "bank.single.freeze")})[-1]
    assert metrics["return"] == pytest.approx(1.0)
    env.reset(seed=0, options={"task_index": index_of("single", "bank.single.freeze")})
    *_, info = env.step(C("list_payees"))
    *_, info = env.step(C("respond", message="Done."))
    assert info["reward_parts"]["toolrl"] == pytest.approx(0.2 * 0.1)
    assert info["metrics"]["return"] < 0.5  # well-formed but wrong: far below a right answer


def test_reward_weights_are_validated() -> None:
    with pytest.raises(ConfigError, match="sum to 1"):
        make(reward_weights={"state": 1.0})
    env = make("single", reward_weights={"state": 1.0, "calls": 0.0, "message": 0.0})
    metrics = run_scripted_episode(env, seed=0, options={"task_index": 0})[-1]
    assert metrics["return"] == pytest.approx(1.0)


class _FirstThenOracle:
    """A needs_env policy for collect(): ``first`` as the first action, then the oracle."""

    needs_env = True

    def __init__(self, first: str) -> None:
        self.first = first

    def act(self, conversations: Any, tools: Any, envs: Any = None) -> list[Completion]:
        return [Completion(text=self.first if env.turn == 0 else env.scripted_action("oracle")) for env in envs]


def test_reward_is_composed_with_weights_and_a_veto() -> None:
    """Issue 17: env.reward is an agentgym.rewards.Reward built from the env's weights;
    ``forbidden`` is a veto computed from the other parts, with no weight of its own."""
    from agentgym.envs.tools.reward import REWARD, Graded

    assert REWARD.names == ["state", "calls", "message", "toolrl", "forbidden"]
    assert make("single").reward.weights == {"state": 1 / 3, "calls": 1 / 3, "message": 1 / 3, "toolrl": 0.0}
    env = make("single", partial_reward=0.2, reward_weights={"state": 0.5, "calls": 0.5, "message": 0.0})
    assert env.reward.weights == pytest.approx({"state": 0.4, "calls": 0.4, "message": 0.0, "toolrl": 0.2})
    scored = env.reward.score(Graded(True, False, True, partial=0.5, forbidden=("late return",)))
    assert scored.parts == pytest.approx({"state": 0.4, "calls": 0.0, "message": 0.0, "toolrl": 0.1,
                                          "forbidden": -0.5})
    assert scored.total == pytest.approx(0.0)
    assert "forbidden" not in env.reward.score(Graded(True, True, True, partial=1.0)).parts
    with pytest.raises(ConfigError, match="no weight"):
        REWARD.with_weights({"forbidden": 0.5})
    with pytest.raises(ConfigError, match="unknown reward part"):
        REWARD.with_weights({"stat": 0.5})


def test_train_reward_weights_work_on_the_parts() -> None:
    """TrainConfig.reward_weights (reweight_rewards) on collected episodes: the ToolRL
    part can be dropped, and ``{"forbidden": 0}`` shows what a vetoed episode would have earned."""
    from agentgym.credit import reweight_rewards
    from agentgym.policies.scripted import ScriptedPolicy
    from agentgym.rollout import collect

    trajs = collect(make("single", partial_reward=0.2), ScriptedPolicy("oracle"), tasks=3, split="val")
    assert [t.episode_return for t in trajs] == pytest.approx([1.0] * 3)
    assert all("toolrl" in t.turns[-1].reward_parts for t in trajs)
    assert [t.episode_return for t in reweight_rewards(trajs, {"toolrl": 0.0})] == pytest.approx([0.8] * 3)

    env = start("policy", "bank.policy.identity")
    pay = ToolCall("send_payment", gold_call(env, "send_payment")["arguments"]).render()
    trajs = collect(make("policy"), _FirstThenOracle(pay), tasks=[env.task], split="val")
    last = trajs[0].turns[-1].reward_parts
    assert last["forbidden"] == pytest.approx(-(last["state"] + last["calls"] + last["message"])) != 0.0
    assert trajs[0].episode_return == pytest.approx(0.0)
    assert reweight_rewards(trajs, {"invalid_action": 0.0})[0].episode_return == pytest.approx(0.0)  # veto kept
    freed = reweight_rewards(trajs, {"forbidden": 0.0})[0]
    assert freed.episode_return == pytest.approx(last["state"] + last["calls"] + last["message"])


# --------------------------------------------------------------------------
# The user
# --------------------------------------------------------------------------
TURNS = [{"request": "Move money.", "facts": {
    "amount": {"say": "Move $250.00.", "keywords": ["how much", "amount"]},
    "account": {"say": "To ACC-1234.", "keywords": ["which", "account"]}}}]


def test_scripted_user_answers_what_is_asked_and_cooperates() -> None:
    user = ScriptedUser()
    view = UserView(TURNS, 0, frozenset(), [])
    assert user.reply("How much?", view).revealed == {"amount"}
    assert user.reply("Could you tell me more?", view).revealed == {"amount", "account"}
    told = UserView(TURNS, 0, frozenset({"amount"}), [])
    assert user.reply("Anything else?", told).text == "To ACC-1234."
    assert user.reply("Anything?", UserView([{"request": "x", "facts": {}}], 0, frozenset(), [])).text == NOTHING_TO_ADD


class FakePolicy:
    """A user model that says the amount (or fails when told to)."""

    def __init__(self, text: str, fail: bool = False) -> None:
        self.text, self.fail, self.seen = text, fail, []

    def act(self, conversations, tools):
        self.seen.append(conversations[0])
        if self.fail:
            return [Completion(text="", finish_reason="error", error="server down")]
        return [Completion(text=self.text)]


def test_policy_user_is_instructed_with_the_facts() -> None:
    policy = FakePolicy("Oh, about $250.00, thanks.")
    user = PolicyUser(policy)
    reply = user.reply("How much should I move?", UserView(TURNS, 0, frozenset(), [("user", "Move money.")]))
    assert reply.text == "Oh, about $250.00, thanks." and reply.revealed == {"amount"}
    system = policy.seen[0][0]["content"]
    assert "Move $250.00." in system and "To ACC-1234." in system and "never invent" in system
    assert policy.seen[0][-1] == {"role": "user", "content": "How much should I move?"}
    failing = PolicyUser(FakePolicy("", fail=True))  # falls back to the scripted user
    assert failing.reply("How much?", UserView(TURNS, 0, frozenset(), [])).revealed == {"amount"}


def test_env_with_a_policy_backed_user() -> None:
    env = start("missing_info", "bank.missing_info.amount")
    facts = env.task.meta["turns"][0]["facts"]
    env = start("missing_info", "bank.missing_info.amount", user=FakePolicy(f"Sure. {facts['amount']['say']}"))
    info = play(env, [])
    assert info["metrics"]["success"] == 1.0 and env.revealed == {"amount"}
    with pytest.raises(ConfigError, match="user must be"):
        make(user=42)


def test_unneeded_questions_are_counted() -> None:
    env = start("single", "bank.single.balance")
    obs, *_ = env.step(C("ask_user", question="Which account do you mean?"))
    assert obs == f"User: {NOTHING_TO_ADD}"
    info = play(env, [C("get_balance", **gold_call(env, "get_balance")["arguments"]), respond_gold(env)])
    assert info["metrics"]["questions_asked"] == 1 and info["metrics"]["unneeded_questions"] == 1
    assert info["metrics"]["success"] == 1.0  # a needless question costs a turn, not the task


# --------------------------------------------------------------------------
# Anchors
# --------------------------------------------------------------------------
def test_anchor_is_the_state_not_the_history() -> None:
    env = start("parallel", "bank.parallel.balances")
    a, b = (c["arguments"]["account_id"] for c in gold_steps(env)[0]["calls"])
    first = env.state_key()
    env.step(C("get_balance", account_id=a) + C("get_balance", account_id=b))
    both = env.state_key()
    env.reset(seed=0, options={"task_index": index_of("parallel", "bank.parallel.balances")})
    env.step(C("get_balance", account_id=b))
    env.step(C("get_balance", account_id=a))
    assert env.state_key() == both != first  # same reads, other order and turns: same anchor
    env.step(C("get_balance", account_id=a))  # a read already made changes nothing
    assert env.state_key() == both


def test_anchor_follows_state_changes_and_told_facts() -> None:
    env = start("missing_info", "bank.missing_info.amount")
    first = env.state_key()
    *_, info = env.step(C("ask_user", question="How much?"))
    told = info["anchor"]
    assert told != first and told.split("|")[1] == "amount"
    verify = gold_call(env, "verify_identity")["arguments"]
    *_, info = env.step(C("verify_identity", **verify))
    assert info["anchor"] != told  # the session is verified now
