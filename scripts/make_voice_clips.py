"""Make the demo's voice clips (issue #23) with a computer voice: for the demo
and the tests only, never a partner's recording. Run once after changing the
list below; the small files it writes are committed, so neither CI nor
`make run` needs espeak-ng:

    apt-get install -y espeak-ng opus-tools
    FOOTING_ENV=development .venv/bin/python scripts/make_voice_clips.py

Each clip is the phrase's text in that language (from the catalogs), spoken by
espeak-ng and encoded as Opus in Ogg at 8 kbit/s mono: a few KB each.
"""
from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from flask_babel import force_locale

from webapp import create_app
from webapp.voice.phrases import PHRASES

OUT = Path(__file__).resolve().parent.parent / "webapp" / "voice" / "demo_clips"
# (Footing's language, espeak-ng's voice): Persian for Dari.
CLIPS = {
    ("en", "en"): ["help_now", "checkin.mood", "now.question", "report.title"],
    ("fa_AF", "fa"): ["help_now", "checkin.mood"],
}


def main() -> None:
    app = create_app()
    with app.test_request_context():
        for (language, espeak_voice), keys in CLIPS.items():
            folder = OUT / language
            folder.mkdir(parents=True, exist_ok=True)
            for key in keys:
                with force_locale(language):
                    text = str(PHRASES[key])
                with tempfile.NamedTemporaryFile(suffix=".wav") as wav:
                    subprocess.run(["espeak-ng", "-v", espeak_voice, "-s", "150", "-w", wav.name,
                                    text], check=True)
                    subprocess.run(["opusenc", "--quiet", "--bitrate", "8", "--downmix-mono",
                                    "--comp", "10", wav.name, str(folder / f"{key}.ogg")],
                                   check=True)
                print(folder / f"{key}.ogg", (folder / f"{key}.ogg").stat().st_size, "bytes")


if __name__ == "__main__":
    main()
