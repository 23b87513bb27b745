"""What a catalogue entry is: one sentence in every language, filled in by named fields.

>>> greeting = Message("{name}您好", "Hello {name}")
>>> greeting.format("en", name="Wang Fang")
'Hello Wang Fang'
>>> sorted(greeting.fields("zh-CN"))
['name']

A field may itself be a message; it is said in the same language as its sentence:

>>> gas = Message("燃气", "gas")
>>> Message("未使用{what}", "No {what!l} used").format("zh-CN", what=gas)
'未使用燃气'

``!l`` lowers a field (an English label inside a sentence; Chinese has no case).
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from typing import Any, Literal

Language = Literal["zh-CN", "en"]
"""The one language code everywhere: the console, the people file, the outbox, the templates."""

LANGUAGES: tuple[Language, ...] = ("zh-CN", "en")
DEFAULT_LANGUAGE: Language = "zh-CN"


class _Formatter(string.Formatter):
    def convert_field(self, value: Any, conversion: str | None) -> Any:
        if conversion == "l":
            return str(value).lower()
        return super().convert_field(value, conversion)


_FORMATTER = _Formatter()


@dataclass(frozen=True, slots=True)
class Message:
    """One entry: its Chinese and its English text (``str.format`` fields, the same names in both)."""

    zh_CN: str
    en: str

    def text(self, lang: Language) -> str:
        return self.en if lang == "en" else self.zh_CN

    def format(self, lang: Language, **fields: Any) -> str:
        plain = {name: value for name, value in fields.items() if not isinstance(value, Message)}
        values = {name: value.format(lang, **plain) if isinstance(value, Message) else value for name, value in fields.items()}
        return _FORMATTER.vformat(self.text(lang), (), values)

    def fields(self, lang: Language) -> frozenset[str]:
        return frozenset(name.split(".")[0].split("[")[0] for _, name, _, _ in _FORMATTER.parse(self.text(lang)) if name)


def language_of(code: str | None) -> Language:
    """A stored or requested language code (``en``, ``en-GB``, ``zh``, ``zh-CN``, nothing) as the one code we use."""
    return "en" if (code or "").lower().startswith("en") else DEFAULT_LANGUAGE
