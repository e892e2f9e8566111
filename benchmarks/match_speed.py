"""How fast and how well the matcher pairs N waiting seniors with N volunteers.

    .venv/bin/python benchmarks/match_speed.py [--sizes 1000,10000,50000] [--seed 1]

Believable synthetic profiles (interests written in varied Swedish phrasings, languages,
gender wishes, call times; about 30 % of pairs feasible). Each size runs in its own
process, so each gets its own peak memory: the InterestMatcher (all processors), then, up to
BASELINE_MAX, the straightforward baseline in another process: the same scores as a dense
matrix (TF-IDF cosine via scikit-learn + the same category overlap), the same hard-constraint
mask, scipy.optimize.linear_sum_assignment. Per stage: seconds and the peak resident memory
seen while it ran (sampled every 2 ms); per run: the process's peak (ru_maxrss) and the
objective (seniors matched, total similarity). Exits non-zero when a target fails:

    10 000: under 5 s, at least 3x faster than the baseline, same objective
            (same number matched, total similarity within 0.01 %);
    50 000: under 30 s and under 1.5 GB peak memory.
"""

import argparse
import json
import logging
import os
import random
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

# The repository root first: the packages, not scripts of the same name beside this one.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from matching import InterestMatcher, SeniorRecord, VolunteerRecord  # noqa: E402
from matching.constraints import SLOTS  # noqa: E402

BASELINE_MAX = 10_000
OBJECTIVE_GAP = 1e-4

# Ways people write about the same interest; a profile strings a few together.
PHRASES = {
    "garden": ["trädgård", "trädgårdsarbete", "pyssla i trädgården", "rosor", "odlar tomater",
               "kolonilotten", "blommor och växter", "pelargoner", "trägård"],
    "football": ["fotboll", "Hammarby", "Bajen", "AIK", "Gnaget", "Djurgården", "allsvenskan",
                 "ser fotboll på tv", "Malmö FF", "fotbol"],
    "hockey": ["ishockey", "hockey", "Frölunda", "Färjestad", "Brynäs", "Tre Kronor"],
    "trotting": ["travet", "Solvalla", "V75", "spelar på hästar", "Elitloppet"],
    "choir": ["körsång", "sjunger i kör", "kyrkokören", "allsång", "sjunga", "gospelkör"],
    "crosswords": ["korsord", "sudoku", "löser kryss", "melodikrysset", "korsord och pussel"],
    "reading": ["läsa böcker", "läser deckare", "Camilla Läckberg", "ljudböcker", "romaner",
                "biblioteket", "poesi"],
    "history": ["historia", "andra världskriget", "vikingatiden", "släktforskning"],
    "travel": ["resor", "resa till Spanien", "har rest mycket", "Grekland", "Thailand",
               "charterresor", "Kanarieöarna"],
    "cooking": ["laga mat", "matlagning", "husmanskost", "god mat", "recept"],
    "baking": ["baka", "bakning", "kanelbullar", "sju sorters kakor", "surdegsbröd"],
    "crafts": ["stickning", "sticka", "virka", "broderi", "sy kläder", "vävning"],
    "woodwork": ["snickeri", "snickra", "slöjd", "tälja", "renovera möbler"],
    "fishing": ["fiske", "fiska gädda", "flugfiske", "pimpla", "fiskar abborre"],
    "hunting": ["jakt", "älgjakt", "jägare"],
    "nature": ["naturen", "skogspromenader", "fjällen", "friluftsliv", "vandra"],
    "birds": ["fåglar", "fågelskådning", "matar småfåglar"],
    "mushrooms": ["plocka svamp", "kantareller", "blåbär", "lingon", "bärplockning"],
    "pets": ["hundar", "katter", "min hund", "har katt", "djur"],
    "boats": ["segling", "båtar", "segelbåt", "motorbåt"],
    "sea": ["skärgården", "havet", "Roslagen", "Gotland"],
    "cars": ["bilar", "veteranbilar", "motorcyklar", "Volvo", "meckar med bilar"],
    "music": ["musik", "klassisk musik", "opera", "jazz", "dansband", "Elvis",
              "Evert Taube", "spelar piano", "dragspel", "Melodifestivalen", "schlager"],
    "dance": ["dans", "dansa", "gammeldans", "bugg", "foxtrot"],
    "film": ["film", "gamla filmer", "svartvita filmer", "bio"],
    "theatre": ["teater", "revy", "musikaler"],
    "art": ["konst", "måla akvarell", "museer", "utställningar"],
    "politics": ["politik", "samhällsfrågor", "nyheter", "debatt"],
    "religion": ["kyrkan", "tro", "gudstjänst", "moskén", "bibeln"],
    "finland": ["Finland", "bastu", "sauna", "finsk kultur", "sverigefinne"],
    "sport": ["sport på tv", "friidrott", "skidor", "Vasaloppet", "golf", "tennis",
              "cykling", "bandy"],
    "games": ["schack", "bridge", "kortspel", "canasta", "yatzy"],
    "family": ["barnbarn", "mina barnbarn", "familjen"],
    "tech": ["datorer", "ipad", "internet", "teknik"],
    "radio": ["radio", "P1", "poddar", "radioteater"],
    "exercise": ["gympa", "motion", "yoga", "simning", "promenader", "stavgång"],
    "nostalgia": ["gamla Stockholm", "förr i tiden", "minnen", "Söder förr"],
    "royal": ["kungafamiljen", "kungahuset"],
    "bingo": ["bingo", "Bingolotto"],
    "lotteries": ["trisslotter", "Lotto", "stryktipset"],
}
STARTS = ["", "", "", "Jag gillar ", "Tycker om ", "Mina intressen: ", "Intresserad av ",
          "Älskar ", "jag tycker mycket om "]
