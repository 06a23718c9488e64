#!/bin/bash
# make test-deb: the Debian packages on this machine, with Debian's own apache2.
#
# Builds the packages (scripts/build-deb.sh), installs them with apt-get, enables
# ssl, tls_tickets, sni_vhost and the default-ssl site (snakeoil certificate), starts
# Debian's configuration with apache2ctl (no systemd needed), and checks: TLS 1.2 and
# TLS 1.3 sessions resume, server-status?auto has the TLSTickets and SNIVhost lines, a
# key file made by tls-ticket-keys in /etc/apache2/ (root, 0600) is taken at a graceful
# restart, rotations by the command of the systemd service and of the cron file put
# the new key in service with no restart and the old key's tickets still resume; then
# it stops apache2, purges both packages, checks that none of their files is left and
# that Debian's apache2 still passes configtest.
#
# It runs as root and changes the machine's Apache setup, so it first copies
# /etc/apache2 and /var/lib/apache2 (a2enmod's state) aside and puts them back when it
# ends, however it ends, purges the packages if it installed them, and stops the
# apache2 it started (only that one: it refuses to run while Debian's apache2 runs).
# Ports 80 and 443 when free; otherwise free ports, written into the copy of the
# configuration it changes.  Any failed check makes it exit 1, after saying which.
set -u -o pipefail
cd "$(dirname "$0")/.."

PKGS="libapache2-mod-tls-tickets libapache2-mod-sni-vhost"
KEYS=/etc/apache2/ticket.keys
PIDFILE=/var/run/apache2/apache2.pid
ERRLOG=/var/log/apache2/error.log
TOOL=/usr/sbin/tls-ticket-keys
failures=()
checks=0

say() { printf 'test-deb: %s\n' "$*"; }
die() {
    printf 'test-deb: FATAL: %s\n' "$*" >&2
    exit 1
}
# check DESCRIPTION COMMAND...: runs the command; its status is the check's outcome.
check() {
    local what=$1
    shift
    checks=$((checks + 1))
    if "$@"; then
        printf 'ok %d - %s\n' "$checks" "$what"
    else
        printf 'not ok %d - %s\n' "$checks" "$what"
        failures+=("$what")
    fi
}
alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }
# the pids whose parent is $1 (from /proc: procps may be missing)
children_of() {
    local f pid comm state ppid rest
    for f in /proc/[0-9]*/stat; do
        read -r pid comm state ppid rest <"$f" 2>/dev/null && [ "$ppid" = "$1" ] && echo "$pid"
    done
}
# waits up to $1 seconds for the command to succeed
wait_for() {
    local n=$(($1 * 10))
    shift
    while ! "$@"; do
        n=$((n - 1))
        [ "$n" -gt 0 ] || return 1
        sleep 0.1
    done
}

[ "$(id -u)" -eq 0 ] || die "run as root: it installs packages and runs Debian's apache2"
command -v apache2ctl >/dev/null || die "Debian's apache2 is not installed (scripts/install-deps.sh)"
for p in $PKGS; do
    if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q installed; then
        die "$p is installed already; this test installs and purges it: apt-get purge $p first"
    fi
done
if [ -s "$PIDFILE" ] && alive "$(cat "$PIDFILE")"; then
    die "Debian's apache2 runs (pid $(cat "$PIDFILE"), $PIDFILE); this test starts and stops" \
        "its own: stop it first (apache2ctl stop)"
fi

version=$(sed -n 's/^#define TK_VERSION "\(.*\)"/\1/p' src/version.h)
scratch=$(mktemp -d /tmp/test-deb.XXXXXX)
started=""
installed=""
made_snakeoil=""
children=""
log_from=$(stat -c %s "$ERRLOG" 2>/dev/null || echo 0)

