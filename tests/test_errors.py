"""Error pages (vanringen/errors.py): Swedish, or English when chosen, and never for Twilio."""

from conftest import html_text


def test_a_page_for_admins_only_says_so_in_swedish(logged_in):
    response = logged_in.get("/meddelanden/texter/")
    assert response.status_code == 403
    page = html_text(response)
    assert "Du har inte behörighet till sidan" in page and "administratör" in page
    assert "Översikt" in page  # the menu is there, to go on from


def test_an_unknown_page(logged_in):
    response = logged_in.get("/seniorer/999999")
    assert response.status_code == 404
    assert "Sidan finns inte" in html_text(response)


def test_in_english_when_chosen(logged_in):
    logged_in.submit("/sprak/en", {"next": "/oversikt"}, form_path="/oversikt")
    response = logged_in.get("/seniorer/999999")
    assert response.status_code == 404 and "does not exist" in html_text(response)


def test_an_expired_form_tells_what_to_do(logged_in):
    response = logged_in.post("/seniorer/ny", data={"first_name": "Greta", "csrf_token": "gammal"})
    assert response.status_code == 400
    page = html_text(response)
    assert "Formuläret hade gått ut" in page and "Inget sparades" in page


def test_twilio_gets_only_the_status(client):
    response = client.post("/twilio/sms", data={"From": "+46701110000", "Body": "STOPP"})
    assert response.status_code == 403
    assert "behörighet" not in response.get_data(as_text=True)
