"""Every judgement the auditor makes, one small documented rule at a time.

Modelled on L2BEAT's risk rosette and stages framework
(l2beat.com/scaling/risk, "Introducing Stages", 2023): each layer of a
decentralized-AI stack gets a petal rated good / warning / bad by one rule
whose docstring says what each colour means and why; red flags are rules that
return evidence; stages are cumulative requirements. ``cairn audit --explain``
prints these docstrings, so the explanation and the code cannot drift apart.

The rules judge only what the manifest states. They favour the hybrid
architecture cairn itself argues for: centralized compute is fine when it is
disclosed and its outputs can be checked; a claim the architecture contradicts
is not.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from fractions import Fraction
from math import floor

from cairn.audit.manifest import LAYERS, IdentityPaymentsLayer, Layer, StackManifest
from cairn.audit.report import Answer, Nakamoto, Petal, RedFlag, Report, Stage

__all__ = [
    "FLAG_RULES",
    "NAKAMOTO_THRESHOLDS",
    "NAKAMOTO_WHY",
    "PETAL_RULES",
    "STAGE_REQUIREMENTS",
    "audit",
]

WEEK_S = 7 * 24 * 3600  # L2BEAT's exit window: long enough for users to leave first


def audit(m: StackManifest, found: tuple[RedFlag, ...] = ()) -> Report:
    """Judge a stack manifest: rosette, answers, red flags, stage, Nakamoto coefficients.

    ``found``: red flags raised outside the manifest (a live audit's node that
    contradicts its chain); they count toward the stage like the rules' own.
    """
    flags = tuple(flag for rule in FLAG_RULES.values() for flag in rule(m)) + found
    return Report(
        name=m.name,
        rosette={layer: rule(m) for layer, rule in PETAL_RULES.items()},
        questions=tuple(Answer(q, rule(m)) for q, rule in QUESTIONS.items()),
        red_flags=flags,
        stage=stage(m, flags),
        nakamoto={layer: nakamoto(m, layer) for layer in LAYERS},
    )


# --- small helpers -----------------------------------------------------------


def _n(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _days(seconds: int) -> str:
    if seconds % 86400 == 0:
        return _n(seconds // 86400, "day")
    return _n(seconds // 3600, "hour") if seconds % 3600 == 0 else f"{seconds} s"


def _control(layer: Layer) -> str:
    c = layer.control
    who = {
        "admin": "one admin key",
        "multisig": f"a {c.threshold}-of-{c.signers} multisig",
        "governance": "a governance vote",
        "operators": "a majority of its operators",
        "nobody": "nobody (immutable)",
    }[c.by]
    if c.by == "nobody":
        return who
    return f"{who}, " + (f"after {_days(c.delay_s)}" if c.delay_s else "with no delay")


def _instant_admin(m: StackManifest, layers: tuple[str, ...] = LAYERS) -> list[str]:
    """Layers (of ``layers``) one key (or a multisig) can change with no delay at all."""
    return [
        name
        for name, layer in m.layers.items()
        if name in layers
        and layer.control.by in ("admin", "multisig")
        and layer.control.delay_s == 0
    ]


# What users cannot check for themselves, answer by answer: which model is served
# (governance), where their money settles (identity_payments) and who judges the
# answers (verification). Inference and storage are checked, not trusted: a receipt
# binds each answer to a model's CID, and a CID to its bytes.
_UNCHECKABLE = ("governance", "identity_payments", "verification")


_CHECKING = {"redundant_execution", "sampled_reexecution", "optimistic_challenge", "zk_proof"}


def _checks_outputs(m: StackManifest) -> bool:
    v = m.layers.verification
    methods = set(v.methods) - ({"sampled_reexecution"} if v.sampling_rate == 0 else set())
    return bool(methods & (_CHECKING | {"tee_attestation"}))


def _centralized_inference(m: StackManifest) -> bool:
    i = m.layers.inference
    return i.location != "client_device" and nakamoto(m, "inference").coefficient == 1


# --- Nakamoto coefficients -----------------------------------------------------

NAKAMOTO_THRESHOLDS: dict[str, Fraction] = {
    "storage": Fraction(1, 2),
    "inference": Fraction(1, 2),
    "training": Fraction(1, 2),
    "identity_payments": Fraction(1, 3),
    "governance": Fraction(1, 2),
    "verification": Fraction(1, 3),
}
NAKAMOTO_WHY = (
    "More than 1/3 halts or censors a BFT settlement chain or a 2/3 verification\n"
    "committee; elsewhere control means a majority of shares, stake or traffic."
)


def nakamoto(m: StackManifest, layer: str) -> Nakamoto:
    """Fewest operators who together hold more than the layer's threshold.

    From the declared ``shares`` when given, else from ``operators`` taken as
    equal. Governance held by an admin key or a multisig is controlled by that
    key's threshold of signers; an immutable layer by nobody.
    """
    spec: Layer = getattr(m.layers, layer)
    threshold = NAKAMOTO_THRESHOLDS[layer]
    c = spec.control
    if layer == "governance" and c.by == "nobody":
        return Nakamoto(None, threshold, "immutable: nobody can change it")
    if layer == "governance" and c.by in ("admin", "multisig"):
        return Nakamoto(c.threshold, threshold, f"{c.threshold} of {c.signers} signer(s) needed")
    if spec.shares is not None:
        count = _fewest_over(spec.shares, spec.operators, threshold)
        return Nakamoto(count, threshold, "declared shares")
    equal = min(spec.operators, floor(spec.operators * threshold) + 1)
    return Nakamoto(equal, threshold, f"{_n(spec.operators, 'operator')} taken as equal")


def _fewest_over(shares: list[float], operators: int, threshold: Fraction) -> int:
    """Greedy: take the largest holders until their total exceeds ``threshold``.

    Operators not listed in ``shares`` split the remainder equally; they are
    taken in bulk, so a layer of a million operators costs no more than one of ten.
    """
    # Shares arrive as floats (stake ratios, YAML decimals): read them back as the small
    # fractions they stand for, so 1/3 + 1/6 + 1/2 adds up to exactly one.
    declared = sorted((Fraction(s).limit_denominator(10**6) for s in shares), reverse=True)
    rest, total = operators - len(declared), sum(declared, Fraction(0))
    if rest == 0:
        declared = [s / total for s in declared]
    each = (1 - total) / rest if rest else Fraction(0)
    held, count, i = Fraction(0), 0, 0
    while held <= threshold:
        nxt = declared[i] if i < len(declared) else None
        if rest and each > 0 and (nxt is None or each >= nxt):
            take = min(rest, floor((threshold - held) / each) + 1)
            held, count, rest = held + take * each, count + take, rest - take
        elif nxt is not None:
            held, count, i = held + nxt, count + 1, i + 1
        else:
            return operators
    return count


# --- the rosette ---------------------------------------------------------------


def rate_storage(m: StackManifest) -> Petal:
    """Storage: can anyone fetch the exact weights, from more than one party?

    good: content-addressed, and served by at least two independent operators
      through at least two gateways.
    warning: content-addressed, but one operator or one gateway: anyone can
      check the bytes, but one party can make them unavailable.
    bad: not content-addressed: whoever hosts the weights can swap them unnoticed.
    why: integrity comes from hashes (CIDs); availability from independent copies.
    The answer names Arweave (permanent storage) when the stack keeps a copy there.
    """
    s = m.layers.storage
    kept = "; a copy on Arweave (permanent storage)" if s.permanent == "arweave" else ""
    if not s.content_addressed:
        return Petal(
            "bad", f"weights are not content-addressed; {s.operated_by} can swap them{kept}"
        )
    if s.operators < 2 or s.gateways < 2:
        return Petal(
            "warning",
            f"content-addressed, but served by {_n(s.operators, 'operator')} through "
            f"{_n(s.gateways, 'gateway')}{kept}",
        )
    return Petal(
        "good",
        f"content-addressed, {_n(s.operators, 'operator')}, {_n(s.gateways, 'gateway')}{kept}",
    )


def rate_inference(m: StackManifest) -> Petal:
    """Inference: does answering requests survive one operator leaving or censoring?

    good: runs on the user's own device, or on at least three independent
      operators that anyone may join, with requests failing over between them.
    warning: more than one operator, but entry is permissioned or a request
      does not fail over.
    bad: one operator: when it goes offline or refuses, inference stops.
    why: centralized compute is a fine design choice (it is fast and cheap),
      but then liveness and censorship resistance depend on that one party.
    """
    i = m.layers.inference
    if i.location == "client_device":
        return Petal("good", "inference runs on the user's own device")
    coefficient = nakamoto(m, "inference").coefficient
    if coefficient == 1:
        return Petal(
            "bad",
            f"inference has one operator ({i.operated_by}); "
            f"when it is offline, inference {i.on_operator_offline}",
        )
    failover = i.on_operator_offline in ("fails_over", "unaffected")
    if i.operators >= 3 and i.permissionless and failover:
        return Petal("good", f"{i.operators} independent operators, open entry, requests fail over")
    missing = [
        w
        for w, ok in (
            ("entry is permissioned", i.permissionless),
            ("requests do not fail over", failover),
        )
        if not ok
    ]
    return Petal(
        "warning",
        f"{_n(i.operators, 'operator')}, but " + (" and ".join(missing) or "fewer than three"),
    )


def rate_training(m: StackManifest) -> Petal:
    """Training: can you tell what the model was trained on, and by whom?

    good: federated or decentralized training by at least three independent
      participants whose contributions are signed.
    warning: one party trained it (or it is a pretrained model) but its lineage
      is signed and content-addressed; or federated training with unsigned
      contributions or fewer than three participants.
    bad: one party trained it and its lineage is not signed: the model's origin
      must be taken on trust.
    why: a model is only as trustworthy as the data and process behind it;
      signed lineage makes them checkable even when training is centralized.
    """
    t = m.layers.training
    if t.mode in ("federated", "decentralized"):
        if t.operators >= 3 and t.contributions_signed:
            return Petal(
                "good", f"{t.mode} training by {t.operators} participants, contributions signed"
            )
        why = "unsigned contributions" if not t.contributions_signed else "few participants"
        return Petal("warning", f"{t.mode} training by {_n(t.operators, 'participant')}, {why}")
    who = "pretrained elsewhere" if t.mode == "none" else f"trained by {t.operated_by}"
    if t.lineage_signed:
        return Petal("warning", f"{who}; lineage is signed and content-addressed")
    return Petal("bad", f"{who}; lineage is not signed, so its origin is taken on trust")


def rate_identity_payments(m: StackManifest) -> Petal:
    """Identity & payments: who holds the keys, and where do payments settle?

    good: users hold their own keys and payments settle on a public L1 or L2.
    warning: self-custody on a sidechain, custodial accounts on a public
      chain, or no payments at all.
    bad: payments settle in a database or in one local process: whoever runs
      it can rewrite every balance.
    why: settlement is what a blockchain is actually good at; a settlement
      layer one party can rewrite is an ordinary ledger with extra steps.
    """
    petal = _rate_identity_payments(m.layers.identity_payments)
    if m.layers.identity_payments.node_keys == "external_wallet":
        held = "; the node's keys are held outside it, by a wallet that signs what it is shown"
        return Petal(petal.rating, petal.reason + held)
    return petal


def _rate_identity_payments(p: IdentityPaymentsLayer) -> Petal:
    if p.settlement == "local_process":
        where = p.notes or "an embedded chain"  # a live audit names the chain in the notes
        return Petal(
            "bad",
            f"settlement runs in one local process ({where}); "
            "its operator can rewrite every balance",
        )
    if p.settlement == "database":
        return Petal("bad", f"payments settle in a database run by {p.operated_by}")
    if p.settlement == "none":
        return Petal(
            "warning",
            "no payments settle anywhere; identity is "
            + ("self-custodied" if p.custody == "self" else "custodial"),
        )
    if p.settlement in ("l1", "l2") and p.custody == "self":
        return Petal("good", f"self-custodied keys, settlement on a public {p.settlement.upper()}")
    keys = "self-custodied" if p.custody == "self" else "custodial"
    return Petal("warning", f"{keys} keys, settlement on a {p.settlement}")


def rate_governance(m: StackManifest) -> Petal:
    """Governance: who can change the model and the rules, and can users leave first?

    good: nothing can be changed (immutable), or changes need a multisig, a
      vote or the operators and wait at least 7 days.
    warning: changes wait less than 7 days, or one admin key must wait 7
      days, or a vote takes effect at once.
    bad: one admin key or a multisig can change it instantly.
    why: L2BEAT's exit window: a delay only protects users if it is long
      enough to notice a bad change and leave before it applies.
    """
    g = m.layers.governance
    c = g.control
    if c.by == "nobody":
        return Petal("good", "immutable: nobody can change it")
    text = f"changed by {_control(g)}"
    if c.delay_s == 0 and c.by in ("admin", "multisig"):
        return Petal("bad", text)
    if c.delay_s >= WEEK_S and c.by != "admin":
        return Petal("good", text)
    return Petal("warning", text)


def rate_verification(m: StackManifest) -> Petal:
    """Verification: can someone other than the operator tell a wrong answer, and punish it?

    good: zk proofs, or re-execution / challenges backed by slashing, by at
      least two independent verifiers (Nakamoto coefficient >= 2).
    warning: outputs can be checked but nothing is at stake (no slashing), the
      checks rest on attestation hardware or reputation, or one party verifies.
    bad: no verification: answers are taken on trust.
    why: tokens do not make a network honest; stake, slashing and
      challenge-response verification can.
    """
    v = m.layers.verification
    if "zk_proof" in v.methods:
        return Petal("good", "outputs carry zk proofs of correct execution")
    if not _checks_outputs(m):
        kinds = ", ".join(x for x in v.methods if x != "none") or "none"
        return Petal("bad", f"outputs cannot be checked (verification: {kinds})")
    verifiers = nakamoto(m, "verification").coefficient or 0
    if not v.slashing:
        return Petal("warning", "outputs can be checked, but nothing is slashed for a wrong one")
    if verifiers < 2:
        return Petal("warning", f"checked with slashing, but by one verifier ({v.operated_by})")
    rate = f" at {v.sampling_rate:.0%} sampling" if v.sampling_rate else ""
    return Petal("good", f"re-execution{rate} with slashing, {v.operators} verifiers")


PETAL_RULES: dict[str, Callable[[StackManifest], Petal]] = {
    "storage": rate_storage,
    "inference": rate_inference,
    "training": rate_training,
    "identity_payments": rate_identity_payments,
    "governance": rate_governance,
    "verification": rate_verification,
}


# --- claims --------------------------------------------------------------------

_CLAIMS: dict[str, re.Pattern[str]] = {
    "fully decentralized": re.compile(
        r"\b(fully|100%|completely|truly|totally)[ -]+decentrali[sz]ed", re.I
    ),
    "decentralized AI": re.compile(
        r"decentrali[sz]ed\s+(ai|model|inference|intelligence|compute|llm)"
        r"|\b(ai|model|inference|llm)s?\b.{0,40}\bdecentrali[sz]ed",
        re.I,
    ),
    "trustless": re.compile(r"trust[- ]?less|no trust (is )?(needed|required)", re.I),
    "censorship-resistant": re.compile(r"censorship[- ]resist|uncensorable|unstoppable", re.I),
    "private": re.compile(r"\bprivate\b|\bprivacy\b|confidential", re.I),
    "no fees": re.compile(r"\bno[- ]fees?\b|zero[- ]fees?|fee[- ]?free|free to use|gasless", re.I),
    "permissionless": re.compile(r"permissionless|anyone can (run|join|serve)", re.I),
    "verifiable": re.compile(r"verifiab|provabl|\bverified\b", re.I),
}
_TOKEN_TALK = re.compile(
    r"\btokens?\b|\$[A-Z]{2,}|\bapy\b|\bapr\b|\byield|airdrop|staking rewards|tokenomics"
    r"|to the moon|\bearn\b|passive income",
    re.I,
)


def _claims(m: StackManifest, kind: str) -> list[str]:
    """The project's own claims (verbatim) that make the claim ``kind``."""
    return [c for c in m.claims if _CLAIMS[kind].search(c)]


