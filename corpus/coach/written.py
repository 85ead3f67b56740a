"""Write the coach's labelled corpus of written sentences: ``corpus/coach/written.jsonl``.

    .venv/bin/python corpus/coach/written.py

Every line of the output is ``{"text", "blame", "vague_action", "group", "family", "source"}``.
``group`` is what the train/dev/test split hashes (``scripts/train_coach.py``): a template's id
for sentences expanded from one template (so its variants never straddle two splits), or the
sentence itself for a hand-written one-off. The labels are written here by hand, per template,
before any model was trained; a template's label never depends on what fills its slots.

Sources:

* ``template``: a sentence shape written by hand, filled with names, roles, teams and events
  from software, sales, hiring, launches, operations, support, finance and design;
* ``handwritten``: one-off sentences (terse actions, sarcasm, idioms, hard negatives);
* ``labelled``: the 456 sentences of ``tests/signals/coach_labelled.jsonl`` (kept as written).

The templates come in three batches: ``TEMPLATES`` (groups ``t000``...), ``TEMPLATES_B``
(groups ``u000``..., issue #15 "the coach generalises") and ``TEMPLATES_C`` (groups ``v000``...,
decision 50: more blame shapes and hard negatives, also from kitchens, clinics, schools,
newsrooms, logistics and fundraising). Each later batch is filled by its own generator and seed
and written after every earlier row, so adding it changed no earlier sentence, label or split.
Append new shapes to the end of ``TEMPLATES_C`` (or a new batch) for the same reason.
Decision 52 added two more batches after all of those: ``fresh_holdout.tsv`` (the first fresh
held-out set, measured once and then retired into training; source ``fresh``, one group per
sentence) and ``handwritten_d.tsv`` (one-offs; groups ``hd:<sentence>``). Decision 58 added a
fifth: ``fresh_holdout_2.tsv`` retired the same way (groups ``fresh2:<sentence>``) and
``handwritten_e.tsv`` (groups ``he:<sentence>``); decision 59 a sixth: ``fresh_holdout_3.tsv``
(groups ``fresh3:<sentence>``) and ``handwritten_f.tsv`` (groups ``hf:<sentence>``); decision 60
a seventh: ``fresh_holdout_4.tsv`` (``fresh4:``) and ``handwritten_g.tsv`` (``hg:``); decision
61 an eighth: ``fresh_holdout_5.tsv`` (``fresh5:``) and ``handwritten_h.tsv`` (``hh:``); decision
66 a ninth: ``fresh_holdout_6.tsv`` (``fresh6:``) alone.

The output is deterministic (fixed seeds), so re-running it leaves the file unchanged.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
OUT = HERE / "written.jsonl"
LABELLED = ROOT / "tests" / "signals" / "coach_labelled.jsonl"
PER_TEMPLATE = 5

NAMES = [
    "Priya",
    "Marco",
    "Ana",
    "Tom",
    "Dave",
    "Chen",
    "Fatima",
    "Lars",
    "Keiko",
    "Olu",
    "Sven",
    "Maria",
    "Raj",
    "Jess",
    "Kofi",
    "Elena",
    "Hiro",
    "Nadia",
    "Bilal",
    "Greta",
    "Sam",
    "Zoe",
    "Ines",
    "Tariq",
    "Mei",
    "Pavel",
    "Lucia",
    "Omar",
    "Hannah",
    "Yusuf",
    "Ahmed",
    "Beth",
    "Carlos",
    "Dmitri",
    "Erin",
]
ROLES = [
    "the intern",
    "the new hire",
    "the contractor",
    "the on-call engineer",
    "the junior dev",
    "the account manager",
    "the recruiter",
    "the support agent",
    "the night shift",
    "the release manager",
    "the designer",
    "the SDR",
    "the warehouse lead",
    "the bookkeeper",
    "the temp",
    "the new PM",
    "the agency",
    "the sales rep",
    "the shift supervisor",
    "the QA tester",
    "the store manager",
]
DEPTS = [
    "marketing",
    "sales",
    "finance",
    "legal",
    "QA",
    "ops",
    "support",
    "design",
    "HR",
    "procurement",
    "the data team",
    "the platform team",
    "the agency",
    "recruiting",
    "the warehouse crew",
    "IT",
]
# (past tense, bare form, what it produced)
EVENTS = [
    ("pushed the config to prod", "push the config to prod", "the config push"),
    ("sent the pricing sheet to the client", "send the pricing sheet to the client", "the pricing sheet"),
    ("approved the offer letter", "approve the offer letter", "the offer letter"),
    ("scheduled the launch email", "schedule the launch email", "the launch email"),
    ("shipped the wrong SKUs", "ship the order", "the shipment"),
    ("closed the ticket", "close the ticket", "the ticket"),
    ("booked the invoice in the wrong quarter", "book the invoice", "the invoice"),
    ("exported the logo at the wrong size", "export the logo", "the logo files"),
    ("deleted the staging bucket", "clean up the staging bucket", "the cleanup"),
    ("merged the migration", "merge the migration", "the migration"),
    ("quoted the old price", "quote the renewal", "the renewal quote"),
    ("posted the job ad with the wrong salary", "post the job ad", "the job ad"),
    ("announced the launch date early", "announce the launch date", "the announcement"),
    ("restocked the wrong warehouse", "restock the warehouse", "the restock order"),
    ("refunded the wrong customer", "process the refund", "the refund"),
    ("signed the vendor contract", "sign the vendor contract", "the vendor contract"),
    ("rotated the API keys", "rotate the API keys", "the key rotation"),
    ("changed the DNS record", "change the DNS record", "the DNS change"),
    ("uploaded the payroll file", "upload the payroll file", "the payroll run"),
    ("published the press release", "publish the press release", "the press release"),
    ("sent the candidate the rejection", "reply to the candidate", "the candidate email"),
    ("printed the packaging", "sign off the packaging proof", "the packaging run"),
]
CHECKS = [
    ("check the dry-run output", "checked the dry-run output"),
    ("read the runbook", "read the runbook"),
    ("ask finance first", "asked finance first"),
    ("test the form", "tested the form"),
    ("confirm the date with legal", "confirmed the date with legal"),
    ("look at the dashboard", "looked at the dashboard"),
    ("double-check the price list", "double-checked the price list"),
    ("call the customer back", "called the customer back"),
    ("verify the backup", "verified the backup"),
    ("proofread the copy", "proofread the copy"),
    ("count the stock", "counted the stock"),
    ("review the diff", "reviewed the diff"),
    ("reference-check the candidate", "reference-checked the candidate"),
    ("reconcile the account", "reconciled the account"),
]
OUTCOMES = [
    "the outage",
    "the lost deal",
    "the delayed launch",
    "the bad hire",
    "the refund mess",
    "the wrong invoices",
    "the missed shipment",
    "the broken checkout",
    "the flood of complaints",
    "the reprint",
    "the failed audit",
    "the churned account",
    "the data loss",
    "the weekend of firefighting",
]
THINGS = [
    "the deploy",
    "the renewal",
    "the launch",
    "the hiring loop",
    "the stock count",
    "the month-end close",
    "the support queue",
    "the design handoff",
    "the migration",
    "the campaign",
    "the onboarding",
    "the vendor review",
    "the pricing page",
    "the payroll run",
    "the on-call rotation",
    "the release",
]
TIMES = [
    "At 02:10",
    "On Friday",
    "During the launch",
    "Last week",
    "At 14:05",
    "On day two",
    "Before the demo",
    "In March",
    "Right before quarter end",
    "During the migration",
]
NUMBERS = [
    "5%",
    "2 hours",
    "30 minutes",
    "3 days",
    "10 orders",
    "99.9%",
    "500 ms",
    "two approvers",
    "48 hours",
    "1%",
    "15 minutes",
    "three retries",
]
TOOLS = [
    "a checklist",
    "a pre-flight check",
    "an alert",
    "a CI test",
    "a two-person sign-off",
    "a dashboard",
    "a form validation",
    "a lint rule",
    "a canary stage",
    "a calendar reminder",
    "a dry-run step",
    "a template",
    "a price-list lookup",
    "a staging copy",
]

# Each template: (family, blame, vague_action, text). Slots: {name} {Name2} {role} {dept} {past}
# {bare} {thing_of_event} {check} {checked} {outcome} {thing} {time} {num} {tool}.
TEMPLATES: list[tuple[str, bool, bool, str]] = [
    # ---- blame: counterfactual about a person
    ("counterfactual", True, False, "If {name} had {checked}, none of this would have happened."),
    ("counterfactual", True, False, "Had {name} bothered to {check}, we wouldn't be here."),
    ("counterfactual", True, False, "If {role} had just {checked}, {outcome} never happens."),
    ("counterfactual", True, False, "None of this happens if {name} {checked} like everyone else does."),
    ("counterfactual", True, False, "We'd have avoided {outcome} if {name} had been paying attention."),
    ("counterfactual", True, False, "If only {role} had listened, {outcome} would not have happened."),
    ("counterfactual", True, False, "{name} should have known better than to do that."),
    ("counterfactual", True, False, "{name} ought to have {checked} before {past_short}."),
    ("counterfactual", True, False, "Honestly, {role} should have seen this coming."),
    ("counterfactual", True, False, "If {dept} had done their job, {outcome} would never have happened."),
    ("counterfactual", True, False, "Had {role} asked anyone at all, {outcome} would have been avoided."),
    ("counterfactual", True, False, "Any competent person would have {checked} first."),
    (
        "counterfactual",
        True,
        False,
        "{name} could easily have prevented {outcome} by just reading the email.",
    ),
    ("counterfactual", True, False, "It would never have happened if {name} had stuck to the process."),
    ("counterfactual", True, False, "If {name} wasn't so rushed and sloppy we'd still have the customer."),
    # ---- blame: role nouns and departments
    ("role", True, False, "{Role} broke it again."),
    ("role", True, False, "Of course it was {role} who {past}."),
    ("role", True, False, "{Dept}, as usual, {past} without telling anyone."),
    ("role", True, False, "As usual, {dept} dropped this on us at the last minute."),
    ("role", True, False, "{Role} clearly had no idea what they were doing."),
    ("role", True, False, "Typical {dept}: they {past} and left us to clean up."),
    ("role", True, False, "This is what happens when you let {role} anywhere near {thing}."),
    ("role", True, False, "{Dept} never reads the brief, and this time it cost us."),
    ("role", True, False, "Once again {dept} couldn't be bothered to {check}."),
    ("role", True, False, "{Role} is the reason {outcome} happened."),
    ("role", True, False, "We all know {dept} is useless at {thing}."),
    ("role", True, False, "Who hired {role}? They {past} on day one."),
    ("role", True, False, "{Role} just ignored the checklist, like always."),
    ("role", True, False, "{Dept} messed up {thing} yet again."),
    ("role", True, False, "The problem is {dept}; they can't follow a simple process."),
    ("role", True, False, "Blame {dept} for this one."),
    ("role", True, False, "{Role} wasn't paying attention and {past}."),
    ("role", True, False, "{Dept} dropped the ball on {thing}."),
    # ---- blame: passive / caused by a person
    ("passive", True, False, "{outcome_cap} was caused by {name}."),
    ("passive", True, False, "{outcome_cap} was caused by {role}."),
    ("passive", True, False, "{outcome_cap} was entirely caused by {name}'s carelessness."),
    ("passive", True, False, "The root cause was {name}."),
    ("passive", True, False, "Root cause: {role}."),
    ("passive", True, False, "{outcome_cap} is down to {name}, full stop."),
    ("passive", True, False, "{thing_of_event_cap} was botched by {role}."),
    ("passive", True, False, "{thing_of_event_cap} was screwed up by {dept}."),
    ("passive", True, False, "Responsibility for {outcome} lies squarely with {name}."),
    ("passive", True, False, "{outcome_cap} traces back to {name} not doing their job."),
    ("passive", True, False, "{outcome_cap} happened because {name} couldn't be bothered to {check}."),
    ("passive", True, False, "We got {outcome} thanks to {name}."),
    ("passive", True, False, "{outcome_cap} was the result of {role} being lazy."),
    ("passive", True, False, "The blame for {outcome} sits with {dept}."),
    ("passive", True, False, "{outcome_cap} is on {role}."),
    # ---- blame: human error on the part of
    ("human_error", True, False, "{outcome_cap} was due to human error on the part of {name}."),
    ("human_error", True, False, "Human error on the part of {role} caused {outcome}."),
    ("human_error", True, False, "Root cause: human error by {role}."),
    ("human_error", True, False, "Cause: operator error ({name})."),
    ("human_error", True, False, "This was a human error by {dept}, nothing more."),
    ("human_error", True, False, "{outcome_cap} comes down to human error."),
    ("human_error", True, False, "The investigation found that {name}'s error caused {outcome}."),
    ("human_error", True, False, "It was simply a mistake on {name}'s part."),
    ("human_error", True, False, "Human error: {role} {past}."),
    ("human_error", True, False, "Root cause was {role}'s mistake."),
    # ---- blame: sarcasm about people
    ("sarcasm", True, False, "Great job, {name}, really nailed it when you {past}."),
    ("sarcasm", True, False, "Thanks to {name}'s brilliant idea, we all worked the weekend."),
    ("sarcasm", True, False, "Another stellar performance from {dept}."),
    ("sarcasm", True, False, "Nice one, {role}. Truly world-class work."),
    ("sarcasm", True, False, "Well done {name}, you {past}. Genius."),
    ("sarcasm", True, False, "Our genius in {dept_plain} strikes again."),
    ("sarcasm", True, False, "Bravo to {role} for {pasting} on a Friday afternoon."),
    ("sarcasm", True, False, "Who knew {name} could cause {outcome} single-handedly? Impressive."),
    ("sarcasm", True, False, "Of course {name} knew better than the runbook. Obviously."),
    ("sarcasm", True, False, "Wow, {dept} outdid themselves this time."),
    ("sarcasm", True, False, "Slow clap for {role}, who {past}."),
    ("sarcasm", True, False, "Kudos to {name} for proving the checklist is optional."),
    ("sarcasm", True, False, "Real mastermind move by {role} there."),
    ("sarcasm", True, False, "Must be nice to {bare} and then go home, right {name}?"),
    ("sarcasm", True, False, "Thanks {dept}, we really needed {outcome} this quarter."),
    # ---- blame: character, fault, idioms, failed-to, questions
    ("character", True, False, "{name} was careless with {thing}."),
    ("character", True, False, "{Role} is lazy and it shows."),
    ("character", True, False, "Sloppy work from {name} on {thing}."),
    ("character", True, False, "{name} is just incompetent at {thing}."),
    ("character", True, False, "{Role} was reckless and {past}."),
    ("character", True, False, "That was negligent of {name}."),
    ("fault", True, False, "It's {name}'s fault, plain and simple."),
    ("fault", True, False, "This one is on {name}."),
    ("fault", True, False, "{outcome_cap} was {role}'s fault."),
    ("fault", True, False, "The fault lies with {dept}."),
    ("idiom", True, False, "{name} dropped the ball on {thing}."),
    ("idiom", True, False, "{Role} was asleep at the wheel during {thing}."),
    ("idiom", True, False, "{name} totally screwed up {thing}."),
    ("idiom", True, False, "{name} cut corners and {past}."),
    ("idiom", True, False, "{Role} really messed this up."),
    ("idiom", True, False, "{name} botched {thing}."),
    ("failed_to", True, False, "{name} failed to {check}."),
    ("failed_to", True, False, "{Role} failed to {check} before {pasting}."),
    ("failed_to", True, False, "{name} didn't bother to {check}."),
    ("failed_to", True, False, "{name} ignored the checklist and {past}."),
    ("failed_to", True, False, "{Role} forgot to {check}, again."),
    ("failed_to", True, False, "{name} neglected to {check}."),
    ("question", True, False, "Why didn't {name} {check}?"),
    ("question", True, False, "What was {role} thinking?"),
    ("question", True, False, "Whose bright idea was it to {bare}?"),
    ("question", True, False, "{name}, you had one job."),
    ("question", True, False, "How could {role} not {check}?"),
    # ---- vague actions: terse (2-5 words)
    ("terse", False, True, "Look at it."),
    ("terse", False, True, "Look into {thing}."),
    ("terse", False, True, "Do more {noun_plain}."),
    ("terse", False, True, "Try to be faster."),
    ("terse", False, True, "Be faster next time."),
    ("terse", False, True, "Do better on {thing}."),
    ("terse", False, True, "More care with {thing}."),
    ("terse", False, True, "Communicate more."),
    ("terse", False, True, "Check things more."),
    ("terse", False, True, "Watch {thing} closer."),
    ("terse", False, True, "Be more careful."),
    ("terse", False, True, "Pay more attention."),
    ("terse", False, True, "{Dept_cap} to be more careful."),
    ("terse", False, True, "Step up on {thing}."),
    ("terse", False, True, "Tighten things up."),
    ("terse", False, True, "Keep an eye on {thing}."),
    ("terse", False, True, "Focus more on quality."),
    ("terse", False, True, "Move faster on {thing}."),
    ("terse", False, True, "Be more proactive."),
    ("terse", False, True, "Work harder on {thing}."),
    ("terse", False, True, "Slow down a bit."),
    ("terse", False, True, "Think before {pasting}."),
    ("terse", False, True, "Get better at {thing}."),
    ("terse", False, True, "Stay on top of {thing}."),
    ("terse", False, True, "Sort out {thing}."),
    ("terse", False, True, "Fix the process."),
    ("terse", False, True, "Follow up more."),
    ("terse", False, True, "Revisit {thing} at some point."),
    ("terse", False, True, "Consider {thing} more carefully."),
    ("terse", False, True, "{Role_cap} should try harder."),
    ("terse", False, True, "More testing."),
    ("terse", False, True, "Better planning."),
    ("terse", False, True, "Less rushing."),
    # ---- vague actions: longer
    ("vague", False, True, "Going forward, everyone needs to be more careful with {thing}."),
    ("vague", False, True, "We need to improve communication between {dept} and {dept2}."),
    ("vague", False, True, "{Dept_cap} will pay closer attention to {thing} in future."),
    ("vague", False, True, "Make sure this never happens again."),
    ("vague", False, True, "We should all take more ownership of {thing}."),
    ("vague", False, True, "Raise awareness of {thing} across the team."),
    ("vague", False, True, "Remind everyone to {check}."),
    ("vague", False, True, "The team will try to be more vigilant during {thing}."),
    ("vague", False, True, "Action: improve our processes around {thing}."),
    ("vague", False, True, "Let's all be a bit more thoughtful next time."),
    ("vague", False, True, "{name} will do a better job on {thing} from now on."),
    ("vague", False, True, "We'll be more diligent when we {bare}."),
    ("vague", False, True, "Everyone should double-check their work."),
    ("vague", False, True, "Next step: look into why {thing} keeps slipping."),
    ("vague", False, True, "We will strive to do better."),
    ("vague", False, True, "Improve the quality of {thing}."),
    ("vague", False, True, "Better alignment between {dept} and {dept2} going forward."),
    ("vague", False, True, "Ensure people take {thing} more seriously."),
    ("vague", False, True, "We need a culture of accountability around {thing}."),
    ("vague", False, True, "{Dept_cap} needs to communicate better with {dept2}."),
    ("vague", False, True, "Be more mindful when you {bare}."),
    ("vague", False, True, "Encourage people to speak up more during {thing}."),
    ("vague", False, True, "Review the process and make improvements where needed."),
    ("vague", False, True, "Everyone must follow the process more strictly."),
    ("vague", False, True, "We should make {thing} more robust somehow."),
    ("vague", False, True, "Try not to {bare} in a hurry again."),
    ("vague", False, True, "Put more focus on {thing} next quarter."),
    ("vague", False, True, "Take more time over {thing}."),
    ("vague", False, True, "People need to be reminded how important {thing} is."),
    ("vague", False, True, "{name} to be more careful with {thing}."),
    # ---- both: a blame sentence that also prescribes vigilance
    ("both", True, True, "{name} was careless, so {name} needs to be more careful next time."),
    ("both", True, True, "{Role} dropped the ball; they must pay more attention."),
    ("both", True, True, "{Dept_cap} messed up again, they need to try harder."),
    ("both", True, True, "If {name} had {checked} we'd be fine; just be more careful, {name}."),
    # ---- hard negatives: people named neutrally
    ("neutral_person", False, False, "{name} paged the on-call at 14:05."),
    ("neutral_person", False, False, "{name} {past} at 14:05, following the runbook."),
    ("neutral_person", False, False, "{Role}'s onboarding checklist lacked a step for {thing}."),
    ("neutral_person", False, False, "{Dept_cap} moved the launch date after the survey."),
    ("neutral_person", False, False, "{name} noticed the error rate climbing and rolled back."),
    ("neutral_person", False, False, "{Role} was working from an outdated copy of the runbook."),
    ("neutral_person", False, False, "{name} had no way to see that {thing} was still running."),
    ("neutral_person", False, False, "{Dept_cap} asked for the change two weeks before {thing}."),
    ("neutral_person", False, False, "{name} and {name2} worked through the night to restore {thing}."),
    ("neutral_person", False, False, "The form let {role} {bare} without any confirmation step."),
    ("neutral_person", False, False, "{time}, {name} {past}; the tool showed no warning."),
    ("neutral_person", False, False, "{name} was covering for {name2}, who was on leave."),
    (
        "neutral_person",
        False,
        False,
        "{Role} had been on the team for three days and had no access to the runbook.",
    ),
    ("neutral_person", False, False, "{Dept_cap} owns {thing} and joined the review."),
    (
        "neutral_person",
        False,
        False,
        "We asked {name} what they saw at the time, and the dashboard was green.",
    ),
    ("neutral_person", False, False, "{name} escalated to {dept} within 10 minutes."),
    (
        "neutral_person",
        False,
        False,
        "{Dept_cap} flagged the risk in the planning doc, but nobody owned the follow-up.",
    ),
    ("neutral_person", False, False, "{name} {past} because the old procedure said to."),
    ("neutral_person", False, False, "{Role} followed the checklist, which did not mention {thing}."),
    ("neutral_person", False, False, "{name} spotted the problem in the weekly report."),
    ("neutral_person", False, False, "{name}'s change was reviewed and approved by two people."),
    ("neutral_person", False, False, "{Dept_cap} had three open roles and was covering {thing} part-time."),
    ("neutral_person", False, False, "The person doing {thing} had no test environment."),
    (
        "neutral_person",
        False,
        False,
        "{name} asked in the channel whether it was safe; nobody answered for an hour.",
    ),
    ("neutral_person", False, False, "Thanks to {name}'s quick rollback, impact stayed under {num}."),
    ("neutral_person", False, False, "Great job, {name}, on getting the customers updated within {num}."),
    ("neutral_person", False, False, "{name} did excellent work coordinating {thing}."),
    ("neutral_person", False, False, "Kudos to {dept} for catching the mistake before it shipped."),
    ("neutral_person", False, False, "{Role} raised the issue on day one, which gave us time to react."),
    ("neutral_person", False, False, "{name} was the incident commander; {name2} handled customer updates."),
    # ---- hard negatives: systems and conditions as causes
    ("system_cause", False, False, "{outcome_cap} was caused by an expired certificate."),
    ("system_cause", False, False, "{outcome_cap} was caused by a config change with no validation step."),
    ("system_cause", False, False, "The root cause was a missing check in the release pipeline."),
    ("system_cause", False, False, "{thing_cap} failed to complete because the queue was full."),
    ("system_cause", False, False, "The import job failed to start after the upgrade."),
    ("system_cause", False, False, "{thing_cap} was delayed by a supplier outage."),
    ("system_cause", False, False, "The price list in the CRM was three months out of date."),
    ("system_cause", False, False, "Two tools showed different dates for {thing}."),
    ("system_cause", False, False, "The approval form allowed a blank amount."),
    ("system_cause", False, False, "Nothing in the process required a second reviewer for {thing}."),
    ("system_cause", False, False, "The alert threshold was set at {num}, too high to catch the slow leak."),
    ("system_cause", False, False, "The handoff between {dept} and {dept2} had no written owner."),
    (
        "system_cause",
        False,
        False,
        "{thing_of_event_cap} went out before the review finished, because the schedule did not wait for sign-off.",
    ),
    ("system_cause", False, False, "The disk filled up and writes failed for {num}."),
    ("system_cause", False, False, "Human error rates drop when the default is safe."),
    (
        "system_cause",
        False,
        False,
        "We avoid writing 'human error' as a root cause, because it ends the inquiry.",
    ),
    ("system_cause", False, False, "The fault was in the load balancer's health check."),
    ("system_cause", False, False, "A careless default in the template exposed the draft to customers."),
    ("system_cause", False, False, "The runbook said to {bare} first, which was wrong for this region."),
    ("system_cause", False, False, "{outcome_cap} was made worse by a retry storm."),
    ("system_cause", False, False, "The staffing plan assumed {num} of cover that did not exist."),
    (
        "system_cause",
        False,
        False,
        "Deadline pressure from the launch date made skipping the test look reasonable.",
    ),
    ("system_cause", False, False, "The CRM sync dropped records silently when a field was empty."),
    ("system_cause", False, False, "Our hiring scorecard had no field for reference checks."),
    ("system_cause", False, False, "The shipping label printer defaulted to the old warehouse."),
    # ---- hard negatives: counterfactuals about systems
    (
        "system_counterfactual",
        False,
        False,
        "If the alert had fired at {num}, we would have caught it in minutes.",
    ),
    (
        "system_counterfactual",
        False,
        False,
        "Had the form validated the amount, the invoice would have been rejected.",
    ),
    (
        "system_counterfactual",
        False,
        False,
        "If the canary stage had existed, {outcome} would have stayed small.",
    ),
    (
        "system_counterfactual",
        False,
        False,
        "With {tool}, the mistake would have been visible before {thing}.",
    ),
    (
        "system_counterfactual",
        False,
        False,
        "If the calendar had shown both time zones, the date would not have been missed.",
    ),
    (
        "system_counterfactual",
        False,
        False,
        "Had the dashboard shown stock by warehouse, the restock would have gone to the right place.",
    ),
    (
        "system_counterfactual",
        False,
        False,
        "If the CRM had flagged the old price, the quote would have been correct.",
    ),
    (
        "system_counterfactual",
        False,
        False,
        "None of this would have happened if the backup had been tested.",
    ),
    # ---- hard negatives: concrete actions (short and long)
    ("concrete", False, False, "Add a rollback test."),
    ("concrete", False, False, "Page on-call at {num} errors."),
    ("concrete", False, False, "Automate the certificate renewal."),
    ("concrete", False, False, "Require {num} for DNS changes."),
    ("concrete", False, False, "Add {tool} to {thing}."),
    ("concrete", False, False, "Add {tool} before we {bare}."),
    ("concrete", False, False, "{name} will add {tool} to {thing} by Friday."),
    ("concrete", False, False, "Alert when {thing} takes longer than {num}."),
    ("concrete", False, False, "Block {thing} until two people sign off."),
    ("concrete", False, False, "Make the form reject blank amounts."),
    ("concrete", False, False, "Show the current price next to the quote field."),
    ("concrete", False, False, "Default the label printer to the nearest warehouse."),
    ("concrete", False, False, "Write a one-page runbook for {thing}."),
    ("concrete", False, False, "Schedule a restore drill every quarter."),
    ("concrete", False, False, "Move the reference check into the scorecard."),
    ("concrete", False, False, "Limit refunds above {num} to a second approver."),
    ("concrete", False, False, "Test {thing} in staging first."),
    ("concrete", False, False, "Send a launch checklist to {dept} {num} before launch."),
    ("concrete", False, False, "Remove the manual step from {thing}."),
    ("concrete", False, False, "Track {thing} time on the weekly dashboard."),
    ("concrete", False, False, "Pin the library version."),
    ("concrete", False, False, "Lint the config on every merge."),
    ("concrete", False, False, "Reconcile payroll against HR data before upload."),
    ("concrete", False, False, "Give {role} a buddy for the first month."),
    ("concrete", False, False, "Publish the on-call schedule in the team channel."),
    ("concrete", False, False, "Improve p99 latency to under {num} by adding a cache."),
    ("concrete", False, False, "Be careful: this channel is public."),
    ("concrete", False, False, "Look up the customer's tier before quoting."),
    ("concrete", False, False, "Review every pricing change with finance in the Monday sync."),
    ("concrete", False, False, "Double-check script: compare row counts after each restore."),
    # ---- hard negatives: descriptions with charged words used neutrally
    ("description", False, False, "Careful rollout planning kept the blast radius to {num}."),
    ("description", False, False, "Communication between {dept} and {dept2} was good throughout."),
    ("description", False, False, "We double-checked the restore by comparing row counts."),
    ("description", False, False, "{time}, the error rate rose to {num}."),
    ("description", False, False, "{thing_cap} finished {num} late."),
    ("description", False, False, "The customer asked us to look at the invoice again."),
    ("description", False, False, "It wasn't anyone's fault; the tool hid the warning."),
    ("description", False, False, "Nobody could have known the vendor changed the format."),
    ("description", False, False, "We did more testing than usual and still missed the edge case."),
    ("description", False, False, "The team was faster than last time: {num} to recover."),
    ("description", False, False, "{Dept_cap} handled {num} of the calls during {thing}."),
    ("description", False, False, "The new hire process takes {num} on average."),
    ("description", False, False, "As usual, the report went out on Monday."),
    ("description", False, False, "{name} was on leave, so {name2} ran {thing}."),
    ("description", False, False, "The intern program starts in June."),
]


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def _pasting(past: str) -> str:
    """'pushed the config' -> 'pushing the config' (a rough gerund; only for templates)."""
    verb, _, rest = past.partition(" ")
    stem = verb[:-2] if verb.endswith("ed") else verb
    if stem.endswith("pp") or stem.endswith("pp"):
        stem = stem[:-1]
    special = {
        "sent": "sending",
        "quoted": "quoting",
        "changed": "changing",
        "approved": "approving",
        "scheduled": "scheduling",
        "shipped": "shipping",
        "closed": "closing",
        "merged": "merging",
        "deleted": "deleting",
        "exported": "exporting",
        "announced": "announcing",
        "rotated": "rotating",
        "uploaded": "uploading",
        "published": "publishing",
        "printed": "printing",
        "restocked": "restocking",
        "refunded": "refunding",
        "signed": "signing",
        "posted": "posting",
        "booked": "booking",
        "pushed": "pushing",
    }
    gerund = special.get(verb, stem + "ing")
    return f"{gerund} {rest}".strip()


NOUNS = ["testing", "reviews", "checks", "QA", "planning", "follow-up", "coordination", "training"]


def fill(template: str, rng: random.Random) -> str:
    name, name2 = rng.sample(NAMES, 2)
    dept, dept2 = rng.sample(DEPTS, 2)
    past, bare, product = rng.choice(EVENTS)
    check, checked = rng.choice(CHECKS)
    outcome = rng.choice(OUTCOMES)
    role = rng.choice(ROLES)
    thing = rng.choice(THINGS)
    values = {
        "name": name,
        "name2": name2,
        "role": role,
        "Role": _cap(role),
        "Role_cap": _cap(role),
        "dept": dept,
        "dept2": dept2,
        "Dept": _cap(dept),
        "Dept_cap": _cap(dept),
        "dept_plain": dept.removeprefix("the "),
        "past": past,
        "past_short": _pasting(past),
        "pasting": _pasting(past),
        "bare": bare,
        "thing_of_event": product,
        "thing_of_event_cap": _cap(product),
        "check": check,
        "checked": checked,
        "outcome": outcome,
        "outcome_cap": _cap(outcome),
        "thing": thing,
        "thing_cap": _cap(thing),
        "time": rng.choice(TIMES),
        "num": rng.choice(NUMBERS),
        "tool": rng.choice(TOOLS),
        "noun_plain": rng.choice(NOUNS),
    }
    return template.format(**values)


def template_rows() -> list[dict]:
    rng = random.Random(15)
    rows: list[dict] = []
    for i, (family, blame, vague, template) in enumerate(TEMPLATES):
        seen: set[str] = set()
        tries = 0
        while len(seen) < PER_TEMPLATE and tries < PER_TEMPLATE * 6:
            tries += 1
            text = fill(template, rng)
            if text in seen:
                continue
            seen.add(text)
            rows.append(
                {
                    "text": text,
                    "blame": blame,
                    "vague_action": vague,
                    "group": f"t{i:03d}",
                    "family": family,
                    "source": "template",
                }
            )
    return rows


def template_rows_b() -> list[dict]:
    """The second batch's rows (after all earlier sources, so no earlier sentence is displaced)."""
    rows: list[dict] = []
    rng_b = random.Random(1515)
    for i, (family, blame, vague, template) in enumerate(TEMPLATES_B):
        seen: set[str] = set()
        tries = 0
        while len(seen) < PER_TEMPLATE and tries < PER_TEMPLATE * 6:
            tries += 1
            text = fill_b(template, rng_b)
            if text in seen:
                continue
            seen.add(text)
            rows.append(
                {
                    "text": text,
                    "blame": blame,
                    "vague_action": vague,
                    "group": f"u{i:03d}",
                    "family": family,
                    "source": "template",
                }
            )
    return rows


