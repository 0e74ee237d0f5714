#!/usr/bin/env bash
# Install Debian's Chromium for the JupyterLab end-to-end test (Playwright drives it via /usr/bin/chromium).
# Idempotent: does nothing when the browser is already there. Needs root or passwordless sudo for apt-get.
set -euo pipefail
CHROMIUM="${COURSE_CHROMIUM:-/usr/bin/chromium}"
if [ -x "$CHROMIUM" ]; then
  echo "chromium already installed: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "error: $CHROMIUM is missing and apt-get is not available; install Chromium and set COURSE_CHROMIUM to its path." >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "error: installing chromium needs root (apt-get); run this script as root or install sudo." >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
echo "installed: $("$CHROMIUM" --version)"
