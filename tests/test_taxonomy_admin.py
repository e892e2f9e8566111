"""The interest-area editor: what coordinators change here is what the next run uses."""

import html
import re

import pytest
from test_matches import fresh, seed_taxonomy

from matching import Taxonomy
from vanringen.matches import load_taxonomy
from vanringen.models import InterestCategory
from vanringen.taxonomy_admin import make_key

URL = "/matchning/intressen/"


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture
def seeded(session):
    seed_taxonomy(session)
    return fresh(session, InterestCategory)


def taxonomy(session):
    session.rollback()
    session.expire_all()
    return load_taxonomy(session=session)


def test_list_shows_the_shipped_categories(logged_in, seeded):
    page = text(logged_in.get(URL))
    assert "<h1>Intresseområden</h1>" in page
    for key, entry in Taxonomy.default().to_mapping().items():
        category = next(c for c in seeded if c.key == key)
        assert f'href="/matchning/intressen/{category.id}">{entry["label"]}</a>' in page
    assert 'href="/matchning/intressen/"' in text(logged_in.get("/matchning/"))


def test_editing_terms_changes_how_interests_are_sorted(logged_in, session, seeded, coordinator):
    category = seeded[0]
    assert category.key not in taxonomy(session).categorize("Bollnäs och isbana")
    url = f"{URL}{category.id}"
    page = text(logged_in.get(url))
    assert f">{category.label}</textarea>" not in page and category.terms.split("\n")[0] in page

    response = logged_in.submit(url, {"label": "Bandy och is", "terms": "Bollnäs\n isbana \n\n",
                                      "sort_order": "5"})
    assert response.status_code == 302 and response.headers["Location"] == URL
    stored = fresh(session, InterestCategory, InterestCategory.id == category.id)[0]
    assert (stored.label, stored.terms, stored.sort_order) == ("Bandy och is",
                                                               "Bollnäs\nisbana", 5)
    assert stored.updated_by_id == coordinator.id and stored.key == category.key
    assert set(taxonomy(session).categorize("Bollnäs och isbana")) == {category.key}
    page = text(logged_in.get(URL))
    assert "Ändringen gäller från nästa matchning." in page
    assert "Karin Koordinator" in page  # who changed it last
    tried = text(logged_in.get(URL + "?prova=Jag+följer+Bollnäs"))
    assert re.search(r"<li><strong>Bandy och is</strong> \(bollnäs\)</li>", tried, re.I)


def test_edit_errors_are_named_and_nothing_changes(logged_in, session, seeded):
    category, other = seeded[0], seeded[1]
    url = f"{URL}{category.id}"
    response = logged_in.submit(url, {"label": "", "terms": " ;\n"})
    assert response.status_code == 422
    page = text(response)
    assert "Namn: Ange ett namn." in page and "Ord som hör hit: Ange minst ett ord." in page
    response = logged_in.submit(url, {"label": other.label.upper(), "terms": "x"})
    assert response.status_code == 422
    assert "Det finns redan ett område som heter så." in text(response)
    assert fresh(session, InterestCategory, InterestCategory.id == category.id)[0].label == \
        category.label


def test_add_and_delete_a_category(logged_in, session, seeded, coordinator):
    before = len(seeded)
    response = logged_in.submit(URL + "ny", {"label": "Fåglar & natur",
                                             "terms": "fåglar; fågelskådning\nnatur"},
                                form_path=URL)
    assert response.status_code == 302
    added = fresh(session, InterestCategory, InterestCategory.label == "Fåglar & natur")[0]
    assert added.key == "faglar_natur" and added.terms == "fåglar\nfågelskådning\nnatur"
    assert added.sort_order > max(c.sort_order for c in seeded)
    assert added.updated_by_id == coordinator.id
    assert "faglar_natur" in taxonomy(session).categorize("Jag gillar fågelskådning")

    refused = logged_in.submit(URL + "ny", {"label": "Fåglar & natur", "terms": "x"},
                               form_path=URL)
    assert refused.status_code == 422
    assert len(fresh(session, InterestCategory)) == before + 1

    added_url = f"{URL}{added.id}"
    response = logged_in.submit(f"{added_url}/ta-bort", {}, form_path=added_url)
    assert response.status_code == 302
    assert "Området Fåglar &amp; natur är borttaget." in logged_in.get(URL).get_data(as_text=True)
    assert len(fresh(session, InterestCategory)) == before
    assert "faglar_natur" not in taxonomy(session).categorize("Jag gillar fågelskådning")
    assert logged_in.get(added_url).status_code == 404


def test_admins_may_edit_too(client, admin, session, seeded):
    client.login(admin)
    category = seeded[0]
    response = client.submit(f"{URL}{category.id}", {"label": category.label, "terms": "ny"})
    assert response.status_code == 302
    assert fresh(session, InterestCategory, InterestCategory.id == category.id)[0] \
        .updated_by_id == admin.id


def test_make_key():
    assert make_key("Fotboll & idrott", set()) == "fotboll_idrott"
    assert make_key("Fotboll & idrott", {"fotboll_idrott"}) == "fotboll_idrott_2"
    assert make_key("!!!", set()) == "omrade"


def test_terms_the_matcher_cannot_use_are_refused(logged_in, session, seeded):
    including = next(c for c in seeded if any(t.startswith("@") for t in c.terms.split("\n")))
    included_key = next(t[1:] for t in including.terms.split("\n") if t.startswith("@"))
    included = next(c for c in seeded if c.key == included_key)

    response = logged_in.submit(f"{URL}{including.id}", {
        "label": including.label, "terms": including.terms + "\n@finns_inte"})
    assert response.status_code == 422
    assert "Orden går inte att använda:" in text(response) and "finns_inte" in text(response)

    # An area another one includes with @ cannot go: the next run would fail.
    response = logged_in.submit(f"{URL}{included.id}/ta-bort", {},
                                form_path=f"{URL}{included.id}")
    assert response.status_code == 302
    assert f"{included.label} kan inte tas bort" in text(logged_in.get(response.headers[
        "Location"]))
    assert len(fresh(session, InterestCategory)) == len(seeded)
    taxonomy(session)  # still usable


def test_the_term_syntax_is_explained_where_terms_are_written(logged_in, seeded):
    for url in (URL, f"{URL}{seeded[0].id}"):
        page = text(logged_in.get(url))
        assert "Så skrivs orden" in page
        for example in ("=kör", "*kör", "!körkort", "@football"):
            assert f"<code>{example}</code>" in page