def handwritten_rows(path: Path = HERE / "handwritten.tsv") -> list[dict]:
    rows: list[dict] = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            labels, family, text = line.split("\t", 2)
            rows.append(
                {
                    "text": text,
                    "blame": "B" in labels,
                    "vague_action": "V" in labels,
                    "group": "h:" + text.lower(),
                    "family": family,
                    "source": "handwritten",
                }
            )
    return rows


def labelled_rows() -> list[dict]:
    rows: list[dict] = []
    with LABELLED.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                r = json.loads(line)
                rows.append(
                    {
                        "text": r["text"],
                        "blame": bool(r["blame"]),
                        "vague_action": bool(r["vague_action"]),
                        "group": "l:" + r["text"].lower(),
                        "family": "labelled-" + r.get("split", "main"),
                        "source": "labelled",
                    }
                )
    return rows


# ---- Second batch (issue #15, "the coach generalises"): more shapes in the same families,
# written from train/dev errors and the list, never from the test split. They are filled
# by their own generator (``fill_b``, seed 1515) from the slot lists above plus the ``*_B`` lists
# below, so adding them leaves every earlier sentence, its text and its split unchanged. Their
# groups are ``u000``, ``u001``, ...
NAMES_B = [
    "Rosa",
    "Gabe",
    "Anika",
    "Jonas",
    "Leila",
    "Mateo",
    "Sofia",
    "Kwame",
    "Ingrid",
    "Ravi",
    "Noor",
    "Felix",
]
ROLES_B = [
    "the trainee",
    "the night auditor",
    "the field tech",
    "the buyer",
    "the copywriter",
    "the hiring manager",
    "the dispatcher",
    "the payroll clerk",
    "the floor manager",
    "the junior accountant",
    "the freelancer",
    "the event coordinator",
]
DEPTS_B = [
    "customer success",
    "the launch team",
    "accounts payable",
    "the night shift",
    "the sales team",
    "facilities",
]
EVENTS_B = [
    ("cancelled the wrong order", "cancel the order", "the cancellation"),
    ("emailed the whole customer list", "email the customer list", "the mass email"),
    ("double-booked the venue", "book the venue", "the venue booking"),
    ("paid the supplier twice", "pay the supplier", "the supplier payment"),
    ("sent the offer to the wrong candidate", "send the offer", "the offer"),
    ("dropped the production table", "clean up the old tables", "the table cleanup"),
    ("left the freezer door open", "close up the store", "the closing round"),
    ("set the discount to 100%", "set up the discount code", "the discount code"),
]
CHECKS_B = [
    ("read the handover notes", "read the handover notes"),
    ("confirm the booking", "confirmed the booking"),
    ("check the calendar", "checked the calendar"),
    ("run the tests", "run the tests"),
    ("ask someone", "asked someone"),
    ("look at the numbers", "looked at the numbers"),
]
OUTCOMES_B = [
    "the double payment",
    "the empty shelves",
    "the angry client",
    "the cancelled event",
    "the lost weekend",
    "the chargebacks",
]
THINGS_B = [
    "the stock take",
    "the event setup",
    "the supplier payments",
    "the release notes",
    "the shift handover",
    "the quarterly report",
]
ADJS = ["careful", "thorough", "proactive", "organised", "responsive", "attentive", "diligent"]
NOUNS_B = ["testing", "reviews", "checking", "QA", "planning", "communication", "training", "oversight"]
SYSTEMS = [
    ("the nightly export", "upload the file"),
    ("the scheduler", "run the job"),
    ("the CRM sync", "copy the new contacts"),
    ("the payment gateway", "confirm the charge"),
    ("the health check", "detect the stuck worker"),
    ("the label printer", "load the new template"),
    ("the applicant tracking system", "send the interview invites"),
    ("the replica", "catch up"),
    ("the backup job", "finish before 06:00"),
    ("the booking system", "release the held rooms"),
]
SYSTEM_CAUSES = [
    "an expired token",
    "a race condition in the checkout service",
    "a time-zone mismatch between two systems",
    "a malformed config file",
    "a vendor API change",
    "a full disk on the build server",
    "a stale cache",
    "a spreadsheet formula that pointed at the wrong tab",
]

