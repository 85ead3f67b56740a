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

The output is deterministic (fixed seed), so re-running it leaves the file unchanged.
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


def handwritten_rows() -> list[dict]:
    rows: list[dict] = []
    with (HERE / "handwritten.tsv").open(encoding="utf-8") as fh:
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


def main() -> int:
    rows = template_rows() + handwritten_rows() + labelled_rows()
    seen: set[str] = set()
    out: list[dict] = []
    for r in rows:
        key = r["text"].strip().lower()
        if key in seen:
            continue
        seen.add(key)
        out.append(r)
    with OUT.open("w", encoding="utf-8") as fh:
        for r in out:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"wrote {len(out)} sentences to {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
