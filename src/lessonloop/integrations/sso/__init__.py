"""Single sign-on with the company's OpenID Connect provider (issue #14; docs/integrations.md).

* :mod:`.config` — the settings (``LESSONLOOP_OIDC_*``) checked into an :class:`SsoConfig`.
* :mod:`.client` — the protocol, through Authlib: discovery, the authorization request with
  PKCE (S256), state and nonce, the code exchange and the ID token's verification (signature by
  the provider's JWKS, ``iss``, ``aud``, ``exp``, ``nonce``) with joserfc.
* :mod:`.signin` — who the verified claims are: the linked identity, else a person by *verified*
  e-mail, else (when allowed) a new person; and the sign-ins under way (state kept server-side).
* :mod:`.policy` — the workspace's "password sign-in allowed", with its guard against locking
  everyone out.
* :mod:`.pages` — the web routes; the admin API is :mod:`lessonloop.api.sign_in`, the CLI
  ``lessonloop sso`` (:mod:`lessonloop.cli.sso_cmds`).
"""
