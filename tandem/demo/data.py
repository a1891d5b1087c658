"""The demo's fixed facts: names, log-ins, session lengths, phase path and the half-hour grid."""

from __future__ import annotations

import datetime as dt

from tandem.accounts.models import Role
from tandem.cases.models import Phase
from tandem.scheduling.models import AppointmentKind

DEMO_PRACTICE_NAME = "Larkspur Relationship Clinic (demo)"
DEMO_PASSWORD = "tandem-demo-2026"  # noqa: S105 -- published on purpose: printed at start-up
DEMO_URL = "http://127.0.0.1:8000/"
STAFF_DOMAIN = "staff.tandem-demo.invalid"
CLIENT_DOMAIN = "clients.tandem-demo.invalid"
DEFAULT_SEED = 2026
DEMO_CASES = 30
# A large practice has staff in proportion to its caseload (40 therapists for 20,000 cases over six years,
# about twenty sessions a week each), so that one therapist's or one room's week looks alike at any size.
CASES_PER_THERAPIST = 500
MIN_LARGE_THERAPISTS = 4
# Of which this share works in co-therapy teams (pairs) for intensives.
TEAM_SHARE = 0.4
BATCH = 2000

# One log-in per role; (role, username). Other generated staff get unusable passwords.
DEMO_LOGINS: tuple[tuple[str, str], ...] = (
    (Role.DIRECTOR, "director"),
    (Role.THERAPIST, "therapist"),
    (Role.THERAPIST, "cotherapist"),
    (Role.COORDINATOR, "coordinator"),
    (Role.CLIENT, "client"),
    (Role.CLIENT, "partner"),
)
# What each log-in shows, printed beside it.
LOGIN_NOTES = {
    "therapist": "solo cases and co-therapy team 1",
    "cotherapist": "the other therapist of team 1, who co-signs its notes",
    "client": "partner A of a couple in care",
    "partner": "partner B of the same couple",
}

# --- Invented names ------------------------------------------------------------------------------
FEMALE_FIRST = (
    "Maren",
    "Ilse",
    "Noor",
    "Freya",
    "Carys",
    "Liesbet",
    "Annika",
    "Saskia",
    "Elodie",
    "Rosalind",
    "Tamsin",
    "Veerle",
    "Hedda",
    "Odile",
    "Yara",
    "Mirthe",
    "Bryony",
    "Linnea",
    "Petra",
    "Greta",
    "Isolde",
    "Marit",
    "Selin",
    "Wren",
    "Aveline",
    "Brigid",
    "Daphne",
    "Esmee",
    "Fenna",
    "Hester",
)
MALE_FIRST = (
    "Joris",
    "Anders",
    "Tobias",
    "Rafael",
    "Idris",
    "Casper",
    "Lucan",
    "Matthijs",
    "Evander",
    "Oskar",
    "Bram",
    "Sven",
    "Teodor",
    "Ruben",
    "Alasdair",
    "Florian",
    "Jasper",
    "Niels",
    "Dorian",
    "Emrys",
    "Gideon",
    "Hugo",
    "Ivo",
    "Lorcan",
    "Milo",
    "Otto",
    "Piet",
    "Soren",
    "Wouter",
    "Ansel",
)
NEUTRAL_FIRST = ("Robin", "Sasha", "Noa", "Kit", "Jules", "Quinn", "Rowan", "Sam", "Charlie", "Ari")
LAST_NAMES = (
    "Ashgrove",
    "Brambleton",
    "Calloway",
    "Dunmere",
    "Eldridge",
    "Fairwood",
    "Glenhaven",
    "Holloway",
    "Ivesdale",
    "Juniper",
    "Kestrelle",
    "Larchmont",
    "Marlow",
    "Northcott",
    "Oakhurst",
    "Pennywell",
    "Quarrington",
    "Rookwood",
    "Sallowmere",
    "Thistlewood",
    "Underhill",
    "Vantwoud",
    "Westerveld",
    "Yarrowby",
    "Zandhove",
    "Brookmere",
    "Copperfell",
    "Dovecote",
    "Emberly",
    "Foxwell",
    "Gorseby",
    "Hazelrigg",
    "Inglenook",
    "Kingsmoor",
    "Lindqvist",
    "Meadowcroft",
    "Nettlefold",
    "Orchardson",
    "Primrose",
    "Ravensworth",
    "Stillwater",
    "Tamberlane",
    "Vellacott",
    "Whitlowe",
    "Wychwood",
)
# The large practice's clients draw from about 1,600 synthetic surnames (a head and a tail, "Ash" +
# "ford"): tens of thousands of clients named from forty-five surnames would make every name search return
# hundreds of cases, which a real practice's would not.
SURNAME_HEADS = (
    "Ash", "Bramble", "Call", "Dun", "Elder", "Fair", "Glen", "Holl", "Ives", "Juniper", "Kestrel", "Larch",
    "Marl", "North", "Oak", "Penny", "Quarry", "Rook", "Sallow", "Thistle", "Under", "Vant", "Wester",
    "Yarrow", "Zand", "Brook", "Copper", "Dove", "Ember", "Fox", "Gorse", "Hazel", "Ingle", "Kings",
    "Linden", "Meadow", "Nettle", "Orchard", "Prim", "Raven",
)  # fmt: skip
SURNAME_TAILS = (
    "grove", "ton", "way", "mere", "ridge", "wood", "haven", "dale", "field", "mont", "low", "cott",
    "hurst", "well", "ington", "worth", "water", "lane", "ford", "brook", "by", "hove", "fell", "cote",
    "ly", "rigg", "nook", "moor", "qvist", "croft", "fold", "son", "rose", "stead", "wick", "combe",
    "ham", "holt", "shaw", "thorpe",
)  # fmt: skip
LARGE_LAST_NAMES = tuple(head + tail for head in SURNAME_HEADS for tail in SURNAME_TAILS)
CREDENTIALS = (
    "MSc Clinical Psychology, certified sex therapist",
    "MA Couple and Family Therapy, registered psychotherapist",
    "MD, psychiatrist and sexologist",
    "MSc Sexology, registered couples therapist",
    "PhD Clinical Psychology, certified sex therapist",
)
LICENCE_BODY = "Fictional Board of Relationship Therapists"
PRONOUNS = {"F": "she/her", "M": "he/him", "N": "they/them"}

