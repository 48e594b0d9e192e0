"""The shapes of what the bot keeps about a merchant (MerchantState.data), as TypedDicts.

The store saves the dict as JSON and loads it back without checking it against these types, so
they say what the flows write, not what a database row is guaranteed to hold: every key is
optional (a new merchant's data is {}), and the readers stay defensive about malformed or
older values (flows/checklist.py, flows/shortlist.py). At run time each of these is a plain
dict. Each shape is described in full by the module that owns it:

    route, pending_submission                   flows/route.py, flows/review.py
    submitted_on, status, status_on, cycle,
    need_more, status_note, reviews             flows/review.py (and flows/status.py)
    reminders                                   flows/reminders.py, flows/status.py
    application                                 flows/apply.py
    docs                                        flows/checklist.py, flows/uploads.py
    agency                                      flows/shortlist.py
    self_check, readiness                       flows/selfcheck.py
    input, suspended                            flows/core.py (pending text input)
    asking                                      flows/router.py (a questionnaire question)
"""

from __future__ import annotations

from typing import Required, TypedDict

# An answer of the questionnaires: "yes" | "no" | "unsure" (anything else reads as absent).
Answers = dict[str, str]


# --- review (flows/review.py, flows/status.py) ------------------------------------------------


class NeedMore(TypedDict, total=False):
    """What an operator asked for with 需补充材料, and by when (a date in the note)."""

    note: str
    deadline: str | None  # ISO date


class Review(TypedDict, total=False):
    """One route's submission and its review (review.REVIEW_KEYS); parked under `reviews`
    while the merchant is on the other route."""

    submitted_on: str  # ISO date
    status: str  # a code of statuses.yaml: submitted, reviewing, need_more, approved, …
    status_on: str  # ISO date of the last status change
    cycle: int  # review cycle number; 1 when absent, +1 for each resubmission
    need_more: NeedMore
    status_note: str  # the latest result's explanation


# --- reminders (flows/reminders.py) -----------------------------------------------------------


class ReminderSettings(TypedDict, total=False):
    """The merchant's /reminders settings."""

    muted: bool
    fee_date: str | None  # ISO date of the agency fee payment
    interval_days: int  # operation check after joining: 7, 14 or 30
    snoozed: dict[str, str]  # reminder key → ISO datetime it comes again


# --- the application form (flows/apply.py) ----------------------------------------------------


class Contact(TypedDict):
    """The form's contact field."""

    kind: str  # "wechat" | "phone" | "email"
    value: str


FieldValue = str | int | Contact  # shop_name and scope: text; monthly_sales: yuan; contact


class Application(TypedDict, total=False):
    """The application form's answers."""

    fields: dict[str, FieldValue]  # by the field keys of application.yaml
    confirmed_at: str | None  # ISO datetime of the confirmation; None after a change


# --- documents (flows/checklist.py, flows/uploads.py) -----------------------------------------


class FileInfo(TypedDict):
    """A stored file; path is relative to BOT_FILES_DIR."""

    name: str
    mime: str
    size: int
    sha256: str
    path: str
    at: str  # ISO datetime


class ItemRecord(TypedDict, total=False):
    """One checklist item: marked ready, its current file and the files it replaced."""

    marked: bool
    file: FileInfo
    history: list[FileInfo]


class UploadTarget(TypedDict, total=False):
    """The item the next upload is for, and since when (ISO datetime)."""

    item: str
    at: str


class PendingFile(TypedDict, total=False):
    """A file that came with no target item, waiting for the merchant to pick one."""

    id: str  # checklist.pending_id(file_id)
    file_id: str
    file_name: str
    size: int | None
    kind: str  # "document" | "photo"
    mime_type: str | None
    at: str  # ISO datetime


class Incoming(TypedDict, total=False):
    """A file being fetched, between the two passes of an upload."""

    item: str
    name: str
    kind: str
    press: bool  # chosen by a button press (the result edits that message)


class DocsRecord(TypedDict, total=False):
    """data["docs"]."""

    items: dict[str, ItemRecord]  # by the item keys of documents.yaml
    conditions: dict[str, bool]  # "brand", "permit": True = needed
    target: UploadTarget
    pending: list[PendingFile] | PendingFile  # a single dict: as older versions stored it
    incoming: Incoming


# --- the agency shortlist (flows/shortlist.py) ------------------------------------------------


class Candidate(TypedDict, total=False):
    """A candidate agency and its answers (criteria, red flags)."""

    id: int
    name: str
    answers: Answers
    flags: Answers


class AgencyRecord(TypedDict, total=False):
    """data["agency"]."""

    candidates: list[Candidate]
    chosen: int | None  # a candidate's id
    next_id: int  # ids are never reused


# --- pending text input (flows/core.py) -------------------------------------------------------


class InputDetails(TypedDict, total=False):
    """What an input kind keeps besides its kind (the application form: which field, how)."""

    field: int  # index into application.yaml's fields
    mode: str  # "fill" (go on to the next empty field) | "edit" (back to the summary)


class PendingInput(InputDetails, total=False):
    """The typed text a flow waits for: its kind (a key of router.INPUTS) and details."""

    kind: Required[str]


# --- everything ---------------------------------------------------------------------------


class MerchantData(Review, total=False):
    """MerchantState.data: the merchant's journey (the review keys are inherited)."""

    route: str  # "agency" | "platform"
    pending_submission: str  # ISO date given by /submitted before any route was chosen
    reviews: dict[str, Review]  # another route's submission and review, by route
    reminders: ReminderSettings
    application: Application
    docs: DocsRecord
    agency: AgencyRecord
    self_check: Answers
    readiness: Answers
    input: PendingInput
    suspended: PendingInput  # an input interrupted by a command or a button (继续 restores it)
    asking: list[str]  # the questionnaire question on screen: the press showing it again
