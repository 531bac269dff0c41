"""Scripted policies for AskToAct.

* ``oracle`` — the expert. It knows where things are (privileged navigation) but
  not what the user will say: when several instances fit what it was told, it
  first brings each into view, then asks one "which one" question naming them
  all; when the instruction names a hidden attribute (material, size) it
  examines the target before taking it; it never asks when nothing is
  ambiguous.
* ``never_ask`` — never asks: takes one of the instances that fit the
  instruction, uniformly at random (success at chance on ambiguous tasks).
* ``always_ask`` — asks about the candidates one at a time ("Is it the red mug
  (1)?") and then confirms its choice, even when nothing was ambiguous.
* ``explorer`` — an expert without privileged knowledge: searches the whole
  home first, so every action follows from the transcript.
* ``terse_explorer`` — the explorer, naming objects by type and number
  (``pick("lamp (1)")`` for the blue lamp (1)), which the env accepts as well.
  The number is unique among objects of a type, so nothing is lost; a small
  model imitating it copies a name *forward* from what it read (the number that
  follows the type) instead of recalling the colour printed before it. The
  training demo imitates it (configs/asktoact_easy_sft.toml).
* ``noisy_explorer`` — the explorer with injected mistakes (DART-style noise,
  Laskey et al., 2017): a third of its ``pick``/``place`` calls are first made
  with a near-miss name (a wrong colour or number, a receptacle that is not
  here), which the env rejects, and then made right. Behaviour cloning on it
  (``agentgym sft`` skips invalid turns as targets but keeps them as context)
  teaches recovery from exactly the copying errors a small model makes.

Each is a function ``(env) -> action text`` (see ``AskToActEnv.scripted_policies``);
per-episode scratch state lives in ``env.policy_memo``.
"""

from __future__ import annotations

from agentgym.envs.embodied.env import AskToActEnv
from agentgym.envs.embodied.home import COLOURS, EXAMINE_KINDS, ROOM_CATALOG
from agentgym.parsing import parse_tool_calls
from agentgym.tools import ToolCall

__all__ = ["always_ask", "explorer", "never_ask", "noisy_explorer", "oracle", "terse_explorer"]

NOISE = 1 / 3  # share of noisy_explorer's pick/place calls first made with a near miss


def _call(name: str, **arguments: str) -> str:
    return ToolCall(name, arguments).render()


def _bring_into_view(env: AskToActEnv, i: int) -> str | None:
    """The action that brings object ``i`` into view, or None if it is in view."""
    if env.is_visible(i):
        return None if i in env.seen else _call("look")
    r = env.loc[i]
    assert r is not None  # a held object is always in view
    room = env.home.receptacle_room[r]
    if room != env.room:
        return _call("go", room=room)
    return _call("open", receptacle=r)


def _see_all(env: AskToActEnv, ids: frozenset[int] | list[int]) -> str | None:
    """The next action towards having seen every object of ``ids`` (nearest first)."""
    h = env.home
    unseen = [i for i in ids if i not in env.seen]
    if not unseen:
        return None
    rooms = h.rooms
    here = min(unseen, key=lambda i: (h.receptacle_room[env.loc[i] or ""] != env.room,
                                      rooms.index(h.receptacle_room[env.loc[i] or ""]), i))
    return _bring_into_view(env, here)


def _fetch(env: AskToActEnv, target: int) -> str:
    """The next action towards putting ``target`` on the goal receptacle."""
    h = env.home
    if env.held == target:
        goal_room = h.receptacle_room[h.goal]
        if env.room != goal_room:
            return _call("go", room=goal_room)
        return _call("place", object=h.objects[target].name, receptacle=h.goal)
    if env.held is not None:  # put whatever else it holds down, on any open surface here
        spot = next(r for r in h.room_receptacles[env.room] if r not in h.openable or r in env.opened)
        return _call("place", object=h.objects[env.held].name, receptacle=spot)
    return _bring_into_view(env, target) or _call("pick", object=h.objects[target].name)


def _names(env: AskToActEnv, ids: frozenset[int] | list[int]) -> list[str]:
    return sorted(env.home.objects[i].name for i in ids)


def oracle(env: AskToActEnv) -> str:
    """The expert: one question exactly when what it was told is ambiguous."""
    h, memo = env.home, env.policy_memo
    if env.held is None and len(env.told) > 1 and not memo.get("asked"):
        step = _see_all(env, env.told)
        if step:
            return step
        memo["asked"] = True
        names = _names(env, env.told)
        return _call("ask", question=f"Which one: {', '.join(names[:-1])} or {names[-1]}?")
    target = h.target  # privileged: also right when a noisy answer misled it
    needs_examine = bool(EXAMINE_KINDS & h.instruction.keys())
    if needs_examine and env.held is None and target not in env.examined:
        return _bring_into_view(env, target) or _call("examine", object=h.objects[target].name)
    return _fetch(env, target)


