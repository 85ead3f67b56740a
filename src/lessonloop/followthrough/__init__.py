"""Follow-through: the changes a failure leaves behind, and the habits that keep them.

* :mod:`.checklists` — versioned checklists, templates and decision criteria; every revision
  after the first names the failure that prompted it.
* :mod:`.guardrails` — short-term adjustments with an owner, an expiry and a rollback plan.
* :mod:`.recognition` — credit for candid reviews, validated fixes, shared lessons and wins.
* :mod:`.digests` — each team's week, as its members may see it.
* :mod:`.postmortem` — a review exported as Markdown or printable HTML.
"""
