"""Headless Chromium: print reports to PDF, take screenshots and check a page for console errors and broken images.

Chromium comes from the system (Debian: `apt-get install chromium`, done by scripts/install-system-deps.sh); it is
always run headless with a throw-away profile and no background networking, so a report prints the same offline.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from techscore.exceptions import ReportError

ENV_VAR = "TECHSCORE_CHROMIUM"
"""Environment variable naming the Chromium binary to use (overrides the search)."""
CANDIDATES: tuple[str, ...] = (
    "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/lib/chromium/chromium", "/usr/bin/google-chrome",
    "/usr/bin/google-chrome-stable", "/snap/bin/chromium",
)
NAMES: tuple[str, ...] = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
INSTALL_HINT = "install it with scripts/install-system-deps.sh (Debian/Ubuntu: apt-get install chromium)"


def find_chromium() -> Path | None:
    """The Chromium (or Chrome) binary: $TECHSCORE_CHROMIUM, else a system install; None when there is none."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env) if Path(env).exists() else None
    for c in CANDIDATES:
        if Path(c).exists() and os.access(c, os.X_OK):
            return Path(c)
    for name in NAMES:
        found = shutil.which(name)
        if found:
            return Path(found)
    return None


def require_chromium() -> Path:
    """Like `find_chromium`, but raise ReportError (with how to install it) when Chromium is absent."""
    found = find_chromium()
    if found is None:
        where = f"${ENV_VAR} ({os.environ[ENV_VAR]})" if os.environ.get(ENV_VAR) else ", ".join(CANDIDATES[:3])
        raise ReportError(f"headless Chromium is needed to print reports and was not found at {where}; {INSTALL_HINT}.")
    return found


def chromium_flags(user_data_dir: str | Path) -> list[str]:
    """Flags for a quiet, offline, reproducible headless run."""
    return [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", "--disable-extensions", "--disable-default-apps", "--mute-audio",
        "--hide-scrollbars", f"--user-data-dir={user_data_dir}",
    ]


def _url(page: str | Path) -> str:
    s = str(page)
    if re.match(r"^[a-z]+://", s):
        return s
    path, _, query = s.partition("?")
    return Path(path).resolve().as_uri() + (f"?{query}" if query else "")


