"""``Steps``: drive a Playwright page as a user would, and count the user's steps.

Issue 5 sets click budgets for the clinician workspace ("find a patient by fødselsnummer
and open the overview in at most 2 steps", "record a set of vital signs in at most 4",
...). A browser test performs the flow through a ``Steps`` object and asserts
``steps.count`` against the budget; ``steps.log`` names every step, for the message.

What counts as one step -- the rule usability reviews use when they count "clicks":
every action with which the user *commits a decision* that makes the page do something,
whatever the device:

* a click (a link, a button, a tab, a checkbox, a suggestion in a type-ahead list): 1;
* choosing an option in a select list: 1 (one pick, however the list is opened);
* pressing Enter (submit a field or form, activate the focused control), Space (activate
  the focused control) or Escape (dismiss a dialog): 1.

What does not count:

* typing into a field (``fill``): 0. What is typed is the data itself, which no design
  can spare the user; it is measured as keystrokes, not steps. So filling five fields
  of a vital-signs form and clicking "Lagre" is 1 step, and typing a fødselsnummer into
  the search field and pressing Enter is 1 step (``fill(..., enter=True)``);
* moving focus or the caret (Tab, arrow keys, Home, End): 0;
* ``goto(url)``: 0. Opening a URL is where a flow starts (a bookmark, a link from
  another system), not a step inside it.
"""

from __future__ import annotations

from playwright.sync_api import Locator, Page, Response

# Keys that commit something (one step each); every other key only moves focus or caret.
COMMITTING_KEYS = frozenset({"Enter", "Space", " ", "Escape"})


class Steps:
    """A user's actions on ``page``, counted by the rule in the module docstring."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.log: list[str] = []

    @property
    def count(self) -> int:
        """The number of steps taken so far."""
        return len(self.log)

    def _step(self, description: str) -> None:
        self.log.append(description)

    def _locate(self, target: str | Locator) -> Locator:
        return self.page.locator(target) if isinstance(target, str) else target

    def goto(self, url: str) -> Response | None:
        """Open ``url`` (relative to the context's base URL). Not a step."""
        return self.page.goto(url)

    def click(self, target: str | Locator) -> None:
        """Click a selector or locator: one step."""
        self._locate(target).click()
        self._step(f"click {target}")

    def fill(self, target: str | Locator, text: str, *, enter: bool = False) -> None:
        """Type ``text`` into a field: no step; with ``enter=True`` then press Enter in
        it, which submits and is one step."""
        field = self._locate(target)
        field.fill(text)
        if enter:
            field.press("Enter")
            self._step(f"fill {target} and press Enter")

    def select(self, target: str | Locator, value: str) -> None:
        """Choose the option with value or label ``value`` in a select list: one step."""
        self._locate(target).select_option(value)
        self._step(f"select {value!r} in {target}")

    def press(self, key: str, target: str | Locator | None = None) -> None:
        """Press ``key`` in ``target`` or, without one, wherever focus is: one step for
        Enter, Space and Escape (with or without modifiers), none for keys that only move
        (Tab, arrows, ...)."""
        if target is None:
            self.page.keyboard.press(key)
        else:
            self._locate(target).press(key)
        if key.split("+")[-1] in COMMITTING_KEYS:  # "Control+Enter" submits too
            self._step(f"press {key}" + ("" if target is None else f" in {target}"))
