"""Rebuild digests/data/topic_head.npz — the built-in taxonomy's fitted head, shipped with the package.

Not part of the product: run by a maintainer after any change to what a head depends on (the built-in
topics.toml or its examples file, how examples are read, the model files, the head's settings), which the
test suite reports (tests/digests/test_semantic.py). A first start with the built-in taxonomy then reads
the head instead of fitting it, which takes about 40 seconds and up to 410 MB on a 2-core machine.

    python tools/build_topic_head.py

Fitting is deterministic: on one machine the file comes out byte for byte the same.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from digests import semantic  # noqa: E402
from digests.topics import load_taxonomy  # noqa: E402

TARGET = ROOT / "digests" / "data" / semantic.PACKAGED_HEAD


def main() -> None:
    taxonomy = load_taxonomy(tagger="semantic", cache=False)  # reads the examples; fits nothing yet
    examples, classes = taxonomy.examples, len(taxonomy.topics) + 1
    encoded = semantic.Embedder.load().encode([example.text for example in examples])
    head = semantic.TopicHead.fit(encoded, examples, classes)
    semantic.write_packaged_head(TARGET, semantic.fingerprint(examples, classes), head)
    print(f"{TARGET.relative_to(ROOT)}: {len(examples)} examples, {TARGET.stat().st_size:,} bytes, "
          f"sha256 {hashlib.sha256(TARGET.read_bytes()).hexdigest()}")


if __name__ == "__main__":
    main()