def _quote(claims: list[str]) -> str:
    return ", ".join(f'"{c}"' for c in claims)


# --- red flags -----------------------------------------------------------------


def flag_decentralized_without_details(m: StackManifest) -> list[RedFlag]:
    """A "fully decentralized" claim with no description of the architecture.

    why: the phrase carries no information until it says which layers are
    decentralized and how; without that it is marketing.
    """
    claims = _claims(m, "fully decentralized")
    if not claims or m.disclosure.architecture:
        return []
    return [
        RedFlag(
            "decentralized-without-details",
            '"fully decentralized" without architecture details',
            f"claims {_quote(claims)}; disclosure.architecture is empty",
        )
    ]


def flag_token_hype(m: StackManifest) -> list[RedFlag]:
    """Heavy token language with weak product demand.

    Fires when at least two claims (or half of them) talk tokens, yields or
    rewards, while the token's value comes from emissions (or nothing) rather
    than paid demand, or emissions pay more than half of operator rewards.
    why: rewards paid from new supply last only as long as buyers do.
    """
    talk = [c for c in m.claims if _TOKEN_TALK.search(c)]
    t = m.token
    heavy = len(talk) >= 2 or (talk and len(talk) * 2 >= len(m.claims))
    weak = t.value_source in ("none", "emissions") or t.emissions_share > 0.5
    if not (heavy and weak):
        return []
    return [
        RedFlag(
            "token-over-demand",
            "heavy token language, weak product demand",
            f"{_n(len(talk), 'claim')} about the token ({_quote(talk)}); value from "
            f"{t.value_source.replace('_', ' ')}, {t.emissions_share:.0%} of rewards "
            "are emissions",
        )
    ]


