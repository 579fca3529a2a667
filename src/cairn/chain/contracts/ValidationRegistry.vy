# pragma version ~=0.4.1
"""
@title ValidationRegistry
@notice ERC-8004 ("Trustless Agents") Validation Registry: an agent asks a named
        validator to check its work; only that validator answers, 0-100.
@dev Written from the ERC-8004 text (Validation Registry). A request is identified by
     its `requestHash` (a commitment to the data to validate) and made once, by the
     agent's owner or an address it approved. The validator may answer again (e.g.
     soft then hard finality by `tag`); the last answer is the status.
     Vyper needs bounds: `getAgentValidations` and `getValidatorRequests` return the
     latest `MAX_LIST` hashes, and `getSummary` averages the answered requests among
     an agent's latest `MAX_LIST` (`agentValidationCount`/`agentValidationAt` and
     `validatorRequestCount`/`validatorRequestAt` page everything) (docs/erc8004.md).
"""

MAX_URI: constant(uint256) = 4096
MAX_TAG: constant(uint256) = 64
MAX_LIST: constant(uint256) = 1024
MAX_FILTER: constant(uint256) = 256


interface IIdentity:
    def ownerOf(tokenId: uint256) -> address: view
    def getApproved(tokenId: uint256) -> address: view
    def isApprovedForAll(owner: address, operator: address) -> bool: view


struct Validation:
    validatorAddress: address
    agentId: uint256
    response: uint8
    responseHash: bytes32
    tag: String[MAX_TAG]
    lastUpdate: uint256
    answered: bool


event ValidationRequest:
    validatorAddress: indexed(address)
    agentId: indexed(uint256)
    requestURI: String[MAX_URI]
    requestHash: indexed(bytes32)


event ValidationResponse:
    validatorAddress: indexed(address)
    agentId: indexed(uint256)
    requestHash: indexed(bytes32)
    response: uint8
    responseURI: String[MAX_URI]
    responseHash: bytes32
    tag: String[MAX_TAG]


identity: immutable(IIdentity)

validations: HashMap[bytes32, Validation]
byAgent: HashMap[uint256, HashMap[uint256, bytes32]]
agentValidationCount: public(HashMap[uint256, uint256])
byValidator: HashMap[address, HashMap[uint256, bytes32]]
validatorRequestCount: public(HashMap[address, uint256])


@deploy
def __init__(identityRegistry: address):
    identity = IIdentity(identityRegistry)


@view
@external
def getIdentityRegistry() -> address:
    return identity.address


@external
def validationRequest(
    validatorAddress: address, agentId: uint256, requestURI: String[MAX_URI], requestHash: bytes32
):
    owner: address = staticcall identity.ownerOf(agentId)  # reverts for an unknown agent
    assert (
        msg.sender == owner
        or staticcall identity.isApprovedForAll(owner, msg.sender)
        or staticcall identity.getApproved(agentId) == msg.sender
    ), "not owner or operator"
    assert validatorAddress != empty(address), "zero validator"
    assert requestHash != empty(bytes32), "empty requestHash"
    assert self.validations[requestHash].validatorAddress == empty(address), "request exists"
    self.validations[requestHash] = Validation(
        validatorAddress=validatorAddress, agentId=agentId, response=0,
        responseHash=empty(bytes32), tag="", lastUpdate=block.timestamp, answered=False
    )
    n: uint256 = self.agentValidationCount[agentId]
    self.byAgent[agentId][n] = requestHash
    self.agentValidationCount[agentId] = n + 1
    m: uint256 = self.validatorRequestCount[validatorAddress]
    self.byValidator[validatorAddress][m] = requestHash
    self.validatorRequestCount[validatorAddress] = m + 1
    log ValidationRequest(
        validatorAddress=validatorAddress, agentId=agentId, requestURI=requestURI,
        requestHash=requestHash
    )


