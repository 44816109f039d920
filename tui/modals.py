"""Dialogs the screens share: ask for a text (a reason, a note, an assignee), choose one of
a few options, confirm; and the help screen. Each dismisses with its answer, or None on Esc."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Markdown, OptionList
from textual.widgets.option_list import Option


class TextModal(ModalScreen[str | None]):
    """One line of text; ``required`` refuses an empty answer (a promotion needs a why)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, prompt: str, required: bool = False,
                 value: str = "") -> None:
        super().__init__()
        self.title_text, self.prompt, self.required, self.value = title, prompt, required, value

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield Label(self.prompt)
            yield Input(value=self.value, id="answer")
            yield Label("", id="problem", classes="problem")
            yield Label("Enter to confirm, Esc to cancel", classes="muted")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        answer = event.value.strip()
        if self.required and not answer:
            self.query_one("#problem", Label).update("a reason is required (it goes to the "
                                                     "audit log)")
            return
        self.dismiss(answer)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ChoiceModal(ModalScreen[str | None]):
    """Choose one of ``options`` (Enter), or cancel (Esc)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, options: list[str]) -> None:
        super().__init__()
        self.title_text, self.options = title, options

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield OptionList(*(Option(o, id=o) for o in self.options), id="choices")
            yield Label("Enter to choose, Esc to cancel", classes="muted")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmModal(ModalScreen[bool]):
    """Yes or no (y / n, or the buttons)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes"), Binding("n,escape", "answer(False)", "No")]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.question, classes="dialog-title")
            yield Button("Yes (y)", id="yes", variant="primary")
            yield Button("No (n)", id="no")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


HELP = """\
# autopipe

| key | where | what |
|---|---|---|
| 1 … 6 | anywhere | runs, resources, data, models, alerts, review |
| ctrl+p | anywhere | command palette: screens, start a run, open a report |
| / | lists | filter (any text in the row); Esc clears |
| s | lists | sort by the next column |
| r | lists | refresh from the catalog |
| enter | runs | the run's detail: leaderboard, metrics, slices, charts |
| o | run detail | open the HTML report in a browser |
| n | runs | start a run (a file and a target) in the background |
| space / c / Esc | resources | mark a run / compare the two marked / clear the marks |
| b / t | resources | stages as bars / each stage over time |
| a / c / v | data | alerts / columns and a histogram / back to the versions |
| p / b | models | promote / roll back, with a reason for the audit log |
| a / g / e / x / v | alerts | acknowledge / assign / note / resolve / its review queue |
| c / w / k | review | confirm / correct / skip the prediction (Esc: the whole queue) |
| ? | anywhere | this help |
| q | anywhere | quit |

Every screen reads the catalog in the background: a running flow never blocks it.
"""


class HelpModal(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "close", "Close")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog help"):
            yield Markdown(HELP)

    def action_close(self) -> None:
        self.dismiss(None)
