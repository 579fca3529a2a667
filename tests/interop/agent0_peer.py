"""Run by .venv-agent0/bin/python (unmodified PyPI agent0-sdk), never by cairn's venv.

Reads a JSON job on stdin — the Anvil URL, chain id, the ERC-8004 registry
addresses, the local IPFS RPC multiaddr, an agent id, and a client key — and
prints one JSON object: what the SDK read of the agent (chain-direct, no
subgraph), plus the feedback it gave and read back. Any failure exits non-zero.
"""

from __future__ import annotations

import json
import sys

from agent0_sdk import SDK


def main() -> None:
    job = json.load(sys.stdin)
    chain_id = int(job["chain_id"])
    regs = {"IDENTITY": job["identity"], "REPUTATION": job["reputation"]}
    regs["VALIDATION"] = job["validation"]
    common = {
        "chainId": chain_id,
        "rpcUrl": job["rpc"],
        "registryOverrides": {chain_id: regs},
        "ipfs": "node",
        "ipfsNodeUrl": job["ipfs_api"],
    }
    reader = SDK(**common)
    assert reader.subgraph_client is None, "a local chain must have no subgraph"
    agent = reader.loadAgent(str(job["agent_id"]))
    rf = agent.registration_file
    loaded = {
        "name": rf.name,
        "description": rf.description,
        "endpoints": [{"type": e.type.value, "value": e.value, **e.meta} for e in rf.endpoints],
        "trust": [t.value if hasattr(t, "value") else t for t in rf.trustModels],
        "owners": rf.owners,
        "wallet": rf.walletAddress,
        "agentURI": rf.agentURI,
        "owner": reader.getAgentOwner(str(job["agent_id"])),
    }
    # A client rates the agent through the SDK (giveFeedback, then chain-direct reads).
    client = SDK(**common, signer=job["client_key"])
    handle = client.giveFeedback(str(job["agent_id"]), 87, tag1="starred", endpoint="inference")
    handle.wait_mined(timeout=60)
    me = client.web3_client.account.address
    got = client.getFeedback(str(job["agent_id"]), me, 1)
    summary = client.feedback_manager.getReputationSummary(
        str(job["agent_id"]), clientAddresses=[me], tag1="starred"
    )
    found = client.searchFeedback(agentId=str(job["agent_id"]))
    print(
        json.dumps(
            {
                "loaded": loaded,
                "client": me,
                "feedback": {"value": got.value, "tags": got.tags, "revoked": got.isRevoked},
                "summary": {"count": summary["count"], "average": summary["averageValue"]},
                "searched": len(found),
            }
        )
    )


if __name__ == "__main__":
    main()
