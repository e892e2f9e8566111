"""Words of interest texts: case and diacritics folded, positions kept; clauses and
negation; the small edit-distance helpers behind typo tolerance."""

import re
import unicodedata
from functools import lru_cache

# Noun endings Swedish adds to a word (kör: kören, körer, körerna, körens); no verb endings,
# so "=kör" never matches "köra" or "körde".
NOUN_ENDINGS = ("", "s", "n", "ns", "na", "nas", "en", "ens", "et", "ets", "er", "ers", "erna",
                "ernas", "ar", "arna", "or", "orna")
NEGATIONS = frozenset({"inte", "ej", "icke", "aldrig", "ingen", "inget", "inga", "knappast",
                       "hatar", "avskyr", "ogillar", "slipper"})
CLAUSE_BREAKS = frozenset({"men", "utan", "fast", "däremot", "dock"})
LIST_WORDS = frozenset({"och", "o", "eller", "samt"})   # after "kör." the noun may go on
NEGATION_REACH = 4      # words after "inte" that it still negates
# Common words one letter away from a term (vinter ~ viner, känner ~ kaniner): never typos.
NOT_FUZZY = frozenset("""gärna garna tycker tycka tyckte gillar gilla gillade älskar alskar
    älskade mycket mycke speciellt särskilt sarskilt mesta annat andra andras också ocksa
    brukar brukade kanske tidigare mellan väldigt valdigt ganska hemma hemifrån själv sjalv
    själva tillsammans länge längre alltid aldrig ibland sedan numera fortfarande verkligen
    egentligen intresse intressen intresserad intresserar spelar spelade spela spelat lyssnar
    lyssna titta tittar tittade läser läsa läste skriva skriver pratar prata pratade träffa
    träffar umgås hjälpa hjälper jobbat jobbar arbetat arbetar bodde flyttade pension
    pensionär pensionerad svenska sverige stockholm känner kände känna känns kännas vinter
    vintern vintrar sommar sommaren somrar våren hösten dagar dagen veckan veckor månader
    kvällen kvällar morgon morgonen eftermiddag helgen helger timmar minuter gånger gången
    saker sakerna andra några många flera allra alla allt ingenting någonting något
    människor människa vänner väninna grannar grannen kollegor kompis kompisar barnen mamma
    pappa syster bror bröder systrar mormor morfar farmor farfar frugan maken gubben
    hustru änka änkling ensam ensamhet sjuk sjukdom krasslig orkar orka ordentligt
    kommer komma kommit kunde skulle kunna borde måste vilja ville vill behöver behöva
    fungerar började börja slutade sluta skaffa skaffat hittar hitta hittade lärde lära
    lärare lärarinna kunskap fråga frågor svara svarar säger sagt berätta berättar
    berättade skratta skrattar glad glada gladare trevlig trevliga trevligt roligt roliga
    roligare tråkigt viktigt viktig speciell vanlig vanligt vanliga egen eget egna hela
    stora större största lilla mindre minsta gamla gammal äldre yngre unga ungdomen
    numera ibland oftast ofta sällan kanske nästan precis absolut självklart faktiskt
    bättre sämre bäst sämst framför allra utanför innanför omkring kring under efter
    innan mellan genom förbi ovanför nedanför fika fikat fikar sätter satte""".split())

WORD = re.compile(r"\w+(?:[:'’]\w+)*")
SENTENCE_BREAK = re.compile(r"[,.;:!?()\n]|\s-\s")
KEEP = frozenset("åäö")
_NORDIC = {"æ": "ä", "ø": "ö", "’": "'"}
_UNUSUAL = re.compile(r"[^\x00-\x7fåäö]")


def fold(text: str) -> str:
    """Lower case; foreign diacritics dropped (é -> e, ü -> u); å, ä, ö kept; æ -> ä, ø -> ö.
    One character in, one out, so positions in the folded text are positions in the text."""
    lower = text.lower()
    if len(lower) == len(text) and not _UNUSUAL.search(lower):
        return lower
    return "".join(_fold_char(ch) for ch in text)


@lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    lower = ch.lower()
    if len(lower) != 1:
        return ch
    if lower in KEEP:
        return lower
    if lower in _NORDIC:
        return _NORDIC[lower]
    base = "".join(c for c in unicodedata.normalize("NFD", lower) if not unicodedata.combining(c))
    return base if len(base) == 1 else lower


def fold_swedish(word: str) -> str:
    """What a word looks like typed without å, ä, ö."""
    return word.translate(str.maketrans("åäö", "aao"))


def tokens(text: str) -> list[tuple[str, int, int]]:
    """(folded word, start, end) for each word of the text (positions in its NFC form)."""
    folded = fold(unicodedata.normalize("NFC", text or ""))
    return [(m.group(), m.start(), m.end()) for m in WORD.finditer(folded)]


def clauses(text: str, toks: list[tuple[str, int, int]]) -> tuple[list[bool], list[bool]]:
    """For each word: is it within reach of a negation in its clause; does a clause (or a
    list item) end after it?"""
    n = len(toks)
    breaks = [m.start() for m in SENTENCE_BREAK.finditer(text)]
    clause_end = [True] * n
    broken = [False] * n         # a clause break comes right before word i
    b = 0
    for i in range(1, n):
        while b < len(breaks) and breaks[b] < toks[i - 1][2]:
            b += 1
        if b < len(breaks) and breaks[b] < toks[i][1]:
            broken[i] = True
        else:
            clause_end[i - 1] = toks[i][0] in LIST_WORDS or toks[i][0] in CLAUSE_BREAKS
    negated = [False] * n
    if NEGATIONS.isdisjoint(word for word, _, _ in toks):
        return negated, clause_end
    reach = 0
    for i, (word, _, _) in enumerate(toks):
        if broken[i] or word in CLAUSE_BREAKS:
            reach = 0
        if word in NEGATIONS:
            reach = NEGATION_REACH
        elif reach:
            negated[i] = True
            reach -= 1
    return negated, clause_end


def deletions(word: str) -> set[str]:
    return {word} | {word[:i] + word[i + 1:] for i in range(len(word))}


def one_indel(a: str, b: str) -> bool:
    """a and b are equal but for one letter left out or added (fotbol, deckarre). A letter
    typed wrong is not forgiven: too many real words are one letter from a term."""
    if len(a) == len(b):
        return a == b
    if abs(len(a) - len(b)) > 1:
        return False
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    i = 0
    while i < len(short) and short[i] == long_[i]:
        i += 1
    # People seldom get the first letters wrong, and sätter is not slåtter.
    return i >= 3 and short[i:] == long_[i + 1:]