@external
def validationResponse(
    requestHash: bytes32,
    response: uint8,
    responseURI: String[MAX_URI],
    responseHash: bytes32,
    tag: String[MAX_TAG],
):
    v: Validation = self.validations[requestHash]
    assert v.validatorAddress != empty(address), "unknown request"
    assert msg.sender == v.validatorAddress, "not the request's validator"
    assert response <= 100, "response over 100"
    self.validations[requestHash] = Validation(
        validatorAddress=v.validatorAddress, agentId=v.agentId, response=response,
        responseHash=responseHash, tag=tag, lastUpdate=block.timestamp, answered=True
    )
    log ValidationResponse(
        validatorAddress=v.validatorAddress, agentId=v.agentId, requestHash=requestHash,
        response=response, responseURI=responseURI, responseHash=responseHash, tag=tag
    )


# -- reads ----------------------------------------------------------------------------


@view
@external
def getValidationStatus(
    requestHash: bytes32,
) -> (address, uint256, uint8, bytes32, String[MAX_TAG], uint256):
    v: Validation = self.validations[requestHash]
    assert v.validatorAddress != empty(address), "unknown request"
    return v.validatorAddress, v.agentId, v.response, v.responseHash, v.tag, v.lastUpdate


@view
@external
def hasResponse(requestHash: bytes32) -> bool:
    return self.validations[requestHash].answered


@view
@internal
def _first(n: uint256) -> uint256:
    """The first index of the latest `MAX_LIST` of `n`."""
    if n > MAX_LIST:
        return n - MAX_LIST
    return 0


@view
@external
def agentValidationAt(agentId: uint256, i: uint256) -> bytes32:
    assert i < self.agentValidationCount[agentId], "no such request"
    return self.byAgent[agentId][i]


@view
@external
def validatorRequestAt(validatorAddress: address, i: uint256) -> bytes32:
    assert i < self.validatorRequestCount[validatorAddress], "no such request"
    return self.byValidator[validatorAddress][i]


@view
@external
def getAgentValidations(agentId: uint256) -> DynArray[bytes32, MAX_LIST]:
    n: uint256 = self.agentValidationCount[agentId]
    start: uint256 = self._first(n)
    out: DynArray[bytes32, MAX_LIST] = []
    for i: uint256 in range(start, start + MAX_LIST, bound=MAX_LIST):
        if i >= n:
            break
        out.append(self.byAgent[agentId][i])
    return out


@view
@external
def getValidatorRequests(validatorAddress: address) -> DynArray[bytes32, MAX_LIST]:
    n: uint256 = self.validatorRequestCount[validatorAddress]
    start: uint256 = self._first(n)
    out: DynArray[bytes32, MAX_LIST] = []
    for i: uint256 in range(start, start + MAX_LIST, bound=MAX_LIST):
        if i >= n:
            break
        out.append(self.byValidator[validatorAddress][i])
    return out


@view
@external
def getSummary(
    agentId: uint256, validatorAddresses: DynArray[address, MAX_FILTER], tag: String[MAX_TAG]
) -> (uint64, uint8):
    """
    @notice Count and average response of the agent's answered requests (of its latest
            `MAX_LIST`), from `validatorAddresses` (none = any) with `tag` ("" = any).
    """
    n: uint256 = self.agentValidationCount[agentId]
    start: uint256 = self._first(n)
    count: uint64 = 0
    total: uint256 = 0
    for i: uint256 in range(start, start + MAX_LIST, bound=MAX_LIST):
        if i >= n:
            break
        v: Validation = self.validations[self.byAgent[agentId][i]]
        if not v.answered:
            continue
        if len(validatorAddresses) > 0 and v.validatorAddress not in validatorAddresses:
            continue
        if len(tag) > 0 and keccak256(tag) != keccak256(v.tag):
            continue
        count += 1
        total += convert(v.response, uint256)
    if count == 0:
        return 0, 0
    return count, convert(total // convert(count, uint256), uint8)