# --- Sessions: minutes each kind lasts ----------------------------------------------------------
MINUTES = {
    AppointmentKind.CONSULTATION: 20,
    AppointmentKind.JOINT_ASSESSMENT: 90,
    AppointmentKind.INDIVIDUAL_ASSESSMENT: 50,
    AppointmentKind.INTENSIVE: 120,
    AppointmentKind.STANDARD: 50,
    AppointmentKind.CONJUNCTIVE: 50,
    AppointmentKind.FOLLOW_UP_VISIT: 50,
    AppointmentKind.FOLLOW_UP_CALL: 20,
}
ACTIVE_PHASES = (Phase.ASSESSMENT, Phase.TREATMENT, Phase.FOLLOW_UP)
MIN_ACTIVE_FOR_DEMO_THERAPIST = 6
INTENSIVE = "intensive"
STANDARD = "standard"
PATH = (
    Phase.CONSULTATION,
    Phase.INTAKE,
    Phase.ASSESSMENT,
    Phase.TREATMENT,
    Phase.FOLLOW_UP,
    Phase.DISCHARGED,
)
REASONS: dict[str, str] = {
    Phase.CONSULTATION: "Consultation request received.",
    Phase.INTAKE: "Free consultation held; the clients chose to continue.",
    Phase.ASSESSMENT: "Intake forms complete.",
    Phase.TREATMENT: "Assessment complete; treatment format agreed.",
    Phase.FOLLOW_UP: "Treatment phase complete.",
    Phase.DISCHARGED: "Follow-up complete; discharged by agreement.",
    Phase.CLOSED: "Closed without treatment: the clients did not continue.",
}
# Presenting problems that concern one partner of a given sex, or the couple as a whole.
MALE_PROBLEMS = {
    "erectile-disorder",
    "erectile-dysfunction-organic",
    "premature-ejaculation",
    "delayed-ejaculation",
}
FEMALE_PROBLEMS = {"female-orgasmic-disorder", "vaginismus"}
COUPLE_PROBLEMS = {"relationship-distress", "intimacy-problems"}

# --- The slot grid --------------------------------------------------------------------------------
GRID_START = 8 * 60  # minutes after midnight
SLOT = 30
SLOTS = 24  # 08:00 to 20:00
FULL_DAY = (1 << SLOTS) - 1
DAY = dt.timedelta(days=1)