cleanup() {
    local rc=$? pid
    trap - EXIT INT TERM
    if [ -n "$started" ]; then
        if alive "$started"; then
            children="$children $(children_of "$started" | tr '\n' ' ')"
            apache2ctl stop >/dev/null 2>&1
            wait_for 10 eval '! alive "$started"' || kill -TERM "$started" 2>/dev/null
        fi
        # the watcher and children of the apache2 this test started, had they outlived it
        for pid in $children; do
            alive "$pid" && [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = apache2 ] &&
                kill -TERM "$pid" 2>/dev/null
        done
    fi
    if [ -n "$installed" ]; then
        DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq $PKGS >/dev/null 2>&1
    fi
    if [ -d "$scratch/etc-apache2" ]; then
        rm -rf /etc/apache2 /var/lib/apache2
        cp -a "$scratch/etc-apache2" /etc/apache2
        cp -a "$scratch/var-lib-apache2" /var/lib/apache2
        if diff -r --no-dereference "$scratch/etc-apache2" /etc/apache2 >/dev/null; then
            say "/etc/apache2 and /var/lib/apache2 restored"
        else
            echo "test-deb: /etc/apache2 differs from its copy in $scratch, left there" >&2
            rc=1
            scratch=""
        fi
    fi
    if [ -n "$made_snakeoil" ]; then
        find /etc/ssl/certs -maxdepth 1 -lname ssl-cert-snakeoil.pem -delete
        rm -f /etc/ssl/certs/ssl-cert-snakeoil.pem /etc/ssl/private/ssl-cert-snakeoil.key
    fi
    [ -n "$scratch" ] && rm -rf "$scratch"
    if [ "$rc" -ne 0 ] && [ -f "$ERRLOG" ]; then
        echo "test-deb: apache2's error log during the test:" >&2
        tail -c +"$((log_from + 1))" "$ERRLOG" | tail -30 >&2
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

cp -a /etc/apache2 "$scratch/etc-apache2" || die "cannot copy /etc/apache2 aside"
cp -a /var/lib/apache2 "$scratch/var-lib-apache2" || die "cannot copy /var/lib/apache2 aside"

# --- the packages ----------------------------------------------------------------------
scripts/build-deb.sh || die "make deb failed"
debs=()
for p in $PKGS; do
    debs+=("./build/deb/${p}_${version}_$(dpkg --print-architecture).deb")
done
installed=1
say "apt-get install ${debs[*]}"
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${debs[@]}" ||
    die "apt-get install failed"

check "both packages installed" dpkg-query -W $PKGS
check "tls-ticket-keys --version is $version" \
    eval '[ "$($TOOL --version)" = "tls-ticket-keys $version" ]'
check "man page installed" test -s /usr/share/man/man8/tls-ticket-keys.8.gz
check "no key file made at install" test ! -e "$KEYS"
check "modules not enabled at install" \
    eval '! ls /etc/apache2/mods-enabled/ | grep -qE "^(tls_tickets|sni_vhost)\."'
check "rotation timer installed, not enabled" \
    eval 'test -f /lib/systemd/system/tls-ticket-keys-rotate.timer &&
          ! ls /etc/systemd/system/*.wants/ 2>/dev/null | grep -q tls-ticket-keys'
if command -v systemd-analyze >/dev/null; then
    check "systemd-analyze verify: the rotation service and timer" \
        systemd-analyze verify --man=no /lib/systemd/system/tls-ticket-keys-rotate.service \
        /lib/systemd/system/tls-ticket-keys-rotate.timer
fi

# --- Debian's configuration with the modules -------------------------------------------
if [ ! -e /etc/ssl/certs/ssl-cert-snakeoil.pem ]; then
    make-ssl-cert generate-default-snakeoil || die "make-ssl-cert generate-default-snakeoil failed"
    made_snakeoil=1
fi
ssl_before=$(test -e /etc/apache2/mods-enabled/ssl.load && echo 1)
a2enmod -q tls_tickets >/dev/null || die "a2enmod tls_tickets failed"
if [ -z "$ssl_before" ]; then
    check "a2enmod tls_tickets enables ssl (# Depends: ssl)" \
        test -e /etc/apache2/mods-enabled/ssl.load
fi
a2enmod -q ssl tls_tickets sni_vhost status >/dev/null || die "a2enmod ssl tls_tickets sni_vhost failed"
a2ensite -q default-ssl >/dev/null || die "a2ensite default-ssl failed"

port_free() {
    perl -MIO::Socket::INET -e 'exit !IO::Socket::INET->new(Listen => 1, LocalPort => $ARGV[0], ReuseAddr => 1)' "$1"
}
free_port() { perl -MIO::Socket::INET -e 'print IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1")->sockport'; }
HTTP=80
HTTPS=443
if ! port_free 80 || ! port_free 443; then
    HTTP=$(free_port)
    HTTPS=$(free_port)
    say "port 80 or 443 is taken: Debian's configuration listens on $HTTP and $HTTPS for this test"
    sed -i -e "s/^\(\s*\)Listen 80$/\1Listen $HTTP/" -e "s/^\(\s*\)Listen 443$/\1Listen $HTTPS/" \
        /etc/apache2/ports.conf
    sed -i "s/<VirtualHost \(\*\|_default_\):80>/<VirtualHost *:$HTTP>/" \
        /etc/apache2/sites-available/000-default.conf
    sed -i "s/<VirtualHost \(\*\|_default_\):443>/<VirtualHost *:$HTTPS>/" \
        /etc/apache2/sites-available/default-ssl.conf
    grep -q "Listen $HTTPS" /etc/apache2/ports.conf ||
        die "cannot move Debian's configuration off port 443 (ports.conf has no 'Listen 443')"
fi

check "apache2ctl configtest with ssl, tls_tickets, sni_vhost, default-ssl" apache2ctl configtest
started=unknown
apache2ctl start || die "apache2ctl start failed"
wait_for 10 test -s "$PIDFILE" || die "apache2 wrote no $PIDFILE"
started=$(cat "$PIDFILE")
status() { curl -fsS --max-time 5 "http://127.0.0.1:$HTTP/server-status$1"; }
wait_for 10 eval 'status "?auto" >/dev/null 2>&1' ||
    die "apache2 (pid $started) does not answer on http://127.0.0.1:$HTTP/server-status"
say "apache2 runs, pid $started, ports $HTTP and $HTTPS"

# s_client VERSION SESSION_OUT [SESSION_IN]: one request; prints "New" or "Reused".
s_client() {
    local in=()
    [ -n "${3:-}" ] && in=(-sess_in "$3")
    printf 'GET / HTTP/1.0\r\nHost: localhost\r\n\r\n' |
        openssl s_client -connect "127.0.0.1:$HTTPS" -servername localhost "-$1" -ign_eof \
            -sess_out "$2" "${in[@]}" 2>/dev/null | sed -n 's/^\(New\|Reused\), .*/\1/p'
}
resumes() {
    local v=$1 first again
    first=$(s_client "$v" "$scratch/$v.sess")
    again=$(s_client "$v" "$scratch/$v.again" "$scratch/$v.sess")
    [ "$first" = New ] && [ "$again" = Reused ] ||
        { echo "# $v: first handshake '$first', second '$again'"; return 1; }
}
check "TLS 1.2 session resumes (automatic keys)" resumes tls1_2
check "TLS 1.3 session resumes (automatic keys)" resumes tls1_3