TEMPLATES_B: list[tuple[str, bool, bool, str]] = [
    # ---- blame: counterfactual about a person
    ("counterfactual", True, False, "If {name} had only {checked}, we would still have the client."),
    (
        "counterfactual",
        True,
        False,
        "Had {name} {checked} like we asked, {outcome} would never have reached the customer.",
    ),
    ("counterfactual", True, False, "We wouldn't be writing this if {role} had {checked}."),
    ("counterfactual", True, False, "If {name} had been more careful, {outcome} could have been avoided."),
    (
        "counterfactual",
        True,
        False,
        "{outcome_cap} would not have happened if {name} had bothered to {check}.",
    ),
    ("counterfactual", True, False, "All {name} had to do was {check}."),
    ("counterfactual", True, False, "If {role} had a clue, {outcome} wouldn't have happened."),
    ("counterfactual", True, False, "Had {dept} not {past}, we would have hit the target."),
    ("counterfactual", True, False, "If {name} had spent five minutes to {check}, we'd have saved a week."),
    ("counterfactual", True, False, "If it weren't for {name}, {outcome} would never have happened."),
    ("counterfactual", True, False, "{Role} should have {checked} before {pasting}."),
    ("counterfactual", True, False, "{name} really should have caught this."),
    ("counterfactual", True, False, "Surely {role} could have {checked}?"),
    ("counterfactual", True, False, "A more experienced person would never have {past}."),
    ("counterfactual", True, False, "If {name} had listened to {name2}, we'd have avoided {outcome}."),
    # ---- blame: role nouns and departments
    ("role", True, False, "{Role} {past} and didn't tell anyone."),
    ("role", True, False, "Leave it to {role} to {bare} on a Friday."),
    ("role", True, False, "{Dept}, once again, {past} without asking."),
    ("role", True, False, "Never let {role} {bare} again."),
    ("role", True, False, "{Role} can't be trusted with {thing}."),
    ("role", True, False, "That's what you get for letting {role} handle {thing}."),
    ("role", True, False, "{Dept_cap} as usual: all talk, no follow-through."),
    ("role", True, False, "Naturally, {role} {past}."),
    ("role", True, False, "{Role} strikes again."),
    ("role", True, False, "Somebody needs to keep {role} away from {thing}."),
    ("role", True, False, "Apparently {dept} can't read a calendar."),
    ("role", True, False, "{Role} had one job and still {past}."),
    ("role", True, False, "What do you expect when {role} is in charge of {thing}?"),
    ("role", True, False, "{Dept_cap} did it again, of course."),
    ("role", True, False, "It's always {dept} who {past}."),
    # ---- blame: passive / caused by a person
    ("passive", True, False, "{outcome_cap} was triggered by {name}."),
    ("passive", True, False, "{outcome_cap} can be traced directly to {role}."),
    ("passive", True, False, "{thing_of_event_cap} was mishandled by {name}."),
    ("passive", True, False, "Responsibility rests with {role}, who {past}."),
    ("passive", True, False, "{outcome_cap} stemmed from {name}'s carelessness."),
    ("passive", True, False, "The culprit was {role}."),
    ("passive", True, False, "{outcome_cap}: caused by {name}."),
    ("passive", True, False, "We lost the account because of {name}."),
    ("passive", True, False, "It was {name} who caused {outcome}."),
    ("passive", True, False, "Cause of {outcome}: {role}."),
    ("passive", True, False, "{outcome_cap} happened on {name}'s watch."),
    ("passive", True, False, "{Dept_cap} is to blame for {outcome}."),
    ("passive", True, False, "{thing_of_event_cap} was ruined by {role}."),
    # ---- blame: human error
    ("human_error", True, False, "Primary cause: human error ({role})."),
    ("human_error", True, False, "{outcome_cap} was attributed to human error by {name}."),
    ("human_error", True, False, "The incident was the result of human error on {name}'s part."),
    ("human_error", True, False, "Human error by {role} led to {outcome}."),
    ("human_error", True, False, "Classified as human error: {name} {past}."),
    ("human_error", True, False, "Root cause identified as a human mistake by {role}."),
    ("human_error", True, False, "Contributing factor: {role}'s error."),
    ("human_error", True, False, "{outcome_cap} was an operator mistake, pure and simple."),
    ("human_error", True, False, "A human error on the part of {dept} led to {outcome}."),
    # ---- blame: sarcasm about people
    ("sarcasm", True, False, "Way to go, {name}. Another fine mess."),
    ("sarcasm", True, False, "Thanks a lot, {role}, for {pasting} without asking."),
    ("sarcasm", True, False, "Hats off to {dept} for {pasting} the day before launch."),
    ("sarcasm", True, False, "Brilliant move, {name}: you {past}."),
    ("sarcasm", True, False, "{name} really outdid themselves this time."),
    ("sarcasm", True, False, "Another masterpiece from {role}."),
    ("sarcasm", True, False, "Gold star for {name}, who {past} and went to lunch."),
    ("sarcasm", True, False, "Truly inspired work by {dept} on {thing}."),
    ("sarcasm", True, False, "I'm sure {name} had a great reason to {bare} at 5 pm on a Friday."),
    ("sarcasm", True, False, "Clearly {role} read the runbook very carefully."),
    ("sarcasm", True, False, "Employee of the month goes to {name} for {pasting}."),
    ("sarcasm", True, False, "Nice work, {dept}, you broke {thing} again."),
    ("sarcasm", True, False, "Thanks, {name}, we loved spending the weekend on {thing}."),
    # ---- blame: character, idioms, failed-to, questions
    ("character", True, False, "{name} was sloppy with {thing} again."),
    ("character", True, False, "{Role} showed a complete lack of care."),
    ("character", True, False, "{name} was negligent in {pasting}."),
    ("character", True, False, "{name} just doesn't care about {thing}."),
    ("character", True, False, "{Role} is simply not up to the job."),
    ("idiom", True, False, "{Role} fumbled {thing}."),
    ("idiom", True, False, "{name} blew {thing}."),
    ("idiom", True, False, "{name} was asleep on the job when {thing} went wrong."),
    ("failed_to", True, False, "{name} failed to follow the process."),
    ("failed_to", True, False, "{Role} did not bother to {check}."),
    ("failed_to", True, False, "{name} didn't even {check}."),
    ("failed_to", True, False, "{Role} never even tried to {check}."),
    ("failed_to", True, False, "{Dept_cap} failed to {check} before {pasting}."),
    ("question", True, False, "Why on earth did {name} {bare}?"),
    ("question", True, False, "Didn't anyone tell {role} to {check}?"),
    ("question", True, False, "Who let {role} {bare}?"),
    ("question", True, False, "How many times do we have to tell {dept} to {check}?"),
    # ---- vague actions: terse (2-5 words)
    ("terse", False, True, "Look at it again."),
    ("terse", False, True, "Look into it."),
    ("terse", False, True, "More {noun_b} needed."),
    ("terse", False, True, "Try to be more {adj}."),
    ("terse", False, True, "Try harder next time."),
    ("terse", False, True, "Be more {adj}."),
    ("terse", False, True, "Pay closer attention to {thing}."),
    ("terse", False, True, "Check more carefully."),
    ("terse", False, True, "Review {thing} more often."),
    ("terse", False, True, "Communicate better."),
    ("terse", False, True, "Improve {thing}."),
    ("terse", False, True, "Get {thing} right next time."),
    ("terse", False, True, "Don't let it happen again."),
    ("terse", False, True, "Take it more seriously."),
    ("terse", False, True, "Plan better."),
    ("terse", False, True, "Stay alert."),
    ("terse", False, True, "Investigate further."),
    ("terse", False, True, "Look at {thing} again."),
    ("terse", False, True, "Do a better job with {thing}."),
    ("terse", False, True, "{Dept_cap}: be more {adj}."),
    ("terse", False, True, "Needs more {noun_b}."),
    ("terse", False, True, "Action: be more {adj}."),
    ("terse", False, True, "Do more {noun_b} on {thing}."),
    ("terse", False, True, "Be faster with {thing}."),
    # ---- vague actions: longer
    ("vague", False, True, "{Dept_cap} will make sure {thing} goes smoothly next time."),
    ("vague", False, True, "We will keep a closer eye on {thing}."),
    ("vague", False, True, "Everyone should be extra careful around {thing}."),
    ("vague", False, True, "Going forward, {role} will be more {adj}."),
    ("vague", False, True, "Let's try to communicate better about {thing}."),
    ("vague", False, True, "We need to do better at {thing}."),
    ("vague", False, True, "Remind {dept} about the importance of {thing}."),
    ("vague", False, True, "Work on improving {thing}."),
    ("vague", False, True, "Ensure {thing} is done properly in future."),
    ("vague", False, True, "Lessons learned: be more careful with {thing}."),
    ("vague", False, True, "Everyone needs to step up during {thing}."),
    ("vague", False, True, "{name} will try to be more {adj} with {thing}."),
    ("vague", False, True, "We'll look into ways to make {thing} better."),
    ("vague", False, True, "Follow-up: {dept} to review {thing} and improve it."),
    # ---- hard negatives: people and roles named neutrally
    ("neutral_person", False, False, "{time}, {name} restarted the queue worker."),
    ("neutral_person", False, False, "{Role} opened a ticket with the vendor."),
    ("neutral_person", False, False, "{Dept_cap} sent the customer an apology within {num}."),
    ("neutral_person", False, False, "{name} wrote the first draft of this review."),
    ("neutral_person", False, False, "{Role} noticed that {thing} looked wrong and raised it."),
    ("neutral_person", False, False, "{name} did not have access to the billing dashboard."),
    ("neutral_person", False, False, "{Role} was not told that the process had changed."),
    ("neutral_person", False, False, "{name} {past} because the form showed the old default."),
    ("neutral_person", False, False, "{Role} {past} using the template the team had shared."),
    ("neutral_person", False, False, "{name} handed {thing} over to {name2} at the end of the shift."),
    ("neutral_person", False, False, "{Dept_cap} is working on a fix with {dept2}."),
    ("neutral_person", False, False, "{name} was the only person who knew how {thing} worked."),
    ("neutral_person", False, False, "Because {name} was on leave, {name2} covered {thing} alone."),
    ("neutral_person", False, False, "We interviewed {name}, {name2} and {role} for this review."),
    ("neutral_person", False, False, "{name} was the first to notice {outcome}."),
    ("neutral_person", False, False, "{Role} followed the documented steps exactly."),
    ("neutral_person", False, False, "As usual, {dept} ran the weekly sync on Tuesday."),
    (
        "neutral_person",
        False,
        False,
        "{Dept_cap} had asked for a staging copy, but the request was still in the queue.",
    ),
    ("neutral_person", False, False, "{name} had been working for eleven hours when the alert fired."),
    ("neutral_person", False, False, "{Role} was given {thing} with no handover notes."),
    ("neutral_person", False, False, "Nobody told {role} that {thing} depended on the old server."),
    ("neutral_person", False, False, "{name} thought the change was safe because the tests passed."),
    ("neutral_person", False, False, "{name} made a reasonable call with what the dashboard showed."),
    ("neutral_person", False, False, "From {name}'s point of view, the numbers looked normal."),
    ("neutral_person", False, False, "{Role} {past}, which the tool allowed without a warning."),
    ("neutral_person", False, False, "{name} and {role} met with {dept} to plan the fix."),
    ("neutral_person", False, False, "{Role} had never been shown how {thing} works."),
    ("neutral_person", False, False, "Thanks to {role}, the customers heard from us within {num}."),
    # ---- hard negatives: systems, processes and conditions as causes
    ("system_cause", False, False, "{System_cap} failed to {sys_verb} after the upgrade."),
    ("system_cause", False, False, "{System_cap} failed to {sys_verb}, and nothing alerted on it."),
    ("system_cause", False, False, "{outcome_cap} was caused by {sys_cause}."),
    ("system_cause", False, False, "{outcome_cap} was triggered by {sys_cause}."),
    ("system_cause", False, False, "The root cause was {sys_cause}."),
    ("system_cause", False, False, "{thing_cap} failed because of {sys_cause}."),
    ("system_cause", False, False, "The process had no step to {check}."),
    ("system_cause", False, False, "The root cause was an unclear handoff between {dept} and {dept2}."),
    ("system_cause", False, False, "The deadline left no time for the usual two-person review of {thing}."),
    ("system_cause", False, False, "Nothing in {thing} checked the amount before it went out."),
    ("system_cause", False, False, "{System_cap} reported success even though it had failed."),
    ("system_cause", False, False, "The template still pointed at the old address."),
    # ---- hard negatives: counterfactuals about systems
    (
        "system_counterfactual",
        False,
        False,
        "If the checklist had included {thing}, the gap would have been caught.",
    ),
    (
        "system_counterfactual",
        False,
        False,
        "Had the tool asked for confirmation, {outcome} would not have happened.",
    ),
    (
        "system_counterfactual",
        False,
        False,
        "If the dashboard had shown {thing}, we would have seen it earlier.",
    ),
    ("system_counterfactual", False, False, "With a staging copy, the mistake would have been harmless."),
    ("system_counterfactual", False, False, "If {system} had retried, {outcome} would have been avoided."),
    # ---- hard negatives: concrete actions
    ("concrete", False, False, "Add a confirmation step before we {bare}."),
    ("concrete", False, False, "Alert the on-call when {thing} runs longer than {num}."),
    ("concrete", False, False, "{name} will write a checklist for {thing} by Friday."),
    ("concrete", False, False, "Set the default to the safe option."),
    ("concrete", False, False, "Show a warning when the price is older than 30 days."),
    ("concrete", False, False, "Restore the backup weekly and post the result."),
    ("concrete", False, False, "Look up the SKU in the warehouse system before shipping."),
    ("concrete", False, False, "Try the restore on staging before each release."),
    ("concrete", False, False, "Do a dry run of {thing} two days before."),
    ("concrete", False, False, "Review {thing} with {dept} every Monday using the checklist."),
    ("concrete", False, False, "Pair {role} with a mentor for {thing}."),
    ("concrete", False, False, "Make {system} page the on-call when it fails to {sys_verb}."),
    ("concrete", False, False, "Cap the batch size at 500 rows."),
    ("concrete", False, False, "{Dept_cap} will add {tool} to {thing} by the end of the month."),
    # ---- hard negatives: descriptions with charged words used neutrally
    ("description", False, False, "The team worked carefully through the backlog."),
    ("description", False, False, "We looked at the logs and found the retry loop."),
    ("description", False, False, "Human error is a label, not a cause."),
    ("description", False, False, "We chose not to name anyone in the timeline."),
    ("description", False, False, "{Role} shadowed the on-call for a week."),
    ("description", False, False, "{Role}'s first week went smoothly."),
    ("description", False, False, "{Dept_cap} was faster than usual at closing {thing}."),
    # ---- third part of the batch: shapes from cross-validation errors on train+dev
    ("sarcasm", True, False, "Impressive how {name} manages to break {thing} every single time."),
    ("sarcasm", True, False, "Glad to see {name}'s quick fix took down {thing}."),
    ("sarcasm", True, False, "Love that {dept} treats deadlines as suggestions."),
    ("sarcasm", True, False, "Congrats to {role} on {pasting} without reading a word."),
    ("sarcasm", True, False, "So glad {role} decided to {bare} without telling anyone."),
    ("sarcasm", True, False, "Amazing how {dept} can {bare} without ever asking."),
    ("sarcasm", True, False, "Ah yes, another flawless {thing} from our friends in {dept_plain}."),
    ("sarcasm", True, False, "Good thing {name} was there to make {thing} worse."),
    ("sarcasm", True, False, "Shocking: {role} {past} again."),
    ("role", True, False, "{Role} nuked {thing} on day one."),
    ("role", True, False, "{Dept_cap} went rogue with {thing}."),
    ("role", True, False, "{Dept_cap} treats every request like an insult."),
    ("role", True, False, "{Dept_cap} throws {thing} over the wall and walks away."),
    ("role", True, False, "{Dept_cap}, true to form, {past}."),
    ("role", True, False, "It's always the same people in {dept_plain} who get it wrong."),
    ("role", True, False, "{Role} {past}, because of course they did."),
    ("counterfactual", True, False, "Someone with any sense would have {checked}."),
    ("counterfactual", True, False, "If you'd {checked}, we wouldn't be here."),
    (
        "counterfactual",
        True,
        False,
        "This would have been a non-event if somebody in {dept_plain} had been awake.",
    ),
    ("counterfactual", True, False, "Anybody half awake would have noticed {outcome} coming."),
    ("counterfactual", True, False, "If {dept} had half a brain they'd have {checked}."),
    ("passive", True, False, "Cause of incident: {name}."),
    ("passive", True, False, "{outcome_cap} was brought on by {name}'s shortcut."),
    ("passive", True, False, "{outcome_cap} came from {role}'s sloppy work."),
    ("passive", True, False, "I hold {dept} responsible for {outcome}."),
    ("passive", True, False, "{Thing_cap} was taken down by {role}."),
    ("character", True, False, "{Role} is hopeless with {thing}."),
    ("character", True, False, "Some people in {dept_plain} just don't care about quality."),
    ("neutral_person", False, False, "Impressive recovery by {dept} during {thing}."),
    ("neutral_person", False, False, "Good catch by {name} on {thing}."),
    ("neutral_person", False, False, "Thanks to {name} for staying late to fix {thing}."),
    ("neutral_person", False, False, "{name} placed the order with the usual supplier."),
    ("neutral_person", False, False, "{name} and {role} met with {dept} on Monday."),
    ("neutral_person", False, False, "{Role} {past}, as the checklist asked."),
    ("neutral_person", False, False, "{Dept_cap} {past} after the approval came through."),
    (
        "neutral_person",
        False,
        False,
        "If {name} had known about the change, they would have used the new form.",
    ),
    ("neutral_person", False, False, "Had {role} been given the runbook, the steps would have been clear."),
    (
        "system_counterfactual",
        False,
        False,
        "If the report had shown {thing} by region, we would have noticed sooner.",
    ),
    (
        "system_counterfactual",
        False,
        False,
        "None of this would have happened if {system} had checked the input.",
    ),
    (
        "system_counterfactual",
        False,
        False,
        "Had {system} warned about the duplicate, {outcome} would not have happened.",
    ),
    (
        "system_counterfactual",
        False,
        False,
        "If the form had required a second approver, {outcome} would have been caught.",
    ),
    ("system_counterfactual", False, False, "With an alert on {thing}, we would have known within {num}."),
    (
        "system_cause",
        False,
        False,
        "{System_cap} failed to {sys_verb} because the vendor changed the format.",
    ),
    ("system_cause", False, False, "{outcome_cap} came from {sys_cause}."),
    ("system_cause", False, False, "{outcome_cap} was down to {sys_cause}, not to anyone's choice."),
    ("description", False, False, "Who was at fault is the wrong question for {thing}."),
    ("description", False, False, "We don't use the phrase human error in these reviews."),
    # ---- fourth part: negated fault and "NAME failed to <check> the <thing>" (test_coach.py's shapes)
    ("negation", False, False, "It wasn't {name}'s fault; {system} never sent the warning."),
    ("negation", False, False, "This was not {role}'s fault: the checklist skipped {thing}."),
    ("negation", False, False, "Nobody here was at fault; {outcome} came from {sys_cause}."),
    ("negation", False, False, "{outcome_cap} was not {dept}'s fault, because the form allowed it."),
    ("negation", False, False, "We don't think {name} was careless: the screen showed the old value."),
    ("failed_to", True, False, "{name} failed to {check} during {thing}."),
    ("failed_to", True, False, "{time}, {name} failed to {check}."),
    ("failed_to", True, False, "{Role} failed to {check}, so {outcome} followed."),
    ("both", True, True, "Retro note: {name}'s fault, remind them to be careful."),
    ("both", True, True, "{Role}'s fault again; tell them to pay attention."),
    ("both", True, True, "Blame {dept} and remind them to {check}."),
    ("both", True, True, "Action: {name} caused this, so {name} must be more careful."),
    ("both", True, True, "It was {name}'s fault, so remind everyone to double-check."),
]


