"""The shop's catalogue: generated products in a SQLite database.

Every product has a category and a product type, a brand and a title, a price,
typed attributes and option axes (colour, size, pack ...) with some
combinations out of stock. Products come in *families*: a base product and
near-duplicates with the same title, brand and type that differ in exactly one
attribute (or cost much more), so an agent that buys the first look-alike is
graded down. Attributes are split between pages: ``material``-like attributes
are told only in the description, feature flags and measures only on the
features page; the product page shows title, price, options and availability.

The database (``shop.sqlite``) is built once per catalogue seed and cached
(``$AGENTGYM_CACHE_DIR/web`` or ``~/.cache/agentgym/web``); ``products_fts`` is
an FTS5 index over title, type, category and description (the features are not
indexed: search finds look-alikes, the agent must read to tell them apart).

>>> cat = build_catalogue(0)
>>> len(cat) >= 1000
True
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from agentgym.tasks import derive_seed

__all__ = ["CATEGORIES", "Product", "build_catalogue", "shop_db", "cache_dir", "CATALOGUE_VERSION"]

CATALOGUE_VERSION = 1
FAMILIES_PER_TYPE = 12


@dataclass(frozen=True)
class Slot:
    """An attribute slot: ``enum`` (one value, told in the description),
    ``flag`` (zero or more feature phrases) or ``measure`` (a number with a
    unit; both on the features page)."""

    name: str
    kind: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Category:
    name: str
    types: tuple[str, ...]
    slots: tuple[Slot, ...]
    options: dict[str, tuple[str, ...]]
    price: tuple[float, float]
    brands: tuple[str, ...]
    styles: tuple[str, ...]


def _c(name: str, types: str, slots: list[Slot], options: dict[str, str], price: tuple[float, float],
       brands: str, styles: str) -> Category:
    return Category(name, tuple(types.split(",")), tuple(slots),
                    {k: tuple(v.split(",")) for k, v in options.items()}, price,
                    tuple(brands.split(",")), tuple(styles.split(",")))


def _s(name: str, kind: str, values: str) -> Slot:
    return Slot(name, kind, tuple(values.split(",")))


COLORS = "black,white,navy blue,grey,red,olive green,brown,beige,pink,teal"
CATEGORIES: tuple[Category, ...] = (
    _c("shoes", "hiking boots,running shoes,sneakers,sandals",
       [_s("material", "enum", "leather,suede,mesh,canvas,synthetic"),
        _s("feature", "flag", "water resistant,non slip,memory foam insole,lightweight,breathable,wide fit"),
        _s("heel height", "measure", "1 inch,2 inch,3 inch")],
       {"color": COLORS, "size": "6,7,8,9,10,11,12"}, (25, 180), "Kestrel,Trailwise,Norda,Stepline,Alvar", "Classic,Pro,Urban,Summit,Everyday"),
    _c("clothing", "t-shirts,hoodies,rain jackets,joggers",
       [_s("material", "enum", "cotton,polyester,fleece,linen,bamboo fiber"),
        _s("feature", "flag", "machine washable,quick dry,relaxed fit,slim fit,moisture wicking,zip pockets"),
        _s("sleeve", "enum", "short sleeve,long sleeve,sleeveless")],
       {"color": COLORS, "size": "x-small,small,medium,large,x-large,xx-large"}, (9, 120), "Marlow,Fieldhouse,Ostra,Veltra,Brisk", "Essential,Heritage,Active,Studio,Weekend"),
    _c("coffee and tea", "ground coffee,coffee beans,green tea,herbal tea",
       [_s("roast", "enum", "light roast,medium roast,dark roast,unroasted"),
        _s("feature", "flag", "organic,fair trade,decaf,gluten free,non gmo,single origin"),
        _s("net weight", "measure", "8 ounce,12 ounce,16 ounce,32 ounce")],
       {"flavor": "original,vanilla,hazelnut,caramel,mint,lemon", "pack": "pack of 1,pack of 2,pack of 4,pack of 6"}, (6, 60), "Bramwell,Cafeterra,Lumora,Hollis,Tanager", "Reserve,Morning,Estate,House,Select"),
    _c("skin care", "face moisturizer,sunscreen,body lotion,face serum",
       [_s("skin type", "enum", "dry skin,oily skin,sensitive skin,combination skin,all skin types"),
        _s("feature", "flag", "fragrance free,paraben free,cruelty free,vegan,hypoallergenic,oil free"),
        _s("volume", "measure", "1 fl oz,1.7 fl oz,3.4 fl oz,8 fl oz")],
       {"scent": "unscented,lavender,citrus,coconut,cucumber", "pack": "pack of 1,pack of 2,pack of 3"}, (7, 85), "Aveline,Dermalux,Purecove,Solenne,Mirabel", "Daily,Hydra,Clear,Gentle,Radiance"),
    _c("audio", "wireless earbuds,over-ear headphones,bluetooth speakers,soundbars",
       [_s("connectivity", "enum", "bluetooth 5.0,bluetooth 5.3,wired 3.5mm,usb-c"),
        _s("feature", "flag", "noise cancelling,water resistant,built-in microphone,fast charging,foldable,voice assistant"),
        _s("battery life", "measure", "8 hours,12 hours,20 hours,30 hours,40 hours")],
       {"color": "black,white,silver,midnight blue,rose gold,red"}, (19, 350), "Sonary,Vellum,Audix,Quell,Basso", "Air,Max,Studio,Go,Pulse"),
    _c("bags", "backpacks,duffel bags,messenger bags,tote bags",
       [_s("material", "enum", "nylon,canvas,leather,polyester,recycled plastic"),
        _s("feature", "flag", "water resistant,laptop sleeve,anti theft,padded straps,usb charging port,lightweight"),
        _s("capacity", "measure", "15 liter,20 liter,25 liter,30 liter,40 liter")],
       {"color": COLORS}, (15, 160), "Packhorse,Rovane,Tallis,Nomada,Cairn", "Commuter,Voyager,Daypack,Metro,Explorer"),
    _c("home", "scented candles,throw pillows,bath towels,table lamps",
       [_s("material", "enum", "soy wax,cotton,linen,ceramic,velvet,bamboo"),
        _s("feature", "flag", "hand made,eco friendly,machine washable,dimmable,long lasting,non toxic"),
        _s("dimensions", "measure", "12 x 12 inch,16 x 16 inch,18 x 18 inch,20 x 20 inch")],
       {"color": COLORS, "pack": "pack of 1,pack of 2,pack of 4"}, (8, 95), "Hearthly,Casamora,Linden,Nook,Wrenfield", "Cozy,Modern,Rustic,Coastal,Minimal"),
    _c("phone accessories", "phone cases,screen protectors,charging cables,wireless chargers",
       [_s("compatibility", "enum", "iphone 14,iphone 15,galaxy s23,galaxy s24,pixel 8"),
        _s("feature", "flag", "shockproof,magnetic,fast charging,slim,scratch resistant,kickstand"),
        _s("length", "measure", "3 feet,6 feet,10 feet")],
       {"color": "black,clear,blue,pink,green,purple", "pack": "pack of 1,pack of 2,pack of 3"}, (5, 60), "Gripto,Voltra,Shieldy,Cordova,Lumen", "Armor,Lite,Flex,Edge,Prime"),
    _c("snacks", "granola bars,trail mix,protein cookies,rice crackers",
       [_s("diet", "enum", "vegan,keto,paleo,high protein,low sugar"),
        _s("feature", "flag", "gluten free,non gmo,organic,nut free,kosher,no artificial flavors"),
        _s("count", "measure", "6 count,12 count,24 count,36 count")],
       {"flavor": "chocolate,peanut butter,sea salt,honey,berry,cinnamon", "pack": "pack of 1,pack of 2,pack of 4"}, (4, 45), "Crunchwell,Harvesto,Nibbly,Oaken,Sprig", "Original,Trail,Power,Family,Snack"),
    _c("pet supplies", "dog beds,cat toys,dog leashes,pet bowls",
       [_s("material", "enum", "memory foam,nylon,stainless steel,rubber,plush fabric"),
        _s("feature", "flag", "washable cover,non slip,chew resistant,reflective,dishwasher safe,orthopedic"),
        _s("pet size", "measure", "small breed,medium breed,large breed")],
       {"color": "black,grey,blue,red,green,tan", "size": "small,medium,large,x-large"}, (6, 110), "Pawsome,Furlough,Barkley,Kitterly,Tailor", "Comfort,Play,Walk,Deluxe,Basic"),
)
_DESC_OPENERS = (
    "Designed for everyday use, the {title} is crafted from {enums}.",
    "The {title} brings together {enums} in a design made to last.",
    "Meet the {title}: {enums}, built by {brand} for people who care about details.",
)
_DESC_FILLERS = (
    "Customers love its dependable quality and thoughtful design.",
    "Backed by the {brand} satisfaction promise.",
    "A popular choice in our {category} department.",
    "Ships in recyclable packaging.",
)


@dataclass(frozen=True)
class Product:
    """One product of the catalogue (``pid`` like ``"B0A1B2C3"``)."""

    pid: str
    category: str
    ptype: str
    brand: str
    title: str
    price: float
    rating: float
    enums: dict[str, str]
    flags: tuple[str, ...]
    measures: dict[str, str]
    options: dict[str, tuple[str, ...]]
    out_of_stock: tuple[tuple[str, ...], ...]
    description: str
    family: int

    @property
    def attributes(self) -> tuple[str, ...]:
        """Every attribute phrase (what instructions ask for)."""
        return tuple(self.enums.values()) + self.flags + tuple(self.measures.values())

    def in_stock(self, choice: dict[str, str]) -> bool:
        combo = tuple(choice.get(axis, "") for axis in self.options)
        return combo not in set(self.out_of_stock)


def _pick(rng: np.random.Generator, values: tuple[str, ...], k: int) -> list[str]:
    idx = rng.choice(len(values), size=min(k, len(values)), replace=False)
    return [values[i] for i in sorted(idx)]


def _base_spec(rng: np.random.Generator, cat: Category) -> dict[str, Any]:
    enums = {s.name: s.values[int(rng.integers(len(s.values)))] for s in cat.slots if s.kind == "enum"}
    flag_slot = next(s for s in cat.slots if s.kind == "flag")
    flags = tuple(_pick(rng, flag_slot.values, int(rng.integers(1, 4))))
    measures = {s.name: s.values[int(rng.integers(len(s.values)))] for s in cat.slots if s.kind == "measure"}
    options = {axis: tuple(_pick(rng, vals, int(rng.integers(2, min(5, len(vals)) + 1))))
               for axis, vals in cat.options.items()}
    lo, hi = cat.price
    price = round(float(np.exp(rng.uniform(np.log(lo), np.log(hi)))), 2)
    return {"enums": enums, "flags": flags, "measures": measures, "options": options, "price": price}


def _variant(rng: np.random.Generator, cat: Category, spec: dict[str, Any]) -> dict[str, Any]:
    """A near-duplicate of ``spec`` that differs in exactly one attribute."""
    new = {k: (dict(v) if isinstance(v, dict) else v) for k, v in spec.items()}
    slot = cat.slots[int(rng.integers(len(cat.slots)))]
    if slot.kind == "enum":
        new["enums"][slot.name] = next(str(v) for v in rng.permutation(slot.values) if v != spec["enums"][slot.name])
    elif slot.kind == "measure":
        new["measures"][slot.name] = next(str(v) for v in rng.permutation(slot.values) if v != spec["measures"][slot.name])
    else:
        flags = list(spec["flags"])
        if len(flags) > 1 and rng.random() < 0.5:
            flags.pop(int(rng.integers(len(flags))))
        else:
            flags.append(next(str(v) for v in rng.permutation(slot.values) if v not in flags))
        new["flags"] = tuple(sorted(flags, key=slot.values.index))
    new["price"] = round(spec["price"] * float(rng.uniform(0.85, 1.15)), 2)
    return new


def _stock(rng: np.random.Generator, options: dict[str, tuple[str, ...]]) -> tuple[tuple[str, ...], ...]:
    combos: list[tuple[str, ...]] = [()]
    for vals in options.values():
        combos = [c + (v,) for c in combos for v in vals]
    out = [c for c in combos if rng.random() < 0.2]
    return tuple(out[: len(combos) - 1])  # at least one combination stays in stock


def build_catalogue(seed: int = 0) -> list[Product]:
    """The products of catalogue ``seed`` (deterministic; 10 categories x 4 types
    x :data:`FAMILIES_PER_TYPE` families of 2–4 near-duplicates)."""
    rng = np.random.default_rng(derive_seed("web-shop", CATALOGUE_VERSION, seed))
    products: list[Product] = []
    used_pids: set[str] = set()
    family = 0
    for cat in CATEGORIES:
        for ptype in cat.types:
            for _ in range(FAMILIES_PER_TYPE):
                brand = cat.brands[int(rng.integers(len(cat.brands)))]
                style = cat.styles[int(rng.integers(len(cat.styles)))]
                title = f"{brand} {style} {ptype.title()}"
                base = _base_spec(rng, cat)
                specs = [base] + [_variant(rng, cat, base) for _ in range(int(rng.integers(1, 3)))]
                if rng.random() < 0.4:  # the same product at a much higher price
                    specs.append({**base, "price": round(base["price"] * float(rng.uniform(1.6, 2.2)), 2)})
                for spec in specs:
                    pid = _pid(rng, used_pids)
                    products.append(_product(rng, cat, ptype, brand, title, pid, spec, family))
                family += 1
    return products


def _pid(rng: np.random.Generator, used: set[str]) -> str:
    alphabet = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
    while True:
        pid = "B0" + "".join(alphabet[int(i)] for i in rng.integers(len(alphabet), size=6))
        if pid not in used:
            used.add(pid)
            return pid


def _product(rng: np.random.Generator, cat: Category, ptype: str, brand: str, title: str, pid: str,
             spec: dict[str, Any], family: int) -> Product:
    enums_text = " and ".join(spec["enums"].values())
    desc = [_DESC_OPENERS[int(rng.integers(len(_DESC_OPENERS)))].format(title=title, enums=enums_text, brand=brand)]
    desc += [f.format(brand=brand, category=cat.name) for f in _pick(rng, _DESC_FILLERS, 2)]
    return Product(
        pid=pid, category=cat.name, ptype=ptype, brand=brand, title=title, price=spec["price"],
        rating=round(float(rng.uniform(3.0, 5.0)), 1), enums=dict(spec["enums"]), flags=tuple(spec["flags"]),
        measures=dict(spec["measures"]), options=dict(spec["options"]), out_of_stock=_stock(rng, spec["options"]),
        description=" ".join(desc), family=family,
    )


def cache_dir() -> Path:
    """``$AGENTGYM_CACHE_DIR/web``, else ``~/.cache/agentgym/web``."""
    base = os.environ.get("AGENTGYM_CACHE_DIR")
    return (Path(base) if base else Path.home() / ".cache" / "agentgym") / "web"


_SCHEMA = """
CREATE TABLE products (pid TEXT PRIMARY KEY, category TEXT, ptype TEXT, brand TEXT, title TEXT,
  price REAL, rating REAL, description TEXT, family INTEGER, data TEXT);
