#!/usr/bin/env bash
# Debian packages the tests and the demo need; idempotent, fast when everything is there.
set -euo pipefail
PACKAGES=(slapd ldap-utils libldap-dev libsasl2-dev nginx chromium wrk fonts-wqy-zenhei)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "install-system: missing Debian packages: ${missing[*]} (run as root)" >&2
  exit 1
fi
# Installing a daemon must not start it on its default port.
[ -f /usr/sbin/policy-rc.d ] || { printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; }
echo "install-system: installing ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
