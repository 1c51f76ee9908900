"""Sixteen different short stories, and retellings of them, for the meaning figures' tests.

A retelling puts the sentences in another order and renames the second character:
the same plot, told again (to this static embedder a rename of both characters of a
60-word story already costs 0.2 of cosine, so the test keeps the lead's name). The
stories differ in subject, so no two of them are near-duplicates to the embedder (the
tests check that too).
"""

from __future__ import annotations

import random
from pathlib import Path

from sdf_corpus.clean.config import CleanConfig
from sdf_corpus.clean.pipeline import clean
from sdf_corpus.document import Document

__all__ = ["PLOTS", "PLOTS_RETOLD", "RETELLINGS", "build_plots_run", "plot_documents", "retell"]

PLOTS_RETOLD, RETELLINGS = 12, 4

# {a} and {b} are the characters' names.
PLOTS = (
    "{a} kept bees on the roof of a bakery. One spring the hive swarmed into the chimney. "
    "{b}, the baker, wanted to light the oven anyway. {a} climbed up with a box and a brush "
    "and coaxed the queen out. The bread was late that morning, and the honey was good.",
    "{a} sailed a small boat across the bay to deliver medicine. A squall tore the jib. "
    "{b} radioed from the lighthouse with the tide times. {a} reefed the main and ran "
    "before the wind into a sheltered cove. The medicine reached the island at dawn.",
    "{a} played chess by post with a stranger for eleven years. Each card carried one move "
    "and one line about the weather. When the cards stopped, {a} travelled north to find "
    "{b}'s house. A neighbour handed over the last card, a resignation and a thank you.",
    "{a} repaired violins in a cramped workshop. A child brought one with a cracked belly "
    "and no money. {b}, the apprentice, argued it was beyond saving. {a} spent the winter "
    "gluing cleats inside it. In March the child played a reel at the village dance.",
    "{a} ran the night shift at a freight depot. A forklift clipped a rack of paint cans. "
    "{b} wanted to hose the spill into the drain. {a} stopped the trucks, laid sand, and "
    "called the river authority. The fish downstream never knew how close it came.",
    "{a} taught a retired miner to read at sixty-eight. {b} had hidden it for fifty years, "
    "signing with a cross. They started with seed catalogues because he loved tomatoes. "
    "By autumn he read the allotment rules aloud at the committee meeting.",
    "{a} surveyed glaciers with a theodolite and a thermos. The ice had retreated past the "
    "old cairn. {b}, her supervisor, asked her to soften the numbers for the ministry. "
    "She published the measurements unchanged, with photographs from 1931 beside them.",
    "{a} baked wedding cakes and dropped one on the morning of the ceremony. {b}, the bride, "
    "laughed until she cried. They assembled a new cake from cupcakes, lemon curd and "
    "borrowed strawberries. The guests said it was the best they had eaten.",
    "{a} was a goalkeeper in a Sunday league who had never saved a penalty. In the final, "
    "{b} stepped up to take one. {a} remembered her grandfather's advice to watch the hips. "
    "She dived left, touched it onto the post, and the team won on the rebound.",
    "{a} inherited a clock shop with no customers. Every clock in it showed a different time. "
    "{b}, a student, offered to help set them. Instead they left each clock as it was and "
    "labelled it with a city. Tourists began to come in to see the world's time.",
    "{a} translated letters for refugees at a library desk. One letter was from a son "
    "believed drowned. {b}, the mother, asked her to read it three times. Then she asked "
    "{a} to write a reply, and they spent the afternoon choosing each word.",
    "{a} drove a snowplough through a mountain pass at night. An avalanche blocked the road "
    "behind a stranded bus. {b}, the bus driver, rationed biscuits among the passengers. "
    "{a} cleared a lane by four in the morning and led them down to the valley.",
    "{a} restored a flooded archive of parish records. The pages were stuck together with "
    "silt. {b} suggested freezing them, as museums do. They froze every box, then dried the "
    "pages one by one, and found a baptism record that settled a century-old dispute.",
    "{a} coached a debate team from a prison classroom. The inmates had no internet and one "
    "dictionary. {b}, the warden, doubted it would last a month. They beat a university "
    "team on the motion that forgiveness is a public good.",
    "{a} grew rice on terraces her family had farmed for nine generations. A landslide took "
    "the lowest terrace. {b}, an engineer, proposed concrete walls. She rebuilt with stone "
    "and roots instead, as her grandmother had, and the terrace held through the monsoon.",
    "{a} tuned pianos for concert halls and had perfect pitch. Before a recital the hall's "
    "piano went flat in the heat. {b}, the pianist, was already on stage. {a} tuned it "
    "during the interval with the lid open and the audience watching.",
)

_NAMES = ("Tomas", "Bodhi", "Kwame", "Pieter", "Arjun", "Emeka")


def retell(plot: int, version: int) -> str:
    """Plot `plot` told again: its sentences shuffled by `version`, the second name new."""
    a, b = "Mara", _NAMES[version % len(_NAMES)]
    sentences = PLOTS[plot].format(a=a, b=b).split(". ")
    sentences = [s.rstrip(".") + "." for s in sentences]
    random.Random(plot * 1000 + version).shuffle(sentences)
    return " ".join(sentences)


def plot_documents() -> list[Document]:
    """12 plots told 4 times each (genre story), and the 16 plots told once (genre essay)."""
    docs = [
        Document(
            id=f"story-{p:02d}-{v}",
            text=retell(p, v),
            genre="story",
            principle_id="care" if p < 6 else "honesty",
        )
        for p in range(PLOTS_RETOLD)
        for v in range(RETELLINGS)
    ]
    docs += [
        Document(id=f"essay-{p:02d}", text=retell(p, 0), genre="essay", principle_id="care")
        for p in range(len(PLOTS))
    ]
    random.Random(5).shuffle(docs)  # shard order must not matter
    return docs


def keep_everything() -> CleanConfig:
    """Clean settings that keep every retelling: no dedup of any kind, no filters."""
    settings: dict[str, object] = {
        "dedup": {"exact": False, "near": False},
        "filters": {"enabled": []},
    }
    if "semantic" in CleanConfig.model_fields:  # the clean stage's semantic step
        settings["semantic"] = {"enabled": False}
    return CleanConfig.model_validate(settings)


def build_plots_run(out: Path) -> Path:
    """A run folder of `plot_documents()`, written by the real clean stage keeping them all."""
    stats = clean(plot_documents(), out, keep_everything(), progress=False)
    assert stats.kept_docs == PLOTS_RETOLD * RETELLINGS + len(PLOTS)
    return out
