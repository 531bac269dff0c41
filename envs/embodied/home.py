"""Procedural homes for AskToAct: rooms, receptacles and object instances.

A home is generated once per task (:func:`generate_layout`, deterministic in
its ``random.Random``) and stored in the task's ``meta`` as plain JSON. The env
rebuilds an immutable :class:`Home` from it on reset (:meth:`Home.from_meta`)
and keeps the mutable parts (where objects are, what is open) itself.

Objects are referred to by visible names that print colour, type and a number
unique among objects of that type: ``"red mug (1)"``. Size and material are
only revealed by ``examine``.

>>> import random
>>> meta = generate_layout(random.Random(0), LEVELS["easy"], "ambiguous")
>>> home = Home.from_meta(meta)
>>> len(home.rooms), len(home.instances) >= 2
(2, True)
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "COLOURS",
    "LEVELS",
    "MATERIALS",
    "ROOM_CATALOG",
    "SIZES",
    "TYPES",
    "Home",
    "Level",
    "Obj",
    "TaskKind",
    "generate_layout",
    "normalise_name",
]

TaskKind = Literal["ambiguous", "observable", "control"]

# room -> receptacles (name, openable). Names are unique across the catalogue, so
# a receptacle name alone says where it is.
ROOM_CATALOG: dict[str, tuple[tuple[str, bool], ...]] = {
    "kitchen": (("counter", False), ("kitchen table", False), ("fridge", True), ("cabinet", True)),
    "living room": (("coffee table", False), ("sofa", False), ("bookshelf", False), ("cupboard", True)),
    "bedroom": (("bed", False), ("nightstand", False), ("wardrobe", True), ("dresser", True)),
    "bathroom": (("sink", False), ("bath shelf", False), ("medicine cabinet", True)),
    "office": (("desk", False), ("office shelf", False), ("filing cabinet", True)),
    "dining room": (("dining table", False), ("side table", False), ("sideboard", True)),
    "garage": (("workbench", False), ("garage shelf", False), ("tool chest", True)),
}

# type -> the materials an instance may be made of.
TYPES: dict[str, tuple[str, ...]] = {
    "mug": ("ceramic", "glass", "metal"),
    "bowl": ("ceramic", "glass", "wooden", "plastic"),
    "cup": ("glass", "plastic", "paper"),
    "plate": ("ceramic", "plastic", "metal"),
    "vase": ("glass", "ceramic", "metal"),
    "bottle": ("glass", "plastic", "metal"),
    "towel": ("cotton", "linen"),
    "box": ("cardboard", "wooden", "metal"),
    "pillow": ("cotton", "wool", "silk"),
    "lamp": ("metal", "glass", "ceramic"),
    "spoon": ("metal", "wooden", "plastic"),
}
COLOURS: tuple[str, ...] = ("red", "blue", "green", "white", "black", "yellow")
SIZES: tuple[str, ...] = ("small", "large")
MATERIALS: tuple[str, ...] = tuple(sorted({m for ms in TYPES.values() for m in ms}))

# Attributes visible on sight (printed in the name) vs. revealed by examine.
VISIBLE_KINDS = frozenset({"colour", "room", "receptacle"})
EXAMINE_KINDS = frozenset({"material", "size"})


@dataclass(frozen=True)
class Level:
    """Generation parameters of one difficulty.

    ``mix`` is the chance of an (ambiguous, observable, control) task;
    ``vary`` the attributes in which same-type instances may differ;
    ``partial`` the chance that an ambiguous instruction names an attribute that
    several instances share (multi-attribute ambiguity).
    """

    rooms: tuple[int, int]
    receptacles: tuple[int, int]
    openable: bool
    hide: float
    instances: tuple[int, int]
    distractors: tuple[int, int]
    vary: tuple[str, ...]
    mix: tuple[float, float, float]
    partial: float
    max_turns: int
    question_budget: int


LEVELS: dict[str, Level] = {
    # Kept small on purpose: a tiny model must learn it on CPU in minutes.
    "easy": Level(rooms=(2, 2), receptacles=(2, 2), openable=False, hide=0.0, instances=(2, 2),
                  distractors=(1, 2), vary=("colour",), mix=(0.6, 0.2, 0.2), partial=0.0,
                  max_turns=12, question_budget=2),
    "medium": Level(rooms=(3, 3), receptacles=(2, 3), openable=True, hide=0.35, instances=(2, 3),
                    distractors=(3, 5), vary=("colour", "material"), mix=(0.6, 0.25, 0.15),
                    partial=0.0, max_turns=20, question_budget=3),
    "hard": Level(rooms=(4, 5), receptacles=(3, 4), openable=True, hide=0.5, instances=(3, 4),
                  distractors=(5, 8), vary=("colour", "material", "size"), mix=(0.7, 0.2, 0.1),
                  partial=0.5, max_turns=30, question_budget=4),
}


@dataclass(frozen=True, slots=True)
class Obj:
    """One object instance. ``start`` is the receptacle it starts on."""

    id: int
    type: str
    n: int
    colour: str
    material: str
    size: str
    start: str

    @property
    def name(self) -> str:
        return f"{self.colour} {self.type} ({self.n})"


class Home:
    """The immutable layout of one task's home (see the module docstring)."""

    __slots__ = (
        "rooms", "room_receptacles", "receptacle_room", "openable", "objects", "names", "by_name",
        "target", "target_type", "instances", "goal", "start_room", "instruction", "kind",
        "told0", "instruction_text", "max_turns", "question_budget", "start_contents",
    )

    def __init__(self, meta: dict[str, Any]) -> None:
        self.rooms: tuple[str, ...] = tuple(meta["rooms"])
        self.receptacle_room: dict[str, str] = {r: room for r, room, _ in meta["receptacles"]}
        self.openable = frozenset(r for r, _, op in meta["receptacles"] if op)
        self.room_receptacles: dict[str, tuple[str, ...]] = {
            room: tuple(r for r, rm, _ in meta["receptacles"] if rm == room) for room in self.rooms
        }
        self.objects: tuple[Obj, ...] = tuple(Obj(i, *o) for i, o in enumerate(meta["objects"]))
        self.by_name: dict[str, int] = {o.name: o.id for o in self.objects}
        # Normalised spellings ("red mug 1", "mug 1"): see normalise_name().
        self.names: dict[str, int] = {}
        for o in self.objects:
            self.names[f"{o.colour} {o.type} {o.n}"] = o.id
            self.names[f"{o.type} {o.n}"] = o.id
        self.target: int = meta["target"]
        self.target_type: str = self.objects[self.target].type
        self.instances: tuple[int, ...] = tuple(o.id for o in self.objects if o.type == self.target_type)
        self.goal: str = meta["goal"]
        self.start_room: str = meta["start"]
        self.instruction: dict[str, str] = dict(meta["instruction"])
        self.kind: str = meta["kind"]
        self.max_turns: int = meta["max_turns"]
        self.question_budget: int = meta["question_budget"]
        self.told0 = frozenset(i for i in self.instances if self.matches(i, self.instruction))
        self.instruction_text = instruction_text(self.target_type, self.instruction, self.goal)
        contents: dict[str, list[int]] = {r: [] for r in self.receptacle_room}
        for o in self.objects:
            contents[o.start].append(o.id)
        self.start_contents = {r: tuple(ids) for r, ids in contents.items()}

    @classmethod
    def from_meta(cls, meta: dict[str, Any]) -> Home:
        return cls(meta)

    def attribute(self, i: int, kind: str) -> str | int:
        """Attribute ``kind`` of object ``i`` at the start of the episode (what the
        user knows): colour, material, size, type, room, receptacle, object."""
        o = self.objects[i]
        if kind == "room":
            return self.receptacle_room[o.start]
        if kind == "receptacle":
            return o.start
        if kind == "object":
            return o.id
        return getattr(o, kind)

    def matches(self, i: int, attrs: dict[str, str]) -> bool:
        return all(self.attribute(i, k) == v for k, v in attrs.items())

    def find(self, name: str) -> int | None:
        """The object an agent means by ``name`` ("red mug (1)", "mug 1", ...), or None."""
        i = self.by_name.get(name)
        return i if i is not None else self.names.get(normalise_name(name))