def explorer(env: AskToActEnv) -> str:
    """An expert that uses only what an agent could know: it searches every room
    and closed receptacle, examines candidates when the request names a hidden
    attribute, asks one "which one" question if several remain, then fetches.
    Slower than ``oracle``, but every choice follows from the transcript, so
    it is the policy to imitate (and proof that observations suffice)."""
    h, memo = env.home, env.policy_memo
    if env.held is None:
        visited = memo.setdefault("visited", {h.start_room})
        visited.add(env.room)
        closed_here = [r for r in h.room_receptacles[env.room] if r in h.openable and r not in env.opened]
        if closed_here:
            return _call("open", receptacle=closed_here[0])
        unvisited = [r for r in h.rooms if r not in visited]
        if unvisited:
            return _call("go", room=unvisited[0])
        # Everything has been seen: every instance of the type is a known object now.
        left = env.candidates()
        if EXAMINE_KINDS & h.instruction.keys():
            unexamined = [i for i in left if i not in env.examined]
            if unexamined:
                return _bring_into_view(env, unexamined[0]) or _call("examine", object=h.objects[unexamined[0]].name)
        if len(left) > 1 and not memo.get("asked"):
            memo["asked"] = True
            names = _names(env, left)
            return _call("ask", question=f"Which one: {', '.join(names[:-1])} or {names[-1]}?")
        memo["choice"] = left[0] if left else h.instances[0]
    return _fetch(env, memo.get("choice", env.held if env.held is not None else h.instances[0]))


def terse_explorer(env: AskToActEnv) -> str:
    """:func:`explorer` with every object argument written as ``"type (n)"``."""
    (call,) = parse_tool_calls(explorer(env))
    objects, by_name = env.home.objects, env.home.by_name
    args = {k: f"{objects[by_name[v]].type} ({objects[by_name[v]].n})" if v in by_name else v
            for k, v in call.arguments.items()}
    return _call(call.name, **args)


def noisy_explorer(env: AskToActEnv) -> str:
    """:func:`explorer`, but each ``pick``/``place`` is first tried with a near-miss
    name, with probability :data:`NOISE`, once per call (draws from ``env.np_random``).
    Invalid actions leave the env's state unchanged, so the explorer's next
    action is the correct call."""
    action = explorer(env)
    (call,) = parse_tool_calls(action)
    memo = env.policy_memo
    if call.name not in ("pick", "place") or memo.pop("missed", None) == action:
        return action  # not a name to miss, or the retry after a near miss
    miss = _near_miss(env, call) if env.np_random.random() < NOISE else None
    if miss is None:
        return action
    memo["missed"] = action
    return _call(call.name, **miss)


def _near_miss(env: AskToActEnv, call: ToolCall) -> dict[str, str] | None:
    """``call``'s arguments with one name changed to one the env will reject."""
    h, rng = env.home, env.np_random
    args = dict(call.arguments)
    if call.name == "place" and rng.random() < 0.5:
        here = set(h.room_receptacles[env.room])
        others = sorted({r for rs in ROOM_CATALOG.values() for r, _ in rs} - here)
        args["receptacle"] = others[int(rng.integers(len(others)))]
        return args
    colour, *rest = args["object"].split(" ")
    number = rest[-1]  # "(1)"
    names = [f"{c} {' '.join(rest)}" for c in COLOURS if c != colour]
    names += [f"{colour} {' '.join(rest[:-1])} ({k})" for k in range(1, 4) if f"({k})" != number]
    names = [n for n in names if h.find(n) is None]
    if not names:
        return None
    args["object"] = names[int(rng.integers(len(names)))]
    return args


def never_ask(env: AskToActEnv) -> str:
    """Guess uniformly among the instances that fit the instruction."""
    memo = env.policy_memo
    if "guess" not in memo:
        fits = sorted(env.home.told0)
        memo["guess"] = fits[int(env.np_random.integers(len(fits)))]
    return _fetch(env, memo["guess"])


def always_ask(env: AskToActEnv) -> str:
    """Ask about each candidate in turn, then confirm, then fetch."""
    h, memo = env.home, env.policy_memo
    if env.held is None and not memo.get("confirmed"):
        told = sorted(env.told, key=lambda i: h.objects[i].name)
        if len(told) > 1:
            step = _see_all(env, told)
            if step:
                return step
            return _call("ask", question=f"Is it the {h.objects[told[0]].name}?")
        memo["confirmed"] = True
        choice = told[0] if told else h.target
        return _call("ask", question=f"Is it the {h.objects[choice].name}?")
    told = sorted(env.told)
    return _fetch(env, told[0] if len(told) == 1 else h.target)
