"""x402 batch-settlement: cairn's contracts on both backends, against the official SDK.

The SDK (PyPI ``x402`` 2.25, unmodified, in ``.venv-x402``) runs as a subprocess:
it computes channel ids and signs deposits, vouchers, claim batches and refunds
the way its client and facilitator do, and cairn's contracts (at the canonical
addresses) must agree with every byte and accept every signature. The token is
the network's CairnUSD (``chain.token``, EIP-3009).
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from _vyper import Probe, deploy

from cairn.chain import Chain, batch, connect
from cairn.chain._artifacts import load_artifact
from cairn.chain.batch import (
    BATCH_SETTLEMENT_ADDRESS as SETTLEMENT,
)
from cairn.chain.batch import (
    ERC3009_COLLECTOR_ADDRESS as COLLECTOR,
)
from cairn.chain.batch import (
    BatchSettlement,
    ChannelConfig,
    VoucherClaim,
)
from cairn.chain.token import Token
from cairn.errors import ChainError, ContractRevert
from cairn.identity import LocalSigner, Signer, recover_hash, type_hash
from cairn.identity.base import SECP256K1_N

ROOT = Path(__file__).resolve().parents[2]
X402_PYTHON = ROOT / ".venv-x402" / "bin" / "python"
ZERO = "0x" + "00" * 20
HOUR = 3600


def reverts(reason: str) -> pytest.RaisesExc[ContractRevert]:
    """A revert this file trips (the revert-coverage test reads ``reverts("…")`` calls)."""
    return pytest.raises(ContractRevert, match=re.escape(reason))


# -- the SDK, in its own venv ---------------------------------------------------------

# Runs under .venv-x402. Reads one JSON job on stdin, prints one JSON answer.
SDK = """
import json, sys
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak
from x402.mechanisms.evm.batch_settlement import abi, constants as k
from x402.mechanisms.evm.batch_settlement.authorizer_signer import (
    LocalAuthorizerSigner, sign_claim_batch, sign_refund)
from x402.mechanisms.evm.batch_settlement.client.eip3009 import (
    create_batch_settlement_eip3009_deposit_payload)
from x402.mechanisms.evm.batch_settlement.client.voucher import sign_voucher
from x402.mechanisms.evm.batch_settlement.facilitator.deposit_eip3009 import (
    build_eip3009_deposit_collector_data)
from x402.mechanisms.evm.batch_settlement.types import ChannelConfig, VoucherClaim
from x402.mechanisms.evm.batch_settlement.utils import (
    compute_channel_id, get_batch_settlement_eip712_domain)
from x402.mechanisms.evm.signers import EthAccountSigner
from x402.schemas import PaymentRequirements

job = json.load(sys.stdin)
chain_id = job["chain_id"]
network = f"eip155:{chain_id}"
domain = get_batch_settlement_eip712_domain(chain_id)

def digest(types, message):
    s = encode_typed_data(domain_data=domain, message_types=types, message_data=message)
    return "0x" + keccak(b"\\x19" + s.version + s.header + s.body).hex()

out = {
    "abi": abi.BATCH_SETTLEMENT_ABI,
    "constants": {
        "settlement": k.BATCH_SETTLEMENT_ADDRESS,
        "collector": k.ERC3009_DEPOSIT_COLLECTOR_ADDRESS,
        "min_delay": k.MIN_WITHDRAW_DELAY, "max_delay": k.MAX_WITHDRAW_DELAY,
        "name": k.BATCH_SETTLEMENT_DOMAIN_NAME, "version": k.BATCH_SETTLEMENT_DOMAIN_VERSION,
        "types": {**k.CHANNEL_CONFIG_TYPES, **k.VOUCHER_TYPES, **k.REFUND_TYPES,
                  **k.CLAIM_BATCH_TYPES, **k.RECEIVE_AUTHORIZATION_TYPES},
    },
    "channel_ids": [compute_channel_id(ChannelConfig.from_dict(c), network)
                    for c in job.get("configs", [])],
}
voucher_signer = None
if "payer_key" in job:
    voucher_signer = EthAccountSigner(Account.from_key(job["payer_key"]))
for cid, amount in job.get("vouchers", []):
    m = {"channelId": bytes.fromhex(cid[2:]), "maxClaimableAmount": amount}
    out.setdefault("voucher_digests", []).append(digest(k.VOUCHER_TYPES, m))
    if voucher_signer:
        signed = sign_voucher(voucher_signer, cid, amount, network)
        out.setdefault("voucher_signatures", []).append(signed.signature)
authorizer = LocalAuthorizerSigner(job["authorizer_key"]) if "authorizer_key" in job else None
for cid, nonce, amount in job.get("refunds", []):
    m = {"channelId": bytes.fromhex(cid[2:]), "nonce": nonce, "amount": amount}
    out.setdefault("refund_digests", []).append(digest(k.REFUND_TYPES, m))
    if authorizer:
        out.setdefault("refund_signatures", []).append(
            sign_refund(authorizer, cid, amount, nonce, network))
