#!/bin/sh
# Installs the Debian 12 packages the build, the tests and the demo need,
# only when one is missing, so a second run costs nothing.
set -eu
pkgs="apache2 apache2-dev libapache2-mod-perl2 libssl-dev libio-socket-ssl-perl \
libnet-ssleay-perl gnutls-bin openssl make gcc"
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
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing >/dev/null
