# pragma version ~=0.4.1
"""
@title ReputationRegistry
@notice ERC-8004 ("Trustless Agents") Reputation Registry: clients post feedback on
        agents of the Identity Registry; anyone reads it, filtered by client and tag.
@dev Written from the ERC-8004 text (Reputation Registry). Feedback is a signed
     fixed-point value (`int128`, 0-18 decimals) with two optional tags; the
     endpoint, file URI and hash are emitted, not stored. An agent's owner and the
     addresses it approved (for the agent or for all its tokens) cannot rate it.
     Feedback indexes count from 1 per (agent, client).
     Vyper needs bounds, so: at most `maxPerClient` (set at deployment, up to
     `MAX_PER_CLIENT`) feedback per client per agent (keeps every read loop bounded),
     tags up to `MAX_TAG` bytes, `getSummary` over at most `MAX_FILTER` clients,
     `readAllFeedback` returns at most `MAX_READ` entries (it reverts with "too many
     results" rather than truncate), `getClients` the first
     `MAX_READ` clients (`clientCount` and `clientAt` page the rest), and
     `getResponseCount` needs a client and an index (docs/erc8004.md).
     `getSummary` averages the matching, unrevoked values at the largest
     `valueDecimals` among them (fewer if the average would not fit `int128`).
"""

MAX_TAG: constant(uint256) = 64
MAX_URI: constant(uint256) = 4096
MAX_PER_CLIENT: constant(uint64) = 1000
MAX_FILTER: constant(uint256) = 256
MAX_READ: constant(uint256) = 128
MAX_DECIMALS: constant(uint8) = 18


interface IIdentity:
    def ownerOf(tokenId: uint256) -> address: view
    def getApproved(tokenId: uint256) -> address: view
    def isApprovedForAll(owner: address, operator: address) -> bool: view


struct Feedback:
    score: int128
    decimals: uint8
    tag1: String[MAX_TAG]
    tag2: String[MAX_TAG]
    isRevoked: bool


event NewFeedback:
    agentId: indexed(uint256)
    clientAddress: indexed(address)
    feedbackIndex: uint64
    value: int128
    valueDecimals: uint8
    indexedTag1: indexed(String[MAX_TAG])
    tag1: String[MAX_TAG]
    tag2: String[MAX_TAG]
    endpoint: String[MAX_URI]
    feedbackURI: String[MAX_URI]
    feedbackHash: bytes32


event FeedbackRevoked:
    agentId: indexed(uint256)
    clientAddress: indexed(address)
    feedbackIndex: indexed(uint64)


event ResponseAppended:
    agentId: indexed(uint256)
    clientAddress: indexed(address)
    feedbackIndex: uint64
    responder: indexed(address)
    responseURI: String[MAX_URI]
    responseHash: bytes32


identity: immutable(IIdentity)
maxPerClient: public(immutable(uint64))

feedback: HashMap[uint256, HashMap[address, HashMap[uint64, Feedback]]]
lastIndex: HashMap[uint256, HashMap[address, uint64]]
clients: HashMap[uint256, HashMap[uint256, address]]
clientCount: public(HashMap[uint256, uint256])
responses: HashMap[uint256, HashMap[address, HashMap[uint64, HashMap[address, uint64]]]]
responseTotal: HashMap[uint256, HashMap[address, HashMap[uint64, uint64]]]


@deploy
def __init__(identityRegistry: address, perClient: uint64):
    assert perClient > 0 and perClient <= MAX_PER_CLIENT, "bad feedback limit"
    identity = IIdentity(identityRegistry)
    maxPerClient = perClient


@view
@external
def getIdentityRegistry() -> address:
    return identity.address


