"""A returnee's privacy (DESIGN.md §3.6): changing the consent's choices later
(each change kept), and downloading all of one's information."""
from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from webapp.alerts.models import Alert
from webapp.audit import AuditEvent
from webapp.auth.models import DeviceBinding
from webapp.db import Base
from webapp.groups.models import GroupMember, PeerGroup
from webapp.models import Role, User, utcnow
from webapp.privacy.erase import KEPT
from webapp.privacy.models import AccessLedgerEntry, ConsentRecord

from .conftest import Web, activate_returnee, race, sign_in_staff
from .test_checkins import checkin

CHOICES = ("share_with_group", "caseworker_may_edit_plan", "push_reminders")


def records(session, user) -> list[dict]:
    session.expire_all()
    return [r.choices for r in session.scalars(
        select(ConsentRecord).where(ConsentRecord.user_id == user.id).order_by(ConsentRecord.id))]


def change(web, **choices: bool):
    """Save the choices page with these boxes ticked; asserts it was saved."""
    r = web.post("/me/choices", {k: "y" for k, v in choices.items() if v})
    assert r.status_code == 302 and r.headers["Location"].endswith("/me/choices"), (
        r.status_code, r.get_data(as_text=True)[:500])
    return r


def checked(page: str) -> set[str]:
    return set(re.findall(r'<input checked[^>]*name="(\w+)"', page)) | set(
        re.findall(r'<input[^>]*name="(\w+)"[^>]*checked', page))


def test_choices_can_be_changed_and_every_change_is_kept(app, session, make_returnee):
    me, code = make_returnee()
    web = Web(app.test_client())
    activate_returnee(web, code, share_with_group=True)
    page = web.get("/me/choices").get_data(as_text=True)
    assert checked(page) == {"share_with_group"}
    r = change(web, caseworker_may_edit_plan=True, push_reminders=True)
    assert r.status_code == 302 and r.headers["Location"].endswith("/me/choices")
    page = web.get("/me/choices").get_data(as_text=True)
    assert "Saved. Your choices are changed." in page
    assert checked(page) == {"caseworker_may_edit_plan", "push_reminders"}
    assert records(session, me) == [
        {"share_with_group": True, "caseworker_may_edit_plan": False, "push_reminders": False},
        {"share_with_group": False, "caseworker_may_edit_plan": True, "push_reminders": True},
    ]
    # Both are listed, the newest first, with what was said.
    history = page[page.index("Your choices until now"):]
    assert history.count("<time") == 2
    assert history.count("<strong>Yes</strong>") == 3


def test_the_same_choices_sent_again_store_nothing(app, session, make_returnee):
    me, code = make_returnee()
    web = Web(app.test_client())
    activate_returnee(web, code, push_reminders=True)
    for _ in range(2):
        assert change(web, share_with_group=True, push_reminders=True).status_code == 302
    assert "Nothing changed." in web.get("/me/choices").get_data(as_text=True)
    assert len(records(session, me)) == 2


def test_a_change_without_the_csrf_token_is_refused(app, session, make_returnee):
    me, code = make_returnee()
    web = Web(app.test_client())
    activate_returnee(web, code)
    r = web.client.post("/me/choices", data={"share_with_group": "y"})
    assert r.status_code == 400
    assert len(records(session, me)) == 1


def test_stopping_group_sharing_takes_back_what_was_shared(app, session, org, make_returnee):
    me, code = make_returnee(name="Fatmata")
    friend, friend_code = make_returnee(name="Isatu")
    group = PeerGroup(organisation_id=org.id, name="Market women", language="en")
    session.add(group)
    session.flush()
    session.add_all([GroupMember(organisation_id=org.id, group_id=group.id, user_id=u.id)
                     for u in (me, friend)])
    session.commit()
    web, friend_web = Web(app.test_client()), Web(app.test_client())
    activate_returnee(web, code, share_with_group=True)
    activate_returnee(friend_web, friend_code)
    assert checkin(web, visibility="group", note="A good week at the market").status_code == 302
    group_page = friend_web.get(f"/groups/{group.id}").get_data(as_text=True)
    assert "A good week at the market" in group_page

    assert change(web).status_code == 302
    assert "A good week at the market" not in friend_web.get(
        f"/groups/{group.id}").get_data(as_text=True)
    # And the check-in form no longer offers the group.
    assert "My caseworker and my group" not in web.get("/checkin/").get_data(as_text=True)
    checkin(web, visibility="group", expect=400)