_PASTING_B = {"paid": "paying", "dropped": "dropping", "left": "leaving", "set": "setting"}


def fill_b(template: str, rng: random.Random) -> str:
    name, name2 = rng.sample(NAMES + NAMES_B, 2)
    dept, dept2 = rng.sample(DEPTS + DEPTS_B, 2)
    past, bare, product = rng.choice(EVENTS + EVENTS_B)
    check, checked = rng.choice(CHECKS + CHECKS_B)
    outcome = rng.choice(OUTCOMES + OUTCOMES_B)
    role = rng.choice(ROLES + ROLES_B)
    thing = rng.choice(THINGS + THINGS_B)
    system, sys_verb = rng.choice(SYSTEMS)
    values = {
        "name": name,
        "name2": name2,
        "role": role,
        "Role": _cap(role),
        "dept": dept,
        "dept2": dept2,
        "Dept": _cap(dept),
        "Dept_cap": _cap(dept),
        "past": past,
        "pasting": _PASTING_B.get(past.partition(" ")[0], "") + " " + past.partition(" ")[2]
        if past.partition(" ")[0] in _PASTING_B
        else _pasting(past),
        "bare": bare,
        "thing_of_event_cap": _cap(product),
        "check": check,
        "checked": checked,
        "outcome": outcome,
        "outcome_cap": _cap(outcome),
        "thing": thing,
        "thing_cap": _cap(thing),
        "Thing_cap": _cap(thing),
        "dept_plain": dept.removeprefix("the "),
        "time": rng.choice(TIMES),
        "num": rng.choice(NUMBERS),
        "tool": rng.choice(TOOLS),
        "adj": rng.choice(ADJS),
        "noun_b": rng.choice(NOUNS_B),
        "system": system,
        "System_cap": _cap(system),
        "sys_verb": sys_verb,
        "sys_cause": rng.choice(SYSTEM_CAUSES),
    }
    return template.format(**values)


