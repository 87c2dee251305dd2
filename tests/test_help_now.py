"""Help that never fails (issue #18): "I need help now" without the PIN from a
bound phone, the callback number, and the person seeing that someone is on it."""
from __future__ import annotations

import re
import time as time_module
import uuid

from sqlalchemy import func, select

from webapp.alerts.models import Alert, Signal
from webapp.auth.models import DeviceBinding
from webapp.auth.routes import DEVICE_COOKIE
from webapp.models import Role, utcnow
from webapp.submissions import ClientSubmission
from webapp.support import service
from webapp.support.models import Case

from .conftest import Web, activate_returnee, sign_in_staff

TABLES = (Case, Signal, Alert, ClientSubmission)


def counts(session) -> dict[str, int]:
    session.expire_all()
    return {t.__name__: session.scalar(select(func.count()).select_from(t)) for t in TABLES}


def signed_out_phone(web: Web, make_returnee, **kw):
    """A returnee's bound phone whose session has ended: (user, caseworker)."""
    cw = kw.pop("caseworker", None)
    user, code = make_returnee(caseworker=cw, **kw)
    activate_returnee(web, code)
    web.post("/signout", form_page="/home")
    return user


def help_without_pin(web: Web, **data):
    data.setdefault("client_uuid", str(uuid.uuid4()))
    return web.post("/help/now/phone", data, form_page="/help/now/phone")


# --- Without the PIN ----------------------------------------------------------------

def test_the_pin_page_of_a_bound_phone_offers_help_and_the_number(web, make_returnee, org):
    signed_out_phone(web, make_returnee)
    page = web.get("/signin/pin").get_data(as_text=True)
    assert 'href="/help/now/phone"' in page
    assert f'href="tel:{org.emergency_phone.replace(" ", "")}"' in page


def test_help_without_pin_after_idle_is_stored_once_and_marked_for_staff(
        app, web, session, make_returnee, make_staff, monkeypatch):
    cw = make_staff(Role.CASEWORKER)
    user, code = make_returnee(caseworker=cw, name="Secret Name")
    activate_returnee(web, code)
    real = time_module.time
    monkeypatch.setattr(time_module, "time", lambda: real() + 31 * 60)
    assert web.get("/home").headers["Location"].endswith("/signin")  # idle: signed out
    page = web.get("/help/now/phone").get_data(as_text=True)
    assert "Secret Name" not in page and "Yes, I need help now" in page
    uid = str(uuid.uuid4())
    r = help_without_pin(web, client_uuid=uid)
    assert r.status_code == 200
    answer = r.get_data(as_text=True)
    assert "Your caseworker was told." in answer and "tel:" in answer
    assert "Secret Name" not in answer
    case = session.scalars(select(Case)).one()
    assert (case.returnee_id, case.kind, case.urgency, case.without_pin) == (
        user.id, "safety", "now", True)
    alert = session.scalars(select(Alert)).one()
    assert alert.source_id == case.id and alert.kind == "concern.safety_now"
    # The same report again (a double tap, a replay) stores nothing more.
    help_without_pin(web, client_uuid=uid)
    assert counts(session)["Case"] == 1
    monkeypatch.undo()  # the staff member's TOTP code is of the real time
    staff = Web(app.test_client())
    sign_in_staff(staff, cw)
    for url in (f"/alerts/{alert.id}", f"/help/cases/{case.id}"):
        assert "phone without PIN" in staff.get(url).get_data(as_text=True), url


def test_help_without_pin_works_on_a_locked_binding(web, session, make_returnee):
    user = signed_out_phone(web, make_returnee)
    for _ in range(5):
        web.post("/signin/pin", {"pin": "975310"})
    binding = session.scalars(select(DeviceBinding).where(DeviceBinding.user_id == user.id)).one()
    session.refresh(binding)
    assert binding.locked_at is not None
    assert 'href="/help/now/phone"' in web.get("/signin/pin").get_data(as_text=True)
    r = help_without_pin(web)
    assert "Your caseworker was told." in r.get_data(as_text=True)
    assert session.scalars(select(Case.without_pin)).all() == [True]


