"""The baseline for bench/gateway.py: MiniLM behind a bare FastAPI + onnxruntime
endpoint, OpenAI-shaped, with no receipts, no storage, no anchoring.

    python bench/_bare_server.py MODEL_DIR PORT
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel

from cairn.inference import Embedder


class Req(BaseModel):
    model: str
    input: str | list[str]


def main() -> None:
    embedder = Embedder.from_folder(Path(sys.argv[1]))
    app = FastAPI()

    @app.post("/v1/embeddings")
    def embeddings(req: Req) -> dict[str, Any]:
        texts = [req.input] if isinstance(req.input, str) else req.input
        vectors = embedder.embed(texts)
        return {
            "object": "list",
            "model": req.model,
            "data": [
                {"object": "embedding", "index": i, "embedding": v.tolist()}
                for i, v in enumerate(vectors)
            ],
        }

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
