"""Environment names and locks: parsing, validation, content addresses."""

import pytest

from mlplatform.environments import (
    EnvironmentNameError,
    EnvironmentResolutionError,
    EnvironmentSpec,
    Lock,
    parse_name,
)

COMPILED = """\
attrs==26.1.0 \\
    --hash=sha256:bbb \\
    --hash=sha256:aaa
six==1.16.0 \\
    --hash=sha256:ccc
"""


def test_a_name_has_three_parts_and_a_tag_that_defaults_to_latest():
    name = parse_name("recsys/ranking/sklearn-1.5:v1")
    assert (name.path, name.tag, name.mutable) == ("recsys/ranking/sklearn-1.5", "v1", False)
    latest = parse_name("recsys/ranking/sklearn-1.5")
    assert (str(latest), latest.mutable) == ("recsys/ranking/sklearn-1.5:latest", True)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("sklearn", r"has 1 part\(s\); expected three"),
        ("a/b/c/d", r"has 4 part\(s\)"),
        ("Team/proj/env", r"part 'Team' is invalid"),
        ("team/proj/env:", r"empty tag"),
        ("team/proj/env:-x", r"tag '-x' is invalid"),
        ("team//env", r"part '' is invalid"),
        ("", r"a string 'team/project/name:tag'"),
        (3, r"got 3"),
    ],
)
def test_malformed_names_say_which_part_is_wrong(name, expected):
    with pytest.raises(EnvironmentNameError, match=expected):
        parse_name(name)


def test_a_lock_parses_uv_output_and_its_hash_ignores_order_and_what_was_asked():
    lock = Lock.from_requirements_txt(COMPILED, "3.11", ["six==1.16.0"])
    assert lock.pins() == {"attrs": "26.1.0", "six": "1.16.0"}
    assert lock.packages[0].hashes == ("sha256:bbb", "sha256:aaa")
    reordered = Lock.from_requirements_txt(
        "six==1.16.0 --hash=sha256:ccc\nattrs==26.1.0 --hash=sha256:aaa --hash=sha256:bbb\n",
        "3.11",
        ["attrs"],
    )
    assert reordered.hash == lock.hash
    assert Lock.from_requirements_txt(COMPILED, "3.12").hash != lock.hash
    assert Lock.from_json(lock.to_json()) == lock
    assert "--hash=sha256:ccc" in lock.requirements_txt()
    assert "http" not in lock.to_json()  # host-free


def test_malformed_specs_and_locks_are_refused():
    with pytest.raises(EnvironmentResolutionError, match="a list of requirement strings"):
        EnvironmentSpec("six")
    with pytest.raises(EnvironmentResolutionError, match=r"'major\.minor'"):
        EnvironmentSpec(["six"], python="3")
    with pytest.raises(EnvironmentResolutionError, match="not an exact pin"):
        Lock.from_requirements_txt("six>=1\n", "3.11")
    with pytest.raises(EnvironmentResolutionError, match="not an environment lock"):
        Lock.from_json('{"format": 99}')