EXTRAS = ["", "", "", "", " Bor i Bromma.", " Har tre barnbarn.", " Pensionerad lärare.",
          " Jobbar som sjuksköterska.", " Studerar på KTH.", " Har bott i Sundsvall.",
          " Kommer från Irak.", " Vill gärna prata om allt möjligt.", " Är född 1941."]
SENIOR_LANGUAGES = [({"sv"}, 80), ({"sv", "fi"}, 6), ({"fi"}, 3), ({"sv", "ar"}, 3),
                    ({"ar"}, 2), ({"sv", "fa"}, 2), ({"sv", "bs"}, 2), ({"sv", "es"}, 2)]
VOLUNTEER_LANGUAGES = [({"sv"}, 55), ({"sv", "en"}, 25), ({"sv", "fi"}, 5), ({"sv", "ar"}, 5),
                       ({"sv", "fa"}, 3), ({"sv", "so"}, 2), ({"sv", "es", "en"}, 3),
                       ({"sv", "de"}, 2)]
SLOT_WEIGHTS = [3 if part == "afternoon" else 2 if part == "morning" else 1
                for part in (s.split("-")[1] for s in SLOTS)]


def interests(rng: random.Random) -> str:
    topics = rng.sample(list(PHRASES), rng.choice([1, 2, 2, 3, 3, 4]))
    words = [rng.choice(PHRASES[t]) for t in topics]
    sep = rng.choice([", ", ", ", " och ", "; "])
    body = sep.join(words[:-1]) + (" och " if len(words) > 1 and sep == ", " else
                                   sep if len(words) > 1 else "") + words[-1]
    return (rng.choice(STARTS) + body + rng.choice(EXTRAS)).strip()


def _pick(rng, weighted):
    return frozenset(rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0])


def _slots(rng):
    chosen = set()
    while len(chosen) < rng.choice([2, 2, 3, 3, 4, 5]):
        chosen.add(rng.choices(SLOTS, SLOT_WEIGHTS)[0])
    return frozenset(chosen)


def population(n: int, seed: int):
    rng = random.Random(seed)
    start = time.time() - 400 * 86400
    seniors = [SeniorRecord(
        id=i, interests=interests(rng), languages=_pick(rng, SENIOR_LANGUAGES),
        gender=rng.choice(["female"] * 3 + ["male"]),
        preferred_gender=rng.choice(["any"] * 7 + ["female"] * 3),
        slots=_slots(rng), waiting_since=start + rng.random() * 390 * 86400)
        for i in range(n)]
    volunteers = [VolunteerRecord(
        id=100_000_000 + j, interests=interests(rng), languages=_pick(rng, VOLUNTEER_LANGUAGES),
        gender=rng.choice(["female"] * 6 + ["male"] * 3 + ["other"]), slots=_slots(rng),
        free_capacity=rng.choice([1, 1, 2]),
        status=rng.choice(["approved"] * 19 + ["trained"]))
        for j in range(n)]
    return seniors, volunteers


