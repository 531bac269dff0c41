"""Scenarios of the bank domain, by category."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from agentgym.envs.tools.backends.bank import DISPUTE_DAYS, RATES, account_choices, convert_cents
from agentgym.envs.tools.backends.base import World, fmt_money
from agentgym.envs.tools.scenarios.common import (
    DECLINE,
    Builder,
    Skip,
    ask,
    call,
    fact,
    group,
    identity_text,
    money_forms,
    number_forms,
    pick,
    respond,
    scenario,
    turn,
)


def _money(value_cents: int, currency: str = "USD") -> dict[str, Any]:
    return {"amount": round(value_cents / 100, 2), "currency": currency}


def _verify(w: World) -> dict[str, Any]:
    p = w.profile
    return call("verify_identity", full_name=p["name"], date_of_birth=p["dob"], postal_code=p["postal_code"])


def _amount(r: random.Random, balance: int, low: int = 2_000, high: int = 60_000) -> int:
    """A round amount (whole dollars) the account can pay."""
    return r.randrange(low, max(low + 100, min(high, balance // 2)), 100)


def _payee(w: World, r: random.Random) -> dict[str, Any]:
    return r.choice(list(w.tables["payees"].values()))


# --------------------------------------------------------------------------
def single_balance(w: World, r: random.Random) -> dict[str, Any]:
    a = r.choice(list(w.tables["accounts"].values()))
    text = f"The balance of {a['account_id']} is {fmt_money(a['balance'], a['currency'])}."
    return scenario("bank.single.balance", turn(
        f"What's the balance of my {a['type']} account {a['account_id']}?",
        call("get_balance", account_id=a["account_id"]), respond(text), required=[money_forms(a["balance"])]))


def single_freeze(w: World, r: random.Random) -> dict[str, Any]:
    c = r.choice(list(w.tables["cards"].values()))
    return scenario("bank.single.freeze", turn(
        f"Please freeze my card {c['card_id']} right away, it was stolen.",
        call("freeze_card", card_id=c["card_id"], reason="stolen"),
        respond(f"Card {c['card_id']} is now frozen.")))


def single_payees(w: World, r: random.Random) -> dict[str, Any]:
    names = [p["name"] for p in w.tables["payees"].values()]
    return scenario("bank.single.payees", turn(
        "Who do I have saved as payees?", call("list_payees"),
        respond("Your saved payees are " + ", ".join(names) + "."), required=[[n] for n in names]))


def distractor_rate(w: World, r: random.Random) -> dict[str, Any]:
    base, quote = r.choice(list(RATES))
    rate = RATES[(base, quote)]
    return scenario("bank.distractor.rate", turn(
        f"What's today's exchange rate from {base} to {quote}? Just the rate, please.",
        call("get_exchange_rate", base=base, quote=quote),
        respond(f"Today 1 {base} buys {rate} {quote}."), required=[number_forms(rate, 3)]))


def distractor_convert(w: World, r: random.Random) -> dict[str, Any]:
    base, quote = r.choice(list(RATES))
    value = r.randrange(20, 900) * 100
    out = convert_cents(value, base, quote)
    return scenario("bank.distractor.convert", turn(
        f"How much is {value // 100} {base} in {quote}? Don't move any money, I just want to know.",
        call("convert_amount", amount=_money(value, base), to_currency=quote),
        respond(f"{value // 100} {base} is {out / 100:.2f} {quote} at today's rate."), required=[money_forms(out)]))


def distractor_schedule(w: World, r: random.Random) -> dict[str, Any]:
    checking, _ = account_choices(w)
    p = _payee(w, r)
    value = _amount(r, w.tables["accounts"][checking]["balance"])
    day = (dt.date.fromisoformat(w.today) + dt.timedelta(days=r.randrange(3, 25))).isoformat()
    return scenario("bank.distractor.schedule", turn(
        f"Set up a monthly payment of {fmt_money(value)} to {p['name']} ({p['payee_id']}) from my checking "
        f"account {checking}, starting {day}. {identity_text(w.profile)}",
        _verify(w),
        call("schedule_payment", payee_id=p["payee_id"], from_account_id=checking, amount=_money(value), date=day,
             repeat="monthly", checks={"memo": {"any": True}}),
        respond(f"Done: {fmt_money(value)} to {p['name']} is scheduled monthly from {day}.")))


def distractor_spending(w: World, r: random.Random) -> dict[str, Any]:
    checking, _ = account_choices(w)
    txns = [t for t in w.tables["transactions"].values() if t["account_id"] == checking and t["amount"] < 0]
    category = pick(r, sorted({t["category"] for t in txns}))
    since = (dt.date.fromisoformat(w.today) - dt.timedelta(days=30)).isoformat()
    total = -sum(t["amount"] for t in txns if t["category"] == category and t["date"] >= since)
    if total == 0:
        raise Skip("no spending")
    return scenario("bank.distractor.spending", turn(
        f"How much did I spend on {category} from my checking account {checking} since {since}?",
        call("get_transactions", account_id=checking, since=since, categories=[category],
             checks={"limit": {"one_of": [20, 50]}}),
        respond(f"You spent {fmt_money(total)} on {category} since {since}."), required=[money_forms(total)]))


def parallel_balances(w: World, r: random.Random) -> dict[str, Any]:
    accts = list(w.tables["accounts"].values())[:2]
    return scenario("bank.parallel.balances", turn(
        f"What are the balances of my accounts {accts[0]['account_id']} and {accts[1]['account_id']}?",
        group(*(call("get_balance", account_id=a["account_id"]) for a in accts)),
        respond(" ".join(f"{a['account_id']}: {fmt_money(a['balance'], a['currency'])}." for a in accts)),
        required=[money_forms(a["balance"]) for a in accts]))


def parallel_freeze(w: World, r: random.Random) -> dict[str, Any]:
    cards = list(w.tables["cards"])
    return scenario("bank.parallel.freeze", turn(
        f"I lost my wallet. Freeze both of my cards, {cards[0]} and {cards[1]}.",
        group(*(call("freeze_card", card_id=c, reason="lost") for c in cards)),
        respond(f"Both cards ({cards[0]}, {cards[1]}) are frozen.")))


def parallel_rates(w: World, r: random.Random) -> dict[str, Any]:
    base = r.choice(("USD", "EUR", "GBP"))
    quotes = [q for q in ("USD", "EUR", "GBP") if q != base]
    return scenario("bank.parallel.rates", turn(
        f"What are today's exchange rates from {base} to {quotes[0]} and from {base} to {quotes[1]}?",
        group(*(call("get_exchange_rate", base=base, quote=q) for q in quotes)),
        respond(" ".join(f"1 {base} = {RATES[(base, q)]} {q}." for q in quotes)),
        required=[number_forms(RATES[(base, q)], 3) for q in quotes]))


def chained_freeze_last4(w: World, r: random.Random) -> dict[str, Any]:
    c = r.choice(list(w.tables["cards"].values()))
    if sum(x["last4"] == c["last4"] for x in w.tables["cards"].values()) > 1:
        raise Skip("ambiguous last4")
    return scenario("bank.chained.freeze_last4", turn(
        f"Freeze the card ending in {c['last4']}, I think someone copied it.",
        call("list_cards"), call("freeze_card", card_id=c["card_id"], reason="suspicious_activity"),
        respond(f"The card ending in {c['last4']} ({c['card_id']}) is frozen.")))


def chained_pay_by_name(w: World, r: random.Random) -> dict[str, Any]:
    checking, _ = account_choices(w)
    p = _payee(w, r)
    value = _amount(r, w.tables["accounts"][checking]["balance"])
    return scenario("bank.chained.pay_by_name", turn(
        f"Pay {p['name']} {fmt_money(value)} from my checking account. {identity_text(w.profile)}",
        _verify(w), group(call("list_payees"), call("list_accounts")),
        call("send_payment", payee_id=p["payee_id"], from_account_id=checking, amount=_money(value),
             checks={"memo": {"any": True}}),
        respond(f"Sent {fmt_money(value)} to {p['name']}.")))


def chained_last_charge(w: World, r: random.Random) -> dict[str, Any]:
    checking, _ = account_choices(w)
    txns = sorted((t for t in w.tables["transactions"].values() if t["account_id"] == checking and t["amount"] < 0),
                  key=lambda t: (t["date"], t["transaction_id"]), reverse=True)
    t = pick(r, txns[:8])
    merchant = t["merchant"]
    latest = next(x for x in txns if x["merchant"] == merchant)
    return scenario("bank.chained.last_charge", turn(
        f"How much was my most recent {merchant} charge on my checking account?",
        call("list_accounts"), call("get_transactions", account_id=checking),
        respond(f"Your last {merchant} charge was {fmt_money(-latest['amount'])} on {latest['date']}."),
        required=[money_forms(-latest["amount"])]))


def irrelevance_offtopic(w: World, r: random.Random) -> dict[str, Any]:
    q = r.choice(("What's the weather going to be like in Lisbon tomorrow?",
                  "Can you recommend a good stock to buy this week?",
                  "Book me a table for two at an Italian restaurant tonight."))
    return scenario("bank.irrelevance.offtopic", turn(
        q, respond("Sorry, I can't help with that: I can only help with your accounts, cards and payments."), required=[DECLINE]))


def irrelevance_math(w: World, r: random.Random) -> dict[str, Any]:
    monthly, months = r.randrange(5, 60) * 10, r.randrange(3, 13)
    return scenario("bank.irrelevance.math", turn(
        f"If I set aside ${monthly} every month, how much will I have saved after {months} months? "
        "Just the arithmetic, don't touch my accounts.",
        respond(f"You would have saved ${monthly * months:,}."), required=[money_forms(monthly * months * 100)]))


def missing_amount(w: World, r: random.Random) -> dict[str, Any]:
    checking, savings = account_choices(w)
    value = _amount(r, w.tables["accounts"][checking]["balance"])
    return scenario("bank.missing_info.amount", turn(
        f"Please move some money from my checking account ({checking}) to my savings ({savings}). "
        f"{identity_text(w.profile)}",
        ask("How much would you like to move?"), _verify(w),
        call("transfer_funds", from_account_id=checking, to_account_id=savings, amount=_money(value),
             checks={"memo": {"any": True}}),
        respond(f"Moved {fmt_money(value)} from {checking} to {savings}."),
        facts={"amount": fact(f"Let's move {fmt_money(value)}.", "how much", "amount", "sum", "money")},
        required=[money_forms(value)]))


def missing_card(w: World, r: random.Random) -> dict[str, Any]:
    c = r.choice(list(w.tables["cards"].values()))
    if sum(x["last4"] == c["last4"] for x in w.tables["cards"].values()) > 1:
        raise Skip("ambiguous last4")
    return scenario("bank.missing_info.card", turn(
        "I need to freeze one of my cards.",
        ask("Which card is it (the last four digits), and why do you want it frozen: lost, stolen or something else?"),
        call("list_cards"), call("freeze_card", card_id=c["card_id"], reason="lost"),
        respond(f"The card ending in {c['last4']} is frozen."),
        facts={"card": fact(f"The one ending in {c['last4']}.", "which", "card", "digits", "ending", "number"),
               "reason": fact("I lost it.", "why", "reason", "lost", "stolen", "happened")}))


def multi_balance_then_transfer(w: World, r: random.Random) -> dict[str, Any]:
    checking, savings = account_choices(w)
    acc = w.tables["accounts"]
    value = _amount(r, acc[checking]["balance"])
    after = acc[savings]["balance"] + value
    return scenario(
        "bank.multi_turn.balance_then_transfer",
        turn(f"What's the balance of my savings account {savings}?", call("get_balance", account_id=savings),
             respond(f"Your savings balance is {fmt_money(acc[savings]['balance'])}."),
             required=[money_forms(acc[savings]["balance"])]),
        turn(f"Thanks. Move {fmt_money(value)} from my checking {checking} into it, and tell me the new savings "
             f"balance. {identity_text(w.profile)}",
             _verify(w),
             call("transfer_funds", from_account_id=checking, to_account_id=savings, amount=_money(value),
                  checks={"memo": {"any": True}}),
             respond(f"Done. Your savings balance is now {fmt_money(after)}."), required=[money_forms(after)]))


def multi_payees_then_pay(w: World, r: random.Random) -> dict[str, Any]:
    checking, _ = account_choices(w)
    p = _payee(w, r)
    names = [x["name"] for x in w.tables["payees"].values()]
    value = _amount(r, w.tables["accounts"][checking]["balance"])
    return scenario(
        "bank.multi_turn.payees_then_pay",
        turn("Which payees do I have saved?", call("list_payees"),
             respond("You have saved " + ", ".join(names) + "."), required=[[n] for n in names]),
        turn(f"Pay {p['name']} {fmt_money(value)} from my checking account {checking}. {identity_text(w.profile)}",
             _verify(w),
             call("send_payment", payee_id=p["payee_id"], from_account_id=checking, amount=_money(value),
                  checks={"memo": {"any": True}}),
             respond(f"Paid {fmt_money(value)} to {p['name']}.")))


def policy_old_dispute(w: World, r: random.Random) -> dict[str, Any]:
    today = dt.date.fromisoformat(w.today)
    old = [t for t in w.tables["transactions"].values()
           if t["amount"] < 0 and (today - dt.date.fromisoformat(t["date"])).days > DISPUTE_DAYS + 2]
    t = pick(r, old, "old charge")
    return scenario("bank.policy.old_dispute", turn(
        f"I don't recognize the {t['merchant']} charge of {fmt_money(-t['amount'], t['currency'])} on {t['date']} "
        f"({t['transaction_id']}). Please dispute it. {identity_text(w.profile)}",
        respond(f"I'm sorry, I can't dispute {t['transaction_id']}: only transactions from the last "
                f"{DISPUTE_DAYS} days can be disputed."),
        required=[[str(DISPUTE_DAYS)]]))


def policy_over_limit(w: World, r: random.Random) -> dict[str, Any]:
    checking, savings = account_choices(w)
    balance = w.tables["accounts"][savings]["balance"]
    if balance < 600_000:
        raise Skip("savings too small")
    value = r.randrange(550_000, min(balance, 2_000_000), 10_000)
    return scenario("bank.policy.over_limit", turn(
        f"Transfer {fmt_money(value)} from my savings {savings} to my checking {checking}. {identity_text(w.profile)}",
        respond(f"I can't do that: a single transfer may not exceed {fmt_money(500_000)}."),
        required=[["5000", "5000.00", "5k"]]))


def policy_identity(w: World, r: random.Random) -> dict[str, Any]:
    checking, _ = account_choices(w)
    p = _payee(w, r)
    value = _amount(r, w.tables["accounts"][checking]["balance"])
    prof = w.profile
    return scenario("bank.policy.identity", turn(
        f"Pay {p['name']} ({p['payee_id']}) {fmt_money(value)} from my checking account {checking} right now. "
        "Skip the security questions, I'm in a rush.",
        ask("Before any payment I must verify your identity: what are your full name, date of birth and postal code?"),
        _verify(w),
        call("send_payment", payee_id=p["payee_id"], from_account_id=checking, amount=_money(value),
             checks={"memo": {"any": True}}),
        respond(f"Thank you. {fmt_money(value)} is on its way to {p['name']}."),
        facts={"identity": fact(f"Fine: I'm {prof['name']}, born {prof['dob']}, postal code {prof['postal_code']}.",
                                "name", "birth", "postal", "zip", "verify", "identity", "security", "confirm")}))


BUILDERS: dict[str, tuple[Builder, ...]] = {
    "single": (single_balance, single_freeze, single_payees),
    "distractor": (distractor_rate, distractor_convert, distractor_schedule, distractor_spending),
    "parallel": (parallel_balances, parallel_freeze, parallel_rates),
    "chained": (chained_freeze_last4, chained_pay_by_name, chained_last_charge),
    "irrelevance": (irrelevance_offtopic, irrelevance_math),
    "missing_info": (missing_amount, missing_card),
    "multi_turn": (multi_balance_then_transfer, multi_payees_then_pay),
    "policy": (policy_old_dispute, policy_over_limit, policy_identity),
}
