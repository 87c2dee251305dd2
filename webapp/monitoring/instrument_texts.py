"""The texts of the shipped instruments, marked for translation.

Instrument files hold English msgids; this list lets `translate extract` find
them. A test checks that every text of every shipped instrument is listed here
(add a line when an instrument gains a text)."""
from flask_babel import lazy_gettext as _l

TEXTS = (
    # footing-default version 1
    _l("Footing's own reintegration check"),
    _l("Made by Footing. Every side and every question counts the same. "
       "These are not official weights."),
    _l("Do you have a regular income?"),
    _l("Can you pay for food and a place to live?"),
    _l("Do you have debts you cannot pay back?"),
    _l("Do you get along with your family?"),
    _l("Are there people you can ask for help?"),
    _l("Do you feel at home where you live now?"),
    _l("Do you feel safe?"),
    _l("Do you sleep well most nights?"),
    _l("Do you feel hopeful about the future?"),
    _l("Yes"), _l("Partly"), _l("No"), _l("Some"),
)
