"""Issue-tracker sync for actions (issue #14, decision 46): GitHub Issues and Jira.

* :mod:`.models` — a team's connection; one link (and push-queue entry) per action;
* :mod:`.service` — connect, map people, push (queue), apply an issue's state, the page section;
* :mod:`.clients` — PyGithub and ``jira`` behind find / create / state;
* :mod:`.sync` and :mod:`.jobs` — the worker's push (never twice) and reconcile;
* :mod:`.webhooks` — signed webhooks in; :mod:`.api`, :mod:`.web`, :mod:`.cli` — the adapters;
* :mod:`.sendtime` — the evidence prompt's text when it is sent.
"""
