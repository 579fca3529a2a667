# pragma version ~=0.4.1
"""
@title ModelRegistry
@notice Names of models, who owns them, and their versions (content CID, manifest CID).
@dev A name belongs to the wallet that registers it. Its owner publishes versions;
     if the name has an update delay, a new version is announced at once but becomes
     current only after the delay, so users see updates coming. The delay can be
     raised at any time but never lowered: lowering it would let an owner skip the
     notice users rely on. Versions are never edited, only deprecated — and a
     deprecation is announced like a version: it takes effect after the name's update
     delay, so an owner cannot pull the current version from under its users at once.
     The delay is at most `MAX_UPDATE_DELAY` (30 days), so raising it cannot brick a
     name.
"""

MAX_NAME: constant(uint256) = 64
MAX_CID: constant(uint256) = 128
MAX_VERSIONS: constant(uint256) = 65536
MAX_UPDATE_DELAY: constant(uint64) = 30 * 24 * 3600


struct Model:
    owner: address
    updateDelay: uint64
    versionCount: uint256
    name: String[MAX_NAME]


struct Version:
    contentCid: String[MAX_CID]
    manifestCid: String[MAX_CID]
    publishedAt: uint64
    effectiveAt: uint64
    deprecatedAt: uint64  # 0 = never; else out of use from this time on


event ModelRegistered:
    modelId: indexed(bytes32)
    owner: indexed(address)
    name: String[MAX_NAME]
    updateDelay: uint64


event VersionPublished:
    modelId: indexed(bytes32)
    version: indexed(uint256)
    contentCid: String[MAX_CID]
    manifestCid: String[MAX_CID]
    effectiveAt: uint64


event VersionDeprecated:
    modelId: indexed(bytes32)
    version: indexed(uint256)
    effectiveAt: uint64


event OwnershipTransferred:
    modelId: indexed(bytes32)
    previousOwner: indexed(address)
    newOwner: indexed(address)


event UpdateDelayRaised:
    modelId: indexed(bytes32)
    updateDelay: uint64


models: public(HashMap[bytes32, Model])
versions: HashMap[bytes32, HashMap[uint256, Version]]


@pure
@external
def modelId(name: String[MAX_NAME]) -> bytes32:
    return keccak256(name)


@internal
@view
def _owned(name: String[MAX_NAME]) -> bytes32:
    mid: bytes32 = keccak256(name)
    owner: address = self.models[mid].owner
    assert owner != empty(address), "unknown model"
    assert owner == msg.sender, "not the owner"
    return mid


@external
def register(name: String[MAX_NAME], updateDelay: uint64):
    assert len(name) > 0, "empty name"
    assert updateDelay <= MAX_UPDATE_DELAY, "delay over 30 days"
    mid: bytes32 = keccak256(name)
    assert self.models[mid].owner == empty(address), "name taken"
    self.models[mid] = Model(owner=msg.sender, updateDelay=updateDelay, versionCount=0, name=name)
    log ModelRegistered(modelId=mid, owner=msg.sender, name=name, updateDelay=updateDelay)


@external
def publish(name: String[MAX_NAME], contentCid: String[MAX_CID], manifestCid: String[MAX_CID]) -> uint256:
    mid: bytes32 = self._owned(name)
    assert len(contentCid) > 0, "empty content CID"
    n: uint256 = self.models[mid].versionCount
    assert n < MAX_VERSIONS, "too many versions"
    now: uint64 = convert(block.timestamp, uint64)
    effective: uint64 = now + self.models[mid].updateDelay
    self.versions[mid][n] = Version(
        contentCid=contentCid, manifestCid=manifestCid, publishedAt=now,
        effectiveAt=effective, deprecatedAt=0
    )
    self.models[mid].versionCount = n + 1
    log VersionPublished(modelId=mid, version=n, contentCid=contentCid, manifestCid=manifestCid, effectiveAt=effective)
    return n


@external
def deprecate(name: String[MAX_NAME], version: uint256):
    mid: bytes32 = self._owned(name)
    assert version < self.models[mid].versionCount, "no such version"
    assert self.versions[mid][version].deprecatedAt == 0, "already deprecated"
    effective: uint64 = convert(block.timestamp, uint64) + self.models[mid].updateDelay
    self.versions[mid][version].deprecatedAt = effective
    log VersionDeprecated(modelId=mid, version=version, effectiveAt=effective)


@external
def transferOwnership(name: String[MAX_NAME], newOwner: address):
    mid: bytes32 = self._owned(name)
    assert newOwner != empty(address), "zero owner"
    self.models[mid].owner = newOwner
    log OwnershipTransferred(modelId=mid, previousOwner=msg.sender, newOwner=newOwner)


@external
def raiseUpdateDelay(name: String[MAX_NAME], updateDelay: uint64):
    mid: bytes32 = self._owned(name)
    assert updateDelay > self.models[mid].updateDelay, "delay can only grow"
    assert updateDelay <= MAX_UPDATE_DELAY, "delay over 30 days"
    self.models[mid].updateDelay = updateDelay
    log UpdateDelayRaised(modelId=mid, updateDelay=updateDelay)


@view
@external
def version(name: String[MAX_NAME], index: uint256) -> Version:
    mid: bytes32 = keccak256(name)
    assert index < self.models[mid].versionCount, "no such version"
    return self.versions[mid][index]


@view
@external
def current(name: String[MAX_NAME]) -> (uint256, Version):
    """
    @notice The newest version in effect whose deprecation (if any) is not yet in effect.
    """
    mid: bytes32 = keccak256(name)
    now: uint64 = convert(block.timestamp, uint64)
    n: uint256 = self.models[mid].versionCount
    assert n > 0, "no version"
    for i: uint256 in range(n, bound=MAX_VERSIONS):
        index: uint256 = n - 1 - i
        v: Version = self.versions[mid][index]
        retired: bool = v.deprecatedAt != 0 and v.deprecatedAt <= now
        if not retired and v.effectiveAt <= now:
            return index, v
    raise "no current version"