def flag_unexplained_operations(m: StackManifest) -> list[RedFlag]:
    """No explanation of latency, routing or verification.

    why: these are where decentralized inference usually breaks; a project
    that works has an answer for each and publishes it.
    """
    d = m.disclosure
    missing = [k for k in ("latency", "routing", "verification") if not getattr(d, k)]
    if not missing:
        return []
    return [
        RedFlag(
            "unexplained-operations",
            "no explanation of latency, routing or verification",
            f"disclosure does not explain: {', '.join(missing)}",
        )
    ]


def flag_storage_as_execution(m: StackManifest) -> list[RedFlag]:
    """Storage confused with execution ("our AI is decentralized: the weights are on IPFS").

    Fires when a claim calls the AI decentralized, the weights are
    content-addressed, and inference still runs on one operator.
    why: IPFS stores artifacts; it does not run inference.
    """
    claims = _claims(m, "decentralized AI") + _claims(m, "fully decentralized")
    s = m.layers.storage
    if not claims or not s.content_addressed or not _centralized_inference(m):
        return []
    return [
        RedFlag(
            "storage-as-execution",
            "storage confused with execution",
            f"claims {_quote(sorted(set(claims)))}, but only storage is decentralized: "
            f"inference runs on one operator ({m.layers.inference.operated_by})",
        )
    ]