def test_forged_revoked_and_unknown_bindings_store_nothing_and_get_the_same_answer(
        app, web, session, make_returnee, ctx):
    signed_out_phone(web, make_returnee)
    genuine = web.client.get_cookie(DEVICE_COOKIE).value
    binding_id = genuine.split(".")[0]
    answers = []
    for cookie in (None, f"{binding_id}.not-the-secret", "999999.whatever", "junk"):
        phone = Web(app.test_client())
        if cookie:
            phone.client.set_cookie(DEVICE_COOKIE, cookie)
        r = help_without_pin(phone)
        answers.append((r.status_code, r.get_data(as_text=True).split('name="csrf_token"')[0]))
    # Revoked: the caseworker issued a new code and the person activated another phone.
    session.get(DeviceBinding, int(binding_id)).revoked_at = utcnow()
    session.commit()
    r = help_without_pin(web)
    answers.append((r.status_code, r.get_data(as_text=True)))
    assert counts(session) == {"Case": 0, "Signal": 0, "Alert": 0, "ClientSubmission": 0}
    assert {status for status, _ in answers} == {200}
    for _status, text in answers:
        assert "This could not be sent from here." in text and 'href="tel:112"' in text


def test_above_ten_an_hour_the_phone_gets_the_number_and_nothing_more_is_stored(
        web, session, make_returnee, org):
    signed_out_phone(web, make_returnee)
    for _ in range(service.WITHOUT_PIN_PER_HOUR):
        assert "Your caseworker was told." in help_without_pin(web).get_data(as_text=True)
    r = help_without_pin(web)
    text = r.get_data(as_text=True)
    assert "This could not be sent from here." in text
    assert f'href="tel:{org.emergency_phone.replace(" ", "")}"' in text
    assert counts(session)["Case"] == service.WITHOUT_PIN_PER_HOUR


def test_a_signed_in_returnee_is_sent_to_the_ordinary_help_page(web, returnee_web):
    returnee_web()
    r = web.get("/help/now/phone")
    assert r.status_code == 302 and r.headers["Location"].endswith("/help/now")


def test_help_now_is_in_the_header_of_every_returnee_page_and_the_signed_out_phone(
        web, make_returnee):
    user, code = make_returnee()
    activate_returnee(web, code)
    for url in ("/home", "/plan/", "/help/", "/me/choices"):
        assert 'class="help-now-link" href="/help/now"' in web.get(url).get_data(as_text=True), url
    web.post("/signout", form_page="/home")
    for url in ("/signin/pin", "/language"):
        page = web.get(url).get_data(as_text=True)
        assert 'class="help-now-link" href="/help/now/phone"' in page, url


# --- The callback number ------------------------------------------------------------

def test_callback_number_in_any_digits_reaches_staff_as_a_tel_link(
        app, web, session, make_returnee, make_staff):
    cw = make_staff(Role.CASEWORKER)
    _user, code = make_returnee(caseworker=cw)
    activate_returnee(web, code)
    r = web.post("/help/now", {"client_uuid": str(uuid.uuid4()), "call_back": "y",
                               "callback_phone": "+۲۳۲ ٧٦ 123 456"})
    assert r.status_code == 302
    case = session.scalars(select(Case)).one()
    assert case.callback_phone == "+232 76 123 456"
    # Offered again next time, editable.
    assert 'value="+232 76 123 456"' in web.get("/help/now").get_data(as_text=True)
    alert = session.scalars(select(Alert)).one()
    staff = Web(app.test_client())
    sign_in_staff(staff, cw)
    for url in (f"/alerts/{alert.id}", f"/help/cases/{case.id}"):
        assert 'href="tel:+23276123456"' in staff.get(url).get_data(as_text=True), url


def test_a_callback_number_with_letters_gets_a_clear_error_and_the_report_is_still_sent(
        web, session, returnee_web):
    returnee_web()
    r = web.post("/help/now", {"client_uuid": str(uuid.uuid4()), "call_back": "y",
                               "callback_phone": "call my sister"})
    assert r.status_code == 302 and "/received" in r.headers["Location"]
    case = session.scalars(select(Case)).one()
    assert case.callback_phone == "" and case.urgency == "now"
    page = web.get(r.headers["Location"]).get_data(as_text=True)
    assert "Your report was sent, without the phone number" in page
    assert "Please write a phone number" in page


def test_an_unticked_callback_sends_no_number(web, session, returnee_web):
    returnee_web()
    web.post("/help/now", {"client_uuid": str(uuid.uuid4()), "callback_phone": "076 123 456"})
    assert session.scalars(select(Case.callback_phone)).one() == ""


