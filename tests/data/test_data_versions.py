"""Generated nano data is cached on disk under a folder named by its generator's DATA_VERSION.

These digests pin what each generator writes (its first records, for the seed and size training
uses). A change to a generator, or to anything it draws on (phrasings, the world's text), fails
here: bump the module's DATA_VERSION, so a cache written by the old code is not read as the new
data, and pin the new digest.
"""

import hashlib
import itertools
import json

import pytest

from omniweave.data import nano, numbers, scenes, tools
from omniweave.nano import world
from omniweave.training import data as D

N = 200
PINNED = {  # source: (version, digest of its first N records)
    "nano:instructions": (1, "f34e2d5cf0bbc0bc"),
    "nano:scenes": (1, "0b500ec73addfac6"),
    "nano:tools": (3, "b6eac7132c970592"),
    "nano:numbers": (1, "20cc3eaffc5f6b0c"),
    "nano:pairs": (1, "03e83cd61ea01eb4"),
}


def _records(source: str):
    if source == "nano:instructions":
        return (ex.record for ex in nano.iter_nano_examples(D.NANO_INSTRUCTIONS, 0))
    if source == "nano:scenes":
        return (r for r, _image in scenes.iter_scene_records(D.NANO_SCENES, 0))
    if source == "nano:tools":
        return (r for r, _media, _made in tools.iter_tool_examples(D.NANO_TOOLS, 0))
    if source == "nano:numbers":
        return numbers.iter_number_examples(D.NANO_NUMBERS, 0)
    return (world.sample(m, i)[0].caption for m in world.PAIR_FORMATS for i in range(N))


@pytest.mark.parametrize("source", sorted(PINNED))
def test_generator_changes_bump_the_data_version(source):
    h = hashlib.sha256()
    for r in itertools.islice(_records(source), N):
        h.update(json.dumps(r, sort_keys=True).encode())
    got = (D.nano_data_version(source), h.hexdigest()[:16])
    assert got == PINNED[source], (
        f"{source} now writes other records (digest {got[1]}): bump its DATA_VERSION if it still "
        f"reads {PINNED[source][0]}, then pin {got} here")


def test_cache_folders_carry_the_version(tmp_path):
    assert D.nano_data_path("nano:tools", tmp_path) == tmp_path / f"tools-v{tools.DATA_VERSION}" / "train.json"
    assert D.nano_pairs_dir(tmp_path).name == f"pairs-v{world.PAIRS_VERSION}"
