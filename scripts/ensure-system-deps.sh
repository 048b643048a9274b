#!/usr/bin/env bash
# Installs the Debian packages the test suite needs, only when they are missing:
# Chromium (browser tests), PostgreSQL 15 and PostGIS (database tests). Needs root or sudo.
# (The live-camera tests need no package: their RTSP server is tests/support/rtsp_server.py on PyAV.)
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
# PostGIS for the camera registry's geo queries (the tests' PostgreSQL 15 creates the extension).
ls /usr/share/postgresql/15/extension/postgis.control >/dev/null 2>&1 || missing+=(postgresql-15-postgis-3)
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing Debian packages: ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