def test_taking_back_plan_editing_stops_the_caseworker(app, session, make_staff, make_returnee):
    cw = make_staff(Role.CASEWORKER)
    me, code = make_returnee(caseworker=cw)
    web, staff = Web(app.test_client()), Web(app.test_client())
    activate_returnee(web, code, caseworker_may_edit_plan=True)
    sign_in_staff(staff, cw)
    r = web.post("/plan/goals/new", {"area": "work", "title": "Open a shop"},
                 form_page="/plan/goals/new?area=work")
    goal = r.headers["Location"].rsplit("/", 1)[1]
    status = {"status": "under_way"}
    assert staff.post(f"/plan/goals/{goal}/status", status,
                      form_page=f"/plan/goals/{goal}").status_code == 302
    assert change(web).status_code == 302
    assert staff.post(f"/plan/goals/{goal}/status", {"status": "done"},
                      form_page=f"/plan/goals/{goal}").status_code == 403


@pytest.mark.parametrize("role", [Role.FACILITATOR, Role.CASEWORKER, Role.COORDINATOR])
def test_staff_have_no_such_pages(web, staff_web, role):
    staff_web(role)
    for url in ("/me/choices", "/me/data", "/me/data.json"):
        assert web.get(url).status_code == 404, url


def test_signed_out_is_sent_to_sign_in(client):
    for url in ("/me/choices", "/me/data", "/me/data.json"):
        r = client.get(url)
        assert r.status_code == 302 and r.headers["Location"].endswith("/signin"), url


def test_the_choices_page_speaks_the_persons_language(app, make_returnee):
    _me, code = make_returnee(locale="fa_AF")
    web = Web(app.test_client())
    web.post("/language", {"lang": "fa_AF"}, form_page="/language")
    activate_returnee(web, code)
    page = web.get("/me/choices").get_data(as_text=True)
    assert 'dir="rtl"' in page
    assert "My choices" not in page and "Your choices until now" not in page


def test_the_same_change_sent_twice_at_once_is_stored_once(app, committed_returnee):
    """Two tabs, or a double tap, sending the same new choices at one moment."""
    from webapp.privacy import service

    def change_choices(s):
        me = s.get(User, committed_returnee.user)
        return service.change_consent(s, me, {"share_with_group": True}, "en")

    results = race(app, change_choices, change_choices)
    assert isinstance(results["first"], ConsentRecord), results
    assert results["second"] is None, results
    with Session(app.extensions["footing_db"].engine) as s:
        assert s.scalar(select(func.count()).select_from(ConsentRecord).where(
            ConsentRecord.user_id == committed_returnee.user)) == 1


# --- Export my data ---------------------------------------------------------------

@pytest.fixture()
def lived_in(app, session, make_staff, make_returnee):
    """A returnee with a little of everything, their caseworker, and another
    returnee of the same organisation with words of their own."""
    cw = make_staff(Role.CASEWORKER)
    me, code = make_returnee(caseworker=cw, name="Mariama")
    other, other_code = make_returnee(caseworker=cw, name="Other Person")
    web, other_web, staff = (Web(app.test_client()) for _ in range(3))
    activate_returnee(web, code, push_reminders=True)
    activate_returnee(other_web, other_code)
    sign_in_staff(staff, cw)
    done = [checkin(web, mood="4", note="Sold rice today"),
            checkin(other_web, mood="2", note="Words of another person")]
    r = web.post("/plan/goals/new", {"area": "work", "title": "Open a shop"},
                 form_page="/plan/goals/new?area=work")
    goal = r.headers["Location"].rsplit("/", 1)[1]
    done += [r, web.post(f"/plan/goals/{goal}/steps", {"text": "Find a place"},
                         form_page=f"/plan/goals/{goal}"),
             staff.post(f"/plan/goals/{goal}/comments", {"body": "Ask at the market office"},
                        form_page=f"/plan/goals/{goal}"),
             web.post("/help/ask", {"category": "housing", "contact_way": "app",
                                    "details": "The roof leaks",
                                    "client_uuid": "5e0c7b1e-0000-4000-8000-00000000a001"})]
    assert [r.status_code for r in done] == [302] * 6
    session.expire_all()
    return {"me": me, "web": web, "staff": staff, "cw": cw}


