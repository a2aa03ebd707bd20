"""book/_ext/chapter_numbers.py: exercises numbered per chapter (Exercise 2.3), not across the book."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("chapter_numbers", ROOT / "book" / "_ext" / "chapter_numbers.py")
chapter_numbers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(chapter_numbers)


def test_the_extension_is_registered():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["sphinx"]["local_extensions"]["chapter_numbers"] == "book/_ext"


def test_chapter_number_from_the_title_or_the_file_name():
    assert chapter_numbers.chapter_number("4. Building ResNet-18 to ResNet-152", "book/04_building_resnets") == 4
    assert chapter_numbers.chapter_number("0. Setting up", "book/00_setup") == 0
    assert chapter_numbers.chapter_number("Untitled", "book/07_beyond_the_block") == 7
    assert chapter_numbers.chapter_number("For instructors", "book/instructors") is None


def test_exercises_are_renumbered_per_chapter_in_reading_order():
    # What Sphinx's numfig gives without a numbered toc: one count across the book.
    numbers = {
        "book/02_residual_block": {"exercise": {"ex-b": (7,), "ex-a": (6,)}, "figure": {"fig": (3,)}},
        "book/03_bottleneck": {"exercise": {"ex-c": (8,), "ex-d": (9,), "ex-e": (10,)}},
        "book/instructors": {"exercise": {"ex-z": (11,)}},
    }
    titles = {"book/02_residual_block": "2. The residual block", "book/03_bottleneck": "3. The bottleneck block",
              "book/instructors": "For instructors"}
    chapter_numbers.renumber(numbers, titles)
    assert numbers["book/02_residual_block"]["exercise"] == {"ex-a": (2, 1), "ex-b": (2, 2)}
    assert numbers["book/02_residual_block"]["figure"] == {"fig": (3,)}  # only exercises change
    assert numbers["book/03_bottleneck"]["exercise"] == {"ex-c": (3, 1), "ex-d": (3, 2), "ex-e": (3, 3)}
    assert numbers["book/instructors"]["exercise"] == {"ex-z": (11,)}  # no chapter number: left alone


def test_sphinx_gets_its_own_numbers_back_before_the_next_build():
    class Title:
        def __init__(self, text):
            self.text = text

        def astext(self):
            return self.text

    class Env:
        toc_fignumbers = {"book/05_gradient_flow": {"exercise": {"ex-x": (20,), "ex-y": (21,)}}}
        titles = {"book/05_gradient_flow": Title("5. Gradient flow, measured")}

    env = Env()
    assert chapter_numbers.number_per_chapter(None, env) == []
    assert env.toc_fignumbers["book/05_gradient_flow"]["exercise"] == {"ex-x": (5, 1), "ex-y": (5, 2)}
    chapter_numbers.restore_sphinx_numbers(None, env, [])
    assert env.toc_fignumbers["book/05_gradient_flow"]["exercise"] == {"ex-x": (20,), "ex-y": (21,)}
