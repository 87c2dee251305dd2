"""The key phrases a partner records (issue #23): what someone who reads little
most needs to hear on the returnee pages. A fixed list: each key is placed in
a template beside its text (`{{ voice('checkin.mood') }}`), and its msgid is
the text on the page, so a recording says what the page says.

Adding a phrase: a key here and the macro call beside the text. A test checks
that every key is placed in a template and that its text is in the catalogs.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

PHRASES = {
    # Home
    "help_now": _l("I need help now"),
    "home.emergency": _l("In danger now? Call"),
    # Check-in: the questions
    "checkin.intro": _l("Choose a face and who may see it. The other questions help your "
                        "caseworker, but you can leave them out."),
    "checkin.mood": _l("How do you feel?"),
    "checkin.income": _l("Did you have income this week?"),
    "checkin.shelter": _l("Do you have a safe place to sleep?"),
    "checkin.medicine": _l("Do you have the medicine you need?"),
    "checkin.safe": _l("Do you feel safe?"),
    "checkin.someone": _l("Do you have someone to talk to?"),
    "checkin.visibility": _l("Who may see this?"),
    # Reporting a problem: its steps and kinds
    "report.title": _l("Report a problem"),
    "report.step_what": _l("1. What is it? Tap one."),
    "report.health": _l("Health"),
    "report.medicine": _l("Medicine"),
    "report.safety": _l("Safety"),
    "report.step_urgency": _l("2. How urgent is it? Tap one to send."),
    # "I need help now": the help page's instructions
    "now.question": _l("Do you need help right now?"),
    "now.instructions": _l("Tap the red button only if you are in danger or need help right "
                           "now. Your caseworker is told at once, and you see the number to "
                           "call."),
    "now.call": _l("Calling often works when the internet does not."),
}
