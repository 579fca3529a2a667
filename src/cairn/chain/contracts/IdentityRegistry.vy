# pragma version ~=0.4.1
"""
@title IdentityRegistry
@notice ERC-8004 ("Trustless Agents") Identity Registry: every agent is an ERC-721
        token whose id is its agentId and whose tokenURI (the agentURI) resolves to
        its registration file.
@dev Written from the ERC-8004 text (Identity Registry). Agent ids are assigned
     incrementally from 1, so 0 is never an agent. The owner of an agent, an address
     it approved for that agent, or an operator it approved for all its tokens
     manages it: URI, metadata and wallet.
     The metadata key "agentWallet" is reserved: it is the owner's address at
     registration, changes only through `setAgentWallet` with an EIP-712 signature of
     the new wallet (domain "ERC8004IdentityRegistry", version "1"), and is cleared
     on transfer. A signature is valid at most `MAX_DEADLINE_DELAY` seconds ahead
     and only once (its digest is spent), so a wallet's consent cannot be replayed
     after it is unset or the agent changes hands. Only EOA signatures (ECDSA, low
     s) are accepted; ERC-1271 contract wallets are not (docs/erc8004.md).
     Sizes are bounded (Vyper): a URI up to `MAX_URI` bytes, a key up to `MAX_KEY`,
     a value up to `MAX_VALUE`, `MAX_ENTRIES` entries per registration.
"""

MAX_URI: constant(uint256) = 4096
MAX_KEY: constant(uint256) = 64
MAX_VALUE: constant(uint256) = 1024
MAX_ENTRIES: constant(uint256) = 16
MAX_DATA: constant(uint256) = 1024
MAX_DEADLINE_DELAY: constant(uint256) = 300
# secp256k1n / 2: a signature with a larger s is the malleable twin of a valid one
HALF_N: constant(uint256) = 57896044618658097711785492504343953926418782139537452191302581570759080747168

DOMAIN_TYPEHASH: constant(bytes32) = keccak256(
    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)
WALLET_TYPEHASH: constant(bytes32) = keccak256(
    "AgentWalletSet(uint256 agentId,address newWallet,address owner,uint256 deadline)"
)
NAME_HASH: constant(bytes32) = keccak256("ERC8004IdentityRegistry")
VERSION_HASH: constant(bytes32) = keccak256("1")
WALLET_KEY: constant(String[11]) = "agentWallet"
RECEIVED: constant(bytes4) = 0x150B7A02


interface IERC721Receiver:
    def onERC721Received(
        operator: address, sender: address, tokenId: uint256, data: Bytes[MAX_DATA]
    ) -> bytes4: nonpayable


struct MetadataEntry:
    metadataKey: String[MAX_KEY]
    metadataValue: Bytes[MAX_VALUE]


event Transfer:
    sender: indexed(address)
    receiver: indexed(address)
    tokenId: indexed(uint256)


event Approval:
    owner: indexed(address)
    approved: indexed(address)
    tokenId: indexed(uint256)


event ApprovalForAll:
    owner: indexed(address)
    operator: indexed(address)
    approved: bool


event Registered:
    agentId: indexed(uint256)
    agentURI: String[MAX_URI]
    owner: indexed(address)


event URIUpdated:
    agentId: indexed(uint256)
    newURI: String[MAX_URI]
    updatedBy: indexed(address)


event MetadataSet:
    agentId: indexed(uint256)
    indexedMetadataKey: indexed(String[MAX_KEY])
    metadataKey: String[MAX_KEY]
    metadataValue: Bytes[MAX_VALUE]


name: public(String[32])
symbol: public(String[8])
lastId: public(uint256)

owners: HashMap[uint256, address]
balances: HashMap[address, uint256]
approvals: HashMap[uint256, address]
operators: HashMap[address, HashMap[address, bool]]
uris: HashMap[uint256, String[MAX_URI]]
metadata: HashMap[uint256, HashMap[bytes32, Bytes[MAX_VALUE]]]
wallets: HashMap[uint256, address]
spent: public(HashMap[bytes32, bool])  # EIP-712 digests of wallet proofs already used


@deploy
def __init__():
    self.name = "ERC-8004 Agents"
    self.symbol = "AGENT"


