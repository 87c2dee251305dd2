"""Property-based tests (hypothesis) over both forms and the caseworker's
actions: no input gives a 500, and input that is refused stores nothing."""
from __future__ import annotations

import uuid

from hypothesis import HealthCheck, example, given, settings, strategies as st

from webapp.models import Role
from webapp.support import choices as c

from .test_support import case_id_of, counts, returnee_client, staff_client

# derandomize: the same examples on every run, so CI cannot pass by luck or
# fail by chance; each test also carries an explicit valid example.
SETTINGS = settings(max_examples=60, deadline=None, database=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


def one_of_or_junk(valid) -> st.SearchStrategy:
    """Mostly values from the list, sometimes anything at all (or nothing)."""
    return st.one_of(st.sampled_from(sorted(valid)), st.text(max_size=30), st.none())


def text_around(limit: int) -> st.SearchStrategy:
    return st.one_of(st.none(), st.text(max_size=40),
                     st.integers(limit - 2, limit + 2).map(lambda n: "é" * n))


phones = st.one_of(st.none(), st.sampled_from(["+232 76 123 456", "076-123-456", "123", "+"]),
                   st.from_regex(r"\+?[0-9 \-]{4,26}", fullmatch=True), st.text(max_size=25))
uuids = st.one_of(st.uuids().map(str), st.just("not-a-uuid"), st.none())


def form(**fields) -> st.SearchStrategy:
    """A form body: every field may be missing."""
    return st.fixed_dictionaries({}, optional=fields)


def post(web, url: str, token: str, data: dict):
    body = {k: v for k, v in data.items() if v is not None}
    body["csrf_token"] = token
    return web.client.post(url, data=body)


def check(session, before: dict, response, *, new_rows: dict[str, int], seen: set) -> None:
    seen.add(response.status_code)
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    after = counts(session)
    if response.status_code >= 400:
        assert after == before, (response.status_code, before, after)
    else:
        assert response.status_code == 302
        grew = {k: after[k] - before[k] for k in after}
        # A repeat of an earlier UUID (hypothesis replays examples) adds nothing.
        assert grew == dict.fromkeys(after, 0) or all(
            grew[k] == new_rows.get(k, 0) or k == "Signal" and grew[k] in (0, 1)
            for k in grew), grew


@st.composite
def valid_concern(draw) -> dict:
    kind = draw(st.sampled_from(sorted(c.KINDS)))
    return draw(st.fixed_dictionaries(
        {"client_uuid": st.uuids().map(str),
         "what": st.sampled_from(sorted(f"{kind}:{s}" for s in c.SUB_TYPES[kind])),
         "urgency": st.sampled_from(sorted(c.URGENCIES))},
        optional={"medicine_name": st.text(max_size=c.MEDICINE_MAX), "note": st.text(max_size=50),
                  "callback_phone": st.sampled_from(["", "+232 76 123 456", "0761-234-567"]),
                  "district": st.text(max_size=c.DISTRICT_MAX)}))


def test_concern_form_never_fails_and_refusals_store_nothing(app, session, make_returnee):
    _me, phone = returnee_client(app, make_returnee)
    token = phone.token("/help/report")
    all_what = {f"{k}:{s}" for k, subs in c.SUB_TYPES.items() for s in subs}
    all_what |= {f"{k}:{s}" for k in ("x", "safety.") for s in ("ran_out", "debt")}
    anything = form(client_uuid=uuids, what=one_of_or_junk(all_what),
             urgency=one_of_or_junk(c.URGENCIES), medicine_name=text_around(c.MEDICINE_MAX),
             note=text_around(c.NOTE_MAX), callback_phone=phones,
             district=text_around(c.DISTRICT_MAX))

    @SETTINGS
    @given(data=st.one_of(valid_concern(), anything))
    @example(data={"client_uuid": str(uuid.uuid4()), "what": "medicine:ran_out",
                   "urgency": "soon"})
    def run(data):
        before = counts(session)
        r = post(phone, "/help/report", token, data)
        assert r.status_code in (302, 400, 409)
        check(session, before, r, new_rows={"Case": 1, "CaseEvent": 1, "ClientSubmission": 1},
              seen=seen)

    seen: set[int] = set()
    run()
    assert {302, 400} <= seen, seen  # both paths were taken


def test_request_form_never_fails_and_refusals_store_nothing(app, session, make_returnee):
    _me, phone = returnee_client(app, make_returnee)
    token = phone.token("/help/ask")

    @SETTINGS
    @given(data=form(client_uuid=uuids, category=one_of_or_junk(c.CATEGORIES),
                     contact_way=one_of_or_junk(c.CONTACT_WAYS), details=text_around(c.DETAILS_MAX),
                     callback_phone=phones, district=text_around(c.DISTRICT_MAX)))
    @example(data={"client_uuid": str(uuid.uuid4()), "category": "work", "contact_way": "app"})
    def run(data):
        before = counts(session)
        r = post(phone, "/help/ask", token, data)
        assert r.status_code in (302, 400, 409)
        check(session, before, r, new_rows={"Case": 1, "CaseEvent": 1, "ClientSubmission": 1,
                                            "Signal": 1}, seen=seen)

    seen: set[int] = set()
    run()
    assert {302, 400} <= seen, seen


def test_caseworker_actions_never_fail_and_refusals_store_nothing(
        app, session, make_returnee, make_staff):
    cw = make_staff(Role.CASEWORKER)
    _person, phone = returnee_client(app, make_returnee, caseworker=cw)
    cases = [case_id_of(phone.post("/help/ask", {"category": "work", "contact_way": "app",
                                                 "client_uuid": str(uuid.uuid4())})),
             case_id_of(phone.post("/help/report", {"what": "safety:debt", "urgency": "soon",
                                                    "client_uuid": str(uuid.uuid4())}))]
    staff = staff_client(app, cw)
    token = staff.token("/help/inbox")
    statuses = set(c.STATUSES) | {"open"}

    @SETTINGS
    @given(case_id=st.one_of(st.sampled_from(cases), st.integers(0, 10**6)),
           action=st.sampled_from(["reply", "note", "acknowledge", "status"]),
           data=form(**{"reply-body": text_around(c.MESSAGE_MAX),
                        "note-body": text_around(c.MESSAGE_MAX),
                        "status": one_of_or_junk(statuses), "reason": text_around(c.REASON_MAX),
                        "outcome": one_of_or_junk(c.OUTCOMES)}))
    def run(case_id, action, data):
        before = counts(session)
        r = post(staff, f"/help/cases/{case_id}/{action}", token, data)
        assert r.status_code in (302, 400, 404)
        grows = "CaseMessage" if action in ("reply", "note") else "CaseEvent"
        check(session, before, r, new_rows={grows: 1}, seen=seen)

    seen: set[int] = set()
    run()
    assert {302, 400, 404} <= seen, seen
