from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField

from ..forms import Form


class RecordingForm(Form):
    """A recording of one phrase: made in the browser (MediaRecorder puts it
    in the file field) or, without JavaScript, a sound file chosen."""

    audio = FileField(_l("Recording"))
