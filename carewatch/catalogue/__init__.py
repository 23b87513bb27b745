"""One catalogue for every sentence a person reads: the console, the family page, SMS, email,
robot texts and detector explanations, in ``zh-CN`` and ``en``.

Entries are typed (``Message``: the same sentence in both languages, filled in by named
fields) and keyed ``section.name``. A key that does not exist raises ``MissingMessage``,
in code and in templates alike, so a forgotten label fails a test instead of leaving a
blank button.

>>> text("severity.critical", "zh-CN")
'紧急'
>>> text("ui.reminders", "en", n=3)
'3 reminders sent'
>>> words("ui", "en").sign_in
'Sign in'
>>> words("ui", "en").sign_up
Traceback (most recent call last):
...
carewatch.catalogue.MissingMessage: no message "ui.sign_up" in the catalogue (carewatch/catalogue)

Only ``carewatch.domain``-level code may sit below this package: detectors import it.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from carewatch.catalogue import console, explanations, labels, notices
from carewatch.catalogue.core import DEFAULT_LANGUAGE, LANGUAGES, Language, Message, language_of

__all__ = [
    "CATALOGUE", "DEFAULT_LANGUAGE", "LANGUAGES", "Language", "Message", "MissingMessage", "Words",
    "language_of", "message", "text", "words",
]


def _flatten(*modules: Any) -> dict[str, Message]:
    entries: dict[str, Message] = {}
    for module in modules:
        for section, messages in module.SECTIONS.items():
            for name, entry in messages.items():
                key = f"{section}.{name}"
                if key in entries:
                    raise ValueError(f"catalogue key {key!r} is defined twice ({module.__name__})")
                entries[key] = entry
    return entries


CATALOGUE: Mapping[str, Message] = MappingProxyType(_flatten(labels, console, notices, explanations))


class MissingMessage(Exception):
    """A key the catalogue does not have.

    Deliberately not a ``KeyError``/``AttributeError``: Jinja2 turns those into a silent
    empty string, which is how the household search button lost its label.
    """

    def __init__(self, key: str) -> None:
        super().__init__(f'no message "{key}" in the catalogue (carewatch/catalogue)')
        self.key = key


def message(key: str) -> Message:
    try:
        return CATALOGUE[key]
    except KeyError:
        raise MissingMessage(key) from None


def text(key: str, lang: Language, **fields: Any) -> str:
    """The entry ``key`` in ``lang``, its named fields filled in."""
    return message(key).format(lang, **fields) if fields else message(key).text(lang)


class Words:
    """One section in one language, for templates and tables: ``words.title``, ``words["gas"]``.

    ``get(name, default)`` is for values from outside (a channel configured later than this
    catalogue); everything else raises ``MissingMessage`` on a missing name.
    """

    __slots__ = ("section", "lang")

    def __init__(self, section: str, lang: Language) -> None:
        self.section = section
        self.lang = lang

    def __getitem__(self, name: str) -> str:
        return text(f"{self.section}.{name}", self.lang)

    def __getattr__(self, name: str) -> str:
        if name.startswith("__"):
            raise AttributeError(name)
        return self[name]

    def get(self, name: str, default: str) -> str:
        entry = CATALOGUE.get(f"{self.section}.{name}")
        return default if entry is None else entry.text(self.lang)


def words(section: str, lang: Language) -> Words:
    return Words(section, lang)
