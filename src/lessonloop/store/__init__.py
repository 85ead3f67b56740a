"""Storage: engines and sessions per settings, migrations, the history log and the search index."""
