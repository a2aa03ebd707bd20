"""Tests for resnet_edu.measuring.comparison and the published constants it compares with
(resnet_edu.measuring.published: CIFAR-10 Table 6, ImageNet Table 3), and the printed tables."""

from __future__ import annotations

import pytest

from resnet_edu.measuring.comparison import cifar_comparison, imagenet_comparison
from resnet_edu.measuring.published import PUBLISHED_CIFAR, PUBLISHED_TABLE3_TOP1, PublishedCifar

# FACTS.md, option A counts recomputed independently of the package
FACTS_CIFAR_PARAMETERS = {20: 269_722, 32: 464_154, 44: 658_586, 56: 853_018, 110: 1_727_962, 1202: 19_421_274}


@pytest.fixture(scope="module")
def table_6():
    """Every depth of Table 6; ResNet-1202 alone takes about a second to build, even on the meta device."""
    return cifar_comparison()


def test_cifar_comparison_rounds_to_the_papers_table_6(table_6):
    comparison = table_6
    assert [r.depth for r in comparison] == [20, 32, 44, 56, 110, 1202]
    for row in comparison:
        assert row.parameters == FACTS_CIFAR_PARAMETERS[row.depth], row.depth
        assert row.blocks_per_stage * 6 + 2 == row.depth
        assert row.matches_published, (row.depth, row.rounded_millions, row.published.parameters_millions)
    assert comparison[110].rounded_millions == 1.7 and comparison[20].rounded_millions == 0.27


def test_cifar_comparison_would_notice_a_wrong_count():
    row = cifar_comparison((56,))[56]
    wrong = type(row)(56, 9, row.parameters + 20_000, row.published)  # e.g. option B projections at every block
    assert not wrong.matches_published


def test_published_numbers_tell_the_paper_s_story():
    """What the chapters read off the constants, not the constants retyped."""
    # Table 6: deeper is better up to 110 layers, then 1202 overfits (section 4.2)
    errors = [PUBLISHED_CIFAR[d].test_error for d in (20, 32, 44, 56, 110)]
    assert errors == sorted(errors, reverse=True)
    assert PUBLISHED_CIFAR[1202].test_error > PUBLISHED_CIFAR[110].test_error
    # ResNet-110's test_error is the best of 5 runs: not above their mean
    r110 = PUBLISHED_CIFAR[110]
    assert r110.test_error_mean is not None and r110.test_error <= r110.test_error_mean
    assert all(p.test_error_mean is None and p.test_error_std is None for d, p in PUBLISHED_CIFAR.items() if d != 110)
    # parameters as printed: the decimals each entry says it has
    assert all(round(p.parameters_millions, p.decimals) == p.parameters_millions for p in PUBLISHED_CIFAR.values())
    assert all(isinstance(p, PublishedCifar) for p in PUBLISHED_CIFAR.values())
    # Table 3: every shortcut option beats plain-34, and C < B < A
    top1 = PUBLISHED_TABLE3_TOP1
    assert top1["ResNet-34 C"] < top1["ResNet-34 B"] < top1["ResNet-34 A"] < top1["plain-34"]


def test_cifar_comparison_renders_as_text_and_html(table_6):
    comparison = table_6
    text = str(comparison)
    assert repr(comparison) == text
    assert "19,421,274" in text and "19.4" in text and "6.61 ± 0.16" in text and "NO" not in text
    assert len(text.splitlines()) == 2 + len(comparison) + 2  # headers, rule, rows, rule, footer
    assert comparison._repr_html_().count("<tr>") == 1 + len(comparison)


def test_cifar_comparison_rejects_depths_not_in_table_6():
    with pytest.raises(ValueError, match="Table 6"):
        cifar_comparison((20, 26))
    with pytest.raises(KeyError):
        cifar_comparison((20,))[32]


def test_imagenet_comparison_headers_are_unambiguous_and_repr_is_the_table():
    comparison = imagenet_comparison(("resnet18", "resnet50"))
    header = str(comparison).splitlines()[0]
    assert "torchvision params" in header and "torchvision GMACs" in header and "paper GMACs" in header
    assert repr(comparison) == str(comparison)
    assert "ComparisonRow(" not in repr(comparison)