def test_the_callback_number_is_in_the_export(web, session, returnee_web):
    returnee_web()
    web.post("/help/now", {"client_uuid": str(uuid.uuid4()), "call_back": "y",
                           "callback_phone": "076 123 456"})
    assert "076 123 456" in web.get("/me/data.json").get_data(as_text=True)


# --- Someone is on it -----------------------------------------------------------------

def _urgent_case(app, web, session, make_returnee, make_staff):
    cw = make_staff(Role.CASEWORKER)
    _user, code = make_returnee(caseworker=cw)
    activate_returnee(web, code)
    web.post("/help/now", {"client_uuid": str(uuid.uuid4())})
    case = session.scalars(select(Case)).one()
    staff = Web(app.test_client())
    sign_in_staff(staff, cw)
    assert "Someone is on it" not in web.get(f"/help/cases/{case.id}").get_data(as_text=True)
    return case, staff


def test_i_am_on_it_on_the_alert_shows_the_person_someone_is_on_it_and_pushes(
        app, web, session, make_returnee, make_staff):
    case, staff = _urgent_case(app, web, session, make_returnee, make_staff)
    alert = session.scalars(select(Alert)).one()
    assert staff.post(f"/alerts/{alert.id}/ack", form_page=f"/alerts/{alert.id}").status_code == 302
    page = web.get(f"/help/cases/{case.id}").get_data(as_text=True)
    assert "Someone is on it" in page and "<time" in page
    # Staff see that it was taken on, on the case page too.
    session.expire_all()
    assert session.get(Case, case.id).status == "acknowledged"


def test_a_reply_shows_someone_is_on_it(app, web, session, make_returnee, make_staff):
    case, staff = _urgent_case(app, web, session, make_returnee, make_staff)
    staff.post(f"/help/cases/{case.id}/reply", {"reply-body": "I am calling you now"},
               form_page=f"/help/cases/{case.id}")
    assert "Someone is on it" in web.get(f"/help/cases/{case.id}").get_data(as_text=True)


def test_closing_shows_closed_with_the_shared_note(app, web, session, make_returnee, make_staff):
    case, staff = _urgent_case(app, web, session, make_returnee, make_staff)
    r = staff.post(f"/help/cases/{case.id}/status",
                   {"status": "closed", "outcome": "solved", "reason": "We met at the office"},
                   form_page=f"/help/cases/{case.id}")
    assert r.status_code == 302, r.get_data(as_text=True)[:400]
    page = web.get(f"/help/cases/{case.id}").get_data(as_text=True)
    assert "Closed" in page and "We met at the office" in page


def test_on_it_pushes_a_generic_line_to_the_persons_phone(ctx, session, make_returnee,
                                                          make_staff, receiver, vapid):
    from webapp import outbox
    from webapp.push import service as push

    cw = make_staff(Role.CASEWORKER)
    person, _code = make_returnee(caseworker=cw, name="Secret Name")
    sub = receiver.subscription("person-phone")
    with ctx():
        push.subscribe(session, person, endpoint=sub["endpoint"], p256dh=sub["keys"]["p256dh"],
                       auth=sub["keys"]["auth"])
        sent = service.help_now(session, person)
        session.commit()
        outbox.run_after_commit()
        service.acknowledge(session, sent.case, cw)
        session.commit()
        outbox.run_after_commit()
    messages = [m for m in receiver.wait_for(1) if m.payload.get("tag") == f"case-{sent.case.id}"]
    assert messages and messages[0].payload["body"] == "Someone is on it. Open Footing to see."
    assert "Secret Name" not in str(messages[0].payload)



# --- The cold worker ------------------------------------------------------------------

def test_warming_a_worker_reads_the_key_and_sends_nothing(app, ctx, session, vapid, monkeypatch,
                                                          tmp_path):
    """The worker does at start what the first push needs: with a good key it
    sends nothing; a key that cannot be read stops the start, not a push."""
    import pytest

    from webapp.push import service as push

    sent = []
    monkeypatch.setattr(push, "webpush", lambda *a, **k: sent.append(k))
    with ctx():
        push.warm(session, ["en", "ar", "fa_AF"])
    assert sent == []
    broken = tmp_path / "broken.pem"
    broken.write_text("not a key")
    monkeypatch.setitem(app.config, "VAPID_PRIVATE_KEY", str(broken))
    with ctx(), pytest.raises(Exception):  # noqa: B017 - whatever py_vapid raises
        push.warm(session, ["en"])


