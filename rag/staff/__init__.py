"""Staff: accounts, the audit log and the upload desk that publishes documents into the index."""