def test_my_data_holds_my_information_and_nobody_elses(app, session, lived_in):
    from webapp.support import service as support
    from webapp.support.models import Case

    me, web = lived_in["me"], lived_in["web"]
    with app.test_request_context():
        case = session.scalars(select(Case).where(Case.returnee_id == me.id)).one()
        support.add_message(session, case, lived_in["cw"], "We will come on Monday")
        support.add_message(session, case, lived_in["cw"], "Team only: landlord is difficult",
                            internal=True)
        session.commit()
    r = web.get("/me/data.json")
    assert r.status_code == 200 and r.mimetype == "application/json"
    assert r.headers["Content-Disposition"].startswith('attachment; filename="footing-my-data-')
    assert r.headers["Cache-Control"] == "no-store"
    data = json.loads(r.get_data(as_text=True))
    assert data["account"]["display_name"] == "Mariama"
    assert [c["note"] for c in data["check_ins"]] == ["Sold rice today"]
    (goal,) = data["plan"]
    assert goal["title"] == "Open a shop" and [s["text"] for s in goal["steps"]] == ["Find a place"]
    assert [c["body"] for c in goal["comments"]] == ["Ask at the market office"]
    assert goal["comments"][0]["author"] == lived_in["cw"].display_name
    (request,) = data["requests_and_reports"]
    assert request["text"] == "The roof leaks"
    assert [m["body"] for m in request["messages"]] == ["We will come on Monday"]
    assert data["consent"][0]["choices"]["push_reminders"] is True
    assert [d["kind"] for d in data["devices"]] == ["signed-in phone"]
    text = r.get_data(as_text=True)
    assert "Team only" not in text and "Words of another person" not in text
    # No secret of the account: not the PIN's hash, not the phone's key.
    binding = session.scalars(select(DeviceBinding).where(DeviceBinding.user_id == me.id)).one()
    for secret in (me.pin_hash, binding.secret_hash):
        assert secret and secret not in text


def test_my_data_lists_who_looked(app, session, lived_in):
    staff, me = lived_in["staff"], lived_in["me"]
    assert staff.get(f"/plan/of/{me.id}").status_code == 200
    data = json.loads(lived_in["web"].get("/me/data.json").get_data(as_text=True))
    looked = session.scalar(select(func.count()).select_from(AccessLedgerEntry)
                            .where(AccessLedgerEntry.subject_id == me.id))
    assert looked >= 1 and len(data["who_looked"]) == looked
    assert {e["who"] for e in data["who_looked"]} == {lived_in["cw"].display_name}


def test_my_data_page_says_what_the_file_holds(lived_in):
    page = lived_in["web"].get("/me/data").get_data(as_text=True)
    assert "Check-ins: <strong>1</strong>" in page
    assert "Goals in your plan: <strong>1</strong>" in page
    assert "Requests and reports: <strong>1</strong>" in page
    assert 'href="/me/data.json"' in page


def test_home_links_to_choices_and_data(web, returnee_web):
    returnee_web()
    page = web.get("/home").get_data(as_text=True)
    assert 'href="/me/choices"' in page and 'href="/me/data"' in page


def test_my_data_costs_the_same_queries_however_much_there_is(lived_in, count_queries):
    web = lived_in["web"]
    with count_queries() as few:
        assert web.get("/me/data.json").status_code == 200
    for n in range(3):
        checkin(web, mood="3", note=f"week {n}")
        r = web.post("/plan/goals/new", {"area": "work", "title": f"Goal {n}"},
                     form_page="/plan/goals/new?area=work")
        goal = r.headers["Location"].rsplit("/", 1)[1]
        web.post(f"/plan/goals/{goal}/steps", {"text": "A step"}, form_page=f"/plan/goals/{goal}")
    with count_queries() as many:
        data = json.loads(web.get("/me/data.json").get_data(as_text=True))
    assert len(data["check_ins"]) == 4 and len(data["plan"]) == 4
    assert many() == few()


# --- Delete my account ---------------------------------------------------------------