auto=$(status "?auto")
counter() { printf '%s\n' "$auto" | sed -n "s/^$1: \([0-9]*\)$/\1/p"; }
# at_least NAME N: the counter NAME of $auto is N or more
at_least() {
    [ "$(counter "$1")" -ge "$2" ] || { echo "# $1: $(counter "$1"), not $2 or more"; return 1; }
}
has_lines() {
    local k
    for k in "$@"; do
        [ -n "$(counter "$k")" ] || { echo "# server-status?auto has no $k line"; return 1; }
    done
}
check "server-status?auto shows the TLSTickets lines" has_lines TLSTicketsSealed \
    TLSTicketsResumed TLSTicketsRenewed TLSTicketsUnknownKey TLSTicketKeyReloads \
    TLSTicketKeyReloadErrors TLSTicketsOtherVhost TLSTicketKeyAge TLSTicketKeyLastReload
check "TLSTicketsResumed counts the 2 resumptions" at_least TLSTicketsResumed 2
check "server-status?auto shows the SNIVhost lines" has_lines SNIVhostExact SNIVhostWildcard \
    SNIVhostGlob SNIVhostUnknownDefault SNIVhostUnknownRejected SNIVhostMissingDefault \
    SNIVhostMissingRejected
check "server-status: automatic keys serve while there is no key file" \
    eval 'status "" | grep -q "(automatic keys)"'

# --- a key file of the operator's --------------------------------------------------------
sealing() { "$TOOL" list "$KEYS" | awk '$NF == "seals" { print $2 }'; }
in_service() { local page; page=$(status "") && grep -qF "$KEYS" <<<"$page" && grep -qF "sealing key $1," <<<"$page"; }

check "tls-ticket-keys generate $KEYS" "$TOOL" generate "$KEYS"
check "the key file is root's, mode 0600" eval '[ "$(stat -c %U:%G:%a "$KEYS")" = root:root:600 ]'
key1=$(sealing)

conf=/etc/apache2/mods-available/tls_tickets.conf
sni_conf=/etc/apache2/mods-available/sni_vhost.conf
cp "$conf" "$scratch/tls_tickets.conf"
cp "$sni_conf" "$scratch/sni_vhost.conf"
# Every commented example directive of the two .conf files, uncommented, is valid, given
# what the farm's example names: the Redis socache module and the secret file (configtest
# does not reach the store).
sed -i 's/^\t#\([A-Z]\)/\t\1/' "$conf" "$sni_conf"
a2enmod -q socache_redis
secret=$(sed -n 's/^\tSSLTicketKeyStoreSecret //p' "$conf")
(umask 077 && openssl rand -hex 32 > "$secret")
check "every example directive of tls_tickets.conf and sni_vhost.conf passes configtest" \
    eval 'grep -cP "^\t[A-Z]" "$conf" "$sni_conf" && apache2ctl configtest'