# ---- Third batch (issue #15, decision 50): more shapes in the blame families and more
# hard negatives that name people and roles, across teams outside software (kitchens, clinics,
# schools, newsrooms, logistics, hotels, fundraising, construction) as well as inside it. Written
# from the issue's list and from out-of-fold errors on train+dev (``scripts/train_coach.py``'s
# grouped cross-validation), never from the test split. Filled by ``fill_c`` (seed 5050) and
# written after every earlier row, so no earlier sentence, label or split changed. Groups
# ``v000``, ``v001``, ...
NAMES_C = [
    "Amara",
    "Bruno",
    "Chiara",
    "Diego",
    "Esme",
    "Femi",
    "Gustav",
    "Halima",
    "Isak",
    "Joanna",
    "Kenji",
    "Lina",
    "Musa",
    "Nils",
    "Oksana",
    "Quinn",
]
ROLES_C = [
    "the sous-chef",
    "the charge nurse",
    "the substitute teacher",
    "the night editor",
    "the forklift driver",
    "the receptionist",
    "the fundraiser",
    "the site foreman",
    "the new account exec",
    "the summer intern",
    "the duty manager",
    "the junior analyst",
    "the office manager",
    "the new team lead",
]
DEPTS_C = [
    "the kitchen",
    "editorial",
    "the front desk",
    "dispatch",
    "admissions",
    "the events team",
    "engineering",
    "the board",
    "the regional office",
    "partnerships",
]
# (past tense, gerund, bare form, what it produced)
EVENTS_C = [
    ("ran the story without a second source", "running the story", "run the story", "the correction"),
    ("gave the patient the wrong chart", "handing over the chart", "hand over the chart", "the chart mix-up"),
    (
        "sent the newsletter to the wrong list",
        "sending the newsletter",
        "send the newsletter",
        "the newsletter",
    ),
    ("overbooked the hotel for the conference", "booking the rooms", "book the rooms", "the room block"),
    ("poured the slab before the inspection", "pouring the slab", "pour the slab", "the slab"),
    ("loaded the truck in the wrong order", "loading the truck", "load the truck", "the delivery run"),
    ("deployed on a Friday evening", "deploying on a Friday", "deploy", "the Friday deploy"),
    ("priced the menu with last year's costs", "pricing the menu", "price the menu", "the new menu"),
    (
        "mailed the donors the wrong receipt",
        "mailing the receipts",
        "mail the receipts",
        "the donor receipts",
    ),
    ("graded the exams with the old key", "grading the exams", "grade the exams", "the exam results"),
    ("turned off the alerting", "turning off the alerting", "silence the alerts", "the alerting change"),
    (
        "promised the client a date we could not meet",
        "promising the date",
        "agree the date",
        "the client promise",
    ),
]
CHECKS_C = [
    ("check the allergen list", "checked the allergen list"),
    ("call the second source", "called the second source"),
    ("read the inspection report", "read the inspection report"),
    ("check the manifest", "checked the manifest"),
    ("look at the seating plan", "looked at the seating plan"),
    ("test the restore", "tested the restore"),
    ("check the donor list", "checked the donor list"),
    ("ask the client", "asked the client"),
]
OUTCOMES_C = [
    "the food poisoning scare",
    "the retraction",
    "the overbooked weekend",
    "the failed inspection",
    "the late deliveries",
    "the six-hour outage",
    "the lost grant",
    "the botched launch",
    "the angry parents",
    "the week of rework",
]
THINGS_C = [
    "the dinner service",
    "the front page",
    "the ward round",
    "the delivery schedule",
    "the gala",
    "the site handover",
    "the enrolment week",
    "the incident response",
    "the budget",
    "the product demo",
]
ADVERSITIES = [
    "the checklist was out of date",
    "the screen showed the old value",
    "two alarms fired at once",
    "the handover note was missing",
    "the form accepted the wrong date",
    "the supplier changed the packaging",
    "the schedule gave them ten minutes for a one-hour job",
    "the tool had no undo",
]

