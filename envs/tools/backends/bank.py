"""Banking and payments: accounts, cards, payees, transactions, transfers,
scheduled payments, currency conversion, disputes (15 tools).

Money is ``{"amount": 12.5, "currency": "USD"}`` in arguments and results and
integer cents in the store. Identity verification lives in the ``session``
table, which the state comparison ignores (it is not the customer's data) but
the policy reads.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from agentgym.envs.tools.backends.base import (
    Api,
    Backend,
    World,
    api,
    cents,
    money_out,
    person,
    today_for,
)
from agentgym.envs.tools.schema import CURRENCIES, array, date, integer, money, obj, string
from agentgym.errors import InvalidActionError

__all__ = ["Bank", "DISPUTE_DAYS", "MAX_MOVE_CENTS", "RATES", "account_choices", "convert_cents"]

ACCOUNT = r"ACC-\d{4}"
CARD = r"CARD-\d{4}"
PAYEE = r"PAY-\d{2,4}"
TXN = r"TXN-\d{4,5}"
CATEGORIES = ("groceries", "dining", "utilities", "travel", "shopping", "transfer", "payment", "income")
DISPUTE_REASONS = ("not_recognized", "duplicate", "wrong_amount", "not_received")
FREEZE_REASONS = ("lost", "stolen", "suspicious_activity", "travel")
# Units of quote currency per unit of base currency (fixed: the back-end is deterministic).
RATES: dict[tuple[str, str], float] = {
    ("USD", "EUR"): 0.92, ("USD", "GBP"): 0.79, ("EUR", "GBP"): 0.86,
    ("EUR", "USD"): 1.087, ("GBP", "USD"): 1.266, ("GBP", "EUR"): 1.163,
}
MAX_MOVE_CENTS = 500_000
DISPUTE_DAYS = 60
NEEDS_IDENTITY = ("transfer_funds", "send_payment", "schedule_payment", "add_payee", "dispute_transaction")

MERCHANTS = {
    "groceries": ("FreshMart", "Green Basket", "Corner Grocer"),
    "dining": ("Luna Cafe", "Noodle House", "Harbor Grill"),
    "utilities": ("City Water", "Bright Energy"),
    "travel": ("SkyWays Air", "MetroRail", "Cityline Taxi"),
    "shopping": ("BookNook", "HomeGoods Plus", "TechCorner"),
}
PAYEES = ("Acme Power", "City Water Utility", "Greenfield Telecom", "Lakeside Apartments", "Dr. Patel Dental",
          "Summit Insurance", "Riverside Gym")


class Bank(Backend):
    domain = "bank"
    title = "the customer-service assistant of Northwind Bank"
    policy = (
        "Verify the customer's identity with verify_identity (full name, date of birth, postal code, all from "
        "the customer) before transfer_funds, send_payment, schedule_payment, add_payee or dispute_transaction.",
        f"Only transactions from the last {DISPUTE_DAYS} days can be disputed.",
        "A single transfer or payment may not exceed 5,000.00 in its currency.",
        "Transfers move money between the customer's own accounts; payments go to saved payees.",
    )
    free_fields = {"transactions": frozenset({"memo"}), "scheduled": frozenset({"memo"}),
                   "disputes": frozenset({"note"})}

    # ------------------------------------------------------------------
    # World
    # ------------------------------------------------------------------
    @staticmethod
    def build_world(seed: int) -> World:
        return _world(seed)

    def context(self) -> str:
        p = self.world.profile
        return f"The customer is {p['name']} (customer id {p['customer_id']}). Today is {self.world.today}."

    def violation(self, api: Api, args: Mapping[str, Any]) -> str | None:
        name = api.name
        if name in NEEDS_IDENTITY and not self.store.get("session", "identity")["verified"]:
            return f"{name} before the customer's identity was verified"
        if name in ("transfer_funds", "send_payment", "schedule_payment") and cents(args["amount"]["amount"]) > MAX_MOVE_CENTS:
            return f"{name} of more than 5,000.00"
        if name == "dispute_transaction":
            txn = self.store.get("transactions", args["transaction_id"])
            if txn is not None and (self.today - dt.date.fromisoformat(txn["date"])).days > DISPUTE_DAYS:
                return f"dispute of a transaction older than {DISPUTE_DAYS} days"
        return None

    # ------------------------------------------------------------------
    # Identity, accounts
    # ------------------------------------------------------------------
    @api("Verify the customer's identity; required before moving money or disputing.",
         full_name=string("The customer's full name."),
         date_of_birth=date("Date of birth"),
         postal_code=string("Postal code of the customer's address.", max_length=10))
    def verify_identity(self, full_name: str, date_of_birth: str, postal_code: str) -> Any:
        p = self.world.profile
        ok = (" ".join(full_name.lower().split()) == p["name"].lower() and date_of_birth == p["dob"]
              and postal_code.replace(" ", "").upper() == p["postal_code"].replace(" ", "").upper())
        if not ok:
            raise InvalidActionError("Identity not verified: the details do not match our records.")
        self.store.put("session", "identity", {"verified": True})
        return {"verified": True, "customer_id": p["customer_id"]}

    @api("List the customer's accounts (ids, types, currencies; no balances).")
    def list_accounts(self) -> Any:
        return [{k: a[k] for k in ("account_id", "type", "nickname", "currency")} for a in self.store.rows("accounts")]

    @api("Current balance of one account.", account_id=string("Account id, e.g. ACC-1234.", pattern=ACCOUNT))
    def get_balance(self, account_id: str) -> Any:
        a = self._need("accounts", account_id, "account")
        return {"account_id": account_id, "balance": money_out(a["balance"], a["currency"])}

    @api("Transactions of one account, newest first, optionally filtered.",
         optional=("since", "until", "categories", "limit"),
         account_id=string("Account id.", pattern=ACCOUNT),
         since=date("Earliest date, inclusive"),
         until=date("Latest date, inclusive"),
         categories=array(string(enum=CATEGORIES), "Only these categories.", min_items=1, max_items=8, unique=True),
         limit=integer("Most transactions to return.", minimum=1, maximum=50, default=20))
    def get_transactions(self, account_id: str, since: str | None = None, until: str | None = None,
                         categories: list | None = None, limit: int = 20) -> Any:
        self._need("accounts", account_id, "account")
        rows = [t for t in self.store.rows("transactions") if t["account_id"] == account_id
                and (since is None or t["date"] >= since) and (until is None or t["date"] <= until)
                and (categories is None or t["category"] in categories)]
        rows.sort(key=lambda t: (t["date"], t["transaction_id"]), reverse=True)
        return [{"transaction_id": t["transaction_id"], "date": t["date"], "merchant": t["merchant"],
                 "category": t["category"], "amount": money_out(t["amount"], t["currency"])} for t in rows[:limit]]

    # ------------------------------------------------------------------
    # Moving money
    # ------------------------------------------------------------------
    @api("Move money between two of the customer's own accounts (same currency).", mutates=True,
         optional=("memo",),
         from_account_id=string("Account to take the money from.", pattern=ACCOUNT),
         to_account_id=string("Account to put the money in.", pattern=ACCOUNT),
         amount=money("Amount to move, in the accounts' currency."),
         memo=string("A note for the statement.", max_length=140))
    def transfer_funds(self, from_account_id: str, to_account_id: str, amount: dict, memo: str | None = None) -> Any:
        src = self._need("accounts", from_account_id, "account")
        dst = self._need("accounts", to_account_id, "account")
        if from_account_id == to_account_id:
            raise InvalidActionError("The two accounts are the same; pick two different accounts.")
        value = self._debit_check(src, amount)
        if dst["currency"] != src["currency"]:
            raise InvalidActionError(
                f"{to_account_id} holds {dst['currency']} and {from_account_id} {src['currency']}: "
                "transfers between currencies are not supported.")
        self.store.put("accounts", from_account_id, {**src, "balance": src["balance"] - value})
        self.store.put("accounts", to_account_id, {**dst, "balance": dst["balance"] + value})
        out = self._add_txn(from_account_id, "Transfer to " + to_account_id, "transfer", -value, src["currency"], memo)
        self._add_txn(to_account_id, "Transfer from " + from_account_id, "transfer", value, src["currency"], memo)
        return {"status": "completed", "transaction_id": out, "amount": money_out(value, src["currency"])}

    @api("List the saved payees (people and companies the customer pays).")
    def list_payees(self) -> Any:
        return [{"payee_id": p["payee_id"], "name": p["name"]} for p in self.store.rows("payees")]

    @api("Save a new payee.", mutates=True,
         name=string("Name of the person or company."),
         account_number=string("Their bank account number (8-12 digits).", pattern=r"\d{8,12}"))
    def add_payee(self, name: str, account_number: str) -> Any:
        if any(p["account_number"] == account_number for p in self.store.rows("payees")):
            raise InvalidActionError(f"A payee with account number {account_number} is already saved.")
        pid = f"PAY-{self._next('payee')}"
        self.store.put("payees", pid, {"payee_id": pid, "name": name, "account_number": account_number})
        return {"payee_id": pid, "name": name}

    @api("Pay a saved payee now, from one of the customer's accounts.", mutates=True, optional=("memo",),
         payee_id=string("Payee id, e.g. PAY-12.", pattern=PAYEE),
         from_account_id=string("Account to pay from.", pattern=ACCOUNT),
         amount=money("Amount to pay, in the account's currency."),
         memo=string("A note for the payee.", max_length=140))
    def send_payment(self, payee_id: str, from_account_id: str, amount: dict, memo: str | None = None) -> Any:
        payee = self._need("payees", payee_id, "payee")
        src = self._need("accounts", from_account_id, "account")
        value = self._debit_check(src, amount)
        self.store.put("accounts", from_account_id, {**src, "balance": src["balance"] - value})
        tid = self._add_txn(from_account_id, payee["name"], "payment", -value, src["currency"], memo)
        return {"status": "sent", "transaction_id": tid, "amount": money_out(value, src["currency"])}

    @api("Schedule a payment to a saved payee on a future date, once or repeating.", mutates=True,
         optional=("repeat", "memo"),
         payee_id=string("Payee id.", pattern=PAYEE),
         from_account_id=string("Account to pay from.", pattern=ACCOUNT),
         amount=money("Amount of each payment."),
         date=date("Date of the (first) payment, after today"),
         repeat=string("How often it repeats.", enum=("once", "weekly", "monthly"), default="once"),
         memo=string("A note for the payee.", max_length=140))
    def schedule_payment(self, payee_id: str, from_account_id: str, amount: dict, date: str,
                         repeat: str = "once", memo: str | None = None) -> Any:
        self._need("payees", payee_id, "payee")
        src = self._need("accounts", from_account_id, "account")
        if amount["currency"] != src["currency"]:
            raise InvalidActionError(f"{from_account_id} holds {src['currency']}; give the amount in {src['currency']}.")
        day = dt.date.fromisoformat(date)
        if not self.today < day <= self.today + dt.timedelta(days=365):
            raise InvalidActionError(f"The date must be after today ({self.world.today}) and within a year.")
        sid = f"SCH-{self._next('scheduled')}"
        self.store.put("scheduled", sid, {"schedule_id": sid, "payee_id": payee_id, "from_account_id": from_account_id,
                                          "amount": cents(amount["amount"]), "currency": amount["currency"],
                                          "date": date, "repeat": repeat, "memo": memo})
        return {"status": "scheduled", "schedule_id": sid, "date": date, "repeat": repeat}

    # ------------------------------------------------------------------
    # Cards
    # ------------------------------------------------------------------
    @api("List the customer's cards (id, last four digits, status).")
    def list_cards(self) -> Any:
        return [{k: c[k] for k in ("card_id", "last4", "kind", "account_id", "status")} for c in self.store.rows("cards")]

    @api("Freeze a card so that it cannot be used (reversible).", mutates=True,
         card_id=string("Card id, e.g. CARD-1234.", pattern=CARD),
         reason=string("Why.", enum=FREEZE_REASONS))
    def freeze_card(self, card_id: str, reason: str) -> Any:
        card = self._need("cards", card_id, "card")
        if card["status"] == "frozen":
            raise InvalidActionError(f"{card_id} is already frozen.")
        self.store.put("cards", card_id, {**card, "status": "frozen", "freeze_reason": reason})
        return {"card_id": card_id, "status": "frozen"}

    @api("Unfreeze a frozen card.", mutates=True, card_id=string("Card id.", pattern=CARD))
    def unfreeze_card(self, card_id: str) -> Any:
        card = self._need("cards", card_id, "card")
        if card["status"] != "frozen":
            raise InvalidActionError(f"{card_id} is not frozen.")
        self.store.put("cards", card_id, {**card, "status": "active", "freeze_reason": None})
        return {"card_id": card_id, "status": "active"}

    # ------------------------------------------------------------------
    # Currencies, disputes
    # ------------------------------------------------------------------
    @api("Today's exchange rate: units of `quote` per one unit of `base`.",
         base=string("Currency to convert from.", enum=CURRENCIES),
         quote=string("Currency to convert to.", enum=CURRENCIES))
    def get_exchange_rate(self, base: str, quote: str) -> Any:
        return {"base": base, "quote": quote, "rate": 1.0 if base == quote else RATES[(base, quote)]}

    @api("Convert an amount of money to another currency at today's rate (moves no money).",
         amount=money("The amount to convert."),
         to_currency=string("Currency to convert to.", enum=CURRENCIES))
    def convert_amount(self, amount: dict, to_currency: str) -> Any:
        return {"amount": money_out(convert_cents(cents(amount["amount"]), amount["currency"], to_currency), to_currency),
                "rate": 1.0 if amount["currency"] == to_currency else RATES[(amount["currency"], to_currency)]}

    @api("Open a dispute about a card or account transaction.", mutates=True, optional=("details",),
         transaction_id=string("Transaction id, e.g. TXN-1234.", pattern=TXN),
         reason=string("What is wrong.", enum=DISPUTE_REASONS),
         details=obj({"expected_amount": money("What the charge should have been (for wrong_amount)."),
                      "note": string("Anything else the bank should know.", max_length=500)},
                     description="Optional details.", min_properties=1))
    def dispute_transaction(self, transaction_id: str, reason: str, details: dict | None = None) -> Any:
        txn = self._need("transactions", transaction_id, "transaction")
        if txn["amount"] >= 0:
            raise InvalidActionError(f"{transaction_id} is a credit, not a charge; only charges can be disputed.")
        if any(d["transaction_id"] == transaction_id for d in self.store.rows("disputes")):
            raise InvalidActionError(f"{transaction_id} is already disputed.")
        did = f"DSP-{self._next('dispute')}"
        details = details or {}
        expected = details.get("expected_amount")
        self.store.put("disputes", did, {
            "dispute_id": did, "transaction_id": transaction_id, "reason": reason,
            "expected_amount": None if expected is None else [cents(expected["amount"]), expected["currency"]],
            "note": details.get("note"), "status": "open"})
        return {"dispute_id": did, "status": "open"}

    # ------------------------------------------------------------------
    def _debit_check(self, account: dict, amount: dict) -> int:
        if amount["currency"] != account["currency"]:
            raise InvalidActionError(
                f"{account['account_id']} holds {account['currency']}; give the amount in {account['currency']}.")
        value = cents(amount["amount"])
        if value > account["balance"]:
            raise InvalidActionError(f"Insufficient funds in {account['account_id']}.")
        return value

    def _next(self, counter: str) -> int:
        row = self.store.get("session", "counters")
        n = row[counter]
        self.store.put("session", "counters", {**row, counter: n + 1})
        return n

    def _add_txn(self, account_id: str, merchant: str, category: str, value: int, currency: str,
                 memo: str | None) -> str:
        tid = f"TXN-{self._next('txn')}"
        self.store.put("transactions", tid, {"transaction_id": tid, "account_id": account_id, "date": self.world.today,
                                             "merchant": merchant, "category": category, "amount": value,
                                             "currency": currency, "memo": memo})
        return tid


def convert_cents(value: int, base: str, quote: str) -> int:
    return value if base == quote else int(round(value * RATES[(base, quote)]))


@lru_cache(maxsize=2048)
def _world(seed: int) -> World:
    r = random.Random(seed)
    today = today_for(r)
    first, last = person(r, set())
    name = f"{first} {last}"
    dob = dt.date(r.randrange(1950, 2004), r.randrange(1, 13), r.randrange(1, 29)).isoformat()
    postal = f"{r.randrange(10000, 99999)}"
    numbers = r.sample(range(1000, 10000), 6)
    accounts = {}
    kinds = [("checking", "Everyday", "USD"), ("savings", "Rainy day", "USD")]
    if r.random() < 0.5:
        kinds.append(("savings", "Travel", r.choice(("EUR", "GBP"))))
    for (kind, nick, cur), n in zip(kinds, numbers, strict=False):
        aid = f"ACC-{n}"
        low, high = (150_000, 900_000) if kind == "checking" else (200_000, 2_500_000)
        accounts[aid] = {"account_id": aid, "type": kind, "nickname": nick, "currency": cur,
                         "balance": r.randrange(low, high)}
    ids = list(accounts)
    cards = {}
    for kind, n in zip(("debit", "credit"), numbers[4:], strict=True):
        cid = f"CARD-{n}"
        cards[cid] = {"card_id": cid, "last4": f"{r.randrange(10000):04d}", "kind": kind, "account_id": ids[0],
                      "status": "active", "freeze_reason": None}
    payees = {}
    for k, pname in enumerate(r.sample(PAYEES, 4)):
        pid = f"PAY-{10 + k * 7 + r.randrange(7)}"
        payees[pid] = {"payee_id": pid, "name": pname, "account_number": f"{r.randrange(10**9, 10**10)}"}
    txns = {}
    tid = 1000 + r.randrange(500)
    for _ in range(16):
        category = r.choice(tuple(MERCHANTS))
        account = ids[0] if r.random() < 0.8 else ids[1]
        day = today - dt.timedelta(days=r.randrange(1, 100))
        tid += 1 + r.randrange(9)
        txns[f"TXN-{tid}"] = {"transaction_id": f"TXN-{tid}", "account_id": account, "date": day.isoformat(),
                              "merchant": r.choice(MERCHANTS[category]), "category": category,
                              "amount": -r.randrange(500, 25_000), "currency": accounts[account]["currency"],
                              "memo": None}
    day = today - dt.timedelta(days=r.randrange(1, 20))
    tid += 1
    txns[f"TXN-{tid}"] = {"transaction_id": f"TXN-{tid}", "account_id": ids[0], "date": day.isoformat(),
                          "merchant": "Payroll", "category": "income", "amount": r.randrange(200_000, 500_000),
                          "currency": "USD", "memo": None}
    tables = {
        "accounts": accounts, "cards": cards, "payees": payees, "transactions": txns,
        "scheduled": {}, "disputes": {},
        "session": {"identity": {"verified": False},
                    "counters": {"txn": tid + 100, "payee": 90, "scheduled": 501, "dispute": 301}},
    }
    profile = {"name": name, "dob": dob, "postal_code": postal, "customer_id": f"C-{r.randrange(10000, 99999)}"}
    return World("bank", seed, today.isoformat(), tables, profile)


def account_choices(world: World) -> tuple[str, str]:
    """(checking id, the USD savings id)."""
    acc = world.tables["accounts"]
    checking = next(a for a, v in acc.items() if v["type"] == "checking")
    savings = next(a for a, v in acc.items() if v["type"] == "savings" and v["currency"] == "USD")
    return checking, savings

