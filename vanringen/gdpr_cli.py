"""`vanringen gdpr …`: the data-protection officer's commands. The commands themselves
live beside what they do (access_export.py, erasure.py, retention.py) and attach here."""

from flask.cli import AppGroup

gdpr_cli = AppGroup("gdpr", help="Personuppgifter: registerutdrag, radering, gallring.")
