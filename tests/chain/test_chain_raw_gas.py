"""The gas limit of a signed transaction, read before a node relays it (EIP-2718)."""

from __future__ import annotations

import pytest
from eth_account import Account

from cairn.chain import raw_transaction_gas

KEY = "0x" + "00" * 31 + "07"


@pytest.mark.parametrize(
    "fields",
    [
        {"gasPrice": 10**9},  # legacy
        {"gasPrice": 10**9, "accessList": []},  # EIP-2930, type 1
        {"maxFeePerGas": 2 * 10**9, "maxPriorityFeePerGas": 10**9},  # EIP-1559, type 2
    ],
    ids=["legacy", "type-1", "type-2"],
)
@pytest.mark.parametrize("gas", [21_000, 5_000_001, 29_000_000])
def test_the_gas_limit_of_every_transaction_type(fields: dict, gas: int) -> None:
    tx = {"to": "0x" + "11" * 20, "value": 1, "nonce": 3, "chainId": 31337, "gas": gas, **fields}
    raw = Account.sign_transaction(tx, KEY).raw_transaction
    assert raw_transaction_gas(raw) == gas
    assert raw_transaction_gas("0x" + raw.hex()) == gas


@pytest.mark.parametrize("raw", ["0x", "0x00", "0x05c0", "0x02c0", "0xzz", "0xc180"])
def test_what_is_not_a_signed_transaction_is_a_value_error(raw: str) -> None:
    with pytest.raises(ValueError):
        raw_transaction_gas(raw)