def normalise_name(name: str) -> str:
    """``"The Red Mug(1)"`` -> ``"red mug 1"``."""
    words = name.lower().replace("(", " ").replace(")", " ").split()
    if words and words[0] in ("the", "a", "an"):
        words = words[1:]
    return " ".join(words)


def instruction_text(type_: str, attrs: dict[str, str], goal: str) -> str:
    words = [attrs[k] for k in ("size", "colour", "material") if k in attrs]
    return f"Bring me the {' '.join([*words, type_])} and put it on the {goal}."


# --------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------
def generate_layout(rng: random.Random, level: Level, kind: TaskKind) -> dict[str, Any]:
    """A home and a task of ``kind`` in it, as JSON-able ``meta``."""
    rooms = rng.sample(sorted(ROOM_CATALOG), rng.randint(*level.rooms))
    receptacles = _pick_receptacles(rng, rooms, level)
    closed = [r for r, _, op in receptacles if op]
    open_places = [r for r, _, op in receptacles if not op]
    goal = rng.choice(open_places)
    target_type, *other_types = rng.sample(sorted(TYPES), 1 + level.distractors[1])
    n_inst = 1 if kind == "control" else rng.randint(*level.instances)
    attrs, instruction, target_idx = _instances(rng, target_type, n_inst, level, kind)
    objects: list[list[Any]] = []
    for a in attrs:  # same-type instances: never on the goal; maybe hidden
        spots = [r for r in open_places if r != goal]
        if closed and rng.random() < level.hide:
            spots = closed
        objects.append([target_type, 0, a["colour"], a["material"], a["size"], rng.choice(spots)])
    for t in other_types[: rng.randint(*level.distractors)]:
        place = rng.choice([r for r, _, _ in receptacles])
        objects.append([t, 0, rng.choice(COLOURS), rng.choice(TYPES[t]), rng.choice(SIZES), place])
    order = list(range(len(objects)))
    rng.shuffle(order)  # object ids and numbers leak nothing about the target
    objects = [objects[i] for i in order]
    target = order.index(target_idx)
    _number(rng, objects)
    return {
        "rooms": rooms,
        "receptacles": [list(r) for r in receptacles],
        "objects": objects,
        "target": target,
        "goal": goal,
        "start": rng.choice(rooms),
        "instruction": instruction,
        "kind": kind,
        "max_turns": level.max_turns,
        "question_budget": level.question_budget,
    }


