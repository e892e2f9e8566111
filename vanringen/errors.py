"""Error pages in the coordinator's language instead of Werkzeug's English ones."""

from flask import Flask, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

PAGES = {
    400: (_l("Något blev fel i förfrågan"),
          _l("Gå tillbaka och försök igen. Händer det igen, kontakta en administratör.")),
    403: (_l("Du har inte behörighet till sidan"),
          _l("Sidan är bara för administratörer. Be en administratör om hjälp.")),
    404: (_l("Sidan finns inte"),
          _l("Adressen kan vara felskriven, eller så har det du letade efter tagits bort.")),
    405: (_l("Det går inte att göra så här"),
          _l("Gå tillbaka till sidan du kom från och försök igen.")),
    # Editing a person whose data has been erased (people.refuse_if_erased).
    409: (_l("Uppgifterna är raderade"),
          _l("Personens uppgifter har raderats och kan inte ändras. Bara det som räknas i "
             "rapporterna finns kvar.")),
    # A body beyond MAX_UPLOAD_MB, on any form (the upload page has its own, fuller page).
    413: (_l("Det du skickade är för stort"),
          _l("Gå tillbaka och skicka mindre text eller en mindre fil.")),
    # Rate limits (security.py): sign-in and the application form.
    429: (_l("För många försök"),
          _l("Vänta en minut och försök sedan igen.")),
}
CSRF_PAGE = (_l("Formuläret hade gått ut"),
             _l("Gå tillbaka, ladda om sidan och fyll i formuläret igen. Inget sparades."))


def http_error(exc: HTTPException):
    # Twilio reads only the status; everything else gets a page to act on.
    if request.blueprint == "twilio" or exc.code not in PAGES:
        return exc
    title, text = CSRF_PAGE if isinstance(exc, CSRFError) else PAGES[exc.code]
    return render_template("error.html", title=title, text=text), exc.code


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, http_error)