class Sampler(threading.Thread):
    """Resident memory every 2 ms, so each stage's peak can be read afterwards."""

    def __init__(self):
        super().__init__(daemon=True)
        self.samples, self.running = [], True
        self.page = os.sysconf("SC_PAGE_SIZE")

    def run(self):
        with open("/proc/self/statm") as statm:
            while self.running:
                statm.seek(0)
                self.samples.append((time.perf_counter(),
                                     int(statm.read().split()[1]) * self.page))
                time.sleep(0.002)

    def peak(self, start, end):
        inside = [rss for t, rss in self.samples if start <= t <= end]
        return max(inside) if inside else 0


class Stages(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.marks = {}

    def emit(self, record):
        name, event = record.args[0], record.msg.split()[-1]
        self.marks.setdefault(name, {})["start" if event == "start" else "end"] = \
            time.perf_counter()


def feasible_share(seniors, volunteers, rng, samples=200_000) -> float:
    from matching import hard_constraint_violations
    hits = 0
    for _ in range(samples):
        if not hard_constraint_violations(rng.choice(seniors), rng.choice(volunteers)):
            hits += 1
    return hits / samples


def run_matcher(n: int, seed: int) -> dict:
    seniors, volunteers = population(n, seed)
    sampler, stages = Sampler(), Stages()
    logging.getLogger("matching").addHandler(stages)
    logging.getLogger("matching").setLevel(logging.DEBUG)
    sampler.start()
    start = time.perf_counter()
    matcher = InterestMatcher(n_jobs=-1).fit(seniors, volunteers)
    total = time.perf_counter() - start
    sampler.running = False
    sampler.join()
    return {
        "total": total, "peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "stages": {name: {"seconds": matcher.timings_[name],
                          "peak": sampler.peak(m["start"], m["end"])}
                   for name, m in stages.marks.items()},
        "matched": matcher.n_matched_, "score": matcher.total_score_,
        "candidates": matcher.n_candidates_,
        "feasible": feasible_share(seniors, volunteers, random.Random(seed)),
    }


def run_baseline(n: int, seed: int) -> dict:
    """Dense: every pair's score, infeasible pairs masked, linear_sum_assignment."""
    from scipy.optimize import linear_sum_assignment
    from sklearn.feature_extraction.text import TfidfVectorizer

    from matching import Taxonomy
    from matching.assignment import TIE
    from matching.constraints import encode, is_available
    from matching.text import analyse

    seniors, volunteers = population(n, seed)
    volunteers = [v for v in volunteers if is_available(v)]
    sampler, marks = Sampler(), {}
    sampler.start()
    begin = time.perf_counter()

    t0 = time.perf_counter()
    texts = [s.interests for s in seniors] + [v.interests for v in volunteers]
    tfidf = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), lowercase=False,
                            preprocessor=lambda t: " ".join(analyse(t))).fit_transform(texts)
    taxonomy = Taxonomy.default()
    index = {k: i for i, k in enumerate(taxonomy.keys)}
    cats = np.zeros((len(texts), len(index)))
    for row, text in enumerate(texts):
        found = [index[k] for k in taxonomy.categorize(text)]
        if found:
            cats[row, found] = 1 / np.sqrt(len(found))
    marks["vectorise"] = (t0, time.perf_counter())

    t0 = time.perf_counter()
    w = 0.7
    scores = (tfidf[:n] @ tfidf[n:].T).toarray()
    scores *= 1 - w
    scores += w * (cats[:n] @ cats[n:].T)
    codes = sorted({c for r in seniors + volunteers for c in r.languages})
    language_index = {c: i for i, c in enumerate(codes)}
    s_lang, s_slots, s_gender, s_accepts = encode(seniors, language_index, seniors=True)
    v_lang, v_slots, v_gender, _ = encode(volunteers, language_index, seniors=False)
    feasible = ((s_lang[:, 0][:, None] & v_lang[:, 0][None, :]) != 0)
    feasible &= (s_slots[:, None] & v_slots[None, :]) != 0
    feasible &= (s_accepts[:, None] & v_gender[None, :]) != 0
    marks["similarity"] = (t0, time.perf_counter())

    t0 = time.perf_counter()
    waits = np.array([s.waiting_since for s in seniors])
    distinct, rank = np.unique(waits, return_inverse=True)
    priority = 1.0 - rank / max(1, len(distinct) - 1)
    places = np.repeat(np.arange(len(volunteers)), [v.free_capacity for v in volunteers])
    # Rectangular: every senior gets a place (there are more places), and an infeasible
    # place costs as much as staying unmatched, so the objective is the matcher's.
    big = float(min(n, len(places)) + 2)
    cost = scores[:, places]            # then, in place: costs(scores, priority)
    del scores
    cost *= -(1 + TIE * priority)[:, None]
    cost += (2 - TIE * priority)[:, None]
    cost[~feasible[:, places]] = big
    rows, cols = linear_sum_assignment(cost)
    ok = feasible[rows, places[cols]]
    rows, vols = rows[ok], places[cols[ok]]
    del cost
    scores = w * (cats[:n][rows] * cats[n:][vols]).sum(axis=1) + (1 - w) * np.asarray(
        tfidf[:n][rows].multiply(tfidf[n:][vols]).sum(axis=1)).ravel()
    marks["assignment"] = (t0, time.perf_counter())
    total = time.perf_counter() - begin
    sampler.running = False
    sampler.join()
    return {
        "total": total, "peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "stages": {k: {"seconds": b - a, "peak": sampler.peak(a, b)}
                   for k, (a, b) in marks.items()},
        "matched": int(len(rows)), "score": float(scores.sum()),
    }