def _pick_receptacles(rng: random.Random, rooms: list[str], level: Level) -> list[tuple[str, str, bool]]:
    out: list[tuple[str, str, bool]] = []
    for room in rooms:
        catalog = [r for r in ROOM_CATALOG[room] if level.openable or not r[1]]
        fixed = [r for r in catalog if not r[1]]
        k = min(rng.randint(*level.receptacles), len(catalog))
        # At least one surface per room, so a goal and open spots always exist.
        chosen = [rng.choice(fixed)]
        rest = [r for r in catalog if r != chosen[0]]
        chosen += rng.sample(rest, k - 1)
        chosen.sort(key=catalog.index)
        out += [(name, room, op) for name, op in chosen]
    return out


def _instances(
    rng: random.Random, type_: str, n: int, level: Level, kind: TaskKind
) -> tuple[list[dict[str, str]], dict[str, str], int]:
    """Distinct attribute sets for ``n`` instances, the instruction's attributes,
    and the target's index."""
    while True:
        attrs = _distinct_attrs(rng, type_, n, level)
        target = rng.randrange(n)
        t = attrs[target]
        unique = [k for k in level.vary if sum(a[k] == t[k] for a in attrs) == 1]
        shared = [k for k in level.vary if 1 < sum(a[k] == t[k] for a in attrs) < n]
        if kind == "control":
            return attrs, {}, target
        if kind == "observable":
            if unique:  # one attribute singles the target out: observation resolves it
                k = rng.choice(unique)
                return attrs, {k: t[k]}, target
            continue
        if shared and rng.random() < level.partial:  # narrows, but does not resolve
            k = rng.choice(shared)
            return attrs, {k: t[k]}, target
        return attrs, {}, target


def _distinct_attrs(rng: random.Random, type_: str, n: int, level: Level) -> list[dict[str, str]]:
    base = {"colour": rng.choice(COLOURS), "material": rng.choice(TYPES[type_]), "size": rng.choice(SIZES)}
    pools = {"colour": COLOURS, "material": TYPES[type_], "size": SIZES}
    seen: set[tuple[str, ...]] = set()
    out: list[dict[str, str]] = []
    while len(out) < n:
        a = dict(base)
        for k in level.vary:
            a[k] = rng.choice(pools[k])
        if level.vary == ("colour",) and any(o["colour"] == a["colour"] for o in out):
            continue  # easy: instances differ in colour, which one sees at a glance
        key = (a["colour"], a["material"], a["size"])
        if key not in seen:
            seen.add(key)
            out.append(a)
    return out


def _number(rng: random.Random, objects: list[list[Any]]) -> None:
    """Give objects of each type the numbers 1..k in a random order."""
    by_type: dict[str, list[list[Any]]] = {}
    for o in objects:
        by_type.setdefault(o[0], []).append(o)
    for group in by_type.values():
        numbers = list(range(1, len(group) + 1))
        rng.shuffle(numbers)
        for o, k in zip(group, numbers, strict=True):
            o[1] = k