if "batch" in job:
    claims = [VoucherClaim.from_dict(c) for c in job["batch"]]
    entries = [{"channelId": bytes.fromhex(compute_channel_id(c.channel, chain_id)[2:]),
                "maxClaimableAmount": int(c.max_claimable_amount),
                "totalClaimed": int(c.total_claimed)} for c in claims]
    out["batch_digest"] = digest(k.CLAIM_BATCH_TYPES, {"claims": entries})
    if authorizer:
        out["batch_signature"] = sign_claim_batch(authorizer, claims, network)
if "deposit" in job:
    d = job["deposit"]
    requirements = PaymentRequirements(
        scheme="batch-settlement", network=network, asset=d["asset"], amount="1",
        pay_to=d["config"]["receiver"], max_timeout_seconds=d["timeout"],
        extra={"name": d["name"], "version": d["version"],
               "receiverAuthorizer": d["config"]["receiverAuthorizer"],
               "withdrawDelay": d["config"]["withdrawDelay"]})
    payload = create_batch_settlement_eip3009_deposit_payload(
        EthAccountSigner(Account.from_key(d["key"])), requirements,
        ChannelConfig.from_dict(d["config"]), d["amount"], d["max_claimable"])
    out["deposit"] = {"payload": payload.to_dict(),
                      "collector_data": build_eip3009_deposit_collector_data(payload).hex()}
print(json.dumps(out))
"""


def sdk(job: dict[str, Any]) -> dict[str, Any]:
    if not X402_PYTHON.exists():
        pytest.fail("x402 venv missing: run `make test` (it builds .venv-x402)")
    done = subprocess.run(
        [str(X402_PYTHON), "-c", SDK],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def sdk_config(config: ChannelConfig) -> dict[str, Any]:
    return {
        "payer": config.payer,
        "payerAuthorizer": config.payer_authorizer,
        "receiver": config.receiver,
        "receiverAuthorizer": config.receiver_authorizer,
        "token": config.token,
        "withdrawDelay": config.withdraw_delay,
        "salt": "0x" + config.salt.hex(),
    }


def sdk_claim(claim: VoucherClaim) -> dict[str, Any]:
    return {
        "voucher": {"channel": sdk_config(claim.config), "maxClaimableAmount": claim.max_claimable},
        "signature": "0x" + claim.signature.hex(),
        "totalClaimed": claim.total_claimed,
    }


def key(signer: LocalSigner) -> str:
    return "0x" + signer.private_key.hex()


# -- one deployment per test ------------------------------------------------------------


@dataclass
class Net:
    """The canonical contracts, a token and the signers of one test."""

    chain: Chain
    dev: Signer
    settlement: BatchSettlement
    token: Token

    def config(self, payer: Signer, receiver: Signer, authorizer: Any, **kw: Any) -> ChannelConfig:
        address = authorizer if isinstance(authorizer, str) else authorizer.address
        return ChannelConfig(
            payer=kw.pop("payer_address", payer.address),
            receiver=receiver.address,
            receiver_authorizer=address,
            token=kw.pop("token", self.token.address),
            **kw,
        )

    def cid(self, config: ChannelConfig) -> bytes:
        return batch.channel_id(config, self.chain.chain_id)

    def deposit_data(self, payer: Signer, config: ChannelConfig, amount: int) -> bytes:
        """``collectorData`` of a fresh EIP-3009 authorization by ``payer`` for ``amount``."""
        before = self.chain.now() + HOUR
        return batch.authorize_deposit(
            payer, config, amount, self.token.domain(), valid_before=before
        )

    def fund(self, payer: Signer, config: ChannelConfig, amount: int) -> None:
        """Mint ``amount`` to the payer and deposit it with the payer's authorization."""
        self.token.mint(self.dev, config.payer, amount)
        before = self.chain.now() + HOUR
        domain = self.token.domain()
        tx = self.settlement.deposit_eip3009(
            self.dev, payer, config, amount, domain, valid_before=before
        )
        assert tx.value == amount

    def claim(
        self, payer: Signer, config: ChannelConfig, max_claimable: int, total: int
    ) -> VoucherClaim:
        sig = batch.sign_voucher(payer, self.cid(config), max_claimable, self.chain.chain_id)
        return VoucherClaim(config, max_claimable, sig, total)

    def claim_signed(self, authorizer: Signer, claims: list[VoucherClaim]) -> int:
        sig = batch.sign_claim_batch(authorizer, claims, self.chain.chain_id)
        return self.settlement.claim_with_signature(self.dev, claims, sig).value


@pytest.fixture
def net(chain: Chain) -> Net:
    dev = chain.dev_keys()[0]
    return Net(chain, dev, batch.install_canonical(chain, dev), chain.token)