def flag_no_collusion_safeguards(m: StackManifest) -> list[RedFlag]:
    """No governance safeguards against validator collusion.

    Fires when correctness rests on verifiers or votes (re-execution,
    challenges, redundancy, reputation, or operator/vote governance) and
    governance declares no safeguards (slashing, random selection, rotation,
    open challenges, timelocked governance, a zk fallback, ...).
    why: a committee that can collude unpunished is one operator with extra steps.
    """
    v, g = m.layers.verification, m.layers.governance
    relies = bool(set(v.methods) & (_CHECKING - {"zk_proof"} | {"reputation"}))
    relies = relies or g.control.by in ("governance", "operators")
    if not relies or g.collusion_safeguards:
        return []
    return [
        RedFlag(
            "no-collusion-safeguards",
            "no safeguards against validator collusion",
            f"verification by {v.operated_by} ({', '.join(v.methods)}); "
            "governance.collusion_safeguards is empty",
        )
    ]


def flag_undisclosed_hybrid(m: StackManifest) -> list[RedFlag]:
    """A hybrid architecture that does not say so.

    Fires when some layer is controlled by one party while the project does
    not disclose which parts are centralized.
    why: hybrid is the honest design for AI; hiding it is not.
    """
    single = [k for k in LAYERS if nakamoto(m, k).coefficient == 1]
    if not single or m.disclosure.hybrid_disclosed:
        return []
    return [
        RedFlag(
            "undisclosed-hybrid",
            "centralized parts not disclosed",
            f"one party controls {', '.join(single)}; disclosure.hybrid_disclosed is false",
        )
    ]


