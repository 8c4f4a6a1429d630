"""The Dovecot 2.3 configuration the rig writes: standalone (no /etc/dovecot), all on loopback."""

# Everything Dovecot 2.3 offers after login, less IDLE: for the polling-fallback tests.
CAPABILITIES_WITHOUT_IDLE = (
    "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE SORT SORT=DISPLAY THREAD=REFERENCES "
    "THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE UNSELECT CHILDREN "
    "NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 CONDSTORE QRESYNC ESEARCH ESORT SEARCHRES "
    "WITHIN CONTEXT=SEARCH LIST-STATUS BINARY MOVE SNIPPET=FUZZY PREVIEW=FUZZY PREVIEW "
    "STATUS=SIZE SAVEDATE LITERAL+ NOTIFY SPECIAL-USE"
)

# With an introspection URL: passwords for PLAIN/LOGIN, OAuth2 tokens for XOAUTH2/OAUTHBEARER,
# each checked by its own passdb.
OAUTH2_PASSDB = """\
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {rig}/dovecot-oauth2.conf.ext
}}
"""

# The oauth2 passdb's settings (Dovecot 2.3 dovecot-oauth2.conf.ext): no tokeninfo URL, so every
# token is POSTed to the introspection endpoint (`token=...`); the answer must say active=true and
# name the user who logs in.
OAUTH2_CONF = """\
introspection_url = {url}
introspection_mode = post
username_attribute = username
active_attribute = active
active_value = true
timeout_msecs = 5000
"""

CONFIG = """\
# Written by rig/dovecot.py: a throwaway Dovecot 2.3 on loopback. All processes run as {user}.
protocols = imap
listen = 127.0.0.1
base_dir = {rig}/run
state_dir = {rig}/state
instance_name = inboxbot-rig-{port}

default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
first_valid_uid = {uid}
first_valid_gid = {gid}

service anvil {{
  chroot =
  # Tests fail logins on purpose: without the penalty socket they cost nothing.
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {ssl_port}
    ssl = yes
  }}
}}

log_path = {rig}/log/dovecot.log
info_log_path = {rig}/log/dovecot.log
auth_verbose = yes
auth_failure_delay = 0

ssl = yes
ssl_cert = <{rig}/ssl/cert.pem
ssl_key = <{rig}/ssl/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login{oauth2_mechanisms}

# One passwd-file per user: Dovecot re-reads a changed file at most once a second, but opens a
# file it has not seen at once, so users added mid-test can log in immediately.
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {rig}/users/%u
{passwd_mechanisms}}}
{oauth2_passdb}userdb {{
  driver = passwd-file
  args = username_format=%u {rig}/users/%u
  default_fields = uid={uid} gid={gid} home={rig}/mail/%d/%n
}}
mail_location = maildir:~/Maildir
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Trash {{
    special_use = \\Trash
    auto = create
  }}
  mailbox Processed {{
    auto = create
  }}
}}
protocol imap {{
  mail_max_userip_connections = 100
{capability}}}
"""
