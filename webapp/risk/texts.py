"""The texts of the shipped risk instruments, marked for translation (a test
checks that every text of every shipped risk instrument is listed here)."""
from flask_babel import lazy_gettext as _l

TEXTS = (
    # footing-risk version 1
    _l("Footing's own risk check"),
    _l("Made by Footing. An area's risk is the highest risk of its answers. "
       "Ask before the return and again after it."),
    _l("Is anyone threatening you or your family?"),
    _l("Do you feel safe where you will live?"),
    _l("Do you have an illness that needs a doctor?"),
    _l("Can you see a doctor when you need one?"),
    _l("Do you need medicine every day or every month?"),
    _l("Will you be able to get your medicine there?"),
    _l("Do you have a safe place to sleep for the first month?"),
    _l("Can you stay there for longer?"),
    _l("Will you have money for food in the first month?"),
    _l("Do you have debts you cannot pay back?"),
    _l("Will your family welcome you back?"),
    _l("Are there people you can ask for help?"),
    _l("Yes"), _l("Partly"), _l("No"),
)
