"""`vanringen demo-data`: a believable programme for a newcomer's first look at the app.

Invented seniors and volunteers (names and interests in data/demo.toml), each with the
consent and history a real one would have, plus a demo coordinator account. Phone numbers
come from the ranges PTS reserves for film and books while they last, so a reminder sent
from a demo database by mistake reaches nobody; after that come valid numbers next to them.
"""

import random
import tomllib
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlmodel import Session, select

from . import vocab
from .auth import create_user
from .db import get_session, utcnow
from .demo_pairs import demo_intake, pair_demo_seniors
from .models import Consent, PersonEvent, Senior, StaffUser, Volunteer
from .phones import parse_phone

# The texts real people agree to, so demo consents read like real ones.
from .seniors import SENIOR_CONSENT_TEXT, SENIOR_CONSENT_VERSION
from .volunteer_forms import VOLUNTEER_CONSENT_TEXT, VOLUNTEER_CONSENT_VERSION

DEMO_EMAIL = "demo@vanringen.se"
DEMO_PASSWORD = "ring-sa-pratar-vi"
DEMO_NAME = "Demo Koordinator"
# An admin too, so a newcomer can see the staff accounts, the texts and the audit log.
DEMO_ADMIN_EMAIL = "admin@vanringen.se"
DEMO_ADMIN_NAME = "Demo Administratör"
DEMO_URL = "http://127.0.0.1:5000"
# A fixed default keeps screenshots and guides true to what a newcomer sees.
DEFAULT_SEED = 1
DATA_FILE = Path(__file__).resolve().parent / "data" / "demo.toml"

# (prefix, numbers, digits, fiction): PTS's fiction numbers 070-174 06 05..99,
# 08-465 004 xx, 031-390 06 xx, 040-628 04 xx and 0980-319 2xx, then their neighbours.
# Stockholm seniors get 08 numbers first; the other cities' numbers are still fiction.
MOBILE_RANGES = [("+4670174", range(605, 700), 4, True),
                 ("+4670174", range(700, 10000), 4, False)]
LANDLINE_RANGES = [
    ("+4684650", range(400, 500), 4, True), ("+4631390", range(600, 700), 4, True),
    ("+4640628", range(400, 500), 4, True), ("+46980319", range(200, 300), 3, True),
    ("+4684650", range(500, 10000), 4, False),
]

STAGES = ["applied", "interviewed", "record_checked", "trained", "approved"]
# Days from the previous stage to this one.
GAPS = {"interviewed": (3, 21), "record_checked": (2, 20), "trained": (4, 30), "approved": (1, 7)}
VOLUNTEER_STATUSES = {"approved": 58, "applied": 10, "interviewed": 7, "record_checked": 6,
                      "trained": 8, "declined": 4, "withdrawn": 7}
# Themes the old do not pick; "studier" only students do.
YOUNG_THEMES = {"lopning", "teknik", "musik_ung", "studier"}
REFERRALS = {"hemtjanst": 30, "anhorig": 25, "vardcentral": 15, "sjalv": 15,
             "bistandshandlaggare": 10, "annan": 5}
# Weight of each part of the day, and of a weekend slot against a weekday one.
RHYTHMS = {
    "senior": ({"morning": 4, "afternoon": 5, "evening": 1}, 0.6),
    "retired": ({"morning": 3, "afternoon": 4, "evening": 2}, 0.7),
    "working": ({"morning": 0.3, "afternoon": 1, "evening": 5}, 2.5),
    "student": ({"morning": 0.5, "afternoon": 4, "evening": 4}, 1.5),
}
BIRTH_YEARS = {"retired": (1950, 1960), "working": (1961, 1999), "student": (2000, 2005)}
EMAIL_DOMAINS = ["example.com", "example.net", "example.org"]
NO_SMS_NOTE = "Synnedsättning, kan inte läsa SMS."


def load_data() -> dict:
    with DATA_FILE.open("rb") as fh:
        return tomllib.load(fh)


def weighted(rng: random.Random, weights: dict):
    return rng.choices(list(weights), weights=list(weights.values()))[0]


