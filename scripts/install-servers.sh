#!/usr/bin/env bash
# Install the real servers the integration tests start on loopback: Dovecot (IMAP) and
# PostgreSQL, Chromium (headless, to screenshot the digest's HTML), and systemd's systemd-analyze
# (to verify the unit; it runs without systemd as PID 1). aiosmtpd (SMTP) comes from pip.
# Needs root (or sudo) for apt-get.
set -euo pipefail
need=()
[ -x /usr/sbin/dovecot ] || need+=(dovecot-imapd dovecot-core)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v openssl >/dev/null || need+=(openssl)
command -v chromium >/dev/null || need+=(chromium)
command -v systemd-analyze >/dev/null || need+=(systemd)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