def ask_to_delete(web):
    """The returnee asks to delete their account; asserts it was taken."""
    r = web.post("/me/delete", {"understand": "y"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/me/delete"), (
        r.status_code, r.get_data(as_text=True)[:500])
    return r


def confirm_delete(staff, person_id: int, talked: bool = True, *, expect: int = 302):
    """Staff confirm the deletion; asserts the answer was `expect` (done, and
    sent on to the people list, by default)."""
    r = staff.post(f"/people/{person_id}/delete", {"talked": "y"} if talked else {},
                   form_page=f"/people/{person_id}")
    assert r.status_code == expect, (r.status_code, r.get_data(as_text=True)[:500])
    if expect == 302:
        assert r.headers["Location"].endswith("/people/"), r.headers["Location"]
    return r


def test_asking_to_delete_alerts_the_caseworker_once_and_can_be_taken_back(session, lived_in):
    me, web, staff = lived_in["me"], lived_in["web"], lived_in["staff"]
    r = web.post("/me/delete", {})
    assert r.status_code == 400 and "Please fill this in." in r.get_data(as_text=True)
    for _ in range(2):
        assert ask_to_delete(web).status_code == 302
    assert "You asked to delete your account on" in web.get("/me/delete").get_data(as_text=True)
    session.expire_all()
    alerts = session.scalars(select(Alert).where(
        Alert.returnee_id == me.id, Alert.kind == "account.deletion_requested")).all()
    assert len(alerts) == 1
    alert_page = staff.get(f"/alerts/{alerts[0].id}").get_data(as_text=True)
    assert "Asked to delete the account" in alert_page and f'href="/people/{me.id}"' in alert_page
    assert "Asked to delete the account" in staff.get(f"/people/{me.id}").get_data(as_text=True)

    r = web.post("/me/delete/cancel", {}, form_page="/me/delete")
    assert r.status_code == 302
    assert "Your account stays." in web.get("/me/delete").get_data(as_text=True)
    assert "Asked to delete the account" not in staff.get(f"/people/{me.id}").get_data(as_text=True)
    confirm_delete(staff, me.id, expect=400)  # nothing asked any more
    session.expire_all()
    assert session.get(User, me.id).deleted_at is None


def test_the_caseworker_deletes_everything_of_the_person_and_nothing_else(
        app, session, org, lived_in, make_returnee):
    me, web, staff, cw = lived_in["me"], lived_in["web"], lived_in["staff"], lived_in["cw"]
    friend, friend_code = make_returnee(caseworker=cw, name="Friend")
    friend_web = Web(app.test_client())
    activate_returnee(friend_web, friend_code, share_with_group=True)
    group = PeerGroup(organisation_id=org.id, name="Market women", language="en")
    session.add(group)
    session.flush()
    session.add_all([GroupMember(organisation_id=org.id, group_id=group.id, user_id=me.id,
                                 buddy_id=friend.id),
                     GroupMember(organisation_id=org.id, group_id=group.id, user_id=friend.id,
                                 buddy_id=me.id)])
    session.commit()
    for who, words in ((web, "Mariama's words to the group"), (friend_web, "Friend's words")):
        assert who.post(f"/groups/{group.id}/posts", {"body": words},
                        form_page=f"/groups/{group.id}").status_code == 302
    assert checkin(friend_web, note="Friend's check-in").status_code == 302
    assert staff.get(f"/plan/of/{me.id}").status_code == 200  # an access-ledger entry

    # Confirming needs the box ticked, and the person's request.
    assert ask_to_delete(web).status_code == 302
    confirm_delete(staff, me.id, talked=False, expect=400)
    r = confirm_delete(staff, me.id)
    assert r.status_code == 302 and r.headers["Location"].endswith("/people/")

    session.expire_all()
    # No row of any table names the person, but the audit trail.
    for table in Base.metadata.sorted_tables:
        if table.name in KEPT:
            continue
        for fk in table.foreign_keys:
            if fk.column.table.name == "users":
                assert session.scalar(select(func.count()).select_from(table).where(
                    fk.parent == me.id)) == 0, f"{table.name}.{fk.parent.name}"
    # Their words are nowhere in the database.
    for words in ("Sold rice today", "Open a shop", "The roof leaks", "Mariama"):
        assert not find_text(session, words), words
    shell = session.get(User, me.id)
    assert shell.deleted_at and shell.disabled_at and shell.display_name == ""
    assert (shell.pin_hash, shell.locale) == (None, None)
    trail = session.execute(select(AuditEvent.action, AuditEvent.actor_id).where(
        AuditEvent.subject_id == me.id).order_by(AuditEvent.id)).all()
    assert trail[-1] == ("account.delete", cw.id)
    looked = session.execute(select(AccessLedgerEntry.viewer_id, AccessLedgerEntry.what).where(
        AccessLedgerEntry.subject_id == me.id)).all()
    assert (cw.id, "plan") in looked
    # Everyone else's things stay; the friend's buddy link to the person is cleared.
    assert find_text(session, "Friend's words") and find_text(session, "Friend's check-in")
    assert find_text(session, "Words of another person")
    friend_member = session.scalars(
        select(GroupMember).where(GroupMember.user_id == friend.id)).one()
    assert friend_member.buddy_id is None
    # The person's phone is signed out; staff no longer find the account.
    r = web.get("/home")
    assert r.status_code == 302 and r.headers["Location"].endswith("/signin")
    assert staff.get(f"/people/{me.id}").status_code == 404
    assert f"/people/{me.id}\"" not in staff.get("/people/").get_data(as_text=True)


def test_only_the_persons_caseworker_or_a_coordinator_can_delete(
        app, session, lived_in, make_staff):
    me, web = lived_in["me"], lived_in["web"]
    assert ask_to_delete(web).status_code == 302
    other_cw = Web(app.test_client())
    sign_in_staff(other_cw, make_staff(Role.CASEWORKER))
    assert other_cw.get(f"/people/{me.id}").status_code == 404
    # With a valid CSRF token (from the sign-out form every page has): still nobody's.
    for who in (other_cw, web):
        assert who.post(f"/people/{me.id}/delete", {"talked": "y"},
                        form_page="/home").status_code == 404
    session.expire_all()
    assert session.get(User, me.id).deleted_at is None
    coordinator = Web(app.test_client())
    sign_in_staff(coordinator, make_staff(Role.COORDINATOR))
    assert confirm_delete(coordinator, me.id).status_code == 302


def test_a_check_in_stored_while_the_account_was_being_deleted_is_erased_too(
        app, committed_returnee):
    """The person's phone sends a queued check-in at the moment their
    caseworker deletes the account: the request was signed in before the
    deletion committed, so it may still store its row. The worker erases it."""
    from webapp import tasks
    from webapp.checkins.models import CheckIn
    from webapp.checkins.service import record_checkin
    from webapp.privacy import service

    engine = app.extensions["footing_db"].engine
    with Session(engine) as s:
        s.get(User, committed_returnee.user).deletion_requested_at = utcnow()
        s.commit()

    def delete(s):
        return service.delete_account(s, s.get(User, committed_returnee.staff),
                                      s.get(User, committed_returnee.user))

    def check_in(s):
        return record_checkin(s, s.get(User, committed_returnee.user), mood=3, answers={},
                              note="A note written before the deletion",
                              share_with_group=False).id

    results = race(app, delete, check_in)
    assert isinstance(results["second"], int), results  # stored after the erase: its id

    def stored(s):
        return s.scalar(select(func.count()).select_from(CheckIn).where(
            CheckIn.user_id == committed_returnee.user))

    with Session(engine) as s:
        assert stored(s) == 1
    with app.app_context():
        erased = tasks.erase_late_arrivals(app)
    assert erased == {committed_returnee.user: {"checkins": 1, "checkin_summaries": 1}}
    with Session(engine) as s:
        assert stored(s) == 0
        assert not find_text(s, "A note written before the deletion")
    with app.app_context():
        assert tasks.erase_late_arrivals(app) == {}  # nothing left: nothing done
        # Accounts deleted long ago are not gone through again.
        assert tasks.erase_late_arrivals(app, now=utcnow() + timedelta(days=2)) == {}


def find_text(session, words: str) -> list[str]:
    """Tables with a text column holding `words`."""
    from sqlalchemy import String, Text

    found = []
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, (String, Text)) and session.scalar(
                    select(func.count()).select_from(table).where(column.contains(words))):
                found.append(f"{table.name}.{column.name}")
    return found
