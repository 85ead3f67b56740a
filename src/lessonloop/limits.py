"""Every size limit on input, in one place (documented in docs/api.md, "Limits").

The API's input models, the web forms, the CLI and the services all refer to these names, so a
limit changes here and nowhere else. Lengths are in characters (after surrounding whitespace is
stripped), list lengths in items, request bodies in bytes as sent.

Where a limit matches a database column (``String(300)`` for a title) the column is the reason
for the number; the others keep one request from holding a server thread or filling every list
answer with megabytes (issue #11, leak 6).
"""

from __future__ import annotations

# --- one-line text ---------------------------------------------------------------------------
TITLE_MAX = 300
"""A failure's, lesson's or guardrail's title; a notification subject."""

ACTION_TITLE_MAX = 500
"""A corrective action's title (a sentence with its check, so longer than a title)."""

PERSON_NAME_MAX = 200
HANDLE_MAX = 64
EMAIL_MAX = 320
TEAM_NAME_MAX = 120
TOKEN_NAME_MAX = 100
URL_MAX = 2000

REF_MAX = EMAIL_MAX
"""A reference to a person or team typed as text: a handle, an e-mail or a team name."""

SHORT_TEXT_MAX = 200
"""Other one-line fields: a label, an experiment's metric, an external id, a company."""

SOURCE_MAX = 120
"""Where an imported failure came from."""

UNIT_MAX = 40
"""The unit of a failure's impact value (``EUR``, ``hours``)."""

ASSUMPTION_MAX = 500
"""A general belief a review records as failed (its key column is 500 wide)."""

JUSTIFICATION_MAX = 240
"""The one line that says why a review chose its gap type."""

# --- longer text -----------------------------------------------------------------------------
DESCRIPTION_MAX = 2000
"""A team's description."""

NOTE_MAX = 5000
"""A note on a measurement or on a follow-up check."""

LONG_TEXT_MAX = 50_000
"""(Real public post-mortems run to 20,450 characters; this leaves room.) Free text: an observation, impact, review answers, hypothesis, lesson text, evidence, a
reason, a resolution, coaching notes and development plans."""

COACH_TEXT_MAX = 100_000
"""All the text one call to the coach reads (text, review fields and action titles together)."""

COMMENT_MAX = NOTE_MAX
"""A comment on a failure, review, action or lesson, and a dated entry on a failure's timeline."""

# --- files -----------------------------------------------------------------------------------
ATTACHMENT_MAX_BYTES = 5 * 1024 * 1024
"""One file attached to a failure: 5 MiB. The upload's request body may be a little larger
(:data:`UPLOAD_BODY_MAX_BYTES`: the multipart envelope and the form's other fields), so a file
just over the limit is refused with a message naming this limit, not the body's."""

UPLOAD_BODY_MAX_BYTES = ATTACHMENT_MAX_BYTES + 65_536
"""The request body of an attachment upload (API and page), in bytes as sent."""

FILENAME_MAX = 255
"""An attachment's file name as shown (never used as a path)."""

# --- lists -----------------------------------------------------------------------------------
LABELS_MAX = 20
"""Labels on one failure (and labels sent to "have we seen this before?")."""

PEOPLE_MAX = 50
"""People involved in one failure, or reviewers of one review."""

LIST_MAX = 50
"""Any other list in one request: linked failures, audience teams, contributing factors,
assumptions, secondary actions, the coach's fields and actions."""

CHANNELS_MAX = 10
"""Notification channels in one preference change."""

# --- request bodies --------------------------------------------------------------------------
JSON_BODY_MAX_BYTES = 1_048_576
"""A request body to the JSON API (``/api/...``): 1 MiB."""

FORM_BODY_MAX_BYTES = 2_097_152
"""Any other request body (the web pages' forms): 2 MiB. Larger than the API's because a form
percent-encodes every non-ASCII byte as three."""

ERROR_INPUT_MAX = 200
"""How much of a refused value a 422 answer repeats back (characters of its ``input``, and of
each part of its ``loc``)."""

ERRORS_SHOWN_MAX = 20
"""Problems listed in one 422 answer (the first ones; a last item says how many more)."""
