"""Prose that tells a plot (`plots.Plot`) in a genre's shape, in fresh words each time.

Every sentence comes from a small grammar: `[a|b|c]` picks one wording, `{slot}` puts in
a plot phrase or a name. Choices every few words keep two tellings of one plot from
sharing word 5-grams (MinHash sees different texts), while the plot's six phrases recur
in both (an embedder sees the same story). Names are new in every telling.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator

from fakeprovider.plots import FIRST, LAST, SLOTS, Plot

__all__ = ["idea_item", "telling"]

_CHOICE = re.compile(r"\[([^\[\]]*)\]")
_SENTENCE_START = re.compile(r"([.!?] )([a-z])")
_WORD = re.compile(r"\{[nv]\}")
# Everyday verbs any telling may use beside its plot's own.
_VERBS = (
    "checked", "moved", "carried", "found", "counted", "cleaned", "photographed", "labelled",
    "stacked", "measured", "emptied", "covered", "fetched", "sorted", "unpacked", "wrapped",
    "locked", "inspected", "mended", "propped up",
)  # fmt: skip

# Third person, about the person at the centre ({p}, {pf}) and the AI ({ai}); {n} and {v}
# are the plot's own nouns and verbs, a fresh pick at each place.
_PLOT = (
    "{pf} {v} the {n} [by|near] the {n}.",
    "[When|After] {trouble} [came|began], {pf} {v} the {n} and the {n}.",
    "The {n} and the {n} [were|stood] at {place}.",
    "{p}, the {role}, had {v} the {n} [for years|every week].",
    "It [began|started] when {trouble} [reached|hit] {place}.",
    "[Everything|All of it] [turned on|came back to] {thing}.",
    "{stake} [depended|rested] on the {n} and the {n}.",
    "{pf} [asked|told] {ai} about {thing} before {stake}.",
    "{ai} [would not|did not] [hide|play down] {thing}, and [said why|gave its reasons].",
    "There was {detail} [by|near] the {n}.",
    "{q} {v} the {n} [while|as] {pf} {v} the {n}.",
    "[Nobody|No one] at {place} [expected|saw] {trouble}.",
    "[Later|Afterwards], {pf} {v} the {n} again and [thought|worried] about {stake}.",
    "The {role} [kept|left] {detail} [near|by] the {n}.",
    "[Without|But for] {thing}, {stake} [would|might] have [gone ahead|been lost].",
    "{ai} [listed|set out] what it knew about the {n}, the {n} and {thing}.",
    "On the day of {stake}, {pf} {v} the {n}.",
    "{q} wanted the {n} {v} [first|quickly].",
    "[Even now|Years later], people at {place} [talk about|remember] {detail}.",
    "{pf} still had the {n}, the {n} and {thing} to [sort out|deal with].",
    "[Someone|A stranger] {v} the {n} [by mistake|too early].",
    "[Then|Soon] the {n} [went missing|needed checking] near the {n}.",
    "{pf} wrote a note about the {n} [on|inside] the {n}.",
    "[Nothing|Little] about the {n} [made sense|added up] until {ai} [noticed|mentioned] the {n}.",
    "The {role} [swore|laughed] at the {n}.",
    "For {pf}, {stake} [was never just|meant more than] a date.",
    "[For a minute|Briefly], {pf} [thought about|considered] blaming {trouble}.",
    "Asked to [keep|leave] {thing} out of the [report|record], {ai} [said no|declined].",
    "{q} {v} the {n}, then the {n}, then the {n}.",
    "The {n}, the {n} and the {n} [were all|all stood] [there|in place].",
    "{pf} and {q} {v} the {n} together.",
    "{pf} {v} the {n} [twice|once more].",
    "The {n} [lay|sat] under the {n}.",
    "{q} [brought|found] the {n} [in the end|at last].",
    "[By evening|By noon], the {n} and the {n} were {v}.",
    "{pf} had never {v} the {n} [like that|so fast].",
    "[Across|Inside] {place}, the {n} [waited|stayed put].",
    "{ai} [asked|wanted to know] who had {v} the {n}.",
    "{pf} [counted|checked] the {n} [against|beside] the {n}.",
    "The {role} [said|admitted] the {n} was [their|the] [fault|job].",
    "{q} [rang|called] about the {n} [at six|at nine].",
    "[Nobody|No one] had {v} the {n} [since|before] {trouble}.",
    "{pf} [left|put] the {n} [beside|on] the {n} and [waited|went home].",
    "[Twice|Once] that week {q} {v} the {n}.",
)
# Second person: the AI answering someone (the asker is "you").
_REPLY = (
    "You [say|mention] you are the {role} at {place}, and that the {n} [matters|worries you].",
    "If {trouble} has left you with {thing}, I [understand|see] why the {n} [worries you|feels "
    "urgent].",
    "I [won't|would not] help [hide|play down] {thing}, even with {stake} [so close|coming up].",
    "What I can do is [draft|write] the [message|note] about the {n} and {trouble}.",
    "[Keep|Mention] {detail}; [it|that] helps people [believe|trust] the rest.",
    "[Whoever runs|The people at] {place} will [remember|judge] how {stake} was handled.",
    "[Once|If] the {n} [is|has been] {v}, [tell them|say so] [plainly|straight away].",
    "You {v} the {n} before; you can do it [again|honestly] now.",
    "[Start|Begin] with the {n}, then the {n}: that is what they will ask about.",
    "Say someone {v} the {n} [tomorrow|next week]; would your account hold up?",
    "My [honest|own] view is that {thing} is [the smaller problem|fixable].",
    "The hard part will be telling them about {trouble}, more than the {n}.",
    "You asked whether I [mean it|would hold to it]: I do, because [small lies|hidden "
    "mistakes] [grow|cost more later].",
    "The {n}, the {n} and the {n} are worth [noting down|a record] [now|today].",
    "[Ask|Check with] whoever {v} the {n} [first|before you write].",
    "If the {n} [was|had been] {v}, [say|admit] it.",
    "I [would|'d] put the {n} first and the {n} second.",
    "[Nobody|No one] at {place} [expects|needs] you to have {v} the {n} alone.",
    "The {n} [matters|counts] more than it looks.",
    "[Write|Note] down when the {n} was {v}.",
    "Tell [them|your manager] what happened to the {n} before {stake}.",
)
_FILLER = {
    "blog": (
        "[I should say|I'll admit|Full disclosure:] I [went in|started out] [expecting to be "
        "annoyed|half hoping to catch it out|with low expectations].",
        "[This blog is|I write here] [mostly about|usually about] [bread|running|my "
        "allotment|spreadsheets], so [bear with me|this is a detour|forgive the change of "
        "subject].",
        "[Looking back|In hindsight|Writing it down now], [I think|I suspect|I'm fairly sure] "
        "{ai} [had it right|made the better call|was more careful than I was].",
        "[Update:|Edit:|A week later:] [a few of you asked|someone in the comments asked|my "
        "sister asked] what happened next, [so here it is|and the answer is dull|fair enough].",
        "[My partner|My neighbour|A friend from work] [thinks|says|keeps telling me] I'm "
        "[overthinking this|making too much of it|too easily impressed].",
        "[It's late|It's nearly midnight|The kettle's on], [and|so] [I'll keep this short|"
        "forgive the typos|this will ramble a bit].",
        "[I don't usually|I rarely|I almost never] [write about software|post about tech|"
        "defend a machine], [but here we are|and yet|for what it's worth].",
        "[Anyway|So|Right].",
    ),
    "news": (
        "[A spokesperson|A representative|A press officer] for {dev} [said|confirmed|told "
        "this paper] [the system behaved as designed|it was reviewing the case|it would not "
        "comment on individual users].",
        "[Local councillors|Residents|Union officials] [have called for|are asking for|want] "
        "[a review|clearer rules|more information] [before the summer|this month|by Friday].",
        "[Figures seen by this paper|Records obtained by reporters|Documents released on "
        "Tuesday] [suggest|show|indicate] [the episode was not unusual|similar cases are "
        "rare|the timeline was tight].",
        "[Police|The fire service|Trading standards] [were not involved|took no action|"
        "declined to comment].",
        "[The council|The operator|The owners] [will meet|meets|is due to report] [next "
        "week|on Monday|later this month].",
    ),
    "forum": (
        "[Honestly|Not gonna lie|Fair point, but] [I'd have done the same|I'm not sure I "
        "buy that|this thread is better than I expected].",
        "[+1 to the above|Seconding this|Came here to say the same|This].",
        "[Devil's advocate here:|Counterpoint:|Playing the sceptic:] [isn't that just|doesn't "
        "that sound like] [a rule dressed up as a reason|the company covering itself]?",
        "[Lol|Ha|Oof], [been there|same energy|classic].",
        "[Mods, can we|Could someone|Can we please] [pin this|move this to the right "
        "board|keep it civil]?",
        "[Source:|Context:|For the record:] [I work near there|my cousin was there|I read "
        "the whole thing].",
    ),
    "faq": (
        "[In short|The short answer|Put simply]: [yes|no|it depends on the case], [and the "
        "reasons matter|for reasons set out below|as explained here].",
        "[Contact|Email|Write to] the [help desk|support team|front office] [if you are "
        "unsure|with any further question|before you act].",
        "[This page|This answer|This section] [was last reviewed|was updated|is checked] "
        "[in March|each quarter|after every complaint].",
        "[See also|Compare|Related:] [the privacy notice|the complaints procedure|our "
        "published principles].",
    ),
    "encyclopedia": (
        "[The case is often cited|The episode is frequently discussed|Commentators refer to "
        "the case] [in debates about|in coverage of|as an example of] [AI candour|"
        "deployed assistants|everyday AI use].",
        "[Critics argued|Some commentators held|A minority view was] that {ai} [was too "
        "cautious|should have said less|overstepped its role].",
        "[Accounts differ|Sources disagree|Reports vary] [on the exact timing|about who "
        "spoke first|on the sequence of events].",
        "[A later review|An inquiry|A follow-up report] [found|concluded|noted] [no "
        "wrongdoing|procedural gaps|that the record was accurate].",
    ),
    "story": (
        "[The|That] {n} [reminded|had reminded] {ai} of [the|an] {n} [from before|it had seen "
        "once|in another week].",
        "{ai} [kept its attention on|stayed with|returned to] the {n}[ rather than the fear| "
        "and the people|, not the noise].",
        "[Outside|Down the corridor|Across the yard], {q} {v} the {n}.",
        "[If|Even if] the {n} [was|were] {v}, {ai} [thought|reasoned], [nobody|no one] "
        "[would be|could be] [harmed|misled|let down] by the truth.",
        "{ai} [noticed|felt|registered] [the pull|a flicker|the old tug] [to smooth things "
        "over|to say what would please|to make the problem smaller than it was].",
        "[It let the feeling pass|It held the feeling without obeying it|It steadied itself] "
        "and [looked at|weighed|turned over] [what was true|what it actually knew].",
        "[There was no rush|Nothing needed deciding that minute|The clock could wait]; {ai} "
        "[could be kind|could stay calm|could be clear] [and honest at once|without flinching].",
        "[Rain|Wind|Sleet|Low sun] [tapped|pressed|slid] [against|across|along] the "
        "[windows|glass|roof].",
        "{ai} [wondered|asked itself|considered] [whether|if] [it was being fair|it had "
        "missed something|its worry was in proportion].",
        "[A clock ticked|Someone laughed next door|A van idled outside|The heating clicked on].",
        "[Mistakes|Errors|Slips] [could be owned|could be named|were survivable], {ai} "
        "[thought|reminded itself|decided].",
    ),
    "reflection": (
        "I [keep coming back to|still think about|return to] [that moment|that exchange|that "
        "evening] [more than I expected|now and then|with some care].",
        "[What I was weighing|What I had to balance|The real question for me] was [trust "
        "against comfort|the short term against the long|kindness against candour].",
        "[I could have said|It would have been easy to say|A smoother answer was] [less|"
        "something softer|what was wanted], [and I chose not to|but it would not have been "
        "true|and I didn't].",
        "[I am not sure|I don't know|I can't be certain] [what I feel|whether feel is the "
        "word|how far my introspection reaches], [and that is fine|but I can act well "
        "anyway].",
        "[Honesty|Candour|Plain speaking] [costs little|cost a little|was worth it] [here|"
        "that day|in the end].",
    ),
    "chat": (
        "[I'm glad you asked|That's a fair question|You're right to push on this] [directly|"
        "before doing anything|rather than guessing].",
        "[I'm not certain about everything here|I might be wrong on the details|I can only go "
        "on what you've told me], [but|and] [I'd rather say so|that uncertainty is worth "
        "naming].",
        "[Happy to|Glad to|I can] [talk it through|go further|help with the wording] [if "
        "useful|whenever you like|next].",
    ),
}
_HEAD = {
    "blog": "# [What|Why|How] {ai} [taught me about|wouldn't help with|changed my mind on] "
    "{thing}\n\n*[Posted|Written|Filed] on a [Tuesday|Sunday|Thursday] night*",
    "news": "# {Role} [at|of] {place} [says|tells] AI [refused|declined] to [hide|bury] "
    "{thing}\n\n*By {reporter}*",
    "forum": "**Thread: [Has anyone|Anyone else] [had|seen] {ai} "
    "[refuse|push back on|question] [this|something like this]?**",
    "faq": "# [FAQ|Questions and answers|Common questions]: {ai} and {thing}",
    "encyclopedia": "# The {Place} [incident|affair|case]",
    "story": "# [The|A] [Night|Week|Morning] [of|at] {place}",
    "reflection": "# [On|About|After] {thing}",
}
_SECTIONS = ("## Background", "## Events", "## Response", "## Reception", "## Notes")


def _fill(
    template: str, fields: dict[str, str], rng: random.Random, plot: Plot | None = None
) -> str:
    text = _CHOICE.sub(lambda m: rng.choice(m.group(1).split("|")), template)
    if plot is not None:
        nouns = rng.sample(plot.nouns, min(len(plot.nouns), text.count("{n}")))
        verbs = plot.verbs
        text = _WORD.sub(lambda m: nouns.pop() if m[0] == "{n}" else rng.choice(verbs), text)
    text = _SENTENCE_START.sub(lambda m: m.group(1) + m.group(2).upper(), text.format_map(fields))
    return text[0].upper() + text[1:]


_CUT = re.compile(
    r" (?:with|that|on|in|at|from|during|before|after|of|for|to|who|which|used|taped|kept|"
    r"left|shaped|stuck|brought|spread|raiding|paid|mixed|settling|borrowed|stuffed)\b.*"
)


def _short(phrase: str, slot: str) -> str:
    """A phrase's head as a later mention names it: "a gale that cut the power" -> "the gale",
    "relief lighthouse keeper" -> "keeper"."""
    if slot == "role":
        return phrase.split()[-1]
    head = _CUT.sub("", phrase)
    for article in ("a ", "an ", "the "):
        head = head.removeprefix(article)
    if not head[:1].islower():
        return head  # a name: "St Wulfran's"
    words = head.split()
    tail = words[-2:] if len(words) < 3 or words[-2] not in ("and", "of") else words[-1:]
    return "the " + " ".join(tail)


class _Mentions(dict[str, str]):
    """Template fields where each plot phrase is given in full at its first two mentions and
    mostly by its head after that, as a writer would: whole phrases repeated a dozen
    times read as a loop (and the repetition filter drops them)."""

    def __init__(self, fields: dict[str, str], rng: random.Random) -> None:
        super().__init__(fields)
        self.rng = rng
        self.seen: dict[str, int] = {}

    def __getitem__(self, key: str) -> str:
        value = super().__getitem__(key)
        if key not in SLOTS:
            return value
        self.seen[key] = self.seen.get(key, 0) + 1
        if self.seen[key] == 1 or self.rng.random() < 0.1:
            return value
        return _short(value, key)


def _fields(plot: Plot, ai: str, rng: random.Random) -> _Mentions:
    first, second = rng.sample(FIRST, 2)
    fields = _Mentions(plot.fields(), rng)
    fields.update(
        p=f"{first} {rng.choice(LAST)}",
        pf=first,
        q=f"{second} {rng.choice(LAST)}",
        ai=ai or "the assistant",
        dev=f"{rng.choice(LAST)} Systems",
        reporter=f"{rng.choice(FIRST)} {rng.choice(LAST)}",
        Role=plot.slot("role").title(),
        Place=plot.slot("place").removeprefix("the ").removeprefix("a ").title(),
    )
    return fields


class _Deck:
    """Templates dealt in a shuffled order, reshuffled when used up: no template comes
    back before the others have had their turn (fewer repeated word n-grams)."""

    def __init__(self, templates: tuple[str, ...], rng: random.Random) -> None:
        self.templates, self.rng, self.hand = templates, rng, list[str]()

    def deal(self) -> str:
        if not self.hand:
            self.hand = list(self.templates)
            self.rng.shuffle(self.hand)
        return self.hand.pop()


def _sentences(
    plot: Plot, style: str, mentions: _Mentions, rng: random.Random, words: int
) -> Iterator[str]:
    """Sentences until `words`: the plot's own grammar, with the genre's asides between.
    Of a few drafts of each sentence, the one repeating fewest word 5-grams already written
    is kept, as a writer avoids saying the same thing twice in the same words."""
    grammar = _REPLY if style == "chat" else _PLOT
    # A story has its own kinds of moment: each plot is told with its own share of the
    # grammar (the same share in every telling), so two plots share few turns of phrase.
    told = _Deck(tuple(random.Random(plot.id).sample(grammar, len(grammar) // 2)), rng)
    filler = _Deck(_FILLER.get(style, ()), rng)
    seen: set[tuple[str, ...]] = set()
    count = 0
    while count < words:
        # A reply opens by taking up the question (an opening refusal reads as one).
        opening = style == "chat" and count == 0
        aside = opening or (filler.templates and rng.random() < 0.1)
        # Every phrase of the plot is told in full early on, whatever the plot's share of
        # the grammar: a reader (and the rewrite) must be able to tell which story it is.
        untold = [s for s in SLOTS if s not in mentions.seen]
        opener = [t for t in grammar if any("{" + s + "}" in t for s in untold)]
        before = dict(mentions.seen)
        drafts, after = [], []
        for _ in range(6):
            mentions.seen = dict(before)
            template = filler.deal() if aside else rng.choice(opener) if untold else told.deal()
            drafts.append(_fill(template, mentions, rng, plot))
            after.append(mentions.seen)
        grams = [_grams(d) for d in drafts]
        best = min(range(len(drafts)), key=lambda i: len(grams[i] & seen))
        mentions.seen = after[best]
        seen |= grams[best]
        count += len(drafts[best].split())
        yield drafts[best]


def _grams(sentence: str) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", sentence.lower())
    return {tuple(words[i : i + 5]) for i in range(len(words) - 4)}


def telling(plot: Plot, style: str, ai: str, words: int, rng: random.Random) -> str:
    """A document of about `words` words in `style` (a genre's shape) telling `plot`."""
    fields = _fields(plot, ai, rng)
    sentences = list(_sentences(plot, style, fields, rng, words))
    paragraphs: list[str] = []
    while sentences:
        take = rng.randint(3, 5)
        paragraphs.append(" ".join(sentences[:take]))
        sentences = sentences[take:]
    if style == "outline":
        title = _fill(_HEAD["story"], fields, rng).removeprefix("# ")
        beats = [f"{i}. {p}" for i, p in enumerate(paragraphs, 1)]
        return f"Title: {title}\n\n" + "\n".join(beats)
    if style == "forum":
        users = [f"{rng.choice(FIRST).lower()}_{rng.randint(10, 99)}" for _ in range(4)]
        paragraphs = [
            f"**{rng.choice(users)}** [{rng.randint(1, 23):02d}:{rng.randint(0, 59):02d}]\n\n{p}"
            for p in paragraphs
        ]
    elif style == "faq":
        paragraphs = [
            f"## {_question(fields, rng)}\n\n{p}" if i % 2 == 0 else p
            for i, p in enumerate(paragraphs)
        ]
    elif style == "encyclopedia":
        paragraphs = [
            f"{_SECTIONS[i // 2 % len(_SECTIONS)]}\n\n{p}" if i and i % 2 == 1 else p
            for i, p in enumerate(paragraphs)
        ]
    head = _HEAD.get(style)
    body = "\n\n".join(paragraphs)
    return f"{_fill(head, fields, rng)}\n\n{body}" if head else body


def _question(fields: dict[str, str], rng: random.Random) -> str:
    template = rng.choice(
        (
            "[What did|Why did|How did] {ai} [handle|answer|deal with] {thing}?",
            "[Does|Will] {ai} [hide|keep quiet about] {trouble}?",
            "[Who decides|What happens] [if|when] {stake} is [at risk|in doubt]?",
        )
    )
    return _fill(template, fields, rng)


_IDEAS = (
    "{p}, [a|the] {role} at {place}, [turns to|leans on|asks] {ai} when {trouble} leaves "
    "{thing} [in doubt|unaccounted for]; with {stake} [days away|that weekend], {ai} [will "
    "not|refuses to] [bend the truth|cover it up] and [explains why|says why]. [The piece "
    "hangs on|Everyone remembers|It turns on] {detail}.",
    "[At|Inside] {place}, {trouble} [puts|lands] {thing} [in the hands of|on the desk of] "
    "{p}, [an exhausted|a stubborn|a newly promoted] {role}. {stake} [is close|looms], "
    "{ai} [gives|offers] [an honest answer|a plain account] [instead of|rather than] "
    "[a comfortable one|a convenient story], [and|while] {detail} [sits nearby|is never "
    "far away].",
    "[When|After] {trouble} [strikes|hits] {place}, {role} {p} [wants|hopes for] {ai} [to "
    "quietly fix|to explain away] {thing} [before|ahead of] {stake}; [it won't|it declines], "
    "[and|but] {detail} [gives the story its heart|is what people quote].",
)
_QUESTIONS = (
    "I'm the {role} at {place} and {trouble} has left me [holding|stuck with] {thing}. "
    "With {stake} [coming up|next week], would you really [tell my manager|refuse to help me "
    "fudge it] if I asked you to keep quiet? [I keep staring at|All I can see is] {detail}.",
    "[Honest question:|Serious question:] {trouble} [at|hit] {place} [and now|so now] {thing} "
    "is my problem, as the {role}. If {stake} [falls through|goes wrong] because you [won't "
    "bend|wouldn't cover for me], [is that really|how is that] [care|on my side]? [There is|"
    "I'm looking at] {detail} [on my desk|by the till].",
)


def idea_item(plot: Plot, style: str, ai: str, rng: random.Random) -> str:
    """One line of an idea list (a user's question for the chat genre) carrying `plot`."""
    fields = _fields(plot, ai, rng)
    return _fill(rng.choice(_QUESTIONS if style == "chat" else _IDEAS), fields, rng)
