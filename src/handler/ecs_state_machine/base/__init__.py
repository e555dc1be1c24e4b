"""ARNs, names, errors and their translation, the administrator's settings, the AWS session, the log: what every layer uses, and which uses nothing of the provider's own."""
