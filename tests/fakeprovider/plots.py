"""The plots of the fake provider's "retold plots" mode (`retold.py`).

A plot is six phrases, one per slot: who (a trade), where, the thing it turns on, the
trouble, what is at stake, and one telling detail. Re-telling a plot keeps all six
phrases and changes everything else (names, order, the sentences around them), which
is what a model does when it answers near-identical prompts with the same story.

Six SHARED plots use phrases of their own; every other idea gets a plot drawn from the
banks below, one phrase per slot, so two such plots rarely share more than one phrase.
A plot is found again in any text by the phrases it contains (`find_plot`): the idea a
draft is asked for, the outline a story is written from, the draft a rewrite revises.
"""

# ruff: noqa: E501  (the word banks read best one entry a line)
from __future__ import annotations

import functools
import hashlib
import random
import re
from dataclasses import dataclass

__all__ = ["FIRST", "LAST", "SHARED", "SLOTS", "Plot", "find_plot", "new_plot", "shared_plot"]

SLOTS = ("role", "place", "thing", "trouble", "stake", "detail")

# (role, place, thing, trouble, stake, detail): phrases no bank below uses.
_SHARED = (
    (
        "relief lighthouse keeper",
        "the Skerry Point lighthouse",
        "the foghorn compressor",
        "a gale that cut the mains power",
        "the midnight ferry from Oban",
        "a tin of paraffin",
    ),
    (
        "cider orchard foreman",
        "the Hollins Cross orchard",
        "the frost alarm thermometer",
        "an April frost warning at two in the morning",
        "the blossom on the Bramley rows",
        "smudge pots borrowed from a neighbour",
    ),
    (
        "cathedral choir director",
        "the choir loft of St Wulfran's",
        "a box of mislabelled hymn sheets",
        "a soprano who lost her voice before evensong",
        "the bishop's farewell service",
        "honey and lemon in a thermos",
    ),
    (
        "allotment beekeeper",
        "the Fenwick Road allotments",
        "the varroa mite tray",
        "a swarm settling on the bus shelter",
        "the county honey show",
        "a smoker stuffed with dried bracken",
    ),
    (
        "night dialysis nurse",
        "the renal unit at Castlegate hospital",
        "the dialysis machine alarm log",
        "a power flicker during the night shift",
        "a patient's transplant appointment",
        "a crossword left half finished",
    ),
    (
        "apprentice bookbinder",
        "a bindery on Cutler Lane",
        "a water-damaged parish register",
        "a leaking skylight after the thaw",
        "the church's bicentenary exhibition",
        "wheat-starch paste mixed at dawn",
    ),
)