class PhoneBook:
    """Hands out each number once, fiction first, never one already in the database."""

    def __init__(self, taken):
        self.taken = set(taken)
        self.invented = 0
        self.pools = {"mobile": self._numbers(MOBILE_RANGES),
                      "landline": self._numbers(LANDLINE_RANGES)}

    @staticmethod
    def _numbers(ranges):
        for prefix, numbers, digits, fiction in ranges:
            for n in numbers:
                yield parse_phone(f"{prefix}{n:0{digits}d}"), fiction

    def next(self, kind: str) -> str:
        for number, fiction in self.pools[kind]:
            if number not in self.taken:
                self.taken.add(number)
                self.invented += not fiction
                return number
        raise click.ClickException("Demotelefonnumren räcker inte till så många personer.")


@dataclass
class Demo:
    rng: random.Random
    today: date
    tz: ZoneInfo
    data: dict
    phones: PhoneBook
    names: set = field(default_factory=set)
    emails: set = field(default_factory=set)
    approved: int = 0

    def moment(self, days_ago: int) -> datetime:
        """Office hours on a past day, in UTC; the same day gives the same time per seed."""
        clock = time(self.rng.randint(8, 16), self.rng.randrange(0, 60, 5))
        return datetime.combine(self.today - timedelta(days=days_ago), clock, self.tz) \
            .astimezone(UTC)

    def group(self, role: str) -> dict:
        groups = self.data["group"]
        return self.rng.choices(groups, weights=[g[f"{role}_weight"] for g in groups])[0]

    def name(self, group: dict, gender: str, young: bool) -> tuple[str, str]:
        sex = gender if gender != "other" else self.rng.choice(["female", "male"])
        pool = group[f"{'young' if young else 'old'}_{'men' if sex == 'male' else 'women'}"]
        # Two people with one name would look like a duplicate registration.
        for _ in range(30):
            first, last = self.rng.choice(pool), self.rng.choice(group["last_names"])
            if (first, last) not in self.names:
                break
        self.names.add((first, last))
        return first, last

    def interests(self, group: dict, rhythm: str) -> str:
        young = {"working": YOUNG_THEMES - {"studier"}, "student": YOUNG_THEMES}
        themes = [t for t in self.data["themes"]
                  if t not in YOUNG_THEMES or t in young.get(rhythm, ())]
        phrases = [self.rng.choice(self.data["themes"][t])
                   for t in self.rng.sample(themes, self.rng.randint(2, 4))]
        if group["interests"] and self.rng.random() < 0.6:
            phrases.insert(self.rng.randrange(len(phrases) + 1),
                           self.rng.choice(group["interests"]))
        return say(self.rng, phrases)

    def availability(self, rhythm: str, count: int) -> str:
        parts, weekend = RHYTHMS[rhythm]
        weights = {slot: parts[slot.split("-")[1]]
                   * (weekend if slot.startswith(("sat", "sun")) else 1)
                   for slot in vocab.SLOTS}
        chosen = set()
        while len(chosen) < count:
            chosen.add(weighted(self.rng, weights))
        return ";".join(s for s in vocab.SLOTS if s in chosen)

    def email(self, first: str, last: str) -> str:
        base = ".".join(ascii_slug(p) for p in (first, last) if p)
        address = f"{base}@{self.rng.choice(EMAIL_DOMAINS)}"
        number = 2
        while address in self.emails:
            address = f"{base}{number}@{address.split('@')[1]}"
            number += 1
        self.emails.add(address)
        return address


def say(rng: random.Random, phrases: list[str]) -> str:
    """Interests the way people type them: a bare list, a list with 'och', or sentences."""
    style = rng.random()
    if style < 0.4 or len(phrases) == 1:
        text = ", ".join(phrases)
    elif style < 0.8:
        text = f"{', '.join(phrases[:-1])} och {phrases[-1]}"
    else:
        return " ".join(f"{p[0].upper()}{p[1:]}." for p in phrases)
    return text if style < 0.2 else f"{text[0].upper()}{text[1:]}"