# -- the SDK's ABI, constants and EIP-712 rules -----------------------------------------------


def _canonical(param: dict[str, Any]) -> str:
    kind = str(param["type"])
    if kind.startswith("tuple"):
        return "(" + ",".join(_canonical(c) for c in param["components"]) + ")" + kind[5:]
    return kind


def _signature(item: dict[str, Any], part: str = "inputs") -> str:
    return f"{item['name']}({','.join(_canonical(p) for p in item[part])})"


def test_abi_constants_and_types_are_the_sdks():
    out = sdk({"chain_id": 1})
    ours = {_signature(f): f for f in load_artifact("BatchSettlement").abi if "name" in f}
    for item in out["abi"]:
        found = ours.get(_signature(item))
        assert found is not None, f"missing {_signature(item)}"
        if item["type"] == "function":
            assert [_canonical(p) for p in found["outputs"]] == [
                _canonical(p) for p in item["outputs"]
            ], item["name"]
            assert found["stateMutability"] == item["stateMutability"], item["name"]
        else:
            assert [p["indexed"] for p in found["inputs"]] == [p["indexed"] for p in item["inputs"]]
    k = out["constants"]
    assert (k["settlement"], k["collector"]) == (SETTLEMENT, COLLECTOR)
    assert (k["min_delay"], k["max_delay"]) == (batch.MIN_WITHDRAW_DELAY, batch.MAX_WITHDRAW_DELAY)
    assert (k["name"], k["version"]) == ("x402 Batch Settlement", "1")
    for name, fields in k["types"].items():
        if name != "ReceiveWithAuthorization":
            assert batch.TYPES[name] == fields, name


def test_channel_ids_and_digests_equal_the_sdks(net, alice, bob, carol, judge):
    chain, s = net.chain, net.settlement
    configs = [
        net.config(alice, bob, carol),
        net.config(alice, bob, carol, payer_authorizer=judge.address, withdraw_delay=86400),
        net.config(alice, bob, judge, salt=b"\xab" * 32, withdraw_delay=batch.MAX_WITHDRAW_DELAY),
    ]
    ids = [net.cid(c) for c in configs]
    claims = [VoucherClaim(c, 10 + i, b"\x01" * 65, 5 + i) for i, c in enumerate(configs)]
    out = sdk(
        {
            "chain_id": chain.chain_id,
            "payer_key": key(alice),
            "authorizer_key": key(carol),
            "configs": [sdk_config(c) for c in configs],
            "vouchers": [["0x" + i.hex(), 2**128 - 1 - n] for n, i in enumerate(ids)],
            "refunds": [["0x" + ids[0].hex(), 7, 1234]],
            "batch": [sdk_claim(c) for c in claims],
        }
    )
    assert out["channel_ids"] == ["0x" + i.hex() for i in ids]
    assert [s.channel_id(c) for c in configs] == ids
    for n, cid in enumerate(ids):
        amount = 2**128 - 1 - n
        expected = bytes.fromhex(out["voucher_digests"][n][2:])
        assert s.voucher_digest(cid, amount) == expected
        assert batch.voucher_digest(cid, amount, chain.chain_id) == expected
        signed = bytes.fromhex(out["voucher_signatures"][n][2:])  # as the SDK client signs
        assert recover_hash(expected, signed) == alice.address
        assert signed == batch.sign_voucher(alice, cid, amount, chain.chain_id)  # RFC 6979
    expected = bytes.fromhex(out["refund_digests"][0][2:])
    assert s.refund_digest(ids[0], 7, 1234) == batch.refund_digest(ids[0], 7, 1234, chain.chain_id)
    assert s.refund_digest(ids[0], 7, 1234) == expected
    expected = bytes.fromhex(out["batch_digest"][2:])
    assert s.claim_batch_digest(claims) == expected
    assert batch.claim_batch_digest(claims, chain.chain_id) == expected
    assert recover_hash(expected, bytes.fromhex(out["batch_signature"][2:])) == carol.address
    refund = bytes.fromhex(out["refund_signatures"][0][2:])
    assert recover_hash(s.refund_digest(ids[0], 7, 1234), refund) == carol.address
    empty = batch.claim_batch_digest([], chain.chain_id)
    assert s.claim_batch_digest([]) == empty  # keccak256("") as the array's hash
    for name in ("ChannelConfig", "Voucher", "Refund", "ClaimEntry", "ClaimBatch"):
        constant = re.sub(r"(?<!^)(?=[A-Z])", "_", name).upper() + "_TYPEHASH"
        assert bytes(s._call(constant)) == type_hash(name, batch.TYPES), name
    assert s._call("MIN_WITHDRAW_DELAY") == 900 and s._call("MAX_WITHDRAW_DELAY") == 2592000


# -- deposits --------------------------------------------------------------------------------


