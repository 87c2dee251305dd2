"""Static files under content-hashed names, precompressed, cached for a year (issue #8).

At start the app builds `<instance>/static-build/<version>/` from `webapp/static/`:
every file under its own name and under a name with the first 12 hex digits
of its SHA-256 (`css/app.css` and `css/app.1a2b3c4d5e6f.css`), and beside each
text file a `.br` and a `.gz` made once at the highest levels. WhiteNoise
serves that folder before Flask sees the request, picks the `.br`/`.gz` the
browser accepts (with `Vary: Accept-Encoding`), and marks the hashed names
`Cache-Control: public, max-age=31536000, immutable`: a changed file has a new
name, so a phone never has to ask again on a 2G link. The plain names stay
(short cache) for anything that still asks for them, e.g. an old service worker.

`url_for('static', filename='css/app.css')` answers the hashed name everywhere
(templates, the manifest, the service worker's precache list) through one
`url_defaults` hook: nothing else needs to know about hashing.

Several gunicorn workers may build at once: each builds in a private temporary
folder and renames it into place; the content is the same, so the first
rename wins and the others throw theirs away.
"""
from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import brotli
import rjsmin
from flask import Flask, g
from markupsafe import Markup
from whitenoise import WhiteNoise

SOURCE = Path(__file__).parent / "static"
HASH_LENGTH = 12
# Files worth compressing (PNG is compressed already).
COMPRESSIBLE = {".css", ".js", ".svg", ".json", ".webmanifest", ".txt", ".map"}
YEAR = 31536000
# Unhashed names can change under the same URL: a short lifetime only.
PLAIN_MAX_AGE = 300
MANIFEST = "manifest.json"
# Inlined into the signed-out entry pages (issue #24), whole: on 2G the first
# paint then needs one response instead of two racing for the link.
INLINE_CSS = "css/app.css"
# Builds of earlier versions older than this are removed at start.
KEEP_OLD_BUILDS_SECONDS = 7 * 86400


def asset_version(source: Path = SOURCE) -> str:
    """Changes whenever any static file changes (names the service worker's cache)."""
    digest = hashlib.sha256()
    for path in sorted(source.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(source).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:HASH_LENGTH]


def hashed_name(relative: str, content: bytes) -> str:
    stem, dot, suffix = relative.rpartition(".")
    digest = hashlib.sha256(content).hexdigest()[:HASH_LENGTH]
    return f"{stem}.{digest}.{suffix}" if dot else f"{relative}.{digest}"


def _served(relative: str, content: bytes) -> bytes:
    """What is served for a source file: our own scripts without their
    comments and spaces (they explain the code to the next engineer; a phone
    on 2G need not download that: the JS budget, DESIGN §5)."""
    if relative.endswith(".js") and not relative.endswith(".min.js"):
        return minified_js(content.decode()).encode()
    return content


def minified_js(script: str) -> str:
    """A script as it is served: the static files, and the service worker's
    script rendered from its template (about 0.02 ms for it: not cached)."""
    return rjsmin.jsmin(script)


def _write_compressed(path: Path, content: bytes) -> None:
    if path.suffix not in COMPRESSIBLE:
        return
    path.with_name(path.name + ".br").write_bytes(brotli.compress(content, quality=11))
    path.with_name(path.name + ".gz").write_bytes(gzip.compress(content, compresslevel=9, mtime=0))


def build(build_root: Path, version: str, source: Path = SOURCE) -> tuple[Path, dict[str, str]]:
    """The folder for this version (built if missing) and its manifest
    {"css/app.css": "css/app.<hash>.css"}."""
    target = build_root / version
    manifest_path = target / MANIFEST
    if not manifest_path.is_file():
        build_root.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{version}-", dir=build_root))
        manifest: dict[str, str] = {}
        for path in sorted(source.rglob("*")):
            if not path.is_file():
                continue
            relative = path.relative_to(source).as_posix()
            content = _served(relative, path.read_bytes())
            hashed = hashed_name(relative, content)
            manifest[relative] = hashed
            for name in (relative, hashed):
                out = work / name
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(content)
                _write_compressed(out, content)
        (work / MANIFEST).write_text(json.dumps(manifest, sort_keys=True, indent=1))
        try:
            os.rename(work, target)
        except OSError:  # another worker was first: same content
            shutil.rmtree(work, ignore_errors=True)
        _remove_old_builds(build_root, keep=version)
    return target, json.loads(manifest_path.read_text())


def _remove_old_builds(build_root: Path, keep: str) -> None:
    cutoff = time.time() - KEEP_OLD_BUILDS_SECONDS
    for old in build_root.iterdir():
        if old.name != keep and old.is_dir() and old.stat().st_mtime < cutoff:
            shutil.rmtree(old, ignore_errors=True)


def inline_style_hash(css: str) -> str:
    """The CSP source that allows exactly this <style> element's text."""
    digest = hashlib.sha256(css.encode()).digest()
    return "'sha256-" + base64.b64encode(digest).decode() + "'"


def inline_css() -> Markup | None:
    """The stylesheet's text for a <style> element, on pages whose view set
    `g.inline_css` (the signed-out entry pages); None elsewhere: signed-in
    pages link the hashed file, cached for a year and precached by the
    service worker. security.py allows it by its hash."""
    if not g.get("inline_css"):
        return None
    return Markup(_INLINE["css"])


def inline_css_source() -> str | None:
    """The CSP source for this request's inline stylesheet, if it has one."""
    return _INLINE["hash"] if g.get("inline_css") else None


_INLINE: dict[str, str] = {}


class _StaticFiles(WhiteNoise):
    FOREVER = YEAR  # the common "a year" of caches and audits


def init_app(app: Flask) -> None:
    """Hashed static URLs for `url_for`, and WhiteNoise in front of the app."""
    version = asset_version()
    app.config["ASSET_VERSION"] = version
    folder, manifest = build(Path(app.instance_path) / "static-build", version)
    app.extensions["footing_assets"] = manifest
    css = (folder / INLINE_CSS).read_text(encoding="utf-8")
    _INLINE.update(css=css, hash=inline_style_hash(css))
    app.add_template_global(inline_css)
    immutable = {f"/static/{name}" for name in manifest.values()}

    @app.url_defaults
    def _hashed_static_name(endpoint: str, values: dict) -> None:
        if endpoint == "static" and values.get("filename") in manifest:
            values["filename"] = manifest[values["filename"]]

    app.wsgi_app = _StaticFiles(  # type: ignore[method-assign]
        app.wsgi_app, root=str(folder), prefix="static/", max_age=PLAIN_MAX_AGE,
        immutable_file_test=lambda _path, url: url in immutable)