def flag_contradicted_claims(m: StackManifest) -> list[RedFlag]:
    """A claim the manifest itself contradicts.

    "fully decentralized" with a layer one party controls; "decentralized AI"
    with one inference operator; "trustless" with an instant admin key or no
    verification; "censorship-resistant" with a single gateway or operator;
    "private" with prompts reaching the operator in plaintext; "no fees" with
    user fees; "permissionless" with permissioned operators; "verifiable" with
    nothing checking outputs.
    why: cairn's own claims are held to the same standard as everyone else's.
    """
    found = []
    for kind, check in _CONTRADICTIONS.items():
        claims = _claims(m, kind)
        evidence = check(m) if claims else None
        if evidence:
            found.append(
                RedFlag(
                    "claim-contradicted",
                    f'claim contradicted: "{kind}"',
                    f"claims {_quote(claims)}, but {evidence}",
                )
            )
    return found


def _no_single_party(m: StackManifest) -> str | None:
    single = [k for k in LAYERS if nakamoto(m, k).coefficient == 1]
    return f"one party controls {', '.join(single)}" if single else None


def _no_instant_admin(m: StackManifest) -> str | None:
    instant = _instant_admin(m)
    if instant:
        return f"one key can change {', '.join(instant)} with no delay"
    return None if _checks_outputs(m) else "nothing checks the outputs"


