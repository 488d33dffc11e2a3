#!/usr/bin/env bash
# System packages techscore's reports need: headless Chromium (HTML -> PDF, report tests) and a CJK font
# (Chinese text in HTML pages and matplotlib plots). Idempotent: installs only what is missing.
# Debian/Ubuntu with apt-get; needs root (or passwordless sudo). Used by tests and CI.
set -euo pipefail

need=()
have_chromium() {
    command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
        || command -v google-chrome >/dev/null 2>&1
}
have_cjk_font() {
    command -v fc-list >/dev/null 2>&1 && fc-list :lang=zh 2>/dev/null | grep -qi "noto\|cjk\|wqy\|droid"
}
have_chromium || need+=(chromium)
have_cjk_font || need+=(fonts-noto-cjk fontconfig)

if [ "${#need[@]}" -eq 0 ]; then
    echo "install-system-deps: chromium and a CJK font are present"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-system-deps: apt-get not found; install by hand: ${need[*]}" >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO="sudo -n"
    else
        echo "install-system-deps: not root and no passwordless sudo; install by hand: ${need[*]}" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
echo "install-system-deps: installing ${need[*]}"
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${need[@]}"
command -v fc-cache >/dev/null 2>&1 && fc-cache -f >/dev/null 2>&1 || true
echo "install-system-deps: done"
