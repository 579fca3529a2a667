"""PaymentChannels: deposits, cumulative EIP-712 vouchers, a close window.

The payer opens a channel to a payee and tops it up; the payee redeems the latest
voucher (see :mod:`cairn.chain.vouchers`); the payer starts closing and, after the
window in which the payee can still redeem, withdraws the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from web3 import Web3

from cairn.chain._tx import Tx, tx_of
from cairn.chain._wrapper import ContractWrapper
from cairn.chain.vouchers import SignedVoucher, VoucherDomain, sign_voucher
from cairn.identity import Signer

__all__ = ["ChannelState", "PaymentChannels"]

_ZERO = "0x" + "00" * 20


@dataclass(frozen=True)
class ChannelState:
    channel_id: int
    payer: str
    payee: str
    deposit: int
    paid: int
    closes_at: int  # 0 while open

    @property
    def remaining(self) -> int:
        return self.deposit - self.paid


class PaymentChannels(ContractWrapper):
    """Typed calls of the PaymentChannels contract."""

    name = "PaymentChannels"

    @cached_property
    def domain(self) -> VoucherDomain:
        """The EIP-712 domain vouchers for this contract are signed under."""
        chain_id = int(self._read("chain id", lambda: self._w3.eth.chain_id))
        return VoucherDomain(chain_id, self.address)

    def open(self, signer: Signer, payee: str, deposit: int) -> Tx[int]:
        """Open a channel with ``deposit`` wei; ``value`` is the channel id."""
        receipt = self._send(signer, "open", Web3.to_checksum_address(payee), value=deposit)
        return tx_of(receipt, int(self._event(receipt, "Opened")["channelId"]))

    def top_up(self, signer: Signer, channel_id: int, wei: int) -> Tx[None]:
        return tx_of(self._send(signer, "topUp", channel_id, value=wei), None)

    def sign(self, signer: Signer, channel_id: int, amount: int) -> SignedVoucher:
        """A cumulative voucher for ``amount`` wei, signed by the payer."""
        return sign_voucher(signer, self.domain, channel_id, amount)

    def redeem(self, signer: Signer, voucher: SignedVoucher) -> Tx[int]:
        """Pay the payee the voucher's growth; ``value`` is the amount paid now."""
        v, r, s = voucher.vrs()
        receipt = self._send(signer, "redeem", voucher.channel_id, voucher.amount, v, r, s)
        return tx_of(receipt, int(self._event(receipt, "Redeemed")["amount"]))

    def start_close(self, signer: Signer, channel_id: int) -> Tx[int]:
        """Payer: start the close window; ``value`` is when it ends."""
        receipt = self._send(signer, "startClose", channel_id)
        return tx_of(receipt, int(self._event(receipt, "CloseStarted")["closesAt"]))

    def withdraw(self, signer: Signer, channel_id: int) -> Tx[int]:
        """Payer, after the window: take back what was not redeemed."""
        receipt = self._send(signer, "withdraw", channel_id)
        return tx_of(receipt, int(self._event(receipt, "Closed")["refunded"]))

    def channel(self, channel_id: int) -> ChannelState | None:
        payer, payee, deposit, paid, closes_at = self._call("channels", channel_id)
        if payer == _ZERO:
            return None
        return ChannelState(channel_id, payer, payee, int(deposit), int(paid), int(closes_at))

    def channels_of(self, address: str) -> list[ChannelState]:
        """Every channel ``address`` pays or is paid by, in id order (from ``Opened`` events)."""
        who = Web3.to_checksum_address(address)
        logs = [*self._logs("Opened", payer=who), *self._logs("Opened", payee=who)]
        ids = {int(log["args"]["channelId"]) for log in logs}
        return [ch for i in sorted(ids) if (ch := self.channel(i)) is not None]

    @property
    def close_window(self) -> int:
        return int(self._call("closeWindow"))