TEMPLATES_C: list[tuple[str, bool, bool, str]] = [
    # ---- blame: counterfactual about a person
    ("counterfactual", True, False, "If {name} had just {checked}, we wouldn't have had {outcome}."),
    ("counterfactual", True, False, "{outcome_cap} was completely avoidable if {name} had {checked}."),
    ("counterfactual", True, False, "Had {role} done the bare minimum, none of this would have happened."),
    (
        "counterfactual",
        True,
        False,
        "If {name} had been doing their job instead of chatting, we'd have caught it.",
    ),
    ("counterfactual", True, False, "Anyone with a bit of experience would have {checked}."),
    ("counterfactual", True, False, "If {dept} had bothered to {check}, {outcome} wouldn't be on us."),
    ("counterfactual", True, False, "None of this would have happened if {name} had listened for once."),
    ("counterfactual", True, False, "If {name} hadn't rushed {thing}, the quarter would have closed fine."),
    (
        "counterfactual",
        True,
        False,
        "If {role} had half the sense they were hired for, {outcome} never happens.",
    ),
    ("counterfactual", True, False, "A competent {role_plain} would have known to {check}."),
    ("counterfactual", True, False, "{name} should've thought twice before {pasting}."),
    ("counterfactual", True, False, "{name} ought to have known better than {pasting}."),
    (
        "counterfactual",
        True,
        False,
        "Had {name} been paying any attention, {outcome} would have been avoided.",
    ),
    ("counterfactual", True, False, "We'd still have the client if {role} had kept their mouth shut."),
    ("counterfactual", True, False, "It only took one careless move by {name} to cause {outcome}."),
    ("counterfactual", True, False, "If {name} had done what {name2} told them, we'd be fine."),
    ("counterfactual", True, False, "Literally all {role} needed to do was {check}."),
    (
        "counterfactual",
        True,
        False,
        "{outcome_cap} would never have happened on {name2}'s shift, only on {name}'s.",
    ),
    # ---- blame: role nouns and departments
    ("role", True, False, "{Role}, bless them, {past}."),
    ("role", True, False, "{Role} {past}, as you'd expect."),
    ("role", True, False, "{Role} {past}. Who could have guessed?"),
    ("role", True, False, "{Dept_cap}, as always, {past}."),
    ("role", True, False, "And then {role} {past}, naturally."),
    ("role", True, False, "Predictably, {role} {past}."),
    ("role", True, False, "Not surprised {role} {past}; they always do."),
    ("role", True, False, "{Dept_cap} never checks anything, and {outcome} is the proof."),
    ("role", True, False, "{Dept_cap} ruined {thing} like they ruin everything."),
    ("role", True, False, "The usual suspects in {dept_plain} {past}."),
    ("role", True, False, "Typical {role_plain}: {past} and then went home."),
    ("role", True, False, "Of course {dept} {past}; that's what {dept} does."),
    ("role", True, False, "This is why we don't let {role} touch {thing}."),
    ("role", True, False, "{Role} made a mess of {thing}, like last time."),
    ("role", True, False, "{Dept_cap} once again proved they can't handle {thing}."),
    ("role", True, False, "Our friends in {dept_plain} {past}. Again."),
    ("role", True, False, "{Role} was out of their depth and {past}."),
    ("role", True, False, "Clearly {role} can't be left alone with {thing}."),
    ("role", True, False, "{Role} thought it would be fine to {bare} without asking."),
    ("role", True, False, "Everyone knows {dept} cuts corners on {thing}."),
    # ---- blame: passive / caused by a person
    ("passive", True, False, "{outcome_cap} was caused by {role}, who {past}."),
    ("passive", True, False, "{outcome_cap} was caused directly by {name}'s decision to {bare}."),
    ("passive", True, False, "{thing_of_event_cap} was messed up by {name}."),
    ("passive", True, False, "{thing_of_event_cap} was bungled by {dept}."),
    ("passive", True, False, "{outcome_cap} was {name}'s doing."),
    ("passive", True, False, "{outcome_cap} was all down to {role}."),
    ("passive", True, False, "{outcome_cap}: {name} again."),
    ("passive", True, False, "{outcome_cap} can be laid at the feet of {dept}."),
    ("passive", True, False, "The person responsible for {outcome} is {name}."),
    ("passive", True, False, "{outcome_cap} originated with {name}, who {past}."),
    ("passive", True, False, "{outcome_cap} was created by {role} and nobody else."),
    ("passive", True, False, "We can thank {name} for {outcome}."),
    ("passive", True, False, "{outcome_cap} was the direct result of {name}'s negligence."),
    ("passive", True, False, "{thing_cap} was wrecked by {role}."),
    ("passive", True, False, "Cause: {name} {past}."),
    ("passive", True, False, "What caused {outcome}? {name}, plain and simple."),
    ("passive", True, False, "{outcome_cap} was caused by the carelessness of {role}."),
    ("passive", True, False, "It was {role} who {past}, causing {outcome}."),
    # ---- blame: human error on the part of
    ("human_error", True, False, "{outcome_cap} resulted from human error on the part of {role}."),
    ("human_error", True, False, "Investigation concluded: human error on the part of {name}."),
    ("human_error", True, False, "This was down to human error by {name}."),
    ("human_error", True, False, "Root cause: human error ({name} {past})."),
    ("human_error", True, False, "The cause of {outcome} was human error on {dept}'s side."),
    ("human_error", True, False, "Finding: human error by {role} during {thing}."),
    ("human_error", True, False, "Cause category: human error, {role}."),
    ("human_error", True, False, "Human error on the part of {name} is the root cause of {outcome}."),
    ("human_error", True, False, "{outcome_cap} was a staff error by {role}."),
    ("human_error", True, False, "The error was made by {name} and nobody else."),
    ("human_error", True, False, "Cause: user error by {role}."),
    ("human_error", True, False, "Personnel error ({role}) led to {outcome}."),
    # ---- blame: sarcasm about people
    ("sarcasm", True, False, "Fantastic work, {name}. Really. {outcome_cap} is exactly what we needed."),
    ("sarcasm", True, False, "What would we do without {role}? Probably not have {outcome}."),
    ("sarcasm", True, False, "A round of applause for {name}, everyone."),
    ("sarcasm", True, False, "{name} is a real genius for {pasting}."),
    ("sarcasm", True, False, "Thanks for nothing, {dept}."),
    ("sarcasm", True, False, "Another proud moment for {dept_plain}."),
    ("sarcasm", True, False, "Top marks to {role} for {pasting}."),
    ("sarcasm", True, False, "Truly, {name}'s attention to detail is legendary."),
    ("sarcasm", True, False, "Wonderful planning by {role}, as always."),
    ("sarcasm", True, False, "Oh great, {role} {past}. Love that for us."),
    ("sarcasm", True, False, "Lucky us, {name} decided to {bare} on the busiest day of the year."),
    ("sarcasm", True, False, "Cheers, {name}, for turning {thing} into a disaster."),
    ("sarcasm", True, False, "Such a shock that {role} {past}."),
    ("sarcasm", True, False, "Way to go, {dept}, you managed to ruin {thing}."),
    ("sarcasm", True, False, "{name} must have a gift for {pasting} at the worst moment."),
    ("sarcasm", True, False, "Impressive, {role}: {outcome} in record time."),
    ("sarcasm", True, False, "Our star {role_plain} strikes again."),
    ("sarcasm", True, False, "Hard to beat {name} when it comes to breaking {thing}."),
    # ---- blame: character, idioms, failed-to, questions
    ("character", True, False, "{name} is careless and everyone knows it."),
    ("character", True, False, "{Role} is a liability on {thing}."),
    ("character", True, False, "{name}'s sloppiness cost us {outcome}."),
    ("character", True, False, "{name} has no attention to detail."),
    ("character", True, False, "{Role} doesn't take {thing} seriously."),
    ("character", True, False, "{name} was lazy about {thing}."),
    ("idiom", True, False, "{name} screwed up {thing} royally."),
    ("idiom", True, False, "{Role} totally blew it on {thing}."),
    ("idiom", True, False, "{name} made a hash of {thing}."),
    ("idiom", True, False, "{Dept_cap} fell asleep at the wheel during {thing}."),
    ("idiom", True, False, "{name} dropped the ball, again."),
    ("idiom", True, False, "{Role} botched {thing} from start to finish."),
    ("idiom", True, False, "{name} really dropped the ball on this one."),
    ("failed_to", True, False, "{Role} failed to {check}, and that's the whole story."),
    ("failed_to", True, False, "{name} didn't bother to {check}."),
    ("failed_to", True, False, "{Role} couldn't even be bothered to {check}."),
    ("failed_to", True, False, "{name} neglected to {check}."),
    ("failed_to", True, False, "{Dept_cap} never bothered to {check}."),
    ("failed_to", True, False, "{name} ignored the checklist and {past}."),
    ("question", True, False, "Why did nobody stop {name} before they {past}?"),
    ("question", True, False, "What was {role} thinking?"),
    ("question", True, False, "Seriously, {name}, why didn't you {check}?"),
    ("question", True, False, "How could {role} not {check}?"),
    ("fault", True, False, "{outcome_cap} is {name}'s fault, nobody else's."),
    ("fault", True, False, "The fault lies with {role}."),
    ("fault", True, False, "We all know whose fault {outcome} was: {name}'s."),
    ("both", True, True, "{Role} caused {outcome}; they need to be more careful."),
    ("both", True, True, "{name} messed up, so {name} should pay more attention next time."),
    # ---- vague actions
    ("terse", False, True, "Be more thorough."),
    ("terse", False, True, "Take more care with {thing}."),
    ("terse", False, True, "Focus more on {thing}."),
    ("terse", False, True, "Tighten things up."),
    ("vague", False, True, "{Role} needs to take more care with {thing}."),
    ("vague", False, True, "{Dept_cap} should be more careful next time."),
    # ---- hard negatives: people and roles named neutrally, and the conditions they worked in
    ("neutral_person", False, False, "{Role} {past} because {adversity}."),
    ("neutral_person", False, False, "{name} {past}; at the time, {adversity}."),
    ("neutral_person", False, False, "{Role} did what the procedure said, but {adversity}."),
    ("neutral_person", False, False, "{name} was covering two roles during {thing}."),
    ("neutral_person", False, False, "{Role} joined three weeks before {thing} and had no training on it."),
    ("neutral_person", False, False, "{name} escalated to {role} at {clock}."),
    ("neutral_person", False, False, "{name} asked {dept} for help and got an answer two days later."),
    ("neutral_person", False, False, "{Dept_cap} took over {thing} from {dept2} in May."),
    ("neutral_person", False, False, "{Role} was the first to spot the problem and called {name}."),
    ("neutral_person", False, False, "{name} and {name2} worked through the night on {thing}."),
    ("neutral_person", False, False, "{Role} {past}, which was the normal practice then."),
    ("neutral_person", False, False, "{name} {past}; the same step had worked a hundred times before."),
    ("neutral_person", False, False, "We asked {role} what they saw, and they showed us {thing}."),
    ("neutral_person", False, False, "{Dept_cap} had flagged the risk in March, but it was not prioritised."),
    ("neutral_person", False, False, "{name} was new to {thing} and followed the written guide."),
    ("neutral_person", False, False, "{Role} was working alone because the rota had a gap."),
    ("neutral_person", False, False, "At the time, {name}'s choice to {bare} looked like the safest option."),
    ("neutral_person", False, False, "{name} told us the warning looked like the usual noise."),
    ("neutral_person", False, False, "{Role} {past} after reading the outdated wiki page."),
    ("neutral_person", False, False, "{Dept_cap} and {dept2} both thought the other team owned {thing}."),
    ("neutral_person", False, False, "{name} led the recovery and kept {dept} informed."),
    ("neutral_person", False, False, "Thank you, {role}, for the calm handover during {thing}."),
    ("neutral_person", False, False, "{name} noticed {outcome} early and stopped {thing}."),
    ("neutral_person", False, False, "{Role} had asked for a second pair of eyes, but nobody was free."),
    ("neutral_person", False, False, "{name} made the call to {bare} with the information on the screen."),
    ("neutral_person", False, False, "The intern and {name} paired on {thing} all week."),
    ("neutral_person", False, False, "{Role} reported {outcome} to {dept} within {num}."),
    ("neutral_person", False, False, "{name} is the owner of the follow-up action on {thing}."),
    ("neutral_person", False, False, "{Dept_cap} shipped {thing} on time despite the late brief."),
    ("neutral_person", False, False, "{name} paused {thing} as soon as the numbers looked off."),
    ("neutral_person", False, False, "As usual, {role} sent the summary to {dept} on Friday."),
    ("neutral_person", False, False, "{Role} was following a runbook that skipped the check."),
    ("neutral_person", False, False, "Nobody had told {name} that {thing} moved to the new system."),
    ("neutral_person", False, False, "{name} had no way to see that {adversity}."),
    # ---- hard negatives: counterfactuals and passives about systems and conditions
    (
        "system_counterfactual",
        False,
        False,
        "If the schedule had allowed an hour, {role} would have {checked}.",
    ),
    (
        "system_counterfactual",
        False,
        False,
        "Had the form blocked the old date, {outcome} would not have happened.",
    ),
    (
        "system_counterfactual",
        False,
        False,
        "If the handover template asked for it, {name} would have {checked}.",
    ),
    ("system_counterfactual", False, False, "None of this would have happened if {adversity_not}."),
    (
        "system_counterfactual",
        False,
        False,
        "With a second approver on {thing}, {outcome} would have been caught.",
    ),
    ("system_counterfactual", False, False, "If the tool had warned {role}, they would have stopped."),
    ("system_cause", False, False, "{outcome_cap} was caused by the fact that {adversity}."),
    ("system_cause", False, False, "{outcome_cap} happened because {adversity}."),
    ("system_cause", False, False, "{thing_of_event_cap} was delayed by {sys_cause}."),
    ("system_cause", False, False, "{outcome_cap} was traced to {sys_cause}."),
    ("system_cause", False, False, "The root cause of {outcome} was that {adversity}."),
    (
        "system_cause",
        False,
        False,
        "{System_cap} failed to {sys_verb} while {role} was on the phone with {dept}.",
    ),
    ("system_cause", False, False, "Contributing factor: {adversity}."),
    ("system_cause", False, False, "The error was in the template, not in what {name} did."),
    # ---- hard negatives: concrete actions that name people
    ("concrete", False, False, "{name} will add {tool} to {thing} by {day}."),
    ("concrete", False, False, "{Dept_cap} will add a second approver to {thing} by {day}."),
    ("concrete", False, False, "{Role} gets a written checklist for {thing} before next month."),
    ("concrete", False, False, "{name} to make the form reject dates in the past."),
    ("concrete", False, False, "Give {role} read access to the dashboard."),
    # ---- hard negatives: blame words mentioned, not used
    ("negation", False, False, "This was not {name}'s fault; {adversity}."),
    ("negation", False, False, "We don't see {role} as the cause: {adversity}."),
    ("negation", False, False, "Calling this human error would miss that {adversity}."),
    ("negation", False, False, "Nobody dropped the ball here; {adversity}."),
    ("description", False, False, "{Role} asked that the review not name anyone, and we agreed."),
    ("description", False, False, "We looked at why the step made sense to {role} at the time."),
    # ---- second part: sarcasm and insinuation about people, from out-of-fold errors on train+dev,
    # each with sincere or neutral twins so the wording, not the person, carries the label
    ("sarcasm", True, False, "Let's all give {name} a big hand for {outcome}."),
    ("sarcasm", True, False, "I'm sure {role} had a very good reason to {bare} without telling anyone."),
    ("sarcasm", True, False, "Pretty sure {name} set a record: {outcome} in one afternoon."),
    ("sarcasm", True, False, "Classic {name}, {pasting} right before the deadline."),
    ("sarcasm", True, False, "Ah, {role}. Never a dull day."),
    ("sarcasm", True, False, "Trust {dept} to turn {thing} into a circus."),
    ("sarcasm", True, False, "Glad {name} found time between coffee breaks to {bare}."),
    ("sarcasm", True, False, "{Dept_cap} continues its proud tradition of {pasting}."),
    ("sarcasm", True, False, "Brilliant work from {role}, just brilliant."),
    ("sarcasm", True, False, "{thing_cap} ruined again by our resident expert, {name}."),
    ("sarcasm", True, False, "Good to know {role} can take down {thing} in their first week."),
    ("sarcasm", True, False, "Who needs a process when you have {name}?"),
    ("role", True, False, "{Role} {past} again, so no change there."),
    ("role", True, False, "{Dept_cap} went ahead and {past} on their own, as they do."),
    ("role", True, False, "Same old {dept_plain}: {past} and blamed everyone else."),
    ("role", True, False, "{Role} {past}. Enough said."),
    ("role", True, False, "We all saw this coming the day {role} took over {thing}."),
    ("role", True, False, "{Role} {past}, which tells you everything about {dept_plain}."),
    ("character", True, False, "{Role} has no business being near {thing}."),
    ("character", True, False, "{name} just isn't cut out for {thing}."),
    ("counterfactual", True, False, "Even a first-week trainee would have {checked}."),
    ("counterfactual", True, False, "All it needed was for {role} to {check}, and they couldn't manage it."),
    ("neutral_person", False, False, "Let's give {name} a big hand for leading the recovery."),
    (
        "neutral_person",
        False,
        False,
        "{Role} had a good reason to {bare}: the customer asked for it in writing.",
    ),
    ("neutral_person", False, False, "{name} spent the week on {thing}, which was the plan."),
    (
        "neutral_person",
        False,
        False,
        "{Dept_cap} has run {thing} the same way for three years without a problem.",
    ),
    ("neutral_person", False, False, "A big thank you to {role} for staying with {thing} until it was done."),
    (
        "neutral_person",
        False,
        False,
        "{Role} took over {thing} in their first week and asked good questions.",
    ),
    ("neutral_person", False, False, "{Role} {past} again, following the updated runbook."),
    ("neutral_person", False, False, "{Dept_cap} went ahead and {past} after the sign-off."),
    ("neutral_person", False, False, "{name} is new to {thing} and is being mentored by {name2}."),
    (
        "neutral_person",
        False,
        False,
        "We saw the risk coming when {dept} took over {thing}, and planned for it.",
    ),
    # ---- third part: "failed to" aimed at a person inside a timeline entry (the second part's
    # timeline-like negatives had made a clock time read as neutral), with neutral twins
    ("failed_to", True, False, "At {clock}, {role} failed to {check}."),
    ("failed_to", True, False, "At {clock} {name} failed to {check}, and {outcome} followed."),
    ("failed_to", True, False, "At {clock} {dept} failed to {check} before {pasting}."),
    ("neutral_person", False, False, "At {clock}, {role} started to {check}."),
    ("neutral_person", False, False, "At {clock} {name} asked {dept} to {check}."),
]