@external
def giveFeedback(
    agentId: uint256,
    score: int128,
    valueDecimals: uint8,
    tag1: String[MAX_TAG],
    tag2: String[MAX_TAG],
    endpoint: String[MAX_URI],
    feedbackURI: String[MAX_URI],
    feedbackHash: bytes32,
):
    """
    @notice Rate `agentId` (the first argument after it is the ERC's `value`).
    """
    assert valueDecimals <= MAX_DECIMALS, "valueDecimals over 18"
    owner: address = staticcall identity.ownerOf(agentId)  # reverts for an unknown agent
    assert msg.sender != owner, "owner cannot rate its agent"
    assert not staticcall identity.isApprovedForAll(owner, msg.sender), "operator cannot rate its agent"
    assert staticcall identity.getApproved(agentId) != msg.sender, "operator cannot rate its agent"
    index: uint64 = self.lastIndex[agentId][msg.sender] + 1
    assert index <= maxPerClient, "too many feedback from this client"
    if index == 1:
        n: uint256 = self.clientCount[agentId]
        self.clients[agentId][n] = msg.sender
        self.clientCount[agentId] = n + 1
    self.lastIndex[agentId][msg.sender] = index
    self.feedback[agentId][msg.sender][index] = Feedback(
        score=score, decimals=valueDecimals, tag1=tag1, tag2=tag2, isRevoked=False
    )
    log NewFeedback(
        agentId=agentId, clientAddress=msg.sender, feedbackIndex=index, value=score,
        valueDecimals=valueDecimals, indexedTag1=tag1, tag1=tag1, tag2=tag2,
        endpoint=endpoint, feedbackURI=feedbackURI, feedbackHash=feedbackHash
    )


@view
@internal
def _exists(agentId: uint256, client: address, index: uint64):
    assert index > 0 and index <= self.lastIndex[agentId][client], "no such feedback"


@external
def revokeFeedback(agentId: uint256, feedbackIndex: uint64):
    self._exists(agentId, msg.sender, feedbackIndex)
    assert not self.feedback[agentId][msg.sender][feedbackIndex].isRevoked, "already revoked"
    self.feedback[agentId][msg.sender][feedbackIndex].isRevoked = True
    log FeedbackRevoked(agentId=agentId, clientAddress=msg.sender, feedbackIndex=feedbackIndex)


@external
def appendResponse(
    agentId: uint256,
    clientAddress: address,
    feedbackIndex: uint64,
    responseURI: String[MAX_URI],
    responseHash: bytes32,
):
    self._exists(agentId, clientAddress, feedbackIndex)
    self.responses[agentId][clientAddress][feedbackIndex][msg.sender] += 1
    self.responseTotal[agentId][clientAddress][feedbackIndex] += 1
    log ResponseAppended(
        agentId=agentId, clientAddress=clientAddress, feedbackIndex=feedbackIndex,
        responder=msg.sender, responseURI=responseURI, responseHash=responseHash
    )


# -- reads ----------------------------------------------------------------------------


@view
@external
def getLastIndex(agentId: uint256, clientAddress: address) -> uint64:
    return self.lastIndex[agentId][clientAddress]


@view
@external
def readFeedback(
    agentId: uint256, clientAddress: address, feedbackIndex: uint64
) -> (int128, uint8, String[MAX_TAG], String[MAX_TAG], bool):
    self._exists(agentId, clientAddress, feedbackIndex)
    f: Feedback = self.feedback[agentId][clientAddress][feedbackIndex]
    return f.score, f.decimals, f.tag1, f.tag2, f.isRevoked


@view
@external
def clientAt(agentId: uint256, i: uint256) -> address:
    assert i < self.clientCount[agentId], "no such client"
    return self.clients[agentId][i]


@view
@external
def getClients(agentId: uint256) -> DynArray[address, MAX_READ]:
    out: DynArray[address, MAX_READ] = []
    n: uint256 = min(self.clientCount[agentId], MAX_READ)
    for i: uint256 in range(n, bound=MAX_READ):
        out.append(self.clients[agentId][i])
    return out


@view
@internal
def _matches(f: Feedback, tag1: String[MAX_TAG], tag2: String[MAX_TAG]) -> bool:
    if len(tag1) > 0 and keccak256(tag1) != keccak256(f.tag1):
        return False
    return len(tag2) == 0 or keccak256(tag2) == keccak256(f.tag2)


