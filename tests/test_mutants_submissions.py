"""Exactly-once submissions (webapp/submissions.py), pinned where a mutation
test found them loose (issue #25, docs/mutation.md): a repeat answers with
the sender's own earlier result, never someone else's."""
from __future__ import annotations

import uuid

from sqlalchemy import func, select

from webapp import submissions
from webapp.support.models import Case

from .conftest import Web, activate_returnee
from .test_support import case_id_of, report


def test_a_repeat_leads_back_to_its_own_report_after_others_reported(
        app, session, make_returnee):
    """The offline queue sends a report again (the first answer was lost):
    it must lead to this person's own "received" page and store nothing,
    also after other people's reports were stored since."""
    phones = []
    for name in ("Fatmata", "Ibrahim"):
        _user, code = make_returnee(name=name)
        phone = Web(app.test_client())
        activate_returnee(phone, code)
        phones.append(phone)
    earlier = case_id_of(report(phones[0], sub_type="too_expensive", urgency="later"))
    # After every other UUID, in any order the database may list them in.
    key = "ffffffff-ffff-4fff-bfff-ffffffffffff"
    first = report(phones[0], sub_type="ran_out", urgency="soon", client_uuid=key)
    mine = case_id_of(first)
    case_id_of(report(phones[1], sub_type="ran_out", urgency="soon"))
    cases = session.scalar(select(func.count()).select_from(Case))

    again = report(phones[0], sub_type="ran_out", urgency="soon", client_uuid=key)
    assert case_id_of(again) == mine != earlier
    assert phones[0].get(again.headers["Location"]).status_code == 200
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Case)) == cases


def test_the_same_uuid_from_two_people_answers_each_with_their_own(session, make_returnee):
    """Two devices that happen to send the same UUID (a copied page, a bad
    random source) each get their own submission back on a repeat."""
    a, _ = make_returnee(name="A")
    b, _ = make_returnee(name="B")
    key = str(uuid.uuid4())
    body = {"kind": "medicine", "urgency": "soon"}
    submissions.claim(session, a, key, "concern", body).done("/help/cases/1/received")
    submissions.claim(session, b, key, "concern", body).done("/help/cases/2/received")
    session.commit()
    again_b = submissions.claim(session, b, key, "concern", body)
    again_a = submissions.claim(session, a, key, "concern", body)
    assert (again_b.repeat, again_b.result_url) == (True, "/help/cases/2/received")
    assert (again_a.repeat, again_a.result_url) == (True, "/help/cases/1/received")
