#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Installs the Debian 12 packages the build, the tests and the demo need,
# only when one is missing, so a second run costs nothing.
set -eu
pkgs="apache2 apache2-dev libapache2-mod-perl2 libssl-dev libio-socket-ssl-perl \
libnet-ssleay-perl gnutls-bin openssl curl make gcc"
[ "$#" -gt 0 ] && pkgs="$pkgs $*"
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing Debian packages:$missing (run as root, or install them)" >&2
  exit 1
fi
echo "install-deps: installing$missing"
# Debian starts a package's service when it is installed (apache2 and nginx on port 80,
# and nginx's install fails when that port is taken).  This project runs its own servers
# on their own ports, so, as Docker images do, deny service starts during the install,
# unless a policy is already there.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing >/dev/null
