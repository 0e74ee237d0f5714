#!/usr/bin/env bash
# Install Debian's Chromium for the JupyterLab end-to-end test (Playwright drives it via /usr/bin/chromium), and a
# Korean and an emoji font (fonts-nanum, fonts-noto-color-emoji) so Hangul and the lessons' emoji render instead of
# empty boxes. Idempotent: installs only what is missing. Needs root or passwordless sudo for apt-get.
set -euo pipefail
CHROMIUM="${COURSE_CHROMIUM:-/usr/bin/chromium}"
missing=()
if [ -x "$CHROMIUM" ]; then
  echo "chromium already installed: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
else
  missing+=(chromium)
fi
if command -v fc-list >/dev/null 2>&1 && [ -n "$(fc-list :lang=ko family 2>/dev/null)" ]; then
  echo "a Korean font is installed: $(fc-list :lang=ko family | head -1)"
else
  missing+=(fonts-nanum fontconfig)
fi
if command -v fc-list >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi "emoji"; then
  echo "an emoji font is installed"
else
  missing+=(fonts-noto-color-emoji)
fi
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "error: missing ${missing[*]} and apt-get is not available; install Chromium (set COURSE_CHROMIUM to its path)" \
       "and a Korean font yourself." >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "error: installing ${missing[*]} needs root (apt-get); run this script as root or install sudo." >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "installed: ${missing[*]}"