def _no_chokepoint(m: StackManifest) -> str | None:
    if m.layers.storage.gateways == 1:
        return "weights are served through a single gateway"
    return "inference has one operator" if _centralized_inference(m) else None


def _inputs_hidden(m: StackManifest) -> str | None:
    i = m.layers.inference
    if i.location == "client_device" or i.data.encrypted:
        return None
    return "inputs reach the inference operator in plaintext (inference.data.encrypted is empty)"


_CONTRADICTIONS: dict[str, Callable[[StackManifest], str | None]] = {
    "fully decentralized": _no_single_party,
    "decentralized AI": lambda m: (
        "inference has one operator" if _centralized_inference(m) else None
    ),
    "trustless": _no_instant_admin,
    "censorship-resistant": _no_chokepoint,
    "private": _inputs_hidden,
    "no fees": lambda m: "users pay fees" if m.layers.identity_payments.user_fees else None,
    "permissionless": lambda m: (
        None if m.layers.inference.permissionless else "inference operators are permissioned"
    ),
    "verifiable": lambda m: None if _checks_outputs(m) else "nothing checks the outputs",
}

FLAG_RULES: dict[str, Callable[[StackManifest], list[RedFlag]]] = {
    "decentralized-without-details": flag_decentralized_without_details,
    "token-over-demand": flag_token_hype,
    "unexplained-operations": flag_unexplained_operations,
    "storage-as-execution": flag_storage_as_execution,
    "no-collusion-safeguards": flag_no_collusion_safeguards,
    "undisclosed-hybrid": flag_undisclosed_hybrid,
    "claim-contradicted": flag_contradicted_claims,
}


# --- the eight questions -------------------------------------------------------

_LOCATIONS = {
    "client_device": "on the user's own device",
    "single_server": "on one server",
    "centralized_api": "behind a centralized API",
    "operator_nodes": "on operator nodes",
    "open_market": "on an open compute market",
}