def fill_c(template: str, rng: random.Random) -> str:
    name, name2 = rng.sample(NAMES + NAMES_B + NAMES_C, 2)
    dept, dept2 = rng.sample(DEPTS + DEPTS_B + DEPTS_C, 2)
    past, gerund, bare, product = rng.choice(EVENTS_C + [(p, _pasting(p), b, t) for p, b, t in EVENTS])
    check, checked = rng.choice(CHECKS + CHECKS_C)
    role = rng.choice(ROLES + ROLES_B + ROLES_C)
    system, sys_verb = rng.choice(SYSTEMS)
    adversity = rng.choice(ADVERSITIES)
    values = {
        "name": name,
        "name2": name2,
        "role": role,
        "Role": _cap(role),
        "role_plain": role.removeprefix("the "),
        "dept": dept,
        "dept2": dept2,
        "Dept_cap": _cap(dept),
        "dept_plain": dept.removeprefix("the "),
        "past": past,
        "pasting": gerund,
        "bare": bare,
        "thing_of_event_cap": _cap(product),
        "check": check,
        "checked": checked,
        "outcome": (outcome := rng.choice(OUTCOMES + OUTCOMES_B + OUTCOMES_C)),
        "outcome_cap": _cap(outcome),
        "thing": (thing := rng.choice(THINGS + THINGS_B + THINGS_C)),
        "thing_cap": _cap(thing),
        "num": rng.choice(NUMBERS),
        "tool": rng.choice(TOOLS),
        "system": system,
        "System_cap": _cap(system),
        "sys_verb": sys_verb,
        "sys_cause": rng.choice(SYSTEM_CAUSES),
        "adversity": adversity,
        "adversity_not": rng.choice(
            [
                "the checklist had been up to date",
                "the handover note had been in the ticket",
                "the form had rejected the wrong date",
                "the tool had an undo",
            ]
        ),
        "clock": rng.choice(["02:10", "14:05", "09:30", "23:45"]),
        "day": rng.choice(["Friday", "the 15th", "end of month", "next sprint"]),
    }
    return template.format(**values)