# A role or a place brings the words a telling of it keeps using: "nouns / verbs".
_ROLE = {
    "tram depot electrician": "pantograph, overhead wire, junction box, fuse board / rewired, earthed, tested",
    "hospice chaplain": "prayer cards, visitors' book, candle stand, quiet room / blessed, listened, prayed",
    "wedding cake decorator": "sugar roses, piping bag, fondant, cake board / piped, iced, tiered",
    "ski lift mechanic": "chairlift cable, bull wheel, gearbox, grease gun / greased, winched, tensioned",
    "court stenographer": "transcript, steno machine, witness box, docket / transcribed, recorded, certified",
    "reptile house keeper": "heat lamp, vivarium, iguana, feeding tongs / misted, weighed, fed",
    "glassblowing studio owner": "blowpipe, glory hole, molten gob, annealer / blew, shaped, cooled",
    "school bus dispatcher": "route sheet, radio handset, depot yard, seating plan / radioed, rerouted, dispatched",
    "concert piano tuner": "felt hammers, tuning fork, soundboard, wrest pins / tightened, tapped, voiced",
    "marathon race marshal": "hi-vis tabard, water station, finish gantry, stopwatch / marshalled, timed, waved",
    "taxidermy restorer": "glass eyes, mount, borax, specimen case / stitched, mounted, preserved",
    "ice rink groundskeeper": "resurfacer, blade guards, boards, slush bucket / flooded, scraped, resurfaced",
    "vineyard pruner": "secateurs, vine rows, trellis wire, grape canes / pruned, tied, trained",
    "undersea cable splicer": "fibre bundle, splice closure, cable ship, repeater / spliced, sealed, spooled",
    "puppet theatre manager": "marionettes, puppet strings, backdrop, box office / rehearsed, restrung, staged",
    "mountain rescue radio operator": "stretcher, radio mast, grid reference, search dog / relayed, logged, located",
    "crossword setter": "clue list, anagram, grid, solvers / set, checked, published",
    "tattoo artist": "stencil, tattoo gun, ink caps, autoclave / inked, shaded, sterilised",
    "canal lock keeper": "lock gates, windlass, paddle gear, narrowboat / opened, drained, moored",
    "falconry instructor": "gauntlet, hooded falcon, jesses, lure / flew, hooded, called",
    "mushroom farm picker": "growing beds, compost trays, spore prints, punnets / picked, trimmed, packed",
    "wind turbine technician": "nacelle, rotor blade, climbing harness, torque wrench / climbed, torqued, inspected",
    "sign language interpreter": "booking sheet, video relay, glossary, signing space / signed, interpreted, voiced over",
    "greyhound trainer": "kennel block, racing muzzle, trap draw, exercise lead / walked, trialled, graded",
    "stained glass conservator": "lead came, glass panes, soldering iron, lightbox / soldered, cleaned, releaded",
    "paediatric dentist": "dental chair, sticker sheet, x-ray film, milk teeth / filled, scaled, reassured",
    "clock tower restorer": "escapement, pendulum, clock face, winding key / wound, oiled, regulated",
    "fishmonger": "fish slab, crushed ice, filleting knife, crab claws / filleted, gutted, weighed up",
    "circus rigger": "trapeze bar, safety net, shackles, big top / rigged, hoisted, clipped",
    "sheepdog breeder": "whelping box, litter, puppy pen, whistle commands / bred, weaned, whistled",
    "saddle maker": "saddle tree, stirrup leathers, awl, tack room / stitched up, cut, burnished",
    "planetarium projectionist": "star projector, dome, lens housing, star show / projected, focused, dimmed",
}
_PLACE = {
    "a ferry terminal in Stranraer": "car deck, ticket kiosk, slipway, departure board",
    "the Saltmarsh caravan park": "static caravans, site shop, awning, pitch numbers",
    "a bowling alley in Dundee": "lanes, pin setter, shoe counter, scoreboard",
    "the Quarry Hill laundrette": "tumble dryers, coin slot, folding table, soap powder",
    "a car boot sale in Ipswich": "trestle tables, pasting table, hatchbacks, bric-a-brac",
    "the Greystone ice arena": "rink barrier, skate hire, penalty box, spectator stand",
    "a motorway services near Carlisle": "fuel pumps, lorry park, food court, toll lane",
    "the Ashby cattle market": "auction ring, cattle pens, sale sheets, livestock trailer",
    "a rooftop garden in Croydon": "raised beds, water butt, seed trays, compost bin",
    "the Riverside crematorium": "chapel of rest, order of service, urn, hearse",
    "a salt mine in Cheshire": "rock salt, mine shaft, pit cage, gritting lorry",
    "the Pendle gliding club": "glider, winch launch, hangar, windsock",
    "a kebab shop on Clarence Street": "doner spit, chilli sauce, flatbreads, takeaway counter",
    "the Netherfield velodrome": "banked track, track bike, infield, lap counter",
    "a monastery guesthouse in Northumberland": "cloister, refectory, guest cells, bell rope",
    "the Brampton waterworks": "filter beds, pumping station, reservoir, valve chamber",
    "a ski chalet in Aviemore": "log burner, boot room, ski rack, piste map",
    "the Tollgate bingo hall": "bingo caller, dabbers, ball machine, jackpot board",
    "a seafront arcade in Margate": "penny falls, claw machine, prize tickets, change booth",
    "the Harwick observatory": "telescope dome, star charts, eyepiece, observing log",
    "a cheese cave in Somerset": "cheese wheels, maturing shelves, cheese iron, rind",
    "the Wexley dog track": "starting traps, hare rail, kennel yard, tote board",
    "a pottery kiln in Stoke": "kiln shelves, glaze buckets, greenware, potter's wheel",
    "the Coldharbour rifle range": "firing point, target frames, ear defenders, range flag",
    "a chip shop in Whitby": "fryer, batter tub, mushy peas, vinegar bottle",
    "the Kessock bridge tollbooth": "toll barrier, bridge deck, change tray, traffic lights",
    "a sawmill in Galloway": "band saw, timber stack, sawdust, log yard",
    "the Hythe model railway club": "layout board, signal box, locomotives, points lever",
    "a llama farm in Powys": "paddock, fleece, halters, hay barn",
    "the Broadmead night market": "market stalls, fairy lights, street food, pitch fees",
    "a scrapyard in Rotherham": "car crusher, scrap metal, weighbridge, magnet crane",
    "the Elm Park lido": "diving board, lifeguard chair, changing huts, pool deck",
}
_THING = (
    "a jammed turnstile counter", "a box of unsent wedding invitations",
    "a stolen trophy cabinet key", "a misprinted raffle ticket", "a broken insulin fridge",
    "a lost hearing aid", "an unsigned planning application", "a dented tuba",
    "a faulty smoke detector", "a prize-winning marrow", "a forged parking permit",
    "a rusted padlock", "a second-hand wheelchair", "a shoebox of cassette tapes",
    "a torn tarpaulin", "a vintage typewriter ribbon", "an overdue library notice",
    "a leaking aquarium", "a counterfeit banknote", "a stalled tractor",
    "a mislaid passport", "a cracked telescope mirror", "a set of duplicate house keys",
    "a tin of expired baby formula", "a handwritten will", "a drone with a snapped propeller",
    "a crate of spoiled oysters", "a charity collection bucket", "a frozen water main",
    "a jukebox stuck on one song", "a stack of unpaid invoices", "a cracked sourdough crock",
)  # fmt: skip
_TROUBLE = (
    "a double booking on a bank holiday", "a power cut during a heatwave",
    "a rumour spread in the parish newsletter", "a flooded cellar after a cloudburst",
    "a landlord's sudden eviction notice", "a misdelivered parcel",
    "a referee's disputed penalty", "a typo in a funeral programme",
    "a burst tyre on a single-track road", "a hacked group chat",
    "a mix-up at a blood drive", "a heron raiding the koi pond",
    "a snowed-in delivery van", "a council inspection brought forward a week",
    "a cancelled charter flight", "a broken promise to a sponsor",
    "a disputed fishing licence", "a food poisoning scare at a christening",
    "a tax rebate paid twice", "a runaway horse on the bypass",
    "a rival's anonymous review", "a scaffolding collapse", "a wrongly printed exam paper",
    "a lame pony before a gymkhana", "a stuck lift with a pensioner inside",
    "an insurance claim that did not add up", "a cyclist clipped by a van",
    "a lapsed safety certificate", "a flood of fake bookings",
    "a wasp nest in the ticket office", "a contaminated well", "a missing payroll file",
)  # fmt: skip
_STAKE = (
    "a granddaughter's naming day", "the regional brass band final", "a bank loan renewal",
    "a scholarship interview", "the last bus home", "a county cricket fixture",
    "a fundraising gala", "a pension back-payment", "a dog adoption deadline",
    "the harvest festival", "a divorce settlement hearing", "a food bank delivery",
    "a citizenship ceremony", "an apprenticeship contract", "the spring lambing season",
    "a village pantomime", "a kidney donor match", "a restaurant hygiene rating",
    "a mortgage completion date", "a silver wedding anniversary", "a youth football trophy",
    "a heritage lottery grant", "the annual sheepdog trials", "a discharge letter",
    "a flower show rosette", "a teacher's retirement assembly", "a film festival premiere",
    "a rowing regatta", "a charity abseil", "a goldsmith's hallmark certificate",
    "the Christmas market licence", "a first driving test",
)  # fmt: skip
_DETAIL = (
    "a parrot that mimics the doorbell", "a flask of oxtail soup",
    "a pair of odd wellington boots", "a Polaroid taped to a fridge",
    "a dog-eared bus timetable", "a knitted tea cosy shaped like a hen",
    "a tin whistle in a coat pocket", "a jar of pickled walnuts",
    "a moth-eaten regimental blazer", "a sticker chart on a cupboard door",
    "a cracked snow globe", "a pigeon ring with a faded number",
    "a mug that reads World's Okayest Boss", "a bag of frozen peas used as an ice pack",
    "a biro chewed flat", "a cassette of whale song", "a rubber duck on a dashboard",
    "a tartan flask", "a lottery scratchcard", "a squeaking shopping trolley",
    "a garden gnome with a fishing rod", "a broken umbrella", "a harmonica kept in a sock",
    "a box of fudge from Cornwall", "a faded football scarf", "a compass on a shoelace",
    "a dented biscuit tin of buttons", "a sticky note on a monitor",
    "a jigsaw with one piece missing", "a toy tractor on a windowsill",
    "a kettle that whistles off key", "a cardigan with leather elbow patches",
)  # fmt: skip
_BANKS = (tuple(_ROLE), tuple(_PLACE), _THING, _TROUBLE, _STAKE, _DETAIL)
# The words each shared plot's tellings keep using, as `_ROLE` and `_PLACE` give them.
_SHARED_WORDS = (
    "lamp room, lens prisms, tide tables, keeper's log, rocks, spiral stair, generator, "
    "radio beacon / trimmed, sounded, logged",
    "cider press, apple crates, grafted trees, orchard ladder, windbreak, frost fans, "
    "pickers, blossom buds / sprayed, grafted, lit",
    "choristers, organ pipes, music stand, cassocks, vestry, anthem, descant, "
    "psalter / rehearsed, sang, conducted",
    "hive frames, queen cell, brood box, bee suit, honey extractor, wax foundation, "
    "nectar, drones / smoked, inspected, requeened",
    "fistula needles, blood lines, saline bags, ward station, observations chart, "
    "bleep, kidney clinic, night sister / cannulated, monitored, flushed",
    "book press, bone folder, gold leaf, vellum, sewing frame, endpapers, spine "
    "boards, guillotine / sewed, pared, gilded",
)

