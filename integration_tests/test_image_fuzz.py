"""The image fuzz (integration_tests/image_fuzz.py): seeded hostile images through Python's read_image and Java's
Images.read in worker processes. No worker crashes or hangs, every failure is INVALID_ARGUMENT naming the file,
the languages agree on every case (the same pixels or the same code), and no output holds memory the decoder did
not write (a fill pattern left in freed decoder buffers before each decode; two decodes in one process agree).

`make test` runs 300 cases (MXPORT_IMAGE_FUZZ_CASES); `make fuzz` runs 10,000 and prints the counts.
"""

import json
import os

import image_fuzz

CASES = int(os.environ.get("MXPORT_IMAGE_FUZZ_CASES", "300"))
SEED = int(os.environ.get("MXPORT_IMAGE_FUZZ_SEED", "0"))
PEAK_RSS_BOUND_MB = 1024  # per worker process; the fuzz's pixel limit keeps a decoded image under 48 MB


def test_hostile_images_end_the_same_way_in_python_and_java():
    summary, findings = image_fuzz.run(CASES, SEED)
    print(f"\nimage fuzz: {json.dumps(summary)}")
    assert summary["crashes"] == 0, "\n".join(findings)
    assert not findings, "\n".join(findings[:40])
    outcomes = summary["outcomes"]
    assert not any(k.startswith("stale memory") for k in outcomes), outcomes
    # the corpus exercises both ends: images that decode and files that are refused
    assert outcomes.get("decoded", 0) >= CASES // 10 and outcomes.get("INVALID_ARGUMENT", 0) >= CASES // 10
    assert all(peak is not None and peak < PEAK_RSS_BOUND_MB for peak in summary["peak_rss_mb"].values()), summary
