# /etc/cron.d/tls-ticket-keys: the rotation of /etc/default/tls-ticket-keys for machines
# without systemd (elsewhere, enable tls-ticket-keys-rotate.timer instead; not both).
# Uncomment the line to rotate the key file every 6 hours; see tls-ticket-keys(8).
SHELL=/bin/sh
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

#0 */6 * * *	root	[ -x /usr/sbin/tls-ticket-keys ] && . /etc/default/tls-ticket-keys && tls-ticket-keys rotate --format "$KEY_FORMAT" --keep "$KEEP" $ROTATE_OPTIONS "$KEY_FILE" >/dev/null
