"""Real servers on loopback for inboxbot's tests (not shipped with inboxbot).

Dovecot for IMAP, an aiosmtpd server that records what it receives, a throwaway PostgreSQL, and
a loopback OAuth 2.0 token and introspection endpoint.
Each one raises RigUnavailable when what it needs is not installed (tests skip on that, unless
INBOXBOT_REQUIRE_RIG=1), and RigError when it is installed but will not start.
See rig/README.md for running them by hand.
"""

from rig._common import RigError, RigUnavailable
from rig.dovecot import Dovecot, MailUser
from rig.messages import make_message
from rig.oauth import OAuthServer
from rig.postgres import Postgres
from rig.smtp import Received, RecordingSMTP

__all__ = [
    "Dovecot",
    "MailUser",
    "OAuthServer",
    "Postgres",
    "Received",
    "RecordingSMTP",
    "RigError",
    "RigUnavailable",
    "make_message",
]