# --- Staff reach ----------------------------------------------------------------------

def test_staff_whose_last_device_is_gone_are_told_on_every_page_and_listed_for_the_coordinator(
        app, ctx, session, make_staff, make_returnee, receiver, vapid):
    from webapp import outbox
    from webapp.alerts import signals
    from webapp.push import service as push

    cw = make_staff(Role.CASEWORKER, display_name="Caseworker Gone")
    person, _code = make_returnee(caseworker=cw)
    sub = receiver.subscription("cw-phone")
    with ctx():
        push.subscribe(session, cw, endpoint=sub["endpoint"], p256dh=sub["keys"]["p256dh"],
                       auth=sub["keys"]["auth"])
        session.commit()
        signals.emit(session, returnee=person, kind="concern.safety_now", source_type="concern")
        session.commit()
        outbox.run_after_commit()
    receiver.wait_for(1)
    staff = Web(app.test_client())
    sign_in_staff(staff, cw)
    warning = "No phone of yours gets alerts"
    assert warning not in staff.get("/alerts/").get_data(as_text=True)
    # The next alert: the push service says the device is gone (410).
    receiver.script.append((410, {}, 0))
    with ctx():
        signals.emit(session, returnee=person, kind="concern.safety_now", source_type="concern")
        session.commit()
        outbox.run_after_commit()
        assert push.devices_of(session, cw) == []
    for url in ("/home", "/alerts/", "/help/inbox", "/caseload/"):
        assert warning in staff.get(url).get_data(as_text=True), url
    coordinator = make_staff(Role.COORDINATOR)
    boss = Web(app.test_client())
    sign_in_staff(boss, coordinator)
    page = boss.get("/overview").get_data(as_text=True)
    section = page[page.index("Staff no alert reaches"):]
    assert "Caseworker Gone" in section and "last alert delivered" in section


# --- The help page's numbers ------------------------------------------------------------

def test_the_help_page_offers_a_text_message_with_only_the_reference_when_the_org_has_a_number(
        app, web, session, returnee_web, make_staff, org):
    from urllib.parse import unquote

    me = returnee_web(name="Secret Name")
    page = web.get("/help/now").get_data(as_text=True)
    assert 'href="tel:+23276123456"' in page and "sms:" not in page
    coordinator = make_staff(Role.COORDINATOR)
    boss = Web(app.test_client())
    sign_in_staff(boss, coordinator)
    settings = boss.get("/organisation/").get_data(as_text=True)
    assert 'name="sms_phone"' in settings
    bad = boss.post("/organisation/", {"name": org.name, "emergency_phone": org.emergency_phone,
                                       "sms_phone": "text us", "timezone": org.timezone,
                                       "currency": "SLE", "followup_months": ["1"]})
    assert bad.status_code == 400 and "Please write a phone number" in bad.get_data(as_text=True)
    session.refresh(org)
    org.sms_phone = "+232 77 000 111"
    session.commit()
    page = web.get("/help/now").get_data(as_text=True)
    start = page.index('href="sms:')
    link = unquote(page[start:page.index('"', start + 6)]).replace("&amp;", "&")
    assert link.startswith('href="sms:+23277000111?body=')
    assert f"F-{me.id}" in link and "Secret Name" not in link
    assert f"F-{me.id}" in boss.get(f"/people/{me.id}").get_data(as_text=True)


# --- Offline with the phone locked (help without the PIN, kept on the phone) -------

def test_the_page_without_pin_is_a_public_copy_naming_no_one(web, make_returnee, org):
    user = signed_out_phone(web, make_returnee, name="Secret Name")
    r = web.get("/help/now/phone")
    assert r.status_code == 200 and r.headers["X-Public-Copy"] == "1"
    page = r.get_data(as_text=True)
    assert "Secret Name" not in page and "data-help-phone" in page
    assert f'href="tel:{org.emergency_phone.replace(" ", "")}"' in page
    assert user.id  # the binding is hers; the page does not say so


