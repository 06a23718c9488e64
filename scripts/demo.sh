#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# `make demo`: httpd with mod_tls_tickets and mod_sni_vhost on https://localhost:$DEMO_PORT
# (8443), two name-based SSL vhosts (alpha.localhost, beta.localhost) on certificates of a
# demo CA, one shared ticket-key file.  Runs in the foreground until Ctrl-C, then stops httpd.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
port=${DEMO_PORT:-8443}
dir=${DEMO_DIR:-$top/build/demo}
httpd=${HTTPD:-/usr/sbin/apache2}
modules=$(apxs -q LIBEXECDIR)
module=${TK_MODULE_DIR:-$top/build}/mod_tls_tickets.so
sni_module=${TK_MODULE_DIR:-$top/build}/mod_sni_vhost.so

for m in "$module" "$sni_module"; do
    [ -f "$m" ] || { echo "demo: $m is missing; run make first" >&2; exit 1; }
done
mkdir -p "$dir"
chmod 755 "$dir"
cd "$dir"

# A demo CA and one certificate per vhost, made once.
if [ ! -f ca.crt ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=mod_tls_tickets demo CA" \
        -keyout ca.key -out ca.crt 2>/dev/null
fi
for name in alpha beta; do
    [ -f "$name.crt" ] && continue
    openssl req -newkey rsa:2048 -nodes -subj "/CN=$name.localhost" \
        -keyout "$name.key" -out "$name.csr" 2>/dev/null
    # alpha is the default vhost: it also answers https://localhost:$port
    san="DNS:$name.localhost"
    [ "$name" = alpha ] && san="$san,DNS:localhost"
    printf 'subjectAltName=%s\n' "$san" > "$name.ext"
    openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 \
        -extfile "$name.ext" -out "$name.crt" 2>/dev/null
    mkdir -p "htdocs/$name"
    printf 'Hello from %s.localhost\n' "$name" > "htdocs/$name/index.html"
done
chmod -R a+rX htdocs

# The ticket-key file, text format: one random 80-byte key (AES-256), mode 0600.
if [ ! -f ticket.keys ]; then
    umask 077
    { echo "# demo ticket keys: the first line seals, every line opens"
      openssl rand 80 | base64 -w0; echo; } > ticket.keys
    umask 022
fi

user=""
[ "$(id -u)" -eq 0 ] && user="User nobody
Group nogroup"
cat > httpd.conf <<EOF
ServerRoot $dir
ServerName localhost
LoadModule mpm_event_module $modules/mod_mpm_event.so
LoadModule authz_core_module $modules/mod_authz_core.so
LoadModule mime_module $modules/mod_mime.so
LoadModule dir_module $modules/mod_dir.so
LoadModule ssl_module $modules/mod_ssl.so
LoadModule tls_tickets_module $module
LoadModule sni_vhost_module $sni_module
$user
Listen 127.0.0.1:$port
PidFile $dir/httpd.pid
ErrorLog $dir/error_log
LogLevel warn tls_tickets:info sni_vhost:info
DefaultRuntimeDir $dir
TypesConfig /dev/null
DirectoryIndex index.html

SSLTicketKeyFile $dir/ticket.keys

<VirtualHost 127.0.0.1:$port>
    ServerName alpha.localhost
    SSLEngine on
    SSLCertificateFile $dir/alpha.crt
    SSLCertificateKeyFile $dir/alpha.key
    DocumentRoot $dir/htdocs/alpha
</VirtualHost>
<VirtualHost 127.0.0.1:$port>
    ServerName beta.localhost
    SSLEngine on
    SSLCertificateFile $dir/beta.crt
    SSLCertificateKeyFile $dir/beta.key
    DocumentRoot $dir/htdocs/beta
</VirtualHost>
EOF

"$httpd" -t -f "$dir/httpd.conf" >/dev/null 2>&1 || "$httpd" -t -f "$dir/httpd.conf"
"$httpd" -f "$dir/httpd.conf" -DFOREGROUND &
pid=$!
stop() {
    trap - INT TERM
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    echo
    echo "demo: httpd stopped"
    exit 0
}
trap stop INT TERM

# Wait until httpd answers.
i=0
until openssl s_client -connect "127.0.0.1:$port" -servername alpha.localhost \
        -CAfile ca.crt </dev/null >/dev/null 2>&1; do
    i=$((i + 1))
    if [ "$i" -gt 100 ] || ! kill -0 "$pid" 2>/dev/null; then
        echo "demo: httpd did not start; see $dir/error_log" >&2
        stop
    fi
    sleep 0.1
done

cat <<EOF

mod_tls_tickets + mod_sni_vhost demo: https://localhost:$port  (alpha.localhost and beta.localhost)
CA certificate: $dir/ca.crt    ticket keys: $dir/ticket.keys    log: $dir/error_log

A full handshake that saves the session (with its ticket), then a resumption:

  openssl s_client -connect localhost:$port -servername alpha.localhost -tls1_2 \\
      -CAfile $dir/ca.crt -sess_out /tmp/alpha.sess </dev/null | grep -E '^(New|Reused)'
  openssl s_client -connect localhost:$port -servername alpha.localhost -tls1_2 \\
      -CAfile $dir/ca.crt -sess_in /tmp/alpha.sess </dev/null | grep -E '^(New|Reused)'

TLS 1.3 sends its tickets after the handshake, so read a response before saving:

  printf 'GET / HTTP/1.0\\r\\n\\r\\n' | openssl s_client -connect localhost:$port \\
      -servername beta.localhost -CAfile $dir/ca.crt -ign_eof -sess_out /tmp/beta.sess | grep -E '^(New|Reused)'
  printf 'GET / HTTP/1.0\\r\\n\\r\\n' | openssl s_client -connect localhost:$port \\
      -servername beta.localhost -CAfile $dir/ca.crt -ign_eof -sess_in /tmp/beta.sess | grep -E '^(New|Reused)'

The page: curl --cacert $dir/ca.crt --resolve alpha.localhost:$port:127.0.0.1 https://alpha.localhost:$port/

EOF

# Show it once.
sess=$dir/selfcheck.sess
openssl s_client -connect "127.0.0.1:$port" -servername alpha.localhost -tls1_2 -CAfile ca.crt \
    -sess_out "$sess" </dev/null 2>/dev/null | grep -E '^(New|Reused)' | sed 's/^/first connection:  /'
openssl s_client -connect "127.0.0.1:$port" -servername alpha.localhost -tls1_2 -CAfile ca.crt \
    -sess_in "$sess" </dev/null 2>/dev/null | grep -E '^(New|Reused)' | sed 's/^/second connection: /'
rm -f "$sess"
echo
echo "Serving until Ctrl-C."
wait "$pid" || true
