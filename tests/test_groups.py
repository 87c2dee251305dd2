"""Peer groups (issue #4): creating and running a group, meetings, the board,
buddies, the facilitator's overview, and who may see what."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date, format_time
from sqlalchemy import func, select

from webapp.alerts.models import Signal
from webapp.checkins.models import CheckIn
from webapp.groups.models import (
    GroupFacilitator,
    GroupMember,
    GroupPost,
    Meeting,
    MeetingResponse,
    PeerGroup,
    PostReport,
    RaisedWithCaseworker,
)
from webapp.models import Role

from .conftest import Web, activate_returnee, sign_in_staff


def count(session, model, *where) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture()
def phone(app, make_returnee):
    """A returnee signed in on their own phone: returns (user, web)."""

    def make(name="Abdul", organisation=None, share=False):
        user, code = make_returnee(name=name, organisation=organisation)
        web = Web(app.test_client())
        activate_returnee(web, code, share_with_group=share)
        return user, web

    return make


@pytest.fixture()
def staff_phone(app, make_staff):
    def make(role=Role.FACILITATOR, organisation=None):
        user = make_staff(role, organisation=organisation)
        web = Web(app.test_client())
        sign_in_staff(web, user)
        return user, web

    return make


# --- Creating and running a group ----------------------------------------------------

def test_coordinator_creates_a_group_and_its_facilitator_runs_it(session, web, staff_web,
                                                                  staff_phone, make_returnee):
    staff_web(Role.COORDINATOR)
    facilitator, fac_web = staff_phone()
    other_fac, other_web = staff_phone()
    r = web.post("/groups/new", {"name": "Thursday group", "language": "fa_AF",
                                 "meeting_place": "Youth centre", "period": "14",
                                 "facilitator": facilitator.id})
    assert r.status_code == 302
    group = session.scalars(select(PeerGroup)).one()
    assert (group.language, group.checkin_period_days) == ("fa_AF", 14)
    assert "Thursday group" in fac_web.get("/groups/").get_data(as_text=True)
    assert "Thursday group" not in other_web.get("/groups/").get_data(as_text=True)
    assert other_web.get(f"/groups/{group.id}").status_code == 404

    member, _ = make_returnee(name="Hawa")
    # The group page shows the meetings first; member administration is one tap away.
    page = fac_web.get(f"/groups/{group.id}").get_data(as_text=True)
    assert page.index('id="meetings-title"') < page.index('id="members-title"')
    assert "Add to the group" not in page and f'href="/groups/{group.id}/manage"' in page
    manage = f"/groups/{group.id}/manage"
    assert "Add to the group" in fac_web.get(manage).get_data(as_text=True)
    r = fac_web.post(f"/groups/{group.id}/members", {"member": member.id}, form_page=manage)
    assert r.status_code == 302 and r.headers["Location"].endswith(manage)
    r = fac_web.post(f"/groups/{group.id}/settings",
                     {"language": "en", "meeting_place": "Mosque yard", "period": "7"},
                     form_page=manage)
    assert r.status_code == 302
    session.expire_all()
    assert (group.language, group.meeting_place, group.checkin_period_days) == (
        "en", "Mosque yard", 7)
    page = fac_web.get(f"/groups/{group.id}").get_data(as_text=True)
    assert "Hawa" in page and "Mosque yard" in page

    # The coordinator appoints the second facilitator, who now sees the group.
    r = web.post(f"/groups/{group.id}/facilitators", {"facilitator": other_fac.id},
                 form_page=f"/groups/{group.id}")
    assert r.status_code == 302
    assert other_web.get(f"/groups/{group.id}").status_code == 200


def test_new_group_form_errors_change_nothing(session, web, staff_web, make_staff, make_org):
    staff_web(Role.COORDINATOR)
    foreign_fac = make_staff(Role.FACILITATOR, organisation=make_org())
    caseworker = make_staff(Role.CASEWORKER)
    for data in [{"name": ""}, {"name": "x" * 101}, {"language": "xx"}, {"period": "3"},
                 {"facilitator": foreign_fac.id}, {"facilitator": caseworker.id}]:
        body = {"name": "Ok", "language": "en", "period": "7", "facilitator": "0", **data}
        r = web.post("/groups/new", body)
        assert r.status_code == 400, data
        assert 'class="errors"' in r.get_data(as_text=True)
    assert count(session, PeerGroup) == 0


def test_a_member_from_another_organisation_is_refused(session, org, make_org, make_group,
                                                       make_returnee, staff_phone):
    facilitator, web = staff_phone()
    group = make_group(facilitator)
    stranger, _ = make_returnee(name="Stranger", organisation=make_org())
    staff = facilitator  # a staff account is not a member either
    for person in (stranger, staff):
        r = web.post(f"/groups/{group.id}/members", {"member": person.id},
                     form_page=f"/groups/{group.id}/manage")
        assert r.status_code == 400
        assert "Please choose one from the list." in r.get_data(as_text=True)
    assert "Stranger" not in web.get(f"/groups/{group.id}").get_data(as_text=True)
    assert count(session, GroupMember) == 0


# --- Meetings -----------------------------------------------------------------------------

def _local(org, delta):
    return (datetime.now(ZoneInfo(org.timezone)) + delta).strftime("%Y-%m-%dT%H:%M")


def test_meeting_is_planned_in_the_organisation_timezone(session, make_org, make_group,
                                                         make_staff, phone, app):
    kabul = make_org(timezone="Asia/Kabul")
    facilitator = make_staff(Role.FACILITATOR, organisation=kabul)
    web = Web(app.test_client())
    sign_in_staff(web, facilitator)
    group = make_group(facilitator, organisation=kabul)
    start = (datetime.now(ZoneInfo("Asia/Kabul")).replace(second=0, microsecond=0)
             + timedelta(days=2))
    r = web.post(f"/groups/{group.id}/meetings/new", {
        "starts_at": start.strftime("%Y-%m-%dT%H:%M"), "topic": "work", "topic_text": "",
        "place": ""})
    assert r.status_code == 302
    meeting = session.scalars(select(Meeting)).one()
    assert meeting.starts_at == start.astimezone(UTC)
    assert meeting.place == "Community hall"  # the group's usual place
    page = web.get(r.headers["Location"]).get_data(as_text=True)
    assert "Finding work" in page
    # Day written out, time without seconds or the zone's name (issue #23).
    assert format_date(start, "full", locale="en_SL") in page
    assert format_time(start, "short", locale="en_SL") in page and "Afghanistan" not in page


@pytest.mark.parametrize("data,message", [
    ({"starts_at": "past"}, "This time has passed."),
    ({"starts_at": "31-12-2030 10:00"}, "Please enter a date and time like"),
    ({"starts_at": ""}, "Please fill this in."),
    ({"topic": "", "topic_text": ""}, "Please choose a topic or write one."),
    ({"topic": "astrology"}, "Please choose one from the list."),
    ({"topic_text": "x" * 201, "topic": ""}, "Please use at most 200 characters."),
])
def test_bad_meetings_are_refused(session, org, make_group, staff_phone, data, message):
    facilitator, web = staff_phone()
    group = make_group(facilitator)
    body = {"starts_at": _local(org, timedelta(days=1)), "topic": "health", "topic_text": "",
            "place": "", **data}
    if body["starts_at"] == "past":
        body["starts_at"] = _local(org, -timedelta(minutes=5))
    r = web.post(f"/groups/{group.id}/meetings/new", body)
    assert r.status_code == 400
    assert message in r.get_data(as_text=True)
    assert count(session, Meeting) == 0


def _meeting(session, group, days=1):
    meeting = Meeting(organisation_id=group.organisation_id, group_id=group.id,
                      starts_at=datetime.now(UTC) + timedelta(days=days),
                      topic_key="health", place="Hall")
    session.add(meeting)
    session.commit()
    return meeting


def test_members_answer_and_the_facilitator_records_attendance(session, make_group, phone,
                                                               staff_phone):
    facilitator, fac_web = staff_phone()
    abdul, abdul_web = phone("Abdul")
    hawa, _ = phone("Hawa")
    group = make_group(facilitator, members=[abdul, hawa])
    meeting = _meeting(session, group)
    url = f"/groups/{group.id}/meetings/{meeting.id}"

    # htmx gets only the answer block; without JavaScript, a redirect to the page.
    r = abdul_web.post(url + "/rsvp", {"coming": "yes"}, form_page=url,
                       headers={"HX-Request": "true"})
    assert r.status_code == 200
    fragment = r.get_data(as_text=True)
    assert fragment.lstrip().startswith('<div class="rsvp"') and "<html" not in fragment
    assert "Your answer: coming." in fragment
    r = abdul_web.post(url + "/rsvp", {"coming": "no"}, form_page=url)
    assert r.status_code == 302
    assert "Your answer: not coming." in abdul_web.get(url).get_data(as_text=True)
    assert abdul_web.post(url + "/rsvp", {"coming": "perhaps"}, form_page=url).status_code == 400

    page = fac_web.get(url).get_data(as_text=True)
    assert "said not coming" in page and "no answer" in page
    r = fac_web.post(url + "/attendance", {"present": [str(hawa.id)]}, form_page=url)
    assert r.status_code == 302
    session.expire_all()
    attended = dict(session.execute(select(MeetingResponse.user_id, MeetingResponse.attended)
                                    .where(MeetingResponse.meeting_id == meeting.id)).all())
    assert attended == {abdul.id: False, hawa.id: True}
    # Someone outside the group cannot be marked present.
    assert fac_web.post(url + "/attendance", {"present": [str(facilitator.id)]},
                        form_page=url).status_code == 400
    assert fac_web.post(url + "/attendance", {"present": ["x"]}, form_page=url).status_code == 400
    session.expire_all()
    assert session.get(MeetingResponse, session.scalar(select(MeetingResponse.id).where(
        MeetingResponse.user_id == hawa.id))).attended is True


def test_members_cannot_run_meetings(session, make_group, phone, staff_phone):
    facilitator, _ = staff_phone()
    abdul, web = phone()
    group = make_group(facilitator, members=[abdul])
    meeting = _meeting(session, group)
    assert web.get(f"/groups/{group.id}/meetings/new").status_code == 404
    assert web.get(f"/groups/{group.id}/overview").status_code == 404
    r = web.post(f"/groups/{group.id}/meetings/{meeting.id}/attendance",
                 {"present": [str(abdul.id)]}, form_page=f"/groups/{group.id}")
    assert r.status_code == 404
    assert count(session, MeetingResponse) == 0


# --- The board -------------------------------------------------------------------------------

def test_board_post_hide_and_report(session, make_group, phone, staff_phone):
    facilitator, fac_web = staff_phone()
    abdul, abdul_web = phone("Abdul")
    hawa, hawa_web = phone("Hawa")
    group = make_group(facilitator, members=[abdul, hawa])
    url = f"/groups/{group.id}"
    r = abdul_web.post(url + "/posts", {"body": "Who knows a cheap tailor?"}, form_page=url)
    assert r.status_code == 302 and r.headers["Location"].endswith("#board")
    post = session.scalars(select(GroupPost)).one()
    assert "Who knows a cheap tailor?" in hawa_web.get(url).get_data(as_text=True)

    # Hawa reports it (htmx: the board comes back); reporting twice counts once.
    r = hawa_web.post(f"{url}/posts/{post.id}/report", form_page=url,
                      headers={"HX-Request": "true"})
    assert r.status_code == 200
    assert r.get_data(as_text=True).lstrip().startswith('<section class="card board"')
    assert "You reported this." in r.get_data(as_text=True)
    hawa_web.post(f"{url}/posts/{post.id}/report", form_page=url)
    assert count(session, PostReport) == 1
    assert "Reported 1 time" in fac_web.get(url).get_data(as_text=True)
    assert "Reported 1 time" not in abdul_web.get(url).get_data(as_text=True)

    # The facilitator hides it: the author sees that; the others no longer see it.
    assert abdul_web.post(f"{url}/posts/{post.id}/hide", form_page=url).status_code == 404
    assert fac_web.post(f"{url}/posts/{post.id}/hide", form_page=url).status_code == 302
    mine = abdul_web.get(url).get_data(as_text=True)
    assert "The facilitator hid this post." in mine and "cheap tailor" in mine
    assert "cheap tailor" not in hawa_web.get(url).get_data(as_text=True)


@pytest.mark.parametrize("body,message", [("", "Please fill this in."),
                                          ("   ", "Please fill this in."),
                                          ("x" * 1001, "Please use at most 1000 characters.")])
def test_bad_posts_change_nothing(session, make_group, phone, body, message):
    abdul, web = phone()
    group = make_group(members=[abdul])
    r = web.post(f"/groups/{group.id}/posts", {"body": body}, form_page=f"/groups/{group.id}")
    assert r.status_code == 400 and message in r.get_data(as_text=True)
    assert count(session, GroupPost) == 0


def test_posting_to_a_group_you_are_not_in_is_refused(session, make_group, phone, make_org,
                                                      staff_web, web):
    abdul, abdul_web = phone()
    mine = make_group(members=[abdul])
    other = make_group(name="Other group")
    foreign = make_group(organisation=make_org(), name="Foreign group")
    for group in (other, foreign):
        r = abdul_web.post(f"/groups/{group.id}/posts", {"body": "Hello"},
                           form_page=f"/groups/{mine.id}")
        assert r.status_code == 404
        assert "This page does not exist or you cannot see it." in r.get_data(as_text=True)
    # A coordinator sees every group of the organisation but is not in it.
    staff_web(Role.COORDINATOR)
    assert web.get(f"/groups/{mine.id}").status_code == 200
    assert web.post(f"/groups/{mine.id}/posts", {"body": "Hello"},
                    form_page=f"/groups/{mine.id}").status_code == 404
    assert count(session, GroupPost) == 0


def test_a_post_of_another_group_cannot_be_hidden_through_mine(session, make_group, phone,
                                                               staff_phone):
    facilitator, web = staff_phone()
    abdul, _ = phone()
    mine = make_group(facilitator)
    other = make_group(members=[abdul], name="Other")
    post = GroupPost(organisation_id=other.organisation_id, group_id=other.id,
                     author_id=abdul.id, body="Hello")
    session.add(post)
    session.commit()
    r = web.post(f"/groups/{mine.id}/posts/{post.id}/hide", form_page=f"/groups/{mine.id}")
    assert r.status_code == 404
    session.expire_all()
    assert session.get(GroupPost, post.id).hidden_at is None


# --- Buddies, shared check-ins, the overview -------------------------------------------------

def test_buddies_see_each_other(session, make_group, phone, staff_phone):
    facilitator, fac_web = staff_phone()
    abdul, abdul_web = phone("Abdul")
    hawa, hawa_web = phone("Hawa")
    sahr, _ = phone("Sahr")
    group = make_group(facilitator, members=[abdul, hawa, sahr])
    url = f"/groups/{group.id}"
    assert fac_web.post(url + "/buddies", {"first": abdul.id, "second": hawa.id},
                        form_page=url).status_code == 302
    assert "Your buddy is Hawa." in abdul_web.get(url).get_data(as_text=True)
    assert "Your buddy is Abdul." in hawa_web.get(url).get_data(as_text=True)
    # A new pair leaves the old buddy without one.
    assert fac_web.post(url + "/buddies", {"first": sahr.id, "second": hawa.id},
                        form_page=url).status_code == 302
    assert "Your buddy is" not in abdul_web.get(url).get_data(as_text=True)
    for data in [{"first": abdul.id, "second": abdul.id},
                 {"first": abdul.id, "second": facilitator.id}]:
        assert fac_web.post(url + "/buddies", data, form_page=url).status_code == 400


def _checkin(session, user, mood, note, shared, when=None):
    session.add(CheckIn(organisation_id=user.organisation_id, user_id=user.id, mood=mood,
                        note=note, share_with_group=shared, safe="no",
                        created_at=when or datetime.now(UTC)))
    session.commit()


def test_group_sees_only_what_was_shared(session, make_group, phone, staff_phone):
    facilitator, fac_web = staff_phone()
    abdul, abdul_web = phone("Abdul")
    hawa, _ = phone("Hawa")
    sahr, _ = phone("Sahr")
    group = make_group(facilitator, members=[abdul, hawa, sahr])
    _checkin(session, hawa, 5, "Found work at the market", shared=True)
    _checkin(session, sahr, 1, "Private words for my caseworker", shared=False)
    for web in (abdul_web, fac_web):
        page = web.get(f"/groups/{group.id}").get_data(as_text=True)
        assert "Found work at the market" in page
        assert "Private words" not in page
    overview = fac_web.get(f"/groups/{group.id}/overview").get_data(as_text=True)
    rows = {name: re.search(rf"<td><bdi>{name}</bdi></td>\s*<td>([^<]+)</td>", overview).group(1)
            for name in ("Abdul", "Hawa", "Sahr")}
    assert rows == {"Abdul": "Not yet", "Hawa": "Yes", "Sahr": "Yes"}
    assert "Found work at the market" in overview
    assert "Private words" not in overview and "Very bad" not in overview


def test_overview_counts_only_this_period(session, make_group, phone, staff_phone):
    facilitator, web = staff_phone()
    abdul, _ = phone("Abdul")
    group = make_group(facilitator, members=[abdul], period=7)
    _checkin(session, abdul, 3, "", shared=False,
             when=datetime.now(UTC) - timedelta(days=8))
    page = web.get(f"/groups/{group.id}/overview").get_data(as_text=True)
    assert re.search(r"<td><bdi>Abdul</bdi></td>\s*<td>Not yet</td>", page)


def test_raise_with_caseworker_writes_a_signal_without_the_reason(session, make_group, phone,
                                                                   staff_phone):
    facilitator, web = staff_phone()
    abdul, _ = phone("Abdul")
    outsider, _ = phone("Outsider")
    group = make_group(facilitator, members=[abdul])
    url = f"/groups/{group.id}/raise"
    page = f"/groups/{group.id}/overview"
    for data in [{"member": abdul.id, "reason": ""}, {"member": abdul.id, "reason": "x" * 301},
                 {"member": outsider.id, "reason": "Seems low"}]:
        assert web.post(url, data, form_page=page).status_code == 400
    assert count(session, Signal) == count(session, RaisedWithCaseworker) == 0
    r = web.post(url, {"member": abdul.id, "reason": "Missed two meetings, seemed worried"},
                 form_page=page)
    assert r.status_code == 302
    raised = session.scalars(select(RaisedWithCaseworker)).one()
    signal = session.get(Signal, raised.signal_id)
    assert (signal.kind, signal.returnee_id, signal.raised_by_id) == (
        "group.raised", abdul.id, facilitator.id)
    assert (signal.source_type, signal.source_id) == ("group_raised", raised.id)
    assert raised.reason == "Missed two meetings, seemed worried"


# --- Access and cost -------------------------------------------------------------------

def test_who_reaches_a_group(session, org, make_org, make_group, phone, staff_phone):
    facilitator, fac_web = staff_phone()
    abdul, abdul_web = phone("Abdul")
    outsider, outsider_web = phone("Outsider")
    group = make_group(facilitator, members=[abdul])
    meeting = _meeting(session, group)
    other_org = make_org()
    foreign_coord, foreign_web = staff_phone(Role.COORDINATOR, organisation=other_org)
    foreign_fac, foreign_fac_web = staff_phone(Role.FACILITATOR, organisation=other_org)
    coordinator, coord_web = staff_phone(Role.COORDINATOR)
    caseworker, cw_web = staff_phone(Role.CASEWORKER)
    other_fac, other_fac_web = staff_phone(Role.FACILITATOR)
    pages = [f"/groups/{group.id}", f"/groups/{group.id}/meetings/{meeting.id}"]
    for web in (abdul_web, fac_web, coord_web):
        for url in pages:
            assert web.get(url).status_code == 200, url
    for web in (outsider_web, foreign_web, foreign_fac_web, cw_web, other_fac_web):
        for url in pages + [f"/groups/{group.id}/overview", f"/groups/{group.id}/meetings/new"]:
            assert web.get(url).status_code == 404, url
    assert cw_web.get("/groups/").status_code == 404
    assert coord_web.get(f"/groups/{group.id}/overview").status_code == 404
    assert fac_web.get(f"/groups/{group.id}/meetings/{meeting.id + 999}").status_code == 404
    # Foreign staff cannot appoint or add through a guessed id either.
    assert foreign_web.post(f"/groups/{group.id}/facilitators", {"facilitator": foreign_fac.id},
                            form_page="/groups/").status_code == 404
    assert count(session, GroupFacilitator, GroupFacilitator.group_id == group.id) == 1


def test_group_page_queries_stay_constant(session, make_group, phone, staff_phone,
                                          count_queries):
    facilitator, web = staff_phone()
    abdul, _ = phone("Abdul")
    group = make_group(facilitator, members=[abdul])
    _meeting(session, group)
    url = f"/groups/{group.id}"
    web.get(url)
    with count_queries() as few:
        assert web.get(url).status_code == 200
    with count_queries() as few_overview:
        web.get(url + "/overview")
    people = [phone(f"Member {i}")[0] for i in range(6)]
    for p in people:
        session.add(GroupMember(organisation_id=group.organisation_id, group_id=group.id,
                                user_id=p.id))
        session.add(GroupPost(organisation_id=group.organisation_id, group_id=group.id,
                              author_id=p.id, body="Hello"))
        _checkin(session, p, 4, "shared", shared=True)
        _meeting(session, group, days=2)
    session.commit()
    with count_queries() as many:
        page = web.get(url).get_data(as_text=True)
    assert page.count("Hello") == 6
    assert many() == few()
    with count_queries() as many_overview:
        web.get(url + "/overview")
    assert many_overview() == few_overview()


def test_returnee_home_links_to_groups_and_group_list_shows_only_mine(make_group, phone):
    abdul, web = phone()
    make_group(members=[abdul], name="My group")
    make_group(name="Not my group")
    assert 'href="/groups/"' in web.get("/home").get_data(as_text=True)
    page = web.get("/groups/").get_data(as_text=True)
    assert "My group" in page and "Not my group" not in page


def test_returnee_pages_stay_small(session, make_group, phone, staff_phone):
    """DESIGN.md §5: a later page is at most 10 KB compressed."""
    import gzip

    facilitator, _ = staff_phone()
    abdul, web = phone("Abdul")
    group = make_group(facilitator, members=[abdul])
    meeting = _meeting(session, group)
    for i in range(12):
        _checkin(session, abdul, 1 + i % 5, "A note of a few words", shared=True)
        session.add(GroupPost(organisation_id=group.organisation_id, group_id=group.id,
                              author_id=abdul.id, body="A post of a sentence or so. " * 3))
    session.commit()
    sizes = {}
    for url in ["/checkin/", "/checkin/history", "/groups/", f"/groups/{group.id}",
                f"/groups/{group.id}/meetings/{meeting.id}"]:
        r = web.get(url)
        assert r.status_code == 200, url
        sizes[url] = len(gzip.compress(r.get_data(), 6))
    print("compressed sizes:", sizes)
    assert max(sizes.values()) <= 10 * 1024, sizes


# --- Taking a member out; calling a meeting off -----------------------------------------

def test_a_member_taken_out_no_longer_sees_the_group_nor_is_seen_in_it(
        session, make_group, phone, staff_phone):
    facilitator, fac_web = staff_phone()
    abdul, abdul_web = phone("Abdul")
    hawa, hawa_web = phone("Hawa")
    group = make_group(facilitator, members=[abdul, hawa])
    url = f"/groups/{group.id}"
    assert fac_web.post(url + "/buddies", {"first": abdul.id, "second": hawa.id},
                        form_page=url).status_code == 302
    _checkin(session, abdul, 4, "Shared words of Abdul", shared=True)
    assert "Shared words of Abdul" in hawa_web.get(url).get_data(as_text=True)

    # Someone who is not in the group cannot be taken out; members cannot take anyone out.
    r = fac_web.post(url + "/members/remove", {"remove-member": facilitator.id}, form_page=url)
    assert r.status_code == 400
    assert hawa_web.post(url + "/members/remove", {"remove-member": abdul.id},
                         form_page=url).status_code == 404
    r = fac_web.post(url + "/members/remove", {"remove-member": abdul.id}, form_page=url)
    assert r.status_code == 302
    assert "Removed from the group." in fac_web.get(url).get_data(as_text=True)

    assert abdul_web.get(url).status_code == 404
    page = hawa_web.get(url).get_data(as_text=True)
    assert "Shared words of Abdul" not in page and "Your buddy is" not in page
    session.expire_all()
    assert count(session, GroupMember, GroupMember.group_id == group.id) == 1
    assert session.scalars(select(GroupMember.buddy_id).where(
        GroupMember.user_id == hawa.id)).one() is None


def test_a_meeting_called_off_tells_those_who_might_come_once(
        ctx, app, session, make_group, phone, staff_phone, receiver, vapid):
    from webapp.groups import reminders
    from webapp.push.models import PushDelivery

    from .test_alerts import subscribe

    facilitator, fac_web = staff_phone()
    abdul, abdul_web = phone("Abdul")
    hawa, _ = phone("Hawa")
    sahr, _ = phone("Sahr")
    group = make_group(facilitator, members=[abdul, hawa, sahr])
    meeting = _meeting(session, group)
    session.add(MeetingResponse(organisation_id=group.organisation_id, meeting_id=meeting.id,
                                user_id=sahr.id, coming=False))
    session.commit()
    for person in (abdul, hawa, sahr):
        subscribe(ctx, session, receiver, person, f"phone-{person.id}")
    url = f"/groups/{group.id}/meetings/{meeting.id}"

    assert abdul_web.post(url + "/cancel", {}, form_page=url).status_code == 404
    for _ in range(2):  # a second tap tells nobody again
        assert fac_web.post(url + "/cancel", {}, form_page=url).status_code == 302
    session.expire_all()
    told = session.scalars(select(PushDelivery.user_id).where(
        PushDelivery.message == "meeting.cancelled")).all()
    assert sorted(told) == sorted([abdul.id, hawa.id])
    messages = receiver.wait_for(2)
    assert {m.payload["body"] for m in messages} == {"A meeting of your group is called off."}
    assert {m.payload["url"] for m in messages} == {url}

    assert "This meeting is called off." in abdul_web.get(url).get_data(as_text=True)
    assert "Called off" in abdul_web.get(f"/groups/{group.id}").get_data(as_text=True)
    r = abdul_web.post(url + "/rsvp", {"coming": "yes"}, form_page=f"/groups/{group.id}")
    assert r.status_code == 400 and "This meeting is called off." in r.get_data(as_text=True)
    with ctx():
        assert reminders.meeting_tomorrow(session, datetime.now(UTC)) == []


def test_a_meeting_that_began_cannot_be_called_off(session, make_group, phone, staff_phone):
    facilitator, fac_web = staff_phone()
    abdul, _ = phone("Abdul")
    group = make_group(facilitator, members=[abdul])
    meeting = _meeting(session, group, days=-1)
    url = f"/groups/{group.id}/meetings/{meeting.id}"
    assert "Call the meeting off" not in fac_web.get(url).get_data(as_text=True)
    r = fac_web.post(url + "/cancel", {}, form_page=url)
    assert r.status_code == 400 and "This meeting has begun or is over." in r.get_data(as_text=True)
    session.expire_all()
    assert session.get(Meeting, meeting.id).cancelled_at is None
