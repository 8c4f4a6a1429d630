"""inboxbot: runs a company's privacy mailbox so that no data-subject request is lost or late."""

__version__ = "0.1.0"