def answer_model_updates(m: StackManifest) -> str:
    g = m.layers.governance
    return f"{g.operated_by}: {_control(g)}."


def answer_inference_location(m: StackManifest) -> str:
    i = m.layers.inference
    entry = "anyone may join" if i.permissionless else "entry is permissioned"
    return (
        f"{_LOCATIONS[i.location].capitalize()}, run by {i.operated_by} "
        f"({_n(i.operators, 'operator')}; {entry})."
    )


def answer_verifiable(m: StackManifest) -> str:
    v = m.layers.verification
    if not _checks_outputs(m):
        return f"No: nothing re-checks an answer ({', '.join(v.methods)})."
    parts = [", ".join(x.replace("_", " ") for x in v.methods)]
    if v.sampling_rate:
        parts.append(f"{v.sampling_rate:.0%} of answers sampled")
    parts.append("wrong answers are slashed" if v.slashing else "nothing is slashed")
    return f"Yes, by {v.operated_by} ({_n(v.operators, 'verifier')}): " + "; ".join(parts) + "."


def answer_sybil(m: StackManifest) -> str:
    parts = []
    for name, layer in m.layers.items():
        defences = [d for d in layer.sybil_resistance if d != "none"]
        parts.append(f"{name}: {', '.join(defences) if defences else 'nothing'}")
    return "; ".join(parts) + "."


def answer_token(m: StackManifest) -> str:
    t = m.token
    if t.symbol is None and t.value_source == "none":
        return "There is no token."
    source = {
        "none": "nothing in particular",
        "paid_demand": "paid demand",
        "emissions": "emissions (new supply)",
        "mixed": "paid demand and emissions",
    }
    return (
        f"{t.symbol or 'The token'}: value from {source[t.value_source]}; "
        f"{t.emissions_share:.0%} of operator rewards are emissions."
    )


def answer_data(m: StackManifest) -> str:
    out = []
    for kind in ("public", "private", "encrypted"):
        items = [
            f"{x} ({name})" for name, layer in m.layers.items() for x in getattr(layer.data, kind)
        ]
        out.append(f"{kind}: {', '.join(items) if items else 'nothing stated'}")
    return "; ".join(out) + "."


def answer_offline(m: StackManifest) -> str:
    words = {
        "halts": "stops",
        "degrades": "degrades",
        "fails_over": "fails over",
        "unaffected": "is unaffected",
    }
    return (
        "; ".join(
            f"{name} {words[layer.on_operator_offline]} ({_n(layer.operators, 'operator')})"
            for name, layer in m.layers.items()
        )
        + "."
    )


def answer_hybrid(m: StackManifest) -> str:
    single = [k for k in LAYERS if nakamoto(m, k).coefficient == 1]
    contradicted = flag_contradicted_claims(m)
    if not single:
        return "No layer is controlled by one party."
    said = "disclosed" if m.disclosure.hybrid_disclosed else "NOT disclosed"
    honest = f"; {_n(len(contradicted), 'claim')} contradicted" if contradicted else ""
    return f"Hybrid: one party controls {', '.join(single)}; this is {said}{honest}."


QUESTIONS: dict[str, Callable[[StackManifest], str]] = {
    "Who controls model updates?": answer_model_updates,
    "Where is inference actually executed?": answer_inference_location,
    "Can node outputs be verified?": answer_verifiable,
    "What prevents Sybil attacks?": answer_sybil,
    "Is the token tied to demand or just supply?": answer_token,
    "Which data is public, private or encrypted?": answer_data,
    "What happens if core operators go offline?": answer_offline,
    "Is the architecture hybrid, and is that disclosed honestly?": answer_hybrid,
}


# --- stages --------------------------------------------------------------------

Requirement = Callable[[StackManifest, tuple[RedFlag, ...]], bool]


def _first_line(rule: Callable[..., object]) -> str:
    return (rule.__doc__ or rule.__name__).strip().splitlines()[0].rstrip(".")


def need_checkable_outputs(m: StackManifest, flags: tuple[RedFlag, ...]) -> bool:
    """Someone other than the operator can check outputs (re-execution, challenges, TEE, zk)."""
    return _checks_outputs(m)


