#!/usr/bin/env bash
# Debian packages the tests, the demo and the benchmarks need.
#
# Idempotent: when every package is installed it returns at once (one dpkg-query, no apt).
# Otherwise, as root, it runs `apt-get update` and installs only the missing ones, without
# recommends and without starting any daemon (slapd, nginx) on its default port.
set -euo pipefail

PACKAGES=(
  slapd ldap-utils           # OpenLDAP server + client tools for the LDAP sign-in tests
  libldap-dev libsasl2-dev   # headers: python-ldap builds from source
  nginx                      # reverse proxy with client certificates (the "CA" sign-in path)
  chromium                   # headless browser tests through Playwright
  wrk                        # HTTP load generator for bench/
  valgrind                   # callgrind instruction counts for bench/ (cold_page, homepage_instructions)
  fonts-wqy-zenhei           # CJK font, so Chinese text shows in screenshots
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$pkg")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-system: all ${#PACKAGES[@]} Debian packages are installed"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-system: missing Debian packages: ${missing[*]}" >&2
  echo "install-system: run as root (or: sudo apt-get install --no-install-recommends ${missing[*]})" >&2
  exit 1
fi

# Installing a daemon package must not start it: invoke-rc.d honours policy-rc.d's exit 101.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  echo "install-system: created /usr/sbin/policy-rc.d (exit 101)"
fi

echo "install-system: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-system: done"
