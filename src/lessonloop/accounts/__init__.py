"""Who may sign in, and how: accounts (argon2id passwords), API tokens and web sessions."""