def need_content_addressing(m: StackManifest, flags: tuple[RedFlag, ...]) -> bool:
    """Weights and data are content-addressed."""
    return m.layers.storage.content_addressed


def need_chain_settlement(m: StackManifest, flags: tuple[RedFlag, ...]) -> bool:
    """Payments, if any, settle on a chain, not in a database or one local process."""
    return m.layers.identity_payments.settlement not in ("database", "local_process")


def need_no_instant_keys(m: StackManifest, flags: tuple[RedFlag, ...]) -> bool:
    """Model updates, settlement, verification and funds are out of one key's instant reach.

    Governance (model updates), identity & payments (settlement) and verification
    cannot be changed by one key or a multisig without a delay, and users hold
    their own funds (self custody, or nothing to hold).
    why: stage 1 is about what users cannot check for themselves. An answer from
    one inference operator is checked -- its receipt binds it to the model's CID and
    validators re-execute a sample -- so an honestly disclosed single operator
    whose outputs are verified does not by itself keep a stack at stage 0 (the
    operator's liveness is the inference petal's and stage 2's concern). Which
    model is served, where money settles, who judges the answers and who holds
    the funds cannot be checked by a user at the moment it matters; none of them
    may be in one key's instant reach.
    """
    p = m.layers.identity_payments
    funds = p.custody == "self" or p.settlement == "none"
    return not _instant_admin(m, _UNCHECKABLE) and funds


def need_honest_disclosure(m: StackManifest, flags: tuple[RedFlag, ...]) -> bool:
    """Centralized parts are disclosed and no claim is contradicted by the manifest."""
    return m.disclosure.hybrid_disclosed and not any(f.id == "claim-contradicted" for f in flags)


def need_good_verification(m: StackManifest, flags: tuple[RedFlag, ...]) -> bool:
    """Verification is rated good: zk proofs, or slashing by two or more independent verifiers."""
    return rate_verification(m).rating == "good"


def need_good_inference(m: StackManifest, flags: tuple[RedFlag, ...]) -> bool:
    """Inference is rated good: open entry, three or more operators, fail-over."""
    return rate_inference(m).rating == "good"


def need_good_governance(m: StackManifest, flags: tuple[RedFlag, ...]) -> bool:
    """Governance is rated good: immutable, or changes wait at least 7 days."""
    return rate_governance(m).rating == "good"


def need_public_settlement(m: StackManifest, flags: tuple[RedFlag, ...]) -> bool:
    """Users hold their own keys and settle on a public L1 or L2."""
    return rate_identity_payments(m).rating == "good"


def need_collusion_safeguards(m: StackManifest, flags: tuple[RedFlag, ...]) -> bool:
    """Safeguards against validator collusion are declared."""
    return bool(m.layers.governance.collusion_safeguards)


def need_no_red_flags(m: StackManifest, flags: tuple[RedFlag, ...]) -> bool:
    """No red flags."""
    return not flags


STAGE_REQUIREMENTS: dict[int, tuple[Requirement, ...]] = {
    1: (
        need_checkable_outputs,
        need_content_addressing,
        need_chain_settlement,
        need_no_instant_keys,
        need_honest_disclosure,
    ),
    2: (
        need_good_verification,
        need_good_inference,
        need_good_governance,
        need_public_settlement,
        need_collusion_safeguards,
        need_no_red_flags,
    ),
}
"""Cumulative, like L2BEAT's stages: stage 1 needs every stage-1 requirement,
stage 2 every stage-1 and stage-2 requirement. Stage 0 is where everyone starts."""


def stage(m: StackManifest, flags: tuple[RedFlag, ...]) -> Stage:
    """The highest stage whose requirements (and all lower ones) hold."""
    reached = 0
    for level in sorted(STAGE_REQUIREMENTS):
        needs = STAGE_REQUIREMENTS[level]
        missing = tuple(_first_line(need) for need in needs if not need(m, flags))
        if missing:
            return Stage(reached, missing)
        reached = level
    return Stage(reached, ())