def ascii_slug(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.lower()).encode("ascii", "ignore").decode()
    return "".join(c for c in folded if c.isalnum() or c == "-")


def make_senior(demo: Demo) -> dict:
    rng = demo.rng
    group = demo.group("senior")
    gender = weighted(rng, {"female": 64, "male": 35, "other": 1})
    first, last = demo.name(group, gender, young=False)
    year = (rng.randint(1930, 1955) if rng.random() < 0.92
            else rng.choice([rng.randint(1926, 1929), rng.randint(1956, 1960)]))
    landline = rng.random() < 0.3
    reminder = "voice" if landline else weighted(rng, {"sms": 80, "voice": 12, "none": 8})
    notes = rng.choice(demo.data["notes"]["senior"]) if rng.random() < 0.35 else ""
    if reminder == "voice" and not landline:
        notes = NO_SMS_NOTE
    districts = group["districts"] if group["districts"] and rng.random() < 0.8 \
        else vocab.DISTRICTS
    preferred = {"female": {"any": 70, "female": 28, "male": 2},
                 "male": {"any": 80, "male": 10, "female": 10}}.get(gender, {"any": 1})
    waiting_since = demo.moment(rng.randint(30, 240))
    senior = Senior(
        first_name=first, last_name=last,
        phone=demo.phones.next("landline" if landline else "mobile"),
        birth_year=year, gender=gender, languages=rng.choice(group["senior_languages"]),
        interests=demo.interests(group, "senior"),
        availability=demo.availability("senior", rng.randint(2, 6)),
        preferred_gender=weighted(rng, preferred), district=rng.choice(districts),
        referral_source=weighted(rng, REFERRALS), reminder_channel=reminder, notes=notes,
        status="waiting", waiting_since=waiting_since, created_at=waiting_since,
        updated_at=waiting_since,
    )
    return senior.model_dump(exclude={"id"})


def timeline(rng: random.Random, reached: int, *, stale: bool, stopped: bool) -> list[int]:
    """Days ago of each stage up to STAGES[reached], oldest first, all in the past.

    An approved volunteer's police-record extract is under a year old unless `stale`, then
    it is over a year old so the renewal warning has something to show.
    """
    gaps = [rng.randint(*GAPS[stage]) for stage in STAGES[1:reached + 1]]
    after_record = sum(gaps[2:])
    if stale:
        last = rng.randint(370, 700) - after_record
    elif reached == len(STAGES) - 1:
        last = rng.randint(1, 340 - after_record)
    elif stopped:
        last = rng.randint(6, 200)
    else:
        last = rng.randint(1, 40)
    ago = [last]
    for gap in reversed(gaps):
        ago.insert(0, ago[0] + gap)
    return ago


