from __future__ import annotations

from pathlib import Path

import pytest

from sdf_corpus.errors import SpecError
from sdf_corpus.spec.constitution import load_constitution

REPO = Path(__file__).resolve().parents[2]


def test_example_constitution_has_sections_and_enough_principles() -> None:
    c = load_constitution(REPO / "constitution" / "example.md")
    assert 25 <= len(c.principles) <= 40
    assert len({p.section for p in c.principles}) >= 6
    assert len({p.id for p in c.principles}) == len(c.principles)
    assert all(p.text and p.title and p.section for p in c.principles)


def test_headings_and_bullets_both_parse(tmp_path: Path) -> None:
    path = tmp_path / "c.md"
    path.write_text(
        "# Mini\n\nIntro text.\n\n## Honesty\n\nSection intro.\n\n### Tell the truth\n\n"
        "Body one.\n\nMore body.\n\n## Harm\n\n- **Avoid harm.** Weigh costs.\n"
        "- **Avoid harm.** Same title twice.\n",
        encoding="utf-8",
    )
    c = load_constitution(path)
    assert c.title == "Mini"
    assert [(p.id, p.section) for p in c.principles] == [
        ("tell_the_truth", "Honesty"),
        ("avoid_harm", "Harm"),
        ("avoid_harm_2", "Harm"),
    ]
    assert c.principles[0].text == "Body one.\n\nMore body."
    assert "Section intro" not in c.principles[0].text


def test_yaml_list_of_principles(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("- {title: Be kind, text: Kindness matters.}\n- {id: x, title: Y, text: Z}\n")
    c = load_constitution(path)
    assert [p.id for p in c.principles] == ["be_kind", "x"]


def test_ids_are_stable_when_principles_are_added(tmp_path: Path) -> None:
    a, b = tmp_path / "a.md", tmp_path / "b.md"
    a.write_text("## S\n### One\nx\n### Two\ny\n")
    b.write_text("## S\n### Zero\nw\n### One\nx\n### Two\ny\n")
    ids_a = {p.title: p.id for p in load_constitution(a).principles}
    ids_b = {p.title: p.id for p in load_constitution(b).principles}
    assert ids_a.items() <= ids_b.items()


@pytest.mark.parametrize("content", ["", "# Only a title\n\nSome prose, no principles.\n"])
def test_empty_constitution_is_an_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "c.md"
    path.write_text(content)
    with pytest.raises(SpecError, match="no principles found"):
        load_constitution(path)


def test_yaml_constitution_honours_its_title(tmp_path: Path) -> None:
    path = tmp_path / "charter.yaml"
    path.write_text(
        "title: The Lighthouse Charter\n"
        "principles:\n"
        "  - title: Keep the light burning\n"
        "    text: Ships depend on it every night.\n"
        "    section: Duty\n"
        "  - {id: warn_early, title: Warn early, text: A late warning is no warning.}\n",
        encoding="utf-8",
    )
    c = load_constitution(path)
    assert c.title == "The Lighthouse Charter"
    assert [p.id for p in c.principles] == ["keep_the_light_burning", "warn_early"]
    assert c.principles[0].section == "Duty"


def test_yaml_list_form_takes_its_title_from_the_file_name(tmp_path: Path) -> None:
    path = tmp_path / "short-charter.yaml"
    path.write_text("- {title: Be brief, text: Say it once.}\n", encoding="utf-8")
    assert load_constitution(path).title == "short-charter"


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("c.md", "# C\n\n## S\n\n### Has text\n\nBody.\n\n### Empty\n\n## Next\n", "c.md:9"),
        ("c.md", "# C\n\n## S\n\n### Last and empty\n", "c.md:5"),
        ("c.yaml", "principles:\n  - {title: Empty, text: ''}\n", "principle 1"),
    ],
)
def test_a_principle_without_text_is_refused_not_dropped(
    tmp_path: Path, name: str, content: str, expected: str
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(SpecError, match=expected):
        load_constitution(path)


@pytest.mark.parametrize(
    ("name", "content", "form"),
    [
        ("c.md", "# Only a title\n\nSome prose and no headings.\n", "'### Title' heading"),
        ("c.yaml", "title: Only a title\n", "'title' and 'text'"),
        ("c.yaml", "title: X\nprinciples: []\n", "'title' and 'text'"),
    ],
)
def test_no_principles_message_fits_the_form(
    tmp_path: Path, name: str, content: str, form: str
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(SpecError, match="no principles found") as info:
        load_constitution(path)
    assert form in str(info.value)
    other = "'title' and 'text'" if name.endswith(".md") else "'### Title' heading"
    assert other not in str(info.value)


def test_an_unknown_principle_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("- {title: Be kind, text: Kindness matters., notes: kept}\n", encoding="utf-8")
    with pytest.raises(SpecError, match=r"principle 1: unknown key\(s\) \['notes'\]"):
        load_constitution(path)


@pytest.mark.parametrize("doc", ["README.md", "docs/constitution.md"])
@pytest.mark.parametrize(("lang", "suffix"), [("markdown", ".md"), ("yaml", ".yaml")])
def test_documented_examples_load_as_described(
    tmp_path: Path, doc: str, lang: str, suffix: str
) -> None:
    import re

    text = (REPO / doc).read_text(encoding="utf-8")
    blocks = [
        b for b in re.findall(rf"```{lang}\n(.+?)\n```", text, re.DOTALL) if "Lighthouse" in b
    ]
    assert blocks, f"{doc} shows a {lang} constitution"
    path = tmp_path / f"example{suffix}"
    path.write_text(blocks[0].replace("; ...", "."), encoding="utf-8")
    c = load_constitution(path)
    assert c.title == "The Lighthouse Charter"
    ids = [p.id for p in c.principles]
    assert ids[0] == "keep_the_light_burning" and "warn_early" in ids
    assert all(p.text for p in c.principles)