def test_deposit_with_an_authorization_the_sdk_client_signed(net, alice, bob, carol):
    chain, s, token = net.chain, net.settlement, net.token
    config = net.config(alice, bob, carol, payer_authorizer=alice.address, salt=b"\x07" * 32)
    cid = net.cid(config)
    token.mint(net.dev, alice.address, 5000)
    domain = token.domain()
    out = sdk(
        {
            "chain_id": chain.chain_id,
            "authorizer_key": key(carol),
            "deposit": {
                "key": key(alice),
                "config": sdk_config(config),
                "amount": 3000,
                "max_claimable": 1200,
                "asset": token.address,
                "name": domain.name,
                "version": domain.version,
                "timeout": HOUR,
            },
        }
    )
    payload = out["deposit"]["payload"]
    assert payload["voucher"]["channelId"] == "0x" + cid.hex()
    data = bytes.fromhex(out["deposit"]["collector_data"])
    tx = s.deposit(net.dev, config, 3000, COLLECTOR, data)
    assert tx.value == 3000
    assert s.channel(cid) == batch.ChannelBalance(3000, 0)
    assert token.balance_of(SETTLEMENT) == 3000 and token.balance_of(alice.address) == 2000
    assert token.balance_of(COLLECTOR) == 0
    salt = bytes.fromhex(payload["deposit"]["authorization"]["erc3009Authorization"]["salt"][2:])
    assert token.authorization_state(alice.address, batch.deposit_nonce(cid, salt))
    with pytest.raises(ContractRevert, match="authorization is used or canceled"):
        s.deposit(net.dev, config, 3000, COLLECTOR, data)  # an authorization pays once
    created = [log for log in s._logs("ChannelCreated") if bytes(log["args"]["channelId"]) == cid]
    assert len(created) == 1
    # the voucher the SDK signed with the deposit is claimable here, on its own batch signature
    voucher = bytes.fromhex(payload["voucher"]["signature"][2:])
    claims = [VoucherClaim(config, 1200, voucher, 1000)]
    out = sdk(
        {
            "chain_id": chain.chain_id,
            "authorizer_key": key(carol),
            "batch": [sdk_claim(c) for c in claims],
        }
    )
    assert (
        s.claim_with_signature(net.dev, claims, bytes.fromhex(out["batch_signature"][2:])).value
        == 1000
    )
    assert s.channel(cid) == batch.ChannelBalance(3000, 1000)


def test_deposit_guards(net, alice, bob, carol):
    s = net.settlement
    good = net.config(alice, bob, carol)
    data = net.deposit_data(alice, good, 10)
    for bad in (net.config(alice, bob, ZERO), net.config(alice, bob, carol, token=ZERO)):
        with reverts("invalid channel"):
            s.deposit(net.dev, bad, 10, COLLECTOR, data)
    for delay in (899, 2592001):
        with reverts("withdraw delay out of range"):
            s.deposit(
                net.dev, net.config(alice, bob, carol, withdraw_delay=delay), 10, COLLECTOR, data
            )
    with reverts("zero deposit"):
        s.deposit(net.dev, good, 0, COLLECTOR, data)
    with reverts("invalid collector"):
        s.deposit(net.dev, good, 10, ZERO, data)
    longest = net.config(alice, bob, carol, withdraw_delay=batch.MAX_WITHDRAW_DELAY)
    net.fund(alice, longest, 10)  # the bounds themselves are allowed
    net.fund(alice, good, 2**128 - 1)
    with reverts("deposit overflow"):
        s.deposit(net.dev, good, 1, COLLECTOR, net.deposit_data(alice, good, 1))


GIFT_COLLECTOR = """
# pragma version ~=0.4.1
interface IERC20:
    def transfer(to: address, amount: uint256) -> bool: nonpayable

short: public(uint256)

@external
def setShort(s: uint256):
    self.short = s

@external
def collect(payer: address, token: address, amount: uint256, channelId: bytes32, data: Bytes[1024]):
    extcall IERC20(token).transfer(msg.sender, amount - self.short)
"""


def test_a_collector_is_not_trusted_and_the_eip3009_one_serves_only_the_settlement(
    net, alice, bob, carol
):
    s, dev = net.settlement, net.dev
    gift = deploy(net.chain, dev, GIFT_COLLECTOR)
    net.token.mint(dev, gift.address, 100)
    config = net.config(alice, bob, carol)
    gift.send(dev, "setShort", 1)
    with reverts("deposit not collected"):
        s.deposit(dev, config, 10, gift.address, b"")
    gift.send(dev, "setShort", 0)
    assert s.deposit(dev, config, 10, gift.address, b"").value == 10  # any collector that pays
    collector = Probe(
        net.chain, json.dumps(load_artifact("ERC3009DepositCollector").abi), COLLECTOR
    )
    assert collector.call("x402BatchSettlement") == SETTLEMENT
    data = net.deposit_data(alice, config, 10)
    with reverts("only the settlement contract"):
        collector.send(dev, "collect", alice.address, net.token.address, 10, net.cid(config), data)
    short_sig = batch.erc3009_collector_data(0, net.chain.now() + HOUR, b"\x01" * 32, b"\x02" * 64)
    with reverts("signature is not 65 bytes"):
        s.deposit(dev, config, 10, COLLECTOR, short_sig)
    with reverts("zero settlement address"):
        net.chain._create(dev, "ERC3009DepositCollector", ZERO)