def make_volunteer(demo: Demo) -> tuple[dict, list[dict]]:
    """A volunteer's row and its history events (status changes, oldest first)."""
    rng = demo.rng
    group = demo.group("volunteer")
    status = weighted(rng, VOLUNTEER_STATUSES)
    demo.approved += status == "approved"
    # About one approved volunteer in sixteen is due to renew the police-record extract.
    stale = status == "approved" and demo.approved % 16 == 6
    stopped = status in ("declined", "withdrawn")
    reached = (rng.randint(0, 2) if status == "declined" else rng.randint(0, 3)) if stopped \
        else STAGES.index(status)
    ago = timeline(rng, reached, stale=stale, stopped=stopped)
    rhythm = weighted(rng, {"retired": 30, "working": 45, "student": 25})
    year = rng.randint(*BIRTH_YEARS[rhythm])
    gender = weighted(rng, {"female": 70, "male": 27, "other": 3})
    first, last = demo.name(group, gender, young=year > 1965)
    day = {stage: demo.today - timedelta(days=days)
           for stage, days in zip(STAGES, ago, strict=False)}
    moments = [demo.moment(days) for days in ago]
    events = [{"action": "created", "at": moments[0], "actor_id": None,
               "detail": "Ansökan via webbformuläret"}]
    for i in range(1, reached + 1):
        events.append({"action": "status", "from_status": STAGES[i - 1], "to_status": STAGES[i],
                       "at": moments[i]})
    reason = ""
    if stopped:
        reason = rng.choice(demo.data["reasons"][status])
        events.append({"action": "status", "from_status": STAGES[reached], "to_status": status,
                       "detail": reason, "at": demo.moment(ago[-1] - rng.randint(1, 5))})
    motivations = demo.data["notes"]["motivation"] + group["motivation"] * 3
    trained = day.get("trained")
    volunteer = Volunteer(
        first_name=first, last_name=last, phone=demo.phones.next("mobile"), birth_year=year,
        gender=gender, languages=rng.choice(group["volunteer_languages"]),
        interests=demo.interests(group, rhythm),
        availability=demo.availability(rhythm, rng.randint(2, 8)),
        email=demo.email(first, last) if rng.random() < 0.9 else None,
        capacity=weighted(rng, {1: 70, 2: 25, 3: 5}),
        motivation=rng.choice(motivations) if rng.random() < 0.85 else "",
        status=status, status_reason=reason,
        interviewed_on=day.get("interviewed"),
        police_record_checked_on=day.get("record_checked"), trained_on=trained,
        training_course=(f"Grundutbildning för telefonvänner, "
                         f"{'våren' if trained.month <= 6 else 'hösten'} {trained.year}"
                         if trained else ""),
        approved_at=moments[-1] if status == "approved" else None,
        created_at=moments[0], updated_at=events[-1]["at"],
    )
    return volunteer.model_dump(exclude={"id"}), events


def demo_coordinator(session: Session) -> tuple[StaffUser, bool]:
    if not session.exec(select(StaffUser).where(StaffUser.email == DEMO_ADMIN_EMAIL)).first():
        create_user(DEMO_ADMIN_EMAIL, DEMO_PASSWORD, role="admin", name=DEMO_ADMIN_NAME,
                    session=session)
    user = session.exec(select(StaffUser).where(StaffUser.email == DEMO_EMAIL)).first()
    if user:
        return user, False
    user = create_user(DEMO_EMAIL, DEMO_PASSWORD, role="coordinator", name=DEMO_NAME,
                       session=session)
    session.flush()
    return user, True


def insert_returning_ids(session: Session, model, rows: list[dict]) -> list[int]:
    if not rows:
        return []
    statement = sa.insert(model).returning(model.id, sort_by_parameter_order=True)
    return list(session.exec(statement, params=rows).scalars())


def create_demo_data(*, session: Session, seniors: int, volunteers: int, seed: int,
                     today: date, tz: ZoneInfo) -> dict:
    """Add invented people to the session's transaction; the caller commits."""
    coordinator, created_account = demo_coordinator(session)
    # Run again on a filled database, the new people must not look like duplicates.
    taken, names = set(), set()
    for model in (Senior, Volunteer):
        for phone, first, last in session.exec(
                select(model.phone, model.first_name, model.last_name)):
            taken.add(phone)
            names.add((first, last))
    demo = Demo(rng=random.Random(seed), today=today, tz=tz, data=load_data(),
                phones=PhoneBook(taken), names=names)
    senior_rows = [make_senior(demo) for _ in range(seniors)]
    volunteer_rows, histories = [], []
    for _ in range(volunteers):
        row, history = make_volunteer(demo)
        volunteer_rows.append(row)
        histories.append(history)

    senior_ids = insert_returning_ids(session, Senior, senior_rows)
    volunteer_ids = insert_returning_ids(session, Volunteer, volunteer_rows)
    blank_event = {"senior_id": None, "volunteer_id": None, "actor_id": coordinator.id,
                   "from_status": None, "to_status": None, "detail": ""}
    events, consents = [], []
    for senior_id, row in zip(senior_ids, senior_rows, strict=True):
        events.append(blank_event | {"senior_id": senior_id, "action": "created",
                                     "detail": "Registrerad efter telefonsamtal",
                                     "at": row["created_at"]})
        consents.append(consent_row(row["created_at"], tz, senior_id=senior_id, method="verbal",
                                    text_version=SENIOR_CONSENT_VERSION,
                                    text=SENIOR_CONSENT_TEXT, recorded_by_id=coordinator.id,
                                    recorded_by_name=coordinator.name))
    for volunteer_id, row, history in zip(volunteer_ids, volunteer_rows, histories, strict=True):
        events.extend(blank_event | {"volunteer_id": volunteer_id} | e for e in history)
        consents.append(consent_row(row["created_at"], tz, volunteer_id=volunteer_id,
                                    method="web", text_version=VOLUNTEER_CONSENT_VERSION,
                                    text=VOLUNTEER_CONSENT_TEXT, recorded_by_id=None,
                                    recorded_by_name=""))
    if events:
        session.exec(sa.insert(PersonEvent), params=events)
    if consents:
        session.exec(sa.insert(Consent), params=consents)
    return {"seniors": len(senior_ids), "volunteers": len(volunteer_ids),
            "created_account": created_account,
            "invented_phones": demo.phones.invented}