@view
@external
def getSummary(
    agentId: uint256,
    clientAddresses: DynArray[address, MAX_FILTER],
    tag1: String[MAX_TAG],
    tag2: String[MAX_TAG],
) -> (uint64, int128, uint8):
    """
    @notice Count and average of the unrevoked feedback of `clientAddresses` (required:
            unfiltered feedback is open to Sybils) matching the tags ("" = any).
    """
    assert len(clientAddresses) > 0, "clientAddresses required"
    count: uint64 = 0
    total: int256 = 0  # in 18 decimals
    decimals: uint8 = 0
    for client: address in clientAddresses:
        last: uint64 = self.lastIndex[agentId][client]
        for i: uint64 in range(1, MAX_PER_CLIENT + 1):
            if i > last:
                break
            f: Feedback = self.feedback[agentId][client][i]
            if f.isRevoked or not self._matches(f, tag1, tag2):
                continue
            count += 1
            total += convert(f.score, int256) * convert(10 ** convert(MAX_DECIMALS - f.decimals, uint256), int256)
            decimals = max(decimals, f.decimals)
    if count == 0:
        return 0, 0, 0
    average: int256 = total // convert(count, int256) // convert(10 ** convert(MAX_DECIMALS - decimals, uint256), int256)
    for _: uint8 in range(MAX_DECIMALS):
        if average <= convert(max_value(int128), int256) and average >= convert(min_value(int128), int256):
            break
        average //= 10
        decimals -= 1
    return count, convert(average, int128), decimals


@view
@external
def readAllFeedback(
    agentId: uint256,
    clientAddresses: DynArray[address, MAX_FILTER],
    tag1: String[MAX_TAG],
    tag2: String[MAX_TAG],
    includeRevoked: bool,
) -> (
    DynArray[address, MAX_READ],
    DynArray[uint64, MAX_READ],
    DynArray[int128, MAX_READ],
    DynArray[uint8, MAX_READ],
    DynArray[String[MAX_TAG], MAX_READ],
    DynArray[String[MAX_TAG], MAX_READ],
    DynArray[bool, MAX_READ],
):
    """
    @notice Every feedback matching the filters (no clients = every client).
    """
    who: DynArray[address, MAX_FILTER] = clientAddresses
    if len(who) == 0:
        n: uint256 = self.clientCount[agentId]
        assert n <= MAX_FILTER, "too many results: filter by client"
        for i: uint256 in range(n, bound=MAX_FILTER):
            who.append(self.clients[agentId][i])
    clients: DynArray[address, MAX_READ] = []
    indexes: DynArray[uint64, MAX_READ] = []
    scores: DynArray[int128, MAX_READ] = []
    decimals: DynArray[uint8, MAX_READ] = []
    tag1s: DynArray[String[MAX_TAG], MAX_READ] = []
    tag2s: DynArray[String[MAX_TAG], MAX_READ] = []
    revoked: DynArray[bool, MAX_READ] = []
    for client: address in who:
        last: uint64 = self.lastIndex[agentId][client]
        for i: uint64 in range(1, MAX_PER_CLIENT + 1):
            if i > last:
                break
            f: Feedback = self.feedback[agentId][client][i]
            if (f.isRevoked and not includeRevoked) or not self._matches(f, tag1, tag2):
                continue
            assert len(clients) < MAX_READ, "too many results: filter by client"
            clients.append(client)
            indexes.append(i)
            scores.append(f.score)
            decimals.append(f.decimals)
            tag1s.append(f.tag1)
            tag2s.append(f.tag2)
            revoked.append(f.isRevoked)
    return clients, indexes, scores, decimals, tag1s, tag2s, revoked


@view
@external
def getResponseCount(
    agentId: uint256,
    clientAddress: address,
    feedbackIndex: uint64,
    responders: DynArray[address, MAX_FILTER],
) -> uint64:
    """
    @notice Responses to one feedback, from `responders` (none = from anyone).
    """
    self._exists(agentId, clientAddress, feedbackIndex)
    if len(responders) == 0:
        return self.responseTotal[agentId][clientAddress][feedbackIndex]
    count: uint64 = 0
    for r: address in responders:
        count += self.responses[agentId][clientAddress][feedbackIndex][r]
    return count
