"""The wiki's encyclopedia: a generated world of countries, cities, universities,
people and companies, written as linked articles with infoboxes, in SQLite.

Names are made from syllables (no real-world knowledge helps). Facts link
entities (a company's founder, headquarters and chief executive; a person's
birthplace, birth year and university; a city's country; a country's capital
and currency), so questions can need two or three articles:
"In which country was the founder of Varnek Systems born?" reads the company,
then the founder, then the birthplace.

The database (``wiki-v{N}-{seed}.sqlite``, cached next to the shop's) has
``articles(slug, title, kind, summary, infobox, body)`` and an FTS5 index over
titles and text.

>>> w = build_world(0)
>>> len(w["articles"]) > 200
True
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from agentgym.envs.web.shop_data import cache_dir
from agentgym.tasks import derive_seed

__all__ = ["build_world", "wiki_db", "make_question", "QUESTION_KINDS", "WIKI_VERSION"]

WIKI_VERSION = 1
N = {"country": 10, "city": 50, "university": 16, "person": 140, "company": 60}
_ONSETS = ("b", "br", "c", "d", "dr", "f", "g", "gr", "h", "k", "l", "m", "n", "p", "r", "s", "st", "t", "th", "v",
           "w", "z", "sh", "ly", "qu")
_VOWELS = ("a", "e", "i", "o", "u", "ai", "ea", "io", "ou", "y")
_CODAS = ("", "n", "r", "l", "s", "th", "nd", "rk", "m", "x", "sk", "v")
INDUSTRIES = ("software", "shipping", "textiles", "aerospace", "pharmaceuticals", "mining", "banking", "robotics",
              "food processing", "renewable energy")
OCCUPATIONS = ("engineer", "chemist", "economist", "architect", "novelist", "physician", "entrepreneur", "mathematician")
CURRENCIES = ("crown", "mark", "thaler", "ducat", "florin", "lira", "real", "dinar", "rand", "sol", "krona", "peso")
COMPANY_SUFFIX = ("Systems", "Industries", "Labs", "Holdings", "Works", "Group", "Dynamics", "Partners")
UNI_FORMS = ("{} University", "{} Institute of Technology", "{} College", "University of {}")

QUESTION_KINDS: dict[str, int] = {
    "company_hq_country": 2, "founder_birth_year": 2, "founder_university": 2, "person_university_city": 2,
    "city_capital": 2, "founder_birth_country": 3, "birth_country_capital": 3, "ceo_university_city": 3,
    "hq_currency": 3,
}
"""Question kinds and how many articles their answer needs."""


def _name(rng: np.random.Generator, used: set[str], syllables: tuple[int, int] = (2, 3)) -> str:
    while True:
        n = int(rng.integers(syllables[0], syllables[1] + 1))
        parts = [_ONSETS[int(rng.integers(len(_ONSETS)))] + _VOWELS[int(rng.integers(len(_VOWELS)))] for _ in range(n)]
        word = ("".join(parts) + _CODAS[int(rng.integers(len(_CODAS)))]).capitalize()
        if word not in used and 4 <= len(word) <= 11:
            used.add(word)
            return word


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")


@lru_cache(maxsize=4)
def build_world(seed: int = 0) -> dict[str, Any]:
    """Entities (by kind, as dicts with ``slug`` and ``title``) and their articles."""
    rng = np.random.default_rng(derive_seed("web-wiki", WIKI_VERSION, seed))
    used: set[str] = set()
    E: dict[str, list[dict[str, Any]]] = {k: [] for k in N}
    for i in range(N["country"]):
        name = _name(rng, used) + ("ia" if i % 3 == 0 else "")
        E["country"].append({"title": name, "currency": f"{_name(rng, used, (1, 2)).lower()} {CURRENCIES[i % len(CURRENCIES)]}",
                             "population": int(rng.integers(2, 90)) * 1_000_000 + int(rng.integers(1000)) * 1000,
                             "founded": int(rng.integers(900, 1900))})
    for i in range(N["city"]):
        country = E["country"][i % N["country"]] if i < N["country"] else E["country"][int(rng.integers(N["country"]))]
        E["city"].append({"title": _name(rng, used), "country": country["title"],
                          "population": int(rng.integers(20, 3000)) * 1000 + int(rng.integers(1000)),
                          "founded": int(rng.integers(800, 1950))})
    for i, country in enumerate(E["country"]):
        country["capital"] = E["city"][i]["title"]  # the first city of each country is its capital
    for _ in range(N["university"]):
        city = E["city"][int(rng.integers(N["city"]))]
        form = UNI_FORMS[int(rng.integers(len(UNI_FORMS)))]
        E["university"].append({"title": form.format(_name(rng, used)), "city": city["title"],
                                "founded": int(rng.integers(1100, 1990))})
    firsts = [_name(rng, used, (2, 2)) for _ in range(40)]
    for _ in range(N["person"]):
        while True:
            title = f"{firsts[int(rng.integers(len(firsts)))]} {_name(rng, used)}"
            if title not in used:
                used.add(title)
                break
        E["person"].append({"title": title, "born_in": E["city"][int(rng.integers(N["city"]))]["title"],
                            "birth_year": int(rng.integers(1900, 1995)),
                            "occupation": OCCUPATIONS[int(rng.integers(len(OCCUPATIONS)))],
                            "university": E["university"][int(rng.integers(N["university"]))]["title"]})
    people = rng.permutation(N["person"])
    for i in range(N["company"]):
        founder, ceo = E["person"][int(people[2 * i])], E["person"][int(people[2 * i + 1])]
        E["company"].append({"title": f"{_name(rng, used)} {COMPANY_SUFFIX[int(rng.integers(len(COMPANY_SUFFIX)))]}",
                             "founder": founder["title"], "ceo": ceo["title"],
                             "hq": E["city"][int(rng.integers(N["city"]))]["title"],
                             "industry": INDUSTRIES[int(rng.integers(len(INDUSTRIES)))],
                             "founded": max(founder["birth_year"] + 20, int(rng.integers(1920, 2020)))})
    for kind in E:
        for e in E[kind]:
            e["slug"], e["kind"] = _slug(e["title"]), kind
    by_title = {e["title"]: e for k in E for e in E[k]}
    articles = _articles(E, by_title)
    texts = {a["slug"]: _plain(" ".join([v for _, v in a["infobox"]] + [p for _, ps in a["body"] for p in ps]))
             for a in articles}
    return {"entities": E, "by_title": by_title, "articles": articles, "texts": texts}


def _plain(markup: str) -> str:
    return re.sub(r"\[\[[^|\]]+\|([^\]]+)\]\]", r"\1", markup)


def _a(word: str) -> str:
    return ("an " if word[0] in "aeiou" else "a ") + word


def _L(title: str) -> str:
    return f"[[{_slug(title)}|{title}]]"


def _articles(E: dict[str, list[dict[str, Any]]], by_title: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    founded_by: dict[str, list[str]] = {}
    led_by: dict[str, list[str]] = {}
    for c in E["company"]:
        founded_by.setdefault(c["founder"], []).append(c["title"])
        led_by.setdefault(c["ceo"], []).append(c["title"])
    born_in: dict[str, list[str]] = {}
    alumni: dict[str, list[str]] = {}
    for p in E["person"]:
        born_in.setdefault(p["born_in"], []).append(p["title"])
        alumni.setdefault(p["university"], []).append(p["title"])
    cities_of: dict[str, list[str]] = {}
    for c in E["city"]:
        cities_of.setdefault(c["country"], []).append(c["title"])
    hq_in: dict[str, list[str]] = {}
    for c in E["company"]:
        hq_in.setdefault(c["hq"], []).append(c["title"])
    out = []

    def links(titles: list[str]) -> str:
        return ", ".join(_L(t) for t in titles) if titles else "none recorded"

    for c in E["country"]:
        out.append(_art(c, f"{c['title']} is a country with a population of {c['population']:,}. Its capital is "
                           f"{_L(c['capital'])} and its currency is the {c['currency']}.",
                        [("Capital", _L(c["capital"])), ("Currency", c["currency"]),
                         ("Population", f"{c['population']:,}"), ("Founded", str(c["founded"]))],
                        [("History", [f"{c['title']} was founded in {c['founded']}."]),
                         ("Cities", [f"Cities of {c['title']}: {links(cities_of.get(c['title'], []))}."])]))
    for c in E["city"]:
        out.append(_art(c, f"{c['title']} is a city in {_L(c['country'])}, founded in {c['founded']}, with "
                           f"{c['population']:,} inhabitants.",
                        [("Country", _L(c["country"])), ("Population", f"{c['population']:,}"),
                         ("Founded", str(c["founded"]))],
                        [("People", [f"People born in {c['title']}: {links(born_in.get(c['title'], []))}."]),
                         ("Economy", [f"Companies headquartered here: {links(hq_in.get(c['title'], []))}."])]))
    for u in E["university"]:
        out.append(_art(u, f"{u['title']} is a university in {_L(u['city'])}, founded in {u['founded']}.",
                        [("Location", _L(u["city"])), ("Founded", str(u["founded"]))],
                        [("Alumni", [f"Notable alumni: {links(alumni.get(u['title'], []))}."])]))
    for p in E["person"]:
        life = [f"{p['title']} studied at {_L(p['university'])}."]
        if founded_by.get(p["title"]):
            life.append(f"{p['title']} founded {links(founded_by[p['title']])}.")
        if led_by.get(p["title"]):
            life.append(f"{p['title']} is the chief executive of {links(led_by[p['title']])}.")
        out.append(_art(p, f"{p['title']} (born {p['birth_year']} in {_L(p['born_in'])}) is {_a(p['occupation'])}.",
                        [("Born", f"{p['birth_year']}, {_L(p['born_in'])}"), ("Occupation", p["occupation"]),
                         ("Education", _L(p["university"]))],
                        [("Life and career", life)]))
    for c in E["company"]:
        out.append(_art(c, f"{c['title']} is {_a(c['industry'])} company founded in {c['founded']} by "
                           f"{_L(c['founder'])}. It is headquartered in {_L(c['hq'])}.",
                        [("Industry", c["industry"]), ("Founded", str(c["founded"])), ("Founder", _L(c["founder"])),
                         ("Headquarters", _L(c["hq"])), ("Chief executive", _L(c["ceo"]))],
                        [("Leadership", [f"The company is led by {_L(c['ceo'])}."])]))
    return out


def _art(e: dict[str, Any], lead: str, infobox: list[tuple[str, str]], sections: list[tuple[str, list[str]]]) -> dict[str, Any]:
    summary = re.sub(r"\[\[[^|\]]+\|([^\]]+)\]\]", r"\1", lead)
    return {"slug": e["slug"], "title": e["title"], "kind": e["kind"], "summary": summary, "infobox": infobox,
            "body": [("", [lead])] + sections}


def make_question(world: dict[str, Any], kind: str, rng: np.random.Generator) -> dict[str, Any] | None:
    """A question of ``kind`` (see :data:`QUESTION_KINDS`): text, answer and the article path."""
    E, T = world["entities"], world["by_title"]

    def pick(k: str) -> dict[str, Any]:
        return E[k][int(rng.integers(len(E[k])))]

    c, p = pick("company"), pick("person")
    founder, ceo = T[c["founder"]], T[c["ceo"]]
    table: dict[str, tuple[str, str, list[dict[str, Any]]]] = {
        "company_hq_country": (f"In which country is {c['title']} headquartered?",
                               T[c["hq"]]["country"], [c, T[c["hq"]]]),
        "founder_birth_year": (f"In what year was the founder of {c['title']} born?",
                               str(founder["birth_year"]), [c, founder]),
        "founder_university": (f"Which university did the founder of {c['title']} attend?",
                               founder["university"], [c, founder]),
        "person_university_city": (f"In which city is the university that {p['title']} attended?",
                                   T[p["university"]]["city"], [p, T[p["university"]]]),
        "city_capital": (f"What is the capital of the country in which the city of {p['born_in']} lies?",
                         T[T[p["born_in"]]["country"]]["capital"], [T[p["born_in"]], T[T[p["born_in"]]["country"]]]),
        "founder_birth_country": (f"In which country was the founder of {c['title']} born?",
                                  T[founder["born_in"]]["country"], [c, founder, T[founder["born_in"]]]),
        "birth_country_capital": (f"What is the capital of the country where {p['title']} was born?",
                                  T[T[p["born_in"]]["country"]]["capital"],
                                  [p, T[p["born_in"]], T[T[p["born_in"]]["country"]]]),
        "ceo_university_city": (f"In which city is the university attended by the chief executive of {c['title']}?",
                                T[ceo["university"]]["city"], [c, ceo, T[ceo["university"]]]),
        "hq_currency": (f"What is the currency of the country where {c['title']} has its headquarters?",
                        T[T[c["hq"]]["country"]]["currency"], [c, T[c["hq"]], T[T[c["hq"]]["country"]]]),
    }
    question, answer, path = table[kind]
    if len({e["slug"] for e in path}) != len(path):
        return None  # a degenerate chain (e.g. the city is the capital itself)
    if any(re.search(rf"\b{re.escape(answer)}\b", world["texts"][e["slug"]]) for e in path[:-1]):
        return None  # a shortcut: the answer is already told before the last article
    return {"question": question, "answer": answer, "path": [e["slug"] for e in path],
            "titles": [e["title"] for e in path], "kind": kind}


_SCHEMA = """
CREATE TABLE articles (slug TEXT PRIMARY KEY, title TEXT, kind TEXT, summary TEXT, infobox TEXT, body TEXT);
CREATE VIRTUAL TABLE articles_fts USING fts5(slug UNINDEXED, title, text, tokenize = 'porter unicode61');
"""


def wiki_db(seed: int = 0, directory: Path | str | None = None) -> Path:
    """The path of encyclopedia ``seed``'s SQLite file, built on first use (atomically)."""
    folder = Path(directory) if directory else cache_dir()
    path = folder / f"wiki-v{WIKI_VERSION}-{seed}.sqlite"
    if path.exists():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
    os.close(fd)
    try:
        con = sqlite3.connect(tmp)
        con.executescript(_SCHEMA)
        for a in build_world(seed)["articles"]:
            con.execute("INSERT INTO articles VALUES (?,?,?,?,?,?)",
                        (a["slug"], a["title"], a["kind"], a["summary"], json.dumps(a["infobox"]),
                         json.dumps(a["body"])))
            text = " ".join(p for _, ps in a["body"] for p in ps)
            text = re.sub(r"\[\[[^|\]]+\|([^\]]+)\]\]", r"\1", text)
            con.execute("INSERT INTO articles_fts VALUES (?,?,?)", (a["slug"], a["title"], text))
        con.commit()
        con.close()
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path