rm -f "$secret"
a2dismod -q socache_redis
cp "$scratch/tls_tickets.conf" "$conf"
cp "$scratch/sni_vhost.conf" "$sni_conf"
# As the README says: uncomment SSLTicketKeyFile in tls_tickets.conf.
sed -i "s|^\t#SSLTicketKeyFile $KEYS\$|\tSSLTicketKeyFile $KEYS|" "$conf"
check "SSLTicketKeyFile $KEYS set in tls_tickets.conf" grep -qP "^\tSSLTicketKeyFile \Q$KEYS\E$" "$conf"
check "apache2ctl graceful" apache2ctl graceful
check "the key file's key $key1 in service after the graceful restart" \
    wait_for 10 in_service "$key1"
check "TLS 1.2 session under the key file resumes" resumes tls1_2
check "TLS 1.3 session under the key file resumes" resumes tls1_3
cp "$scratch/tls1_2.sess" "$scratch/before-rotation.sess"
reloads=$(auto=$(status "?auto") && counter TLSTicketKeyReloads)

# The rotation the service runs: its ExecStart with /etc/default/tls-ticket-keys (the
# defaults name $KEYS); then the cron file's command.
unit_cmd=$(sed -n 's/^ExecStart=//p' /lib/systemd/system/tls-ticket-keys-rotate.service)
cron_cmd=$(sed -n 's/^#[^#]*\troot\t//p' /etc/cron.d/tls-ticket-keys)
check "the service's ExecStart and the cron file's command found" \
    eval '[ -n "$unit_cmd" ] && [ -n "$cron_cmd" ]'
check "rotation by the service's command: $unit_cmd" \
    eval '(set -a && . /etc/default/tls-ticket-keys && sh -c "$unit_cmd")'
key2=$(sealing)
check "a new key seals in the file ($key1 -> $key2)" eval '[ -n "$key2" ] && [ "$key2" != "$key1" ]'
check "the new key $key2 in service, no restart" wait_for 10 in_service "$key2"
check "TLSTicketKeyReloads rose" \
    eval 'auto=$(status "?auto") && at_least TLSTicketKeyReloads $((reloads + 1))'
check "the pid of apache2 is the same" eval '[ "$(cat "$PIDFILE")" = "$started" ]'
renewed=$(auto=$(status "?auto") && counter TLSTicketsRenewed)
check "a TLS 1.2 ticket of the previous key resumes after the rotation" \
    eval '[ "$(s_client tls1_2 "$scratch/renewed.sess" "$scratch/before-rotation.sess")" = Reused ]'
check "TLSTicketsRenewed counts it" \
    eval 'auto=$(status "?auto") && at_least TLSTicketsRenewed $((renewed + 1))'
check "rotation by the cron file's command: $cron_cmd" sh -c "$cron_cmd"
key3=$(sealing)
check "the cron rotation's key $key3 in service" \
    eval '[ "$key3" != "$key2" ] && wait_for 10 in_service "$key3"'
check "$KEYS keeps 3 keys" eval '[ "$("$TOOL" check "$KEYS" | sed -n "s/.*ok: \([0-9]*\) key.*/\1/p")" = 3 ]'

# --- stop, purge ---------------------------------------------------------------------------
children=$(children_of "$started" | tr '\n' ' ')
check "apache2ctl stop" apache2ctl stop
gone() {
    local c
    alive "$started" && return 1
    for c in $children; do alive "$c" && return 1; done
    return 0
}
check "apache2 (pid $started) and its processes ($children) gone" wait_for 10 gone
started=""

files=$(dpkg -L $PKGS | sort -u)
check "apt-get purge $PKGS" \
    eval 'DEBIAN_FRONTEND=noninteractive apt-get purge -y -q $PKGS >/dev/null'
installed=""
left=()
while IFS= read -r f; do
    [ "$f" != /. ] || continue
    [ -e "$f" ] || [ -L "$f" ] || continue
    # a directory stays when another package has it (/usr, /etc/apache2/mods-available)
    if [ -d "$f" ] && dpkg -S "$f" >/dev/null 2>&1; then continue; fi
    left+=("$f")
done <<<"$files"
check "no file of the packages left ($(wc -l <<<"$files") paths): ${left[*]:-none}" \
    test "${#left[@]}" -eq 0
check "the key file made by the operator stays" test -s "$KEYS"
check "no mods-enabled link left to tls_tickets or sni_vhost" \
    eval '! ls /etc/apache2/mods-enabled/ | grep -qE "^(tls_tickets|sni_vhost)\."'
check "Debian's apache2 still passes configtest" apache2ctl configtest

if [ "${#failures[@]}" -gt 0 ]; then
    echo "test-deb: ${#failures[@]} of $checks checks failed:" >&2
    printf '  %s\n' "${failures[@]}" >&2
    exit 1
fi
say "all $checks checks passed"