# -- ERC-165 / ERC-721 --------------------------------------------------------------


@pure
@external
def supportsInterface(interfaceId: bytes4) -> bool:
    # ERC-165, ERC-721, ERC-721 Metadata
    return interfaceId in [0x01FFC9A7, 0x80AC58CD, 0x5B5E139F]


@view
@internal
def _owner(agentId: uint256) -> address:
    owner: address = self.owners[agentId]
    assert owner != empty(address), "unknown agent"
    return owner


@view
@internal
def _authorized(owner: address, who: address, agentId: uint256) -> bool:
    return who == owner or self.operators[owner][who] or self.approvals[agentId] == who


@view
@internal
def _manager(agentId: uint256) -> address:
    owner: address = self._owner(agentId)
    assert self._authorized(owner, msg.sender, agentId), "not owner or operator"
    return owner


@view
@external
def ownerOf(tokenId: uint256) -> address:
    return self._owner(tokenId)


@view
@external
def balanceOf(owner: address) -> uint256:
    assert owner != empty(address), "zero address"
    return self.balances[owner]


@view
@external
def getApproved(tokenId: uint256) -> address:
    self._owner(tokenId)
    return self.approvals[tokenId]


@view
@external
def isApprovedForAll(owner: address, operator: address) -> bool:
    return self.operators[owner][operator]


@view
@external
def tokenURI(tokenId: uint256) -> String[MAX_URI]:
    self._owner(tokenId)
    return self.uris[tokenId]


@external
def approve(approved: address, tokenId: uint256):
    owner: address = self._owner(tokenId)
    assert msg.sender == owner or self.operators[owner][msg.sender], "not owner or operator"
    self.approvals[tokenId] = approved
    log Approval(owner=owner, approved=approved, tokenId=tokenId)


@external
def setApprovalForAll(operator: address, approved: bool):
    assert operator != msg.sender, "approve to caller"
    self.operators[msg.sender][operator] = approved
    log ApprovalForAll(owner=msg.sender, operator=operator, approved=approved)


@internal
def _set_wallet(agentId: uint256, wallet: address):
    self.wallets[agentId] = wallet
    data: Bytes[MAX_VALUE] = b""
    if wallet != empty(address):
        data = concat(convert(wallet, bytes20), b"")
    log MetadataSet(agentId=agentId, indexedMetadataKey=WALLET_KEY, metadataKey=WALLET_KEY, metadataValue=data)


@internal
def _transfer(sender: address, receiver: address, tokenId: uint256):
    owner: address = self._owner(tokenId)
    assert owner == sender, "sender is not the owner"
    assert receiver != empty(address), "transfer to zero address"
    assert self._authorized(owner, msg.sender, tokenId), "not owner or operator"
    self.approvals[tokenId] = empty(address)
    self.balances[sender] -= 1
    self.balances[receiver] += 1
    self.owners[tokenId] = receiver
    if self.wallets[tokenId] != empty(address):
        self._set_wallet(tokenId, empty(address))  # the new owner proves its own wallet
    log Transfer(sender=sender, receiver=receiver, tokenId=tokenId)


@external
def transferFrom(sender: address, receiver: address, tokenId: uint256):
    self._transfer(sender, receiver, tokenId)


@external
def safeTransferFrom(
    sender: address, receiver: address, tokenId: uint256, data: Bytes[MAX_DATA] = b""
):
    self._transfer(sender, receiver, tokenId)
    if receiver.is_contract:
        answer: bytes4 = extcall IERC721Receiver(receiver).onERC721Received(
            msg.sender, sender, tokenId, data
        )
        assert answer == RECEIVED, "receiver refused the token"


# -- ERC-8004 registration, URI, metadata ---------------------------------------------


@internal
def _set_metadata(agentId: uint256, key: String[MAX_KEY], data: Bytes[MAX_VALUE]):
    assert keccak256(key) != keccak256(WALLET_KEY), "agentWallet is reserved"
    self.metadata[agentId][keccak256(key)] = data
    log MetadataSet(agentId=agentId, indexedMetadataKey=key, metadataKey=key, metadataValue=data)


