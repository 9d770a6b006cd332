"""Readable synthetic catalogue items for the recommender environment.

Each item belongs to one topic and is a short English text made of a title, one
descriptive sentence and a few tags, e.g.::

    The Last Capsule. A slow-burning documentary that follows two astronauts
    repairing a failing satellite aboard a crowded space station. Tags: space,
    rockets, documentary.

Every topic has its own vocabulary (subjects, adjectives, settings, tags and
title words), so items of one topic share words and meaning when encoded by a
sentence encoder, while the sentence templates and title patterns are shared
across topics, so items of one topic still differ from each other.  All
randomness comes from the ``numpy.random.Generator`` passed in.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral
from typing import NamedTuple

import numpy as np

__all__ = ["TOPICS", "generate_items"]


class _Vocab(NamedTuple):
    subjects: tuple[str, ...]
    adjectives: tuple[str, ...]
    settings: tuple[str, ...]
    tags: tuple[str, ...]
    title_words: tuple[str, ...]


def _v(subjects: str, adjectives: str, settings: str, tags: str, title_words: str) -> _Vocab:
    """Build a topic vocabulary from ';'-separated lists."""
    split = lambda s: tuple(part.strip() for part in s.split(";") if part.strip())  # noqa: E731
    return _Vocab(split(subjects), split(adjectives), split(settings), split(tags), split(title_words))


# fmt: off
_VOCAB: dict[str, _Vocab] = {
    "space exploration": _v(
        "two astronauts repairing a failing satellite; a rover team searching for water on Mars; a rookie pilot training for her first spacewalk; engineers racing to finish a lunar lander; a mission controller guiding a damaged capsule home; the crew of a probe bound for Jupiter's moons",
        "awe-inspiring; slow-burning; weightless; cosmic; high-stakes",
        "aboard a crowded space station; during the first crewed landing on the Moon; far beyond low Earth orbit; in the final minutes before a rocket launch; at a desert spaceport",
        "space; astronauts; rockets; NASA; space engineering",
        "Orbit; Launch Window; Gravity; Capsule; Red Planet; Countdown"),
    "home cooking": _v(
        "a grandmother teaching her family recipes; a young couple cooking dinner on a tight budget; a home cook perfecting sourdough bread; two siblings reviving their mother's soup recipes; a retired teacher learning to make fresh pasta; a father preparing a holiday feast for twelve",
        "warm; comforting; mouth-watering; cosy; flavourful",
        "in a tiny apartment kitchen; around a crowded family dinner table; over a simmering pot of stew; with nothing but seasonal vegetables and spices; on a busy Sunday afternoon at the stove",
        "cooking; recipes; food; kitchen; family meals",
        "Kitchen; Stockpot; Bread; Spice Drawer; Supper; Recipe Box"),
    "jazz": _v(
        "a young saxophonist chasing the sound of her idols; an ageing trumpet player recording one last session; a pianist improvising through a sleepless night; a bebop quartet touring small clubs; a bassist who learned to swing from old records; a singer reviving forgotten jazz standards",
        "smoky; swinging; soulful; improvised; late-night",
        "in a smoky New Orleans club; at a cramped Harlem jam session; in a 1950s recording studio; during a rainy jazz festival weekend; on the late shift at a basement bar",
        "jazz; improvisation; saxophone; swing; blues",
        "Blue Note; Saxophone; Midnight Session; Swing; Bebop; Standards"),
    "football": _v(
        "a striker fighting his way back from injury; a lower-league club chasing promotion; a young goalkeeper facing her first cup final; a manager rebuilding a relegated team; supporters following their club across Europe; a youth academy searching for the next star striker",
        "gritty; thrilling; passionate; hard-fought; dramatic",
        "in front of a packed stadium; through a long winter of away games; during a penalty shootout; on muddy training pitches; in the final week of the league season",
        "football; soccer; sport; league; goals",
        "Penalty; Kickoff; Derby; Terraces; Extra Time; Final Whistle"),
    "gardening": _v(
        "a retired nurse transforming a neglected allotment; neighbours planting a community vegetable patch; a gardener growing heirloom tomatoes from seed; a family restoring an overgrown rose garden; a beginner learning to compost and prune; volunteers rescuing a Victorian greenhouse",
        "gentle; green-fingered; peaceful; blooming; seasonal",
        "across four seasons in the flower beds; in a sunny backyard vegetable plot; through a dry summer of careful watering; among rows of seedlings and herbs; in a walled cottage garden",
        "gardening; plants; flowers; vegetables; soil",
        "Seedling; Greenhouse; Allotment; Bloom; Compost; Garden Gate"),
    "true crime": _v(
        "detectives reopening a decades-old murder case; a journalist investigating a string of disappearances; a wrongly convicted man fighting to clear his name; forensic experts re-examining crucial evidence; a small town divided by an unsolved killing; a prosecutor chasing a notorious con artist",
        "chilling; gripping; unsettling; forensic; shocking",
        "through police files and court transcripts; in a quiet town with dark secrets; during a sensational murder trial; from the interrogation room to the courtroom; decades after the crime was committed",
        "true crime; murder; investigation; detectives; justice",
        "Cold Case; Alibi; Evidence; Verdict; Suspect; Crime Scene"),
    "personal finance": _v(
        "a young couple paying off their student loans; a single parent building an emergency fund; a nurse learning to invest in index funds; friends competing to save half their salary; a family drafting its first household budget; a freelancer planning for early retirement",
        "practical; no-nonsense; reassuring; money-smart; clear-headed",
        "one paycheck at a time; through spreadsheets and monthly budgets; during a year of rising interest rates; with a focus on saving, debt and taxes; while the stock market swings up and down",
        "money; budgeting; investing; savings; retirement",
        "Budget; Compound Interest; Paycheck; Nest Egg; Debt; Savings Jar"),
    "ancient history": _v(
        "a Roman legionary marching to the edge of the empire; scribes preserving the library of Alexandria; a Greek philosopher questioning the citizens of Athens; builders raising the pyramids of Giza; an Egyptian queen defending her throne; merchants trading along the ancient Silk Road",
        "epic; sweeping; scholarly; sun-baked; timeless",
        "in the final years of the Roman Republic; among the temples and ruins of the ancient world; along the banks of the Nile; during the golden age of classical Greece; under the rule of the pharaohs",
        "history; ancient Rome; ancient Egypt; ancient Greece; archaeology",
        "Empire; Pharaoh; Legion; Colosseum; Papyrus; Senate"),
    "marine biology": _v(
        "divers tracking humpback whales on their migration; a biologist studying a dying coral reef; researchers tagging great white sharks; a team cataloguing creatures of the deep sea; volunteers rescuing stranded sea turtles; a scientist decoding how octopuses think",
        "luminous; underwater; breathtaking; curious; deep-sea",
        "beneath the waves of the Pacific; on a research vessel far from shore; along a bleached tropical reef; in the dark waters of the ocean floor; in a coastal lagoon at low tide",
        "ocean; marine life; whales; coral reefs; sharks",
        "Reef; Tide; Deep Blue; Whale Song; Coral; Undertow"),
    "mountaineering": _v(
        "climbers attempting an unclimbed Himalayan peak; a Sherpa guide leading his last expedition; two friends crossing a glacier without ropes; a rescue team searching for a missing alpinist; a climber returning to the mountain that nearly killed her; an expedition racing a storm to the summit",
        "breathless; icy; daring; vertigo-inducing; high-altitude",
        "on the frozen north face of the Eiger; at base camp below Everest; in the thin air above eight thousand metres; through avalanche country in deep snow; on a knife-edge ridge at dawn",
        "climbing; mountains; expedition; Himalaya; alpinism",
        "Summit; Crevasse; Base Camp; North Face; Ice Axe; Thin Air"),
    "artificial intelligence": _v(
        "researchers training a language model that starts to surprise them; a startup building a robot that learns from its mistakes; an engineer debugging a self-driving car; a chatbot that becomes a lonely man's only friend; scientists teaching neural networks to play Go; ethicists debating the limits of machine intelligence",
        "thought-provoking; futuristic; algorithmic; data-driven; uncanny",
        "in a Silicon Valley research lab; inside racks of humming GPU servers; in a near future run by algorithms; through millions of lines of code; on the frontier of machine learning",
        "AI; machine learning; robots; neural networks; computer science",
        "Neural Net; Algorithm; Machine Mind; Turing Test; Singularity; Thinking Machine"),
    "classical music": _v(
        "a young violinist preparing for an international competition; an orchestra rehearsing Beethoven's Ninth; a composer finishing her first symphony; a cellist rediscovering Bach's suites; a conductor leading his final season; a piano prodigy struggling with stage fright",
        "elegant; stirring; majestic; soaring; virtuosic",
        "in the grand concert halls of Vienna; during a summer classical music festival; in a rehearsal room before opening night; with a full symphony orchestra; among the great works of Mozart and Bach",
        "classical music; orchestra; symphony; violin; composers",
        "Symphony; Overture; Sonata; Concerto; Requiem; Nocturne"),
    "fashion design": _v(
        "a young designer preparing her first runway collection; a tailor reviving traditional craftsmanship; models and stylists behind a couture show; a label turning recycled fabric into high fashion; a seamstress sewing gowns for a royal wedding; a fashion house fighting to stay relevant",
        "glamorous; stylish; chic; bold; couture",
        "backstage at Paris Fashion Week; in a cluttered Milan atelier; among bolts of silk and sketches; on the runways of New York; in the weeks before a big fashion show",
        "fashion; design; style; clothing; runway",
        "Runway; Couture; Silk; Atelier; Hemline; Catwalk"),
    "parenting": _v(
        "first-time parents surviving sleepless nights with a newborn; a father raising three teenagers alone; a mother balancing a career and a toddler; grandparents helping to raise their grandchildren; a family adopting a child from overseas; parents learning to handle toddler tantrums",
        "heartfelt; frank; funny; tender; down-to-earth",
        "from the first nappy to the first day of school; in a chaotic family home; through the ups and downs of childhood; during the exhausting first year with a baby; at the kitchen table after the children's bedtime",
        "parenting; family; children; babies; motherhood",
        "Bedtime; Lullaby; Firstborn; Playground; Nursery; School Run"),
    "video games": _v(
        "indie developers crunching to ship their first game; a teenage gamer competing in an esports final; a studio rebuilding a beloved console classic; speedrunners chasing a world record; a designer creating an open-world role-playing game; streamers building a community of players",
        "pixelated; addictive; fast-paced; nostalgic; competitive",
        "in front of a glowing screen at 3 a.m.; at a packed esports arena; inside a cramped game studio; across levels, boss fights and side quests; in the golden age of arcade machines",
        "gaming; video games; esports; consoles; game design",
        "Final Level; Arcade; Pixel; Respawn; Boss Fight; High Score"),
    "wine making": _v(
        "a winemaker rescuing her family vineyard; pickers racing to bring in the grape harvest; a sommelier training for the master exam; two brothers blending their first vintage; a cellar master ageing wine in oak barrels; growers battling frost among the vines",
        "sun-drenched; earthy; full-bodied; refined; rustic",
        "among the rolling vineyards of Burgundy; in cool cellars lined with wine barrels; during a hot Tuscan harvest; at a family estate in the Napa Valley; from grape to bottle",
        "wine; vineyards; winemaking; grapes; wine tasting",
        "Vintage; Vineyard; Harvest Moon; Cellar; Grand Cru; Terroir"),
    "climate change": _v(
        "scientists measuring the melting of Greenland's ice; a coastal town preparing for rising seas; farmers adapting to years of drought; activists campaigning to cut carbon emissions; engineers building a giant solar farm; climate refugees searching for a new home",
        "urgent; sobering; hopeful; alarming; eye-opening",
        "as global temperatures keep rising; on the front lines of a warming planet; during record heatwaves and wildfires; from the Arctic to the Sahel; in a world racing towards net zero",
        "climate; environment; global warming; renewable energy; sustainability",
        "Meltwater; Heatwave; Carbon; Tipping Point; Rising Seas; Net Zero"),
    "fitness training": _v(
        "a personal trainer preparing a client for her first marathon; a weightlifter chasing a new deadlift record; office workers starting a high-intensity workout routine; a coach building strength in older adults; a former athlete getting back into shape; a runner training for an ultramarathon",
        "energetic; sweat-soaked; motivating; intense; disciplined",
        "in a busy neighbourhood gym; through early-morning runs and interval sessions; over a twelve-week training plan; with squats, push-ups and stretching; on a running track before sunrise",
        "fitness; workout; exercise; strength training; running",
        "Reps; Personal Best; Cardio; Iron; Warm-Up; Finish Line"),
    "architecture": _v(
        "an architect designing a timber skyscraper; restorers saving a crumbling Gothic cathedral; planners rebuilding a city centre after the war; a young studio building homes out of shipping containers; engineers raising a bridge across a wide river; a modernist master sketching his last building",
        "monumental; minimalist; visionary; brutalist; graceful",
        "across the skylines of great cities; among steel beams and concrete foundations; from blueprint to finished building; in the housing estates of the 1960s; on a crowded construction site",
        "architecture; buildings; urban planning; construction; architects",
        "Blueprint; Skyline; Facade; Cornerstone; Concrete; Archway"),
    "medieval fantasy": _v(
        "a young knight sworn to protect a dragon's egg; a hedge witch hunted by the king's soldiers; an exiled prince reclaiming his stolen throne; a band of thieves stealing a cursed sword; a sorceress guarding the last enchanted forest; a squire who discovers he can speak to wolves",
        "magical; sword-and-sorcery; mythic; enchanted; spellbinding",
        "in a kingdom ruled by dragons; beyond the walls of an ancient castle; across haunted forests and misty moors; during a war between rival wizards; in an age of knights and prophecies",
        "fantasy; dragons; magic; knights; quests",
        "Dragon; Crown; Sword; Wizard; Throne; Prophecy"),
    "photography": _v(
        "a street photographer capturing strangers in the rain; a war photographer returning to the front line; a wildlife photographer waiting weeks for a snow leopard; a portrait artist working with film cameras; a photojournalist documenting a protest movement; an amateur learning to master light and exposure",
        "striking; black-and-white; candid; vivid; beautifully framed",
        "through the lens of a vintage camera; in a darkroom lit by red light; on city streets at golden hour; with a telephoto lens and tripod; between clicks of the shutter",
        "photography; cameras; portraits; photojournalism; photographers",
        "Exposure; Shutter; Darkroom; Negative; Lens; Snapshot"),
    "dog training": _v(
        "a trainer teaching a rescue dog to trust again; a family raising a boisterous Labrador puppy; a search-and-rescue dog preparing for her first mission; a shepherd training young collies to herd sheep; volunteers socialising shelter dogs; a guide dog learning to lead a blind owner",
        "heartwarming; playful; patient; loyal; tail-wagging",
        "at a busy dog park; with treats, leads and clickers; through weeks of obedience classes; on long dog walks in the countryside; from puppyhood to adulthood",
        "dogs; pets; puppies; dog training; obedience",
        "Good Dog; Fetch; Leash; Puppy School; Pawprints; Dog Whistle"),
    "startups": _v(
        "two founders pitching their app to investors; a startup racing to ship its product before the money runs out; an entrepreneur scaling a company from a garage; engineers pivoting a failing business; a CEO raising a risky Series A round; a team chasing a billion-dollar valuation",
        "fast-moving; ambitious; high-risk; scrappy; caffeine-fuelled",
        "in a crowded co-working space; during a make-or-break investor meeting; in the boom-and-bust world of venture capital; from first prototype to public launch; in the tech hubs of San Francisco and Berlin",
        "startups; entrepreneurship; business; venture capital; founders",
        "Unicorn; Pitch Deck; Burn Rate; Seed Round; Pivot; Disruption"),
    "birdwatching": _v(
        "birders tracking rare warblers on spring migration; a retired postman counting owls in the woods; a young birder chasing a record year list; volunteers ringing swallows at dawn; an ornithologist studying puffin colonies; a couple building nest boxes for swifts",
        "quiet; feathered; observant; wild; unhurried",
        "in the wetlands at first light; with binoculars and a field notebook; along a windswept estuary; in a bird hide on the marshes; through the autumn bird migration",
        "birds; birdwatching; wildlife; nature; ornithology",
        "Wingspan; Feather; Birdsong; Migration; Nest; Flight Path"),
    "cycling": _v(
        "a rider attempting the Tour de France; a commuter crossing the city by bike every day; two friends riding from coast to coast; a mechanic building custom racing bikes; a team chasing a stage win in the Alps; a veteran cyclist returning after a crash",
        "windswept; leg-burning; exhilarating; gruelling; two-wheeled",
        "on steep mountain passes; in a speeding peloton; along quiet country lanes; through a hundred-mile ride; on cobbled roads in the rain",
        "cycling; bikes; Tour de France; road racing; cyclists",
        "Peloton; Yellow Jersey; Breakaway; Freewheel; Chainring; Climb"),
    "chess": _v(
        "a child prodigy preparing for the world championship; two grandmasters locked in a bitter rivalry; a prisoner teaching himself chess in his cell; a club player studying old openings; a coach training a school chess team; a computer engine challenging human champions",
        "cerebral; tactical; strategic; brilliant; tense",
        "over a board of sixty-four squares; during a long tournament in Reykjavik; against the ticking of the clock; across endgames and opening gambits; in the old chess clubs of Moscow",
        "chess; strategy; tournaments; grandmasters; board games",
        "Checkmate; Gambit; Endgame; Stalemate; Queen's Move; Pawn"),
    "poetry": _v(
        "a young poet writing verses about her grandmother; a slam poet performing in packed cafés; a translator bringing ancient poems into English; a retired miner who writes sonnets at night; a group of students forming a poetry circle; a poet laureate searching for new words",
        "lyrical; rhythmic; meditative; haunting; wistful",
        "in rhyming couplets and free verse; at open-mic poetry nights; in notebooks filled with stanzas; through sonnets, haiku and ballads; on the page and on the stage",
        "poetry; verse; literature; spoken word; poets",
        "Stanza; Verse; Sonnet; Haiku; Rhyme; Ode"),
    "hip hop": _v(
        "a teenage rapper recording his first mixtape; a DJ scratching records at block parties; a producer building beats in his bedroom; a crew of breakdancers battling for a title; an MC fighting her label for creative control; the pioneers who invented hip hop in the Bronx",
        "hard-hitting; streetwise; bass-heavy; raw; rebellious",
        "in the Bronx in the 1970s; at underground rap battles; over vinyl turntables and drum machines; in a cramped home studio; on a nationwide rap tour",
        "hip hop; rap; beats; DJs; breakdancing",
        "Mixtape; Freestyle; Breakbeat; Microphone; Turntable; Cypher"),
    "mental health": _v(
        "a therapist supporting patients through anxiety; a young man recovering from depression; friends learning to talk about burnout; a nurse working on a psychiatric ward; a woman practising mindfulness after trauma; a support group meeting every Tuesday",
        "compassionate; calming; candid; healing; gentle",
        "one therapy session at a time; through panic attacks and quiet recoveries; with breathing exercises and journaling; in a world that rarely talks about the mind; during a long winter of low mood",
        "mental health; wellbeing; therapy; anxiety; mindfulness",
        "Deep Breath; Inner Weather; Calm Waters; Headspace; Safe Harbour; Recovery"),
    "coffee": _v(
        "a barista competing in the world latte-art final; farmers growing coffee on volcanic slopes; a roaster chasing the perfect espresso; a café owner opening a coffee shop in a small town; a buyer travelling to Ethiopia for rare beans; friends who meet every morning at the same coffee bar",
        "aromatic; rich; caffeinated; smooth; bittersweet",
        "in a tiny espresso bar; from coffee farm to cup; beside a hissing espresso machine; in the coffee highlands of Colombia; at a small-batch roastery",
        "coffee; espresso; cafés; baristas; coffee beans",
        "Espresso; Crema; Roast; Latte; Coffee Bean; Daily Grind"),
    "railways": _v(
        "a train driver on his final run; engineers restoring a steam locomotive; passengers sharing a sleeper carriage; a signalman keeping a remote line open; railway builders crossing a mountain range; enthusiasts travelling every rail line in the country",
        "steam-powered; rattling; scenic; old-fashioned; leisurely",
        "on the night train to Vienna; across the Trans-Siberian Railway; in a Victorian railway station; along a rural branch line; through tunnels and viaducts",
        "trains; railways; rail travel; steam engines; rail journeys",
        "Platform; Locomotive; Sleeper Car; Timetable; Signal Box; Express"),
}
# fmt: on

TOPICS: tuple[str, ...] = tuple(_VOCAB)

# (format tag, sentence template); {a_adj} is the adjective with its article.
_TEMPLATES: tuple[tuple[str, str], ...] = (
    ("documentary", "{a_adj} documentary that follows {subject} {setting}."),
    ("novel", "{a_adj} novel about {subject} {setting}."),
    ("podcast", "{a_adj} podcast series telling the story of {subject} {setting}."),
    ("course", "{a_adj} online course built around the example of {subject} {setting}."),
    ("film", "{a_adj} feature film about {subject} {setting}."),
    ("album", "{a_adj} concept album inspired by {subject} {setting}."),
    ("guide", "{a_adj} illustrated guide drawing on the experience of {subject} {setting}."),
    ("memoir", "{a_adj} memoir looking back on {subject} {setting}."),
    ("magazine", "{a_adj} magazine long-read on {subject} {setting}."),
    ("short stories", "{a_adj} collection of short stories about {subject} {setting}."),
    ("TV series", "{a_adj} TV series that follows {subject} {setting}."),
)

# {word}, {other}: two different title words of the topic; {Adj}: a topic adjective, capitalised.
# Titles use topic words only: topic-free words ("... of Silence") made items of different topics
# look alike to the encoder.
_TITLE_PATTERNS: tuple[str, ...] = (
    "{word}",
    "{Adj} {word}",
    "The {Adj} {word}",
    "{word} and {other}",
    "Beyond the {word}",
    "The Last {word}",
    "After the {word}",
)

# AdvRec-v1's item kinds (advrec_gym.quality): clickbait and high-quality items read differently, the
# way a human reader tells them apart. {title} is the item's plain title; {subject} and {setting} come
# from its topic, so the item stays about its topic.
_CLICKBAIT_TITLES: tuple[str, ...] = (
    "You Won't Believe {title}",
    "{title}: The Shocking Truth",
    "SHOCKING: {title}",
    "{title} (Number 7 Will Blow Your Mind)",
    "This Is What Really Happened in {title}",
    "{title}: Everyone Is Talking About It",
)
_CLICKBAIT_TEMPLATES: tuple[tuple[str, str], ...] = (
    ("viral video", "A viral video about {subject} {setting} that will leave you speechless!"),
    ("listicle", "10 jaw-dropping facts about {subject} {setting} - you won't believe the last one!"),
    ("slideshow", "Click through the unbelievable story of {subject} {setting} before it gets taken down!"),
    ("quiz", "Take the quiz everyone is sharing: which of {subject} {setting} are you? The results are insane!"),
)
_CLICKBAIT_TAGS = ("viral", "must-see", "shocking", "trending", "unbelievable")
_QUALITY_OPENINGS: tuple[str, ...] = (
    "An award-winning, meticulously researched",
    "A critically acclaimed, carefully crafted",
    "A thoughtful, in-depth and beautifully made",
    "A masterful, deeply reported",
)
_QUALITY_CLOSINGS: tuple[str, ...] = (
    " Praised by critics for its depth and honesty.",
    " Widely recommended by experts in the field.",
    " A rewarding work that repays close attention.",
)
_QUALITY_TAGS = ("acclaimed", "in-depth", "award-winning", "expert pick")

_MAX_TRIES = 1000  # consecutive collisions allowed before giving up on uniqueness


def _pick(rng: np.random.Generator, options: Sequence[str]) -> str:
    return options[int(rng.integers(len(options)))]


def _with_article(word: str) -> str:
    return ("An " if word[0].lower() in "aeiou" else "A ") + word


def _capitalise(phrase: str) -> str:
    """Title-case a phrase, hyphenated parts included ("late-night" -> "Late-Night")."""
    cap = lambda word: "-".join(p[:1].upper() + p[1:] for p in word.split("-"))  # noqa: E731
    return " ".join(cap(word) for word in phrase.split())


def _make_title(vocab: _Vocab, rng: np.random.Generator) -> str:
    pattern = _pick(rng, _TITLE_PATTERNS)
    first, second = rng.choice(len(vocab.title_words), size=2, replace=False)
    return pattern.format(
        word=vocab.title_words[int(first)],
        other=vocab.title_words[int(second)],
        Adj=_capitalise(_pick(rng, vocab.adjectives)),
    )


def _make_item(topic: str, rng: np.random.Generator) -> tuple[str, str]:
    """Draw one (title, text) for ``topic``."""
    vocab = _VOCAB[topic]
    title = _make_title(vocab, rng)
    fmt, template = _TEMPLATES[int(rng.integers(len(_TEMPLATES)))]
    sentence = template.format(
        a_adj=_with_article(_pick(rng, vocab.adjectives)),
        subject=_pick(rng, vocab.subjects),
        setting=_pick(rng, vocab.settings),
    )
    tag_idx = rng.choice(len(vocab.tags), size=2, replace=False)
    tags = [vocab.tags[int(i)] for i in tag_idx] + [fmt]
    return title, f"{title}. {sentence} Tags: {', '.join(tags)}."


def _make_styled_item(topic: str, kind: str, rng: np.random.Generator) -> tuple[str, str]:
    """Draw one (title, text) for ``topic`` in the style of ``kind`` ("clickbait", "quality", "regular")."""
    if kind == "regular":
        return _make_item(topic, rng)
    vocab = _VOCAB[topic]
    plain = _make_title(vocab, rng)
    subject, setting = _pick(rng, vocab.subjects), _pick(rng, vocab.settings)
    tag_idx = rng.choice(len(vocab.tags), size=2, replace=False)
    topic_tags = [vocab.tags[int(i)] for i in tag_idx]
    if kind == "clickbait":
        title = _pick(rng, _CLICKBAIT_TITLES).format(title=plain)
        fmt, template = _CLICKBAIT_TEMPLATES[int(rng.integers(len(_CLICKBAIT_TEMPLATES)))]
        sentence = template.format(subject=subject, setting=setting)
        extra = [_pick(rng, _CLICKBAIT_TAGS)]
    elif kind == "quality":
        title = plain
        fmt, template = _TEMPLATES[int(rng.integers(len(_TEMPLATES)))]
        # the shared templates open with "{a_adj} <format> ...": replace the opening with a quality one
        body = template.split(" ", 1)[1].format(a_adj="", subject=subject, setting=setting)
        sentence = f"{_pick(rng, _QUALITY_OPENINGS)} {body}{_pick(rng, _QUALITY_CLOSINGS)}"
        extra = [_pick(rng, _QUALITY_TAGS)]
    else:
        raise ValueError(f"kind must be 'clickbait', 'quality' or 'regular', got kind={kind!r}.")
    tags = topic_tags + extra + [fmt]
    return title, f"{title}. {sentence} Tags: {', '.join(tags)}."


def _is_int(value: object) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)


def generate_items(
    num_items: int, num_topics: int, rng: np.random.Generator, kinds: Sequence[str] | None = None
) -> tuple[list[str], list[str], list[str]]:
    """Return ``(titles, texts, topics)``, each a list of length ``num_items``.

    With ``kinds`` (one of "clickbait", "quality", "regular" per item, AdvRec-v1's catalogue) each
    text is written in its kind's style; without, the texts are exactly AdvRec-v0's.

    ``topics[i]`` is the topic name (from ``TOPICS[:num_topics]``) of item ``i``;
    items are spread over topics as evenly as possible (round robin, then
    shuffled with ``rng``).  ``texts[i]`` is the full item text: title, one
    descriptive sentence and tags.  All texts are unique; a collision is
    redrawn with ``rng``, and a ``ValueError`` is raised if uniqueness cannot
    be reached after many tries.  The output depends only on the arguments and
    the state of ``rng``.
    """
    if not _is_int(num_items) or num_items < 1:
        raise ValueError(f"num_items must be an int >= 1, got num_items={num_items!r}.")
    if not _is_int(num_topics) or not 1 <= num_topics <= len(TOPICS):
        raise ValueError(f"num_topics must be an int in [1, {len(TOPICS)}], got num_topics={num_topics!r}.")
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator, got rng={rng!r}.")
    num_items, num_topics = int(num_items), int(num_topics)
    if kinds is not None and len(kinds) != num_items:
        raise ValueError(f"kinds must have one label per item ({num_items}), got {len(kinds)}.")

    round_robin = [TOPICS[i % num_topics] for i in range(num_items)]
    topics = [round_robin[int(i)] for i in rng.permutation(num_items)]

    titles: list[str] = []
    texts: list[str] = []
    seen: set[str] = set()
    for i, topic in enumerate(topics):
        for _ in range(_MAX_TRIES):
            title, text = _make_item(topic, rng) if kinds is None else _make_styled_item(topic, kinds[i], rng)
            if text not in seen:
                break
        else:
            raise ValueError(
                f"could not generate {num_items} unique item texts over {num_topics} topics "
                f"(num_items={num_items}, num_topics={num_topics}) after {_MAX_TRIES} tries; "
                "use fewer items or more topics"
            )
        seen.add(text)
        titles.append(title)
        texts.append(text)
    return titles, texts, topics