# -- claims ----------------------------------------------------------------------------------


def _many(net: Net, payer: Signer, receiver: Signer, authorizer: Signer, n: int) -> list[Any]:
    """``n`` funded channels, deposited eight to a transaction through multicall."""
    configs = [
        net.config(payer, receiver, authorizer, salt=i.to_bytes(32, "big")) for i in range(n)
    ]
    net.token.mint(net.dev, payer.address, 1000 * n)
    for at in range(0, n, 8):
        calls = [
            ("deposit", (c.as_tuple(), 1000, COLLECTOR, net.deposit_data(payer, c, 1000)))
            for c in configs[at : at + 8]
        ]
        net.settlement.multicall(net.dev, calls)
    return configs


def test_claim_many_channels_in_one_transaction(net, alice, bob, carol):
    s = net.settlement
    configs = _many(net, alice, bob, carol, 111)
    gas: dict[int, int] = {}
    start = 0
    for n in (1, 10, 100):
        claims = [net.claim(alice, c, 600, 500) for c in configs[start : start + n]]
        sig = batch.sign_claim_batch(carol, claims, net.chain.chain_id)
        tx = s.claim_with_signature(net.dev, claims, sig)
        assert tx.value == 500 * n
        gas[n] = tx.gas_used
        start += n
    print(
        f"\nclaimWithSignature gas on {net.chain.url}: "
        + ", ".join(f"{n} channels {g} ({g // n}/channel)" for n, g in gas.items())
    )
    assert gas[100] // 100 < 25_000  # the point of batching: far below one transaction each
    assert s.receiver_totals(bob.address, net.token.address) == batch.ReceiverTotals(55500, 0)
    assert all(s.channel(net.cid(c)) == batch.ChannelBalance(1000, 500) for c in configs)


def test_settle_moves_claimed_funds_to_the_receiver(net, alice, bob, carol, judge):
    s, token = net.settlement, net.token
    one, two = net.config(alice, bob, carol), net.config(judge, bob, carol)
    net.fund(alice, one, 1000)
    net.fund(judge, two, 500)
    assert s.claim(bob, [net.claim(alice, one, 300, 300)]).value == 300  # the receiver itself
    assert s.claim(carol, [net.claim(judge, two, 200, 150)]).value == 150  # its authorizer
    assert token.balance_of(bob.address) == 0  # claiming moves no token
    tx = s.settle(judge, bob.address, token.address)  # anyone may settle
    assert tx.value == 450 and token.balance_of(bob.address) == 450
    assert s.receiver_totals(bob.address, token.address) == batch.ReceiverTotals(450, 450)
    assert token.balance_of(SETTLEMENT) == 1050
    assert s.settle(judge, bob.address, token.address).value == 0  # nothing left: no transfer
    assert s.channel(net.cid(one)) == batch.ChannelBalance(1000, 300)  # claimed stays counted


def test_refused_claims(net, alice, bob, carol, judge):
    s, chain_id = net.settlement, net.chain.chain_id
    config = net.config(alice, bob, carol)
    cid = net.cid(config)
    net.fund(alice, config, 1000)
    with reverts("claim exceeds balance"):  # a voucher over the deposit
        s.claim(bob, [net.claim(alice, config, 1500, 1001)])
    with reverts("claim exceeds voucher"):
        s.claim(bob, [net.claim(alice, config, 400, 401)])
    forged = VoucherClaim(config, 500, batch.sign_voucher(judge, cid, 500, chain_id), 500)
    with reverts("invalid voucher signature"):  # signed by someone else
        s.claim(bob, [forged])
    claims = [net.claim(alice, config, 500, 500)]
    with reverts("invalid authorizer signature"):  # a batch not signed by the receiverAuthorizer
        s.claim_with_signature(net.dev, claims, batch.sign_claim_batch(bob, claims, chain_id))
    with reverts("not the receiver"):
        s.claim(judge, claims)
    with reverts("empty batch"):
        s.claim(bob, [])
    with reverts("empty batch"):
        s.claim_with_signature(net.dev, [], b"")
    other = net.config(alice, bob, judge)
    net.fund(alice, other, 10)
    mixed = [*claims, net.claim(alice, other, 10, 10)]
    with reverts("mixed receiver authorizers"):
        s.claim_with_signature(net.dev, mixed, batch.sign_claim_batch(carol, mixed, chain_id))
    assert net.claim_signed(carol, claims) == 500
    # a lower voucher, or the same one again, claims nothing new (its signature is not even read)
    assert s.claim(bob, [net.claim(alice, config, 400, 400)]).value == 0
    assert s.claim(bob, [VoucherClaim(config, 500, b"", 500)]).value == 0
    assert s.channel(cid) == batch.ChannelBalance(1000, 500)
    assert s.claim(bob, [net.claim(alice, config, 900, 700)]).value == 200  # a higher one: +200
    # a voucher over the deposit is good for the deposit, no more
    assert s.claim(bob, [net.claim(alice, config, 1500, 1000)]).value == 300