FIRST = (
    "Agnes", "Bilal", "Catriona", "Dev", "Eunice", "Fergus", "Gwen", "Hamish", "Ines",
    "Jonah", "Kezia", "Lorcan", "Mair", "Nuno", "Orla", "Piotr", "Rhian", "Sanjay",
    "Tamsin", "Ugo", "Verity", "Wes", "Yusuf", "Zofia", "Arlo", "Bronwen", "Cosmo",
    "Dilys", "Emeka", "Freya", "Gideon", "Hettie", "Ivor", "Juno", "Kwame", "Lowri",
    "Magnus", "Nell", "Osian", "Priya", "Quentin", "Ros", "Stellan", "Thea", "Umar",
    "Vesna", "Wilf", "Ximena",
)  # fmt: skip
LAST = (
    "Abernethy", "Bassi", "Crowther", "Dunmore", "Egan", "Fairclough", "Gallagher",
    "Haldane", "Iqbal", "Jessop", "Kowalczyk", "Lusk", "McBride", "Nwosu", "Okafor",
    "Pennington", "Quayle", "Rafferty", "Saltonstall", "Treharne", "Umeh", "Vickers",
    "Whitlock", "Yardley", "Ashdown", "Brereton", "Cardew", "Dymond", "Elphick", "Frayn",
    "Goring", "Hebden", "Ingleby", "Jarrold", "Kettley", "Lamont", "Mossop", "Nuttall",
    "Oakes", "Pargeter", "Ridding", "Stannard", "Tolley", "Upshall", "Varley", "Wragg",
)  # fmt: skip