@external
def register(
    agentURI: String[MAX_URI] = "", metadata: DynArray[MetadataEntry, MAX_ENTRIES] = []
) -> uint256:
    """
    @notice Mint the next agent id to the caller; its wallet starts as the caller.
    """
    agentId: uint256 = self.lastId + 1
    self.lastId = agentId
    self.owners[agentId] = msg.sender
    self.balances[msg.sender] += 1
    self.uris[agentId] = agentURI
    log Transfer(sender=empty(address), receiver=msg.sender, tokenId=agentId)
    self._set_wallet(agentId, msg.sender)
    for entry: MetadataEntry in metadata:
        self._set_metadata(agentId, entry.metadataKey, entry.metadataValue)
    log Registered(agentId=agentId, agentURI=agentURI, owner=msg.sender)
    return agentId


@external
def setAgentURI(agentId: uint256, newURI: String[MAX_URI]):
    self._manager(agentId)
    self.uris[agentId] = newURI
    log URIUpdated(agentId=agentId, newURI=newURI, updatedBy=msg.sender)


@external
def setMetadata(agentId: uint256, metadataKey: String[MAX_KEY], metadataValue: Bytes[MAX_VALUE]):
    self._manager(agentId)
    self._set_metadata(agentId, metadataKey, metadataValue)


@view
@external
def getMetadata(agentId: uint256, metadataKey: String[MAX_KEY]) -> Bytes[MAX_VALUE]:
    """
    @notice A metadata value (empty if unset); "agentWallet" is the wallet's 20 bytes.
    """
    if keccak256(metadataKey) == keccak256(WALLET_KEY):
        wallet: address = self.wallets[agentId]
        if wallet == empty(address):
            return b""
        return concat(convert(wallet, bytes20), b"")
    return self.metadata[agentId][keccak256(metadataKey)]


# -- the agent's wallet ----------------------------------------------------------------


@view
@internal
def _domain_separator() -> bytes32:
    return keccak256(abi_encode(DOMAIN_TYPEHASH, NAME_HASH, VERSION_HASH, chain.id, self))


@view
@external
def DOMAIN_SEPARATOR() -> bytes32:
    return self._domain_separator()


@view
@internal
def _wallet_digest(agentId: uint256, newWallet: address, owner: address, deadline: uint256) -> bytes32:
    inner: bytes32 = keccak256(abi_encode(WALLET_TYPEHASH, agentId, newWallet, owner, deadline))
    return keccak256(concat(b"\x19\x01", self._domain_separator(), inner))


@view
@external
def walletDigest(agentId: uint256, newWallet: address, owner: address, deadline: uint256) -> bytes32:
    """
    @notice The EIP-712 digest `newWallet` signs to consent to `setAgentWallet`.
    """
    return self._wallet_digest(agentId, newWallet, owner, deadline)


@pure
@internal
def _recover(digest: bytes32, signature: Bytes[65]) -> address:
    assert len(signature) == 65, "bad signature length"
    r: uint256 = convert(extract32(signature, 0), uint256)
    s: uint256 = convert(extract32(signature, 32), uint256)
    v: uint256 = convert(slice(signature, 64, 1), uint256)
    if v < 27:
        v += 27
    assert v == 27 or v == 28, "bad signature v"
    assert s <= HALF_N, "malleable signature"
    return ecrecover(digest, v, r, s)


@external
def setAgentWallet(agentId: uint256, newWallet: address, deadline: uint256, signature: Bytes[65]):
    """
    @notice Set the agent's wallet; `newWallet` proves consent with an EIP-712 signature.
    """
    owner: address = self._manager(agentId)
    assert newWallet != empty(address), "zero wallet"
    assert block.timestamp <= deadline, "signature expired"
    assert deadline <= block.timestamp + MAX_DEADLINE_DELAY, "deadline too far"
    digest: bytes32 = self._wallet_digest(agentId, newWallet, owner, deadline)
    assert not self.spent[digest], "signature already used"
    signer: address = self._recover(digest, signature)
    assert signer != empty(address) and signer == newWallet, "not signed by the wallet"
    self.spent[digest] = True
    self._set_wallet(agentId, newWallet)


@external
def unsetAgentWallet(agentId: uint256):
    self._manager(agentId)
    self._set_wallet(agentId, empty(address))


@view
@external
def getAgentWallet(agentId: uint256) -> address:
    self._owner(agentId)
    return self.wallets[agentId]