def test_voucher_signatures_are_ecdsa_low_s_or_erc1271(net, alice, bob, carol, judge):
    s, chain_id = net.settlement, net.chain.chain_id
    delegated = net.config(alice, bob, carol, payer_authorizer=judge.address)
    net.fund(alice, delegated, 100)
    cid = net.cid(delegated)
    with reverts("invalid voucher signature"):  # the payer itself, once it named an authorizer
        s.claim(bob, [net.claim(alice, delegated, 10, 10)])
    good = batch.sign_voucher(judge, cid, 10, chain_id)
    r, s_, v = good[:32], int.from_bytes(good[32:64], "big"), good[64]
    twin = r + (SECP256K1_N - s_).to_bytes(32, "big") + bytes([55 - v])  # the high-s twin
    for bad in (twin, good[:64], good[:64] + b"\x1d", good + b"\x00"):
        with reverts("invalid voucher signature"):
            s.claim(bob, [VoucherClaim(delegated, 10, bad, 10)])
    assert s.claim(bob, [VoucherClaim(delegated, 10, good, 10)]).value == 10


WALLET = """
# pragma version ~=0.4.1
owner: public(address)
accept: public(bool)

@deploy
def __init__(o: address):
    self.owner = o
    self.accept = True

@external
def setAccept(a: bool):
    self.accept = a

@view
@external
def isValidSignature(digest: bytes32, signature: Bytes[256]) -> bytes4:
    if not self.accept or len(signature) != 65:
        return 0xffffffff
    v: uint256 = convert(slice(signature, 64, 1), uint256)
    r: uint256 = convert(extract32(signature, 0), uint256)
    s: uint256 = convert(extract32(signature, 32), uint256)
    if ecrecover(digest, v, r, s) == self.owner:
        return 0x1626ba7e
    return 0xffffffff
"""


def test_contract_payers_and_authorizers_sign_with_erc1271(net, alice, bob, carol):
    s, chain_id, dev = net.settlement, net.chain.chain_id, net.dev
    payer = deploy(net.chain, dev, WALLET, alice.address)  # a smart wallet alice owns
    authorizer = deploy(net.chain, dev, WALLET, carol.address)  # a key-rotation contract
    gift = deploy(net.chain, dev, GIFT_COLLECTOR)
    net.token.mint(dev, gift.address, 100)
    config = net.config(alice, bob, authorizer.address, payer_address=payer.address)
    s.deposit(dev, config, 100, gift.address, b"")
    claims = [net.claim(alice, config, 40, 40)]  # alice signs for her wallet
    assert net.claim_signed(carol, claims) == 40
    cid = net.cid(config)
    refund = batch.sign_refund(carol, cid, 0, 10, chain_id)
    assert s.refund_with_signature(dev, config, 10, 0, refund).value == 10
    assert net.token.balance_of(payer.address) == 10
    authorizer.send(dev, "setAccept", False)
    later = [net.claim(alice, config, 50, 50)]
    with reverts("invalid authorizer signature"):
        net.claim_signed(carol, later)
    payer.send(dev, "setAccept", False)
    with reverts("invalid voucher signature"):
        s.claim(bob, later)


# -- refunds and the timed withdrawal -----------------------------------------------------


def test_refunds_cap_at_the_unclaimed_and_spend_a_nonce(net, alice, bob, carol, judge):
    s, chain_id, token = net.settlement, net.chain.chain_id, net.token
    config = net.config(alice, bob, carol)
    cid = net.cid(config)
    net.fund(alice, config, 1000)
    s.claim(bob, [net.claim(alice, config, 300, 300)])
    with reverts("not the receiver"):
        s.refund(alice, config, 100)
    with reverts("zero refund"):
        s.refund(bob, config, 0)
    assert s.refund(carol, config, 5000).value == 700  # capped at balance - totalClaimed
    assert s.channel(cid) == batch.ChannelBalance(300, 300)
    assert token.balance_of(alice.address) == 700 and s.refund_nonce(cid) == 1
    assert s.refund(bob, config, 1).value == 0 and s.refund_nonce(cid) == 2  # nothing, nonce moves
    stale = batch.sign_refund(carol, cid, 1, 1, chain_id)
    with reverts("wrong refund nonce"):
        s.refund_with_signature(judge, config, 1, 1, stale)
    with reverts("invalid authorizer signature"):
        s.refund_with_signature(judge, config, 1, 2, batch.sign_refund(bob, cid, 2, 1, chain_id))
    net.fund(alice, config, 500)
    s.initiate_withdraw(alice, config, 400)
    assert (
        s.refund_with_signature(
            judge, config, 100, 2, batch.sign_refund(carol, cid, 2, 100, chain_id)
        ).value
        == 100
    )
    assert s.pending_withdrawal(cid).amount == 300  # a refund shrinks a pending withdrawal
    assert s.refund(bob, config, 300).value == 300
    assert s.pending_withdrawal(cid) == batch.PendingWithdrawal(0, 0)  # covered: cancelled
    alone = net.config(judge, bob, carol)
    net.fund(judge, alone, 50)
    s.refund(bob, alone, 50)
    closed = [
        log for log in s._logs("ChannelClosed") if bytes(log["args"]["channelId"]) == net.cid(alone)
    ]
    assert len(closed) == 1  # a channel drained with nothing claimed closes