def run_chromium(page: str | Path, args: Sequence[str], *, timeout: float = 120.0) -> subprocess.CompletedProcess:
    """Run headless Chromium on `page` (a file path, optionally with `?query`, or a URL) with extra `args`.

    Chromium runs in its own process group with a throw-away profile; on timeout the whole group is ended.
    """
    binary = require_chromium()
    with tempfile.TemporaryDirectory(prefix="techscore-chromium-") as profile:
        cmd = [str(binary), *chromium_flags(profile), *args, _url(page)]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True, env={**os.environ, "HOME": profile})
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            _end_group(proc)
            raise ReportError(f"Chromium did not finish {page} within {timeout:.0f} s.") from exc
        finally:
            if proc.poll() is None:
                _end_group(proc)
        _end_group(proc, only_children=True)
        return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def _end_group(proc: subprocess.Popen, only_children: bool = False) -> None:
    """End the process group Chromium started (its renderer and GPU helpers too)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        return
    if not only_children:
        proc.communicate()


def print_pdf(page: str | Path, pdf: str | Path, *, timeout: float = 180.0) -> Path:
    """Print `page` to the PDF file `pdf` (page size and margins come from the page's own `@page` CSS)."""
    pdf = Path(pdf).resolve()
    pdf.parent.mkdir(parents=True, exist_ok=True)
    if pdf.exists():
        pdf.unlink()
    result = run_chromium(page, [
        f"--print-to-pdf={pdf}", "--no-pdf-header-footer", "--print-to-pdf-no-header",
        "--virtual-time-budget=10000", "--run-all-compositor-stages-before-draw",
    ], timeout=timeout)
    if not pdf.exists() or pdf.stat().st_size == 0:
        raise ReportError(f"Chromium could not print {page} to {pdf} (exit {result.returncode}): {_tail(result.stderr)}")
    return pdf


def screenshot(page: str | Path, png: str | Path, *, width: int = 1200, height: int = 1600,
               timeout: float = 120.0) -> Path:
    """A PNG of the first `width` x `height` pixels of `page` as a browser window shows it."""
    png = Path(png).resolve()
    png.parent.mkdir(parents=True, exist_ok=True)
    result = run_chromium(page, [
        f"--screenshot={png}", f"--window-size={width},{height}", "--virtual-time-budget=10000",
        "--run-all-compositor-stages-before-draw",
    ], timeout=timeout)
    if not png.exists():
        raise ReportError(f"Chromium could not take a screenshot of {page} (exit {result.returncode}): {_tail(result.stderr)}")
    return png


def _tail(text: str, lines: int = 5) -> str:
    keep = [ln for ln in text.splitlines() if ln.strip() and "dbus" not in ln.lower()]
    return " | ".join(keep[-lines:]) or "no output"


_PROBE = """<script>(function(){var E=[];window.__tsProbe=E;
window.addEventListener('error',function(e){var t=e.target;if(t&&t!==window&&t.tagName){E.push('resource failed: '+t.tagName+' '+String(t.src||t.href||'').slice(0,120));}else{E.push('error: '+(e.message||e));}},true);
window.addEventListener('unhandledrejection',function(e){E.push('unhandled rejection: '+e.reason);});
var ce=console.error;console.error=function(){E.push('console.error: '+Array.prototype.join.call(arguments,' '));return ce.apply(console,arguments);};
window.addEventListener('load',function(){setTimeout(function(){var b=[],im=document.images;for(var i=0;i<im.length;i++){if(!im[i].complete||im[i].naturalWidth===0){b.push((im[i].getAttribute('src')||'').slice(0,80));}}
var d=document.documentElement,o=[];document.querySelectorAll('table,img,pre,figure,.card').forEach(function(el){if(el.getBoundingClientRect().right>d.clientWidth+1){o.push(el.tagName+'.'+el.className+(el.id?'#'+el.id:'')+'@'+Math.round(el.getBoundingClientRect().right)+':'+(el.textContent||'').trim().slice(0,40));}});
var p=document.createElement('pre');p.id='ts-probe';p.textContent=JSON.stringify({errors:E,broken_images:b,images:im.length,overflow:d.scrollWidth-d.clientWidth,overflowing:o.slice(0,10),lang:d.getAttribute('lang'),title:document.title});document.body.appendChild(p);},50);});})();</script>"""
_PROBE_OUT = re.compile(r'<pre id="ts-probe">(.*?)</pre>', re.S)
_CONSOLE = re.compile(r'CONSOLE[^\]]*\] "(.*?)", source: (\S*)')


@dataclass
class PageCheck:
    """What a browser saw when it opened a page."""

    loaded: bool
    images: int = 0
    errors: list[str] = field(default_factory=list)
    broken_images: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    overflow_px: int = 0
    overflowing: list[str] = field(default_factory=list)
    lang: str | None = None
    title: str = ""

    @property
    def ok(self) -> bool:
        """Loaded with no script error, no console error, no broken image."""
        return self.loaded and not self.errors and not self.broken_images and not self.console_errors

    @property
    def console_errors(self) -> list[str]:
        return [m for m in self.console if "Uncaught" in m or "Error" in m or "Failed" in m]


def check_page(page: str | Path, *, width: int = 1100, height: int = 1400, timeout: float = 120.0) -> PageCheck:
    """Open an HTML file in headless Chromium and report script errors, console errors, broken images and
    horizontal overflow at `width` pixels.

    A copy of the page with a small probe script (first in `<head>`) is opened; the original is not changed.
    `page` may carry a query (`report.html?lang=en`).
    """
    path_str, _, query = str(page).partition("?")
    source = Path(path_str)
    html = source.read_text(encoding="utf-8")
    m = re.search(r"<head[^>]*>", html, re.I)
    probed = html[: m.end()] + _PROBE + html[m.end():] if m else _PROBE + html
    with tempfile.TemporaryDirectory(prefix="techscore-check-") as tmp:
        copy = Path(tmp) / source.name
        copy.write_text(probed, encoding="utf-8")
        for sibling in source.parent.iterdir():  # relative links (there should be none) keep working
            if sibling.name != source.name and not (Path(tmp) / sibling.name).exists():
                os.symlink(sibling.resolve(), Path(tmp) / sibling.name)
        result = run_chromium(f"{copy}{'?' + query if query else ''}", [
            "--dump-dom", "--enable-logging=stderr", "--v=0", "--virtual-time-budget=10000",
            f"--window-size={width},{height}",
        ], timeout=timeout)
    console = [f"{msg} ({src.rsplit('/', 1)[-1]})" for msg, src in _CONSOLE.findall(result.stderr)]
    found = _PROBE_OUT.search(result.stdout)
    if not found:
        return PageCheck(loaded=False, console=console, errors=[f"page did not finish loading: {_tail(result.stderr)}"])
    import html as html_lib

    data = json.loads(html_lib.unescape(found.group(1)))
    return PageCheck(
        loaded=True, images=int(data["images"]), errors=list(data["errors"]), broken_images=list(data["broken_images"]),
        console=console, overflow_px=int(data["overflow"]), overflowing=list(data["overflowing"]),
        lang=data.get("lang"), title=data.get("title", ""),
    )
