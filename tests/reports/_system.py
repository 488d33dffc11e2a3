"""Make sure the system packages the reports need are present: headless Chromium and a CJK font.

Tests call `ensure_system_deps()`, which runs scripts/install-system-deps.sh (apt-get, as root) once per machine
under a file lock (pytest-xdist workers may ask at the same time); it returns why it could not, if it could not.
"""

from __future__ import annotations

import fcntl
import subprocess
import tempfile
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "install-system-deps.sh"
_LOCK = Path(tempfile.gettempdir()) / "techscore-system-deps.lock"


def ensure_system_deps(timeout: float = 900) -> str | None:
    """Install Chromium and fonts-noto-cjk when absent; None on success, else the reason it failed."""
    with open(_LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            done = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, timeout=timeout, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"{SCRIPT.name} could not run: {exc}"
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    if done.returncode != 0:
        return f"{SCRIPT.name} failed (exit {done.returncode}): {(done.stderr or done.stdout).strip()[-400:]}"
    return None


def cjk_font_or_reason() -> tuple[str | None, str]:
    """The CJK font matplotlib will use, installing fonts-noto-cjk first when none is found."""
    from techscore.figures import cjk_font

    family = cjk_font()
    if family is not None:
        return family, ""
    reason = ensure_system_deps()
    cjk_font.cache_clear()
    family = cjk_font()
    return family, reason or "fonts-noto-cjk installed but matplotlib finds no CJK font"


def chromium_or_reason() -> tuple[Path | None, str]:
    """The Chromium binary, installing it first when absent."""
    from techscore.reports.chromium import find_chromium

    found = find_chromium()
    if found is not None:
        return found, ""
    reason = ensure_system_deps()
    found = find_chromium()
    return found, reason or "chromium installed but not found"