def test_kept_for_the_locked_phone_a_signed_in_returnee_gets_the_signed_out_page(
        web, returnee_web, org):
    returnee_web(name="Secret Name")
    assert web.get("/help/now/phone").status_code == 302  # looked at: the ordinary page
    r = web.get("/help/now/phone", headers={"X-Footing-Keep": "public"})
    assert r.status_code == 200 and r.headers["X-Public-Copy"] == "1"
    page = r.get_data(as_text=True)
    assert "Secret Name" not in page
    assert 'action="/signout"' not in page and "data-owner" not in page
    assert f'href="tel:{org.emergency_phone.replace(" ", "")}"' in page
    assert web.get("/home").status_code == 200  # still signed in


def test_the_help_copies_say_whose_numbers_they_hold_and_a_handover_changes_it(
        web, session, returnee_web, make_org):
    """The pages kept for help offline (sw.js) say which organisation's
    numbers they hold, and every page says the same in the link that asks
    to keep them. When the person's organisation changes (a handover), the
    pages say so at once, and the service worker fetches the copies again
    instead of offering the last organisation's numbers for up to a day."""
    user = returnee_web()

    def versions() -> tuple[str, str, set[str]]:
        home = web.get("/home").get_data(as_text=True)
        link = re.search(r'class="help-now-link"[^>]*data-keep="([0-9a-f]{16})"', home)
        assert link, "no help link asking to keep the help page"
        sealed = web.get("/help/now").headers["X-Footing-Help-Version"]
        public = {web.get(path, headers={"X-Footing-Keep": "public"})
                  .headers["X-Footing-Help-Version"] for path in ("/help/now/phone", "/offline")}
        return link.group(1), sealed, public

    link, sealed, public = versions()
    assert sealed == link and public == {link}
    other = make_org(name="Partner Bo", emergency_phone="+232 30 000 111")
    user.organisation_id = other.id  # as accepting a handover does (network.service)
    session.commit()
    moved, sealed, public = versions()
    assert moved != link and sealed == moved and public == {moved}
    assert 'href="tel:+23230000111"' in web.get("/help/now").get_data(as_text=True)


def test_queued_help_replayed_signed_out_with_its_own_token_is_stored_once(
        web, session, make_returnee):
    user = signed_out_phone(web, make_returnee)
    r = web.get("/help/now/phone", headers={"Accept": "application/json"})
    assert r.status_code == 200 and "X-Public-Copy" not in r.headers
    token = r.get_json()["token"]
    uid = str(uuid.uuid4())
    for _ in range(2):  # sent twice (a page and the service worker at once)
        r = web.client.post("/help/now/phone", data={"client_uuid": uid, "csrf_token": token},
                            headers={"X-Footing-Replay": "1"})
        assert r.status_code == 200 and "Your caseworker was told." in r.get_data(as_text=True)
    assert session.scalars(select(Case.without_pin).where(Case.returnee_id == user.id)).all() \
        == [True]
    assert counts(session)["Alert"] == 1


def test_queued_help_replayed_after_signing_in_again_is_stored_not_redirected(
        web, session, returnee_web):
    user = returnee_web()
    token = web.get("/help/now/phone", headers={"Accept": "application/json"}).get_json()["token"]
    r = web.client.post("/help/now/phone", headers={"X-Footing-Replay": "1"},
                        data={"client_uuid": str(uuid.uuid4()), "csrf_token": token})
    assert r.status_code == 200 and "Your caseworker was told." in r.get_data(as_text=True)
    assert session.scalars(select(Case.without_pin).where(Case.returnee_id == user.id)).all() \
        == [True]


def test_queued_help_replayed_with_a_forged_or_absent_binding_stores_nothing(
        web, session, make_returnee):
    signed_out_phone(web, make_returnee)
    genuine = web.client.get_cookie(DEVICE_COOKIE).value
    token = web.get("/help/now/phone", headers={"Accept": "application/json"}).get_json()["token"]
    for cookie in (genuine.split(".")[0] + ".forged", None):
        if cookie is None:
            web.client.delete_cookie(DEVICE_COOKIE)
        else:
            web.client.set_cookie(DEVICE_COOKIE, cookie)
        r = web.client.post("/help/now/phone", headers={"X-Footing-Replay": "1"},
                            data={"client_uuid": str(uuid.uuid4()), "csrf_token": token})
        assert r.status_code == 200
        assert "This could not be sent from here." in r.get_data(as_text=True)
    assert counts(session) == {"Case": 0, "Signal": 0, "Alert": 0, "ClientSubmission": 0}
