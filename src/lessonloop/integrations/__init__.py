"""Where teams already work (issue #14; docs/integrations.md).

One sub-package per integration, each built on the library the field uses for it: ``slack``
(slack_bolt in HTTP mode), ``trackers`` (GitHub Issues through PyGithub, Jira through ``jira``),
``sso`` (OpenID Connect through Authlib), ``chat`` (outgoing chat notifications through apprise)
and ``webhooks`` (outgoing signed event webhooks). They call the same service layer as the API,
the pages and the CLI, always as a named actor: a linked person, or a ``SystemActor`` for the
worker's passes.
"""