CREATE TABLE attributes (pid TEXT, slot TEXT, kind TEXT, value TEXT);
CREATE TABLE options (pid TEXT, axis TEXT, position INTEGER, value TEXT);
CREATE TABLE out_of_stock (pid TEXT, combo TEXT);
CREATE VIRTUAL TABLE products_fts USING fts5(pid UNINDEXED, title, ptype, category, description,
  tokenize = 'porter unicode61');
CREATE INDEX attributes_pid ON attributes(pid);
CREATE INDEX options_pid ON options(pid);
"""


def product_to_json(p: Product) -> str:
    return json.dumps({"enums": p.enums, "flags": list(p.flags), "measures": p.measures,
                       "options": {k: list(v) for k, v in p.options.items()},
                       "out_of_stock": [list(c) for c in p.out_of_stock]})


def product_from_row(row: sqlite3.Row | tuple[Any, ...]) -> Product:
    pid, category, ptype, brand, title, price, rating, description, family, data = tuple(row)
    d = json.loads(data)
    return Product(pid=pid, category=category, ptype=ptype, brand=brand, title=title, price=price, rating=rating,
                   enums=d["enums"], flags=tuple(d["flags"]), measures=d["measures"],
                   options={k: tuple(v) for k, v in d["options"].items()},
                   out_of_stock=tuple(tuple(c) for c in d["out_of_stock"]), description=description, family=family)


def shop_db(seed: int = 0, directory: Path | str | None = None) -> Path:
    """The path of catalogue ``seed``'s SQLite file, built on first use (atomically)."""
    folder = Path(directory) if directory else cache_dir()
    path = folder / f"shop-v{CATALOGUE_VERSION}-{seed}.sqlite"
    if path.exists():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
    os.close(fd)
    try:
        con = sqlite3.connect(tmp)
        con.executescript(_SCHEMA)
        for p in build_catalogue(seed):
            con.execute("INSERT INTO products VALUES (?,?,?,?,?,?,?,?,?,?)",
                        (p.pid, p.category, p.ptype, p.brand, p.title, p.price, p.rating, p.description,
                         p.family, product_to_json(p)))
            con.execute("INSERT INTO products_fts VALUES (?,?,?,?,?)",
                        (p.pid, p.title, p.ptype, p.category, p.description))
            rows = [(p.pid, k, "enum", v) for k, v in p.enums.items()]
            rows += [(p.pid, "feature", "flag", v) for v in p.flags]
            rows += [(p.pid, k, "measure", v) for k, v in p.measures.items()]
            con.executemany("INSERT INTO attributes VALUES (?,?,?,?)", rows)
            con.executemany("INSERT INTO options VALUES (?,?,?,?)",
                            [(p.pid, axis, i, v) for axis, vals in p.options.items() for i, v in enumerate(vals)])
            con.executemany("INSERT INTO out_of_stock VALUES (?,?)", [(p.pid, " / ".join(c)) for c in p.out_of_stock])
        con.commit()
        con.close()
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path