def consent_row(moment: datetime, tz: ZoneInfo, **kw) -> dict:
    base = {"senior_id": None, "volunteer_id": None, "given_on": moment.astimezone(tz).date(),
            "withdrawn_at": None, "created_at": moment}
    return base | kw


@click.command("demo-data")
@click.option("--if-empty", is_flag=True,
              help="Do nothing when any senior or volunteer exists (for start-up scripts).")
@click.option("--seniors", default=300, show_default=True, type=click.IntRange(0, 5000))
@click.option("--volunteers", default=200, show_default=True, type=click.IntRange(0, 5000))
@click.option("--pairs", default=60, show_default=True, type=click.IntRange(0, 5000),
              help="Approve this many of the matcher's best proposals as active pairs.")
@click.option("--seed", default=DEFAULT_SEED, show_default=True, type=int,
              help="The same seed gives the same people.")
@with_appcontext
def demo_data_command(if_empty, seniors, volunteers, pairs, seed):
    """Fill the database with invented seniors and volunteers to try the app with."""
    if current_app.config["VANRINGEN_ENV"] == "production":
        raise click.ClickException(
            "Demodata får inte skapas i produktion (VANRINGEN_ENV=production).")
    # Some demo numbers are invented and may belong to real people: never with a real sender.
    if current_app.config["NOTIFY_BACKEND"] == "twilio":
        raise click.ClickException(
            "Demodata får inte skapas när riktiga SMS skickas (NOTIFY_BACKEND=twilio).")
    session = get_session()
    if if_empty and (session.exec(select(Senior.id).limit(1)).first() is not None
                     or session.exec(select(Volunteer.id).limit(1)).first() is not None):
        click.echo("Databasen har redan seniorer eller volontärer; ingen demodata skapades.")
        return
    tz = ZoneInfo(current_app.config["TIMEZONE"])
    summary = create_demo_data(session=session, seniors=seniors, volunteers=volunteers,
                               seed=seed, today=datetime.now(tz).date(), tz=tz)
    session.flush()
    coordinator, _created = demo_coordinator(session)
    paired = pair_demo_seniors(session=session, count=pairs, today=datetime.now(tz).date(),
                               valid_days=current_app.config["POLICE_RECORD_VALID_DAYS"],
                               actor=coordinator.id, rng=random.Random(seed))
    demo_intake(session=session, now=utcnow())
    session.commit()
    click.echo(f"Skapade {summary['seniors']} seniorer och {summary['volunteers']} "
               f"volontärer (seed {seed}), varav {paired} par.")
    if summary["invented_phones"]:
        click.echo("Obs: PTS fiktiva nummer räckte inte till alla; övriga telefonnummer är "
                   "påhittade men kan tillhöra riktiga personer. Skicka inga riktiga SMS "
                   "från den här databasen.")
    account = "" if summary["created_account"] else " (kontot fanns redan)"
    click.echo(f"Logga in på {DEMO_URL} med {DEMO_EMAIL} / {DEMO_PASSWORD}{account}; "
               f"som administratör med {DEMO_ADMIN_EMAIL} och samma lösenord.")


def init_app(app: Flask) -> None:
    app.cli.add_command(demo_data_command)
