"""How fast the CSV import is: 50 000 seniors and 50 000 volunteers into a fresh database.

    .venv/bin/python benchmarks/import_csv.py [--rows N] [--database-url URL]

Each file is generated here (believable Swedish names, phones written every way people
write them), imported into a fresh temporary SQLite database migrated with
vanringen.cli.upgrade, and committed. Exits non-zero when a file takes 30 s or more.
With --database-url the given database is migrated and used instead; rows whose
external_id it already holds are then updated rather than created.
"""

import argparse
import random
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from sqlmodel import Session

from vanringen import vocab
from vanringen.cli import upgrade
from vanringen.csvimport import COLUMNS, import_csv
from vanringen.db import make_engine

TARGET_SECONDS = 30.0

FEMALE = ["Anna", "Maria", "Margareta", "Elisabeth", "Eva", "Kristina", "Birgitta", "Karin",
          "Ingrid", "Marianne", "Gunilla", "Ulla", "Barbro", "Greta", "Aino", "Leila", "Sara",
          "Fatima", "Lina", "Emma", "Maja", "Elsa", "Ebba", "Sirkka", "Helena", "Agneta"]
MALE = ["Lars", "Karl", "Anders", "Johan", "Per", "Nils", "Erik", "Lennart", "Olle", "Bengt",
        "Gunnar", "Sven", "Bo", "Göran", "Stig", "Ahmed", "Mehmet", "Matti", "Jonas", "Oskar",
        "Elias", "Ali", "Hugo", "Ivar", "Åke", "Örjan"]
SURNAMES = ["Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson",
            "Persson", "Svensson", "Gustafsson", "Lind", "Berg", "Lundqvist", "Holm", "Öberg",
            "Åberg", "Ström", "Sjöberg", "Virtanen", "Korhonen", "Yilmaz", "Hassan", "Ali",
            "Nowak", "Kowalski", "Jovanović", "Ekström", "Wallin"]
INTERESTS = ["trädgård", "korsord", "fotboll", "Hammarby", "stickning", "historia", "resor",
             "fåglar", "opera", "dansband", "svamp", "schack", "bakning", "hockey", "böcker",
             "kyrkan", "promenader", "radioteater", "Djurgården", "melodifestivalen"]
LANGUAGES = ["sv", "sv", "sv", "sv;fi", "sv;en", "sv;ar", "fi", "sv;fa", "sv;so", "sv;pl",
             "sv;tr", "sv;bs", "sv;es", "ar", "sv;de"]
REFERRALS = ["hemtjänst", "hemtjanst", "vårdcentral", "anhörig", "Anhörig", "själv", "sjalv",
             "biståndshandläggare", "annan"]
MOBILE_PREFIXES = ["70", "72", "73", "76", "79"]


def mobile(n: int, rng: random.Random) -> str:
    prefix, rest = rng.choice(MOBILE_PREFIXES), f"{n:07d}"
    return rng.choice([
        f"0{prefix}-{rest[:3]} {rest[3:5]} {rest[5:]}", f"0{prefix}{rest}",
        f"+46 {prefix} {rest[:3]} {rest[3:5]} {rest[5:]}", f"0046{prefix}{rest}",
        f"0{prefix} {rest[:3]} {rest[3:]}", f"+46{prefix}{rest}",
    ])


def landline(n: int, rng: random.Random) -> str:
    rest = f"{n:07d}"
    return rng.choice([f"08-{rest[:3]} {rest[3:5]} {rest[5:]}", f"08{rest}",
                       f"+46 8 {rest[:3]} {rest[3:]}", f"08-{rest}"])


def _quote(value: str) -> str:
    return f'"{value}"' if any(ch in value for ch in ',;"') else value


def generate(kind: str, rows: int, seed: int = 1) -> bytes:
    """A CSV file as Excel writes it: semicolons for seniors (Swedish Excel), commas else."""
    rng = random.Random(seed)
    delimiter = ";" if kind == "seniors" else ","
    this_year = date.today().year
    lines = [delimiter.join(COLUMNS[kind])]
    for i in range(rows):
        gender = rng.choice(["female", "female", "male", "other"] if kind == "volunteers"
                            else ["female", "female", "female", "male"])
        first = rng.choice(FEMALE if gender == "female" else MALE)
        last = rng.choice(SURNAMES)
        slots = ";".join(sorted(rng.sample(vocab.SLOTS, rng.randint(1, 4)), key=vocab.SLOTS.index))
        common = {
            "first_name": first, "last_name": last, "gender": gender,
            "languages": rng.choice(LANGUAGES),
            "interests": ", ".join(rng.sample(INTERESTS, rng.randint(0, 3))),
            "availability": slots,
        }
        if kind == "seniors":
            row = {**common, "external_id": f"S-{i + 1:06d}",
                   "phone": (mobile(i, rng) if rng.random() < 0.4 else landline(i, rng)),
                   "birth_year": "" if rng.random() < 0.05 else str(rng.randint(1925, 1955)),
                   "preferred_gender": rng.choice(["any", "any", "female", "male"]),
                   "district": "" if rng.random() < 0.1 else rng.choice(vocab.DISTRICTS),
                   "referral_source": rng.choice(REFERRALS)}
        else:
            row = {**common, "external_id": f"V-{i + 1:06d}", "phone": mobile(i, rng),
                   "email": "" if rng.random() < 0.1 else
                   f"{first.lower()}.{last.lower()}{i}@example.se".translate(
                       str.maketrans("åäöć", "aaoc")),
                   "birth_year": str(rng.randint(1950, this_year - 19)),
                   "capacity": rng.choice(["1", "1", "2"]),
                   "status": rng.choice(["applied", "training", "approved", "approved"])}
        lines.append(delimiter.join(_quote(row[c]) for c in COLUMNS[kind]))
    return ("\r\n".join(lines) + "\r\n").encode("utf-8-sig")


def run(kind: str, rows: int, url: str) -> float:
    data = generate(kind, rows)
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            started = time.perf_counter()
            result = import_csv(data, kind, session=session)
            if not result.ok:
                for error in result.errors[:20]:
                    print(f"  {error}", file=sys.stderr)
                raise SystemExit(f"{kind}: the generated file did not import")
            session.commit()
            seconds = time.perf_counter() - started
    finally:
        engine.dispose()
    print(f"{kind:<10} {rows:>7} rows  {seconds:6.2f} s  {rows / seconds:8.0f} rows/s  "
          f"(created {result.created}, updated {result.updated}, "
          f"unchanged {result.unchanged}, {len(data) / 1e6:.1f} MB)")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000, help="rows per file (50 000)")
    parser.add_argument("--database-url", help="use this database instead of fresh SQLite")
    args = parser.parse_args()
    ok = True
    for kind in ("seniors", "volunteers"):
        with tempfile.TemporaryDirectory() as tmp:
            url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.sqlite'}"
            upgrade(url)
            ok = run(kind, args.rows, url) < TARGET_SECONDS and ok
    print(f"target: each file under {TARGET_SECONDS:.0f} s – {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