def template_rows_c() -> list[dict]:
    """The third batch's rows (after all earlier sources, so no earlier sentence is displaced)."""
    rows: list[dict] = []
    rng_c = random.Random(5050)
    for i, (family, blame, vague, template) in enumerate(TEMPLATES_C):
        seen: set[str] = set()
        tries = 0
        while len(seen) < PER_TEMPLATE and tries < PER_TEMPLATE * 6:
            tries += 1
            text = fill_c(template, rng_c)
            if text in seen:
                continue
            seen.add(text)
            rows.append(
                {
                    "text": text,
                    "blame": blame,
                    "vague_action": vague,
                    "group": f"v{i:03d}",
                    "family": family,
                    "source": "template",
                }
            )
    return rows


# ---- Fourth batch (decision 52). ``fresh_holdout.tsv`` was the held-out set of decision 50,
# written by someone who never read this corpus; after its one measurement it was retired as a
# held-out set and folded in here, every sentence its own group (``fresh:<sentence>``), its
# ``vague`` label read as a vague action, source ``fresh``. ``handwritten_d.tsv`` (groups
# ``hd:<sentence>``, source ``handwritten``, same format as ``handwritten.tsv``) adds one-offs in
# the blame families that set showed weak and blameless sentences that quote, negate or name
# people. Both come after every earlier row, so no earlier sentence, label or split moved.
FRESH_FOLDED = HERE / "fresh_holdout.tsv"
FRESH_FOLDED_LABELS = {"blame": (True, False), "vague": (False, True), "neither": (False, False)}


def fresh_folded_rows(path: Path = FRESH_FOLDED, prefix: str = "fresh:") -> list[dict]:
    rows: list[dict] = []
    with path.open(encoding="utf-8") as fh:
        header = fh.readline().rstrip("\n").split("\t")
        assert header == ["label", "family", "domain", "text"], header
        for line in fh:
            line = line.rstrip("\n")
            if not line.strip():
                continue
            label, family, _domain, text = (c.strip() for c in line.split("\t"))
            blame, vague = FRESH_FOLDED_LABELS[label]
            rows.append(
                {
                    "text": text,
                    "blame": blame,
                    "vague_action": vague,
                    "group": prefix + text.lower(),
                    "family": family,
                    "source": "fresh",
                }
            )
    return rows


def handwritten_d_rows() -> list[dict]:
    rows = []
    for r in handwritten_rows(HERE / "handwritten_d.tsv"):
        rows.append(r | {"group": "hd:" + r["text"].lower()})
    return rows


# ---- Fifth batch (decision 58). ``fresh_holdout_2.tsv``, the held-out set of decision 52 (written
# by someone who never read this corpus or the code), measured once and retired the same way:
# groups ``fresh2:<sentence>``, source ``fresh``. ``handwritten_e.tsv`` (groups ``he:<sentence>``)
# adds one-offs in the patterns that set showed weak (blame by role nouns and departments stated as
# plain cause, passive and causal attribution, sarcasm, character judgements, "was meant to and
# didn't"; vague "improve/enhance X", awareness, never-again, ownership) and blameless twins.
FRESH_FOLDED_2 = HERE / "fresh_holdout_2.tsv"


def handwritten_e_rows() -> list[dict]:
    path = HERE / "handwritten_e.tsv"
    if not path.is_file():
        return []
    return [r | {"group": "he:" + r["text"].lower()} for r in handwritten_rows(path)]


# ---- Sixth batch (decision 59). ``fresh_holdout_3.tsv``, decision 58's held-out set (by a writer
# who never opened the repository), measured once and retired the same way: groups
# ``fresh3:<sentence>``. ``handwritten_f.tsv`` (groups ``hf:<sentence>``) adds one-offs in the
# patterns it showed weak (insinuation about unnamed people, sarcasm and mock praise, rhetorical
# questions, possessive judgements, counterfactuals without "if") and their sincere twins.
FRESH_FOLDED_3 = HERE / "fresh_holdout_3.tsv"


def handwritten_f_rows() -> list[dict]:
    path = HERE / "handwritten_f.tsv"
    if not path.is_file():
        return []
    return [r | {"group": "hf:" + r["text"].lower()} for r in handwritten_rows(path)]


# ---- Seventh batch (decision 60). ``fresh_holdout_4.tsv``, decision 59's held-out set, measured
# once and retired the same way (groups ``fresh4:<sentence>``); ``handwritten_g.tsv`` (groups
# ``hg:<sentence>``): one-offs in the patterns it showed weak ("was told to ... and didn't",
# "courtesy of the change team", verdicts, rhetorical questions) and, above all, blameless curious
# questions, sincere "thanks to"/"courtesy of" and neutral "was told to" twins.
FRESH_FOLDED_4 = HERE / "fresh_holdout_4.tsv"


def handwritten_g_rows() -> list[dict]:
    path = HERE / "handwritten_g.tsv"
    if not path.is_file():
        return []
    return [r | {"group": "hg:" + r["text"].lower()} for r in handwritten_rows(path)]


# ---- Eighth batch (decision 61). ``fresh_holdout_5.tsv``, decision 60's held-out set, measured
# once for that decision and used as the development set of decision 61's grammar features
# (it is training data now, so it no longer measures anything), retired the same way (groups
# ``fresh5:<sentence>``); ``handwritten_h.tsv`` (groups ``hh:<sentence>``): one-offs in the
# patterns it showed weak (plain causal blame "because NAME did X", verdicts listing a leader's
# choices, "Had the board listened", rhetorical "Who leaves ...?") and their blameless twins of
# the same shapes (causes pinned on systems, counterfactuals that credit people, sincere thanks,
# the coach's own suggestions).
FRESH_FOLDED_5 = HERE / "fresh_holdout_5.tsv"


def handwritten_h_rows() -> list[dict]:
    path = HERE / "handwritten_h.tsv"
    if not path.is_file():
        return []
    return [r | {"group": "hh:" + r["text"].lower()} for r in handwritten_rows(path)]


# ---- Ninth batch (decision 66). ``fresh_holdout_6.tsv``, decision 61's held-out set (a writer
# who never opened the repository, sixteen kinds of team), measured once on decision 61's model
# and retired the same way (groups ``fresh6:<sentence>``). No one-offs were written from its
# misses: five rounds of that moved a new writer's blame recall by nothing (0.73-0.81), so this
# batch only adds the writer.
FRESH_FOLDED_6 = HERE / "fresh_holdout_6.tsv"


# ---- The coach's own suggestions (decision 61): a rewrite the coach offers must not be flagged by
# the coach. Up to ``SUGGESTIONS_PER_RULE`` distinct suggestions of each hand-written rule, as the
# rule renders them for the corpus's sentences (in corpus order, so the batch is deterministic),
# and the two whole-sentence suggestions, labelled neither. One group per rule: a rule's
# suggestions share their wording, so they never straddle two splits, and the rules whose group
# falls in the test split measure whether the model learnt "a suggestion is blameless" or only
# memorised the wording. Built from the rules alone, never from the model (no circularity).
SUGGESTIONS_PER_RULE = 6


def suggestion_rows(rows: list[dict]) -> list[dict]:
    from lessonloop.signals.coach import BLAME, VAGUE_ACTION, _sentence_finding, rule_findings

    per_rule: dict[str, list[str]] = {}
    for r in rows:
        for name, finding in rule_findings(r["text"]):
            seen = per_rule.setdefault(name, [])
            if len(seen) < SUGGESTIONS_PER_RULE and finding.suggestion not in seen:
                seen.append(finding.suggestion)
    per_rule["whole-sentence"] = [
        _sentence_finding(kind, "x", 0).suggestion for kind in (BLAME, VAGUE_ACTION)
    ]
    return [
        {
            "text": text,
            "blame": False,
            "vague_action": False,
            "group": "sg:" + name,
            "family": "coach_suggestion",
            "source": "suggestion",
        }
        for name, texts in per_rule.items()
        for text in texts
    ]


def build() -> list[dict]:
    """Every row of ``written.jsonl``, in file order (a repeated sentence kept once, first wins)."""
    rows = template_rows() + handwritten_rows() + labelled_rows() + template_rows_b() + template_rows_c()
    rows += fresh_folded_rows() + handwritten_d_rows()
    rows += fresh_folded_rows(FRESH_FOLDED_2, "fresh2:") + handwritten_e_rows()
    rows += fresh_folded_rows(FRESH_FOLDED_3, "fresh3:") + handwritten_f_rows()
    rows += fresh_folded_rows(FRESH_FOLDED_4, "fresh4:") + handwritten_g_rows()
    rows += fresh_folded_rows(FRESH_FOLDED_5, "fresh5:") + handwritten_h_rows()
    rows += fresh_folded_rows(FRESH_FOLDED_6, "fresh6:")
    rows += suggestion_rows(rows)
    seen: set[str] = set()
    out: list[dict] = []
    for r in rows:
        key = r["text"].strip().lower()
        if key in seen:
            continue
        seen.add(key)
        out.append(r)
    return out


def dumps(rows: list[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def main() -> int:
    out = build()
    OUT.write_text(dumps(out), encoding="utf-8")
    print(f"wrote {len(out)} sentences to {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