def child(kind: str, n: int, seed: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", kind, "--sizes", str(n),
                          "--seed", str(seed)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.splitlines()[-1])


def mb(value: float) -> str:
    return f"{value / 2**20:7.0f} MB"


def report(title: str, result: dict) -> None:
    print(f"  {title}: {result['total']:.2f} s, peak {mb(result['peak']).strip()}, "
          f"matched {result['matched']}, total similarity {result['score']:.4f}")
    for name, stage in result["stages"].items():
        print(f"    {name:13s} {stage['seconds']:7.2f} s  peak {mb(stage['peak'])}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,50000")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--child", choices=["matcher", "baseline"])
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.child:
        run = run_matcher if args.child == "matcher" else run_baseline
        print(json.dumps(run(sizes[0], args.seed)))
        return 0

    failed = False

    def verdict(ok: bool, text: str) -> None:
        nonlocal failed
        failed |= not ok
        print(f"  {'PASS' if ok else 'FAIL'}  {text}")

    print(f"matching benchmark on {os.cpu_count()} cores")
    for n in sizes:
        print(f"\n== {n} seniors x {n} volunteers")
        ours = child("matcher", n, args.seed)
        print(f"  feasible pairs: {ours['feasible']:.1%}; candidates kept: {ours['candidates']}")
        report("InterestMatcher", ours)
        base = child("baseline", n, args.seed) if n <= BASELINE_MAX else None
        if base:
            report("baseline (dense + linear_sum_assignment)", base)
            gap = (base["score"] - ours["score"]) / max(base["score"], 1e-9)
            print(f"  objective gap: {base['matched'] - ours['matched']} seniors, "
                  f"{gap:.4%} of the total similarity")
        else:
            print("  baseline skipped (a dense matrix this size does not fit)")
        if n == 10_000:
            verdict(ours["total"] < 5, f"10 000 in under 5 s ({ours['total']:.2f} s)")
            if base:
                verdict(base["total"] >= 3 * ours["total"],
                        f"at least 3x faster than the baseline "
                        f"({base['total'] / ours['total']:.1f}x)")
                verdict(base["matched"] == ours["matched"] and gap <= OBJECTIVE_GAP,
                        "same objective as the baseline (matched equal, total within 0.01 %)")
        if n == 50_000:
            verdict(ours["total"] < 30, f"50 000 in under 30 s ({ours['total']:.2f} s)")
            verdict(ours["peak"] < 1.5 * 2**30,
                    f"50 000 under 1.5 GB peak memory ({mb(ours['peak']).strip()})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