def test_withdrawal_waits_the_delay_and_claims_stay_open(net, alice, bob, carol, judge):
    chain, s, token = net.chain, net.settlement, net.token
    config = net.config(alice, bob, carol, payer_authorizer=judge.address, withdraw_delay=HOUR)
    cid = net.cid(config)
    net.fund(alice, config, 1000)
    s.claim(bob, [net.claim(judge, config, 100, 100)])
    with reverts("not the payer"):
        s.initiate_withdraw(bob, config, 100)
    with reverts("nothing to withdraw"):
        s.initiate_withdraw(alice, config, 0)
    with reverts("withdrawal exceeds unclaimed balance"):
        s.initiate_withdraw(alice, config, 901)
    with reverts("no withdrawal pending"):
        s.finalize_withdraw(alice, config)
    after = s.initiate_withdraw(judge, config, 900).value  # the payerAuthorizer may
    assert after == chain.now() + HOUR
    with reverts("withdrawal already pending"):
        s.initiate_withdraw(alice, config, 1)
    with reverts("withdraw delay not elapsed"):
        s.finalize_withdraw(alice, config)
    # during the delay the receiver still claims what the payer signed
    assert s.claim(bob, [net.claim(judge, config, 400, 400)]).value == 300
    with reverts("not the payer"):
        s.finalize_withdraw(bob, config)
    chain.increase_time(HOUR)
    assert s.finalize_withdraw(alice, config).value == 600  # capped at what is unclaimed now
    assert s.channel(cid) == batch.ChannelBalance(400, 400)
    assert token.balance_of(alice.address) == 600
    assert s.pending_withdrawal(cid) == batch.PendingWithdrawal(0, 0)
    with reverts("claim exceeds balance"):  # a voucher left unclaimed is the server's loss
        s.claim(bob, [net.claim(judge, config, 500, 500)])


# -- multicall, token failures, installation --------------------------------------------------


def test_multicall_claims_then_refunds_as_the_sdk_does(net, alice, bob, carol):
    s, chain_id = net.settlement, net.chain.chain_id
    config = net.config(alice, bob, carol)
    cid = net.cid(config)
    net.fund(alice, config, 1000)
    claims = [net.claim(alice, config, 250, 250)]
    out = sdk(
        {
            "chain_id": chain_id,
            "authorizer_key": key(carol),
            "batch": [sdk_claim(c) for c in claims],
            "refunds": [["0x" + cid.hex(), 0, 1000]],
        }
    )
    claim_sig = bytes.fromhex(out["batch_signature"][2:])
    refund_sig = bytes.fromhex(out["refund_signatures"][0][2:])
    assert recover_hash(batch.refund_digest(cid, 0, 1000, chain_id), refund_sig) == carol.address
    rows = [c.as_tuple() for c in claims]
    refund = ("refundWithSignature", (config.as_tuple(), 1000, 0, refund_sig))
    with reverts("wrong refund nonce"):  # one failing call fails the batch, with its reason
        s.multicall(
            net.dev,
            [
                ("claimWithSignature", (rows, claim_sig)),
                ("refundWithSignature", (config.as_tuple(), 1000, 5, refund_sig)),
            ],
        )
    tx = s.multicall(net.dev, [("claimWithSignature", (rows, claim_sig)), refund])
    assert tx.value == 750
    assert s.channel(cid) == batch.ChannelBalance(250, 250) and s.refund_nonce(cid) == 1
    with reverts("nested multicall"):
        s.multicall(net.dev, [("multicall", ([],))])


FLAKY_TOKEN = """
# pragma version ~=0.4.1
balanceOf: public(HashMap[address, uint256])
broken: public(bool)

@external
def mint(to: address, amount: uint256):
    self.balanceOf[to] += amount

@external
def setBroken(b: bool):
    self.broken = b

@external
def transfer(to: address, amount: uint256) -> bool:
    if self.broken:
        return False
    self.balanceOf[msg.sender] -= amount
    self.balanceOf[to] += amount
    return True

@external
def receiveWithAuthorization(f: address, t: address, amount: uint256, after: uint256,
                             before: uint256, nonce: bytes32, v: uint8, r: bytes32, s: bytes32):
    assert t == msg.sender
    self.balanceOf[f] -= amount
    self.balanceOf[t] += amount
"""