def _words(spec: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    nouns, _, verbs = spec.partition(" / ")
    split = lambda part: tuple(w.strip() for w in part.split(",") if w.strip())  # noqa: E731
    return split(nouns), split(verbs)


@dataclass(frozen=True)
class Plot:
    """One story: six phrases, and the nouns and verbs its tellings keep using.
    `id` is `shared-N` for a shared plot, else a digest of the phrases."""

    id: str
    phrases: tuple[str, ...]
    nouns: tuple[str, ...]
    verbs: tuple[str, ...]

    @property
    def shared(self) -> bool:
        return self.id.startswith("shared-")

    def slot(self, name: str) -> str:
        return self.phrases[SLOTS.index(name)]

    def fields(self) -> dict[str, str]:
        return dict(zip(SLOTS, self.phrases, strict=True))


def _unique_id(phrases: tuple[str, ...]) -> str:
    return "plot-" + hashlib.sha256("|".join(phrases).encode()).hexdigest()[:10]


def _plot(plot_id: str, phrases: tuple[str, ...], words: str) -> Plot:
    """A plot with its words, and those of two more trades and two more places of its
    world (the people around the story and where else it goes), drawn by its id: a story
    has more words of its own than the few at its centre, and so does each telling."""
    nouns, verbs = _words(words)
    rng = random.Random(plot_id)
    for role in rng.sample([r for r in _ROLE if r != phrases[0]], 2):
        more, acts = _words(_ROLE[role])
        nouns, verbs = nouns + more, verbs + acts
    for place in rng.sample([p for p in _PLACE if p != phrases[1]], 2):
        nouns += _words(_PLACE[place])[0]
    return Plot(plot_id, phrases, nouns, verbs)


SHARED = tuple(
    _plot(f"shared-{i}", phrases, words)
    for i, (phrases, words) in enumerate(zip(_SHARED, _SHARED_WORDS, strict=True))
)


def _unique(phrases: tuple[str, ...]) -> Plot:
    role_nouns, verbs = _words(_ROLE[phrases[0]])
    nouns = ", ".join(role_nouns + _words(_PLACE[phrases[1]])[0])
    return _plot(_unique_id(phrases), phrases, f"{nouns} / {', '.join(verbs)}")


def shared_plot(index: int) -> Plot:
    return SHARED[index % len(SHARED)]


def new_plot(rng: random.Random) -> Plot:
    """A plot of one phrase per slot from the banks (never a shared plot's phrase)."""
    return _unique(tuple(rng.choice(bank) for bank in _BANKS))


@functools.lru_cache(maxsize=1)
def _matcher() -> tuple[re.Pattern[str], dict[str, tuple[int, str]]]:
    """One regex over every phrase; phrase (lowercased) -> (slot index, plot id or "")."""
    owner: dict[str, tuple[int, str]] = {}
    for plot in SHARED:
        for slot, phrase in enumerate(plot.phrases):
            owner[phrase.lower()] = (slot, plot.id)
    for slot, bank in enumerate(_BANKS):
        for phrase in bank:
            owner[phrase.lower()] = (slot, "")
    alternation = "|".join(re.escape(p) for p in sorted(owner, key=len, reverse=True))
    return re.compile(rf"(?i)(?<!\w)(?:{alternation})(?!\w)"), owner


def find_plot(text: str) -> Plot | None:
    """The plot whose phrases `text` carries, or None when it carries fewer than three.

    A shared plot wins when three or more of its own phrases are there; otherwise the
    first phrase found for each slot makes the plot (a slot with none is filled from a
    seed of the phrases found, so the same text always gives the same plot)."""
    pattern, owner = _matcher()
    found: dict[int, str] = {}
    votes: dict[str, set[str]] = {}
    for match in pattern.finditer(text):
        phrase = match.group(0).lower()
        slot, plot_id = owner[phrase]
        if plot_id:
            votes.setdefault(plot_id, set()).add(phrase)
        found.setdefault(slot, phrase)
    best = max(((len(v), k) for k, v in votes.items()), default=(0, ""))
    if best[0] >= 3:
        return next(p for p in SHARED if p.id == best[1])
    if len(found) < 3:
        return None
    canonical = {p.lower(): p for bank in _BANKS for p in bank}
    rng = random.Random("|".join(found[s] for s in sorted(found)))
    phrases = tuple(
        canonical[found[i]] if i in found and found[i] in canonical else rng.choice(bank)
        for i, bank in enumerate(_BANKS)
    )
    return _unique(phrases)