def test_a_token_transfer_that_returns_false_reverts(net, alice, bob, carol):
    s, dev = net.settlement, net.dev
    flaky = deploy(net.chain, dev, FLAKY_TOKEN)
    flaky.send(dev, "mint", alice.address, 100)
    config = net.config(alice, bob, carol, token=flaky.address)
    data = batch.erc3009_collector_data(0, 2**64, b"\x00" * 32, b"\x1b" * 65)
    flaky.send(dev, "setBroken", True)
    with reverts("token transfer failed"):  # the collector's forward
        s.deposit(dev, config, 100, COLLECTOR, data)
    flaky.send(dev, "setBroken", False)
    s.deposit(dev, config, 100, COLLECTOR, data)
    s.claim(bob, [net.claim(alice, config, 60, 60)])
    flaky.send(dev, "setBroken", True)
    with reverts("token transfer failed"):  # the settlement's payout
        s.settle(dev, bob.address, flaky.address)


def test_install_canonical_is_idempotent_and_repairs(net):
    chain, dev = net.chain, net.dev
    head = chain.head()
    again = batch.install_canonical(chain, dev)
    assert chain.head() == head and again.address == SETTLEMENT
    code = batch._code(chain, SETTLEMENT)
    assert code and code == batch._runtime(chain, "BatchSettlement")
    batch._set_code(chain, SETTLEMENT, b"\x00")
    batch.install_canonical(chain, dev)
    assert batch._code(chain, SETTLEMENT) == code
    assert batch._code(chain, COLLECTOR) == batch._runtime(
        chain, "ERC3009DepositCollector", SETTLEMENT
    )


def test_code_placed_on_the_embedded_chain_is_saved(tmp_path):
    first = connect("embedded://", tmp_path)
    batch.install_canonical(first, first.dev_keys()[0])
    code = batch._code(first, SETTLEMENT)
    first.close()
    again = connect("embedded://", tmp_path)
    assert code and batch._code(again, SETTLEMENT) == code
    deployer = again.dev_keys()[0]
    sent = again._w3.eth.get_transaction_count(deployer.address)
    batch.install_canonical(again, deployer)
    # nothing deployed again (placing code deploys first). Not the head: a persisted
    # embedded chain follows the wall clock and may mine an empty block at any request
    assert again._w3.eth.get_transaction_count(deployer.address) == sent
    assert batch._code(again, SETTLEMENT) == code


class _Refusing:
    """A JSON-RPC node that is not a development chain: it knows no ``*_setCode``."""

    def make_request(self, method: str, params: list[Any]) -> dict[str, Any]:
        return {"jsonrpc": "2.0", "id": 1, "error": {"code": -32601, "message": "no such method"}}


def test_code_is_placed_only_on_a_development_chain():
    backend = type("Rpc", (), {"provider": lambda self: _Refusing()})()
    real = type(
        "Chain",
        (),
        {"backend": backend, "url": "https://rpc.example", "_read": lambda self, what, fn: fn()},
    )()
    with pytest.raises(ChainError, match="not a development chain"):
        batch._set_code(real, SETTLEMENT, b"\x00")


def test_configs_refuse_bad_fields():
    with pytest.raises(ChainError):
        ChannelConfig(payer="0x12", receiver=ZERO, receiver_authorizer=ZERO, token=ZERO)
    with pytest.raises(ValueError):
        ChannelConfig(payer=ZERO, receiver=ZERO, receiver_authorizer=ZERO, token=ZERO, salt=b"1")
    with pytest.raises(ValueError):
        batch.voucher_digest(b"\x00" * 32, 2**128, 1)


def test_the_voucher_digest_is_the_generic_eip712_one() -> None:
    """The hand-encoded voucher digest (the request path's) equals the generic encoder's."""
    import os

    from cairn.chain import batch
    from cairn.errors import VoucherInvalid
    from cairn.identity import eip712_digest, hash_struct

    for amount in (0, 1, 10**6, 2**128 - 1):
        cid = os.urandom(32)
        generic = eip712_digest(
            batch._separator(31337, batch.BATCH_SETTLEMENT_ADDRESS),
            hash_struct("Voucher", {"channelId": cid, "maxClaimableAmount": amount}, batch.TYPES),
        )
        assert batch.voucher_digest(cid, amount, 31337) == generic
    with pytest.raises(VoucherInvalid):
        batch.voucher_digest(os.urandom(32), 2**128, 31337)
    with pytest.raises(VoucherInvalid):
        batch.voucher_digest(b"short", 1, 31337)
