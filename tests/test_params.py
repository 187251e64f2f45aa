"""The one unknown-key check and the one KEY=VALUE parser."""
import pytest

from coldstart.errors import ColdstartError
from coldstart.params import check_known_keys, parse_key_values


def test_parse_key_values_reads_yaml_values():
    got = parse_key_values(["k=20", "base=kmeans", "exclude=0.2", "flag=true", "w=[1, 2]", "empty=", "s= a b"])
    assert got == {"k": 20, "base": "kmeans", "exclude": 0.2, "flag": True, "w": [1, 2], "empty": "", "s": "a b"}


@pytest.mark.parametrize("item", ["oops", "=3"])
def test_parse_key_values_refuses_items_without_key(item):
    with pytest.raises(ColdstartError, match=r"--param .* is not KEY=VALUE: write e.g. --param"):
        parse_key_values([item], "--param")


def test_check_known_keys_names_bad_and_valid():
    check_known_keys("run config key", {"a": 1}, ["a", "b"])
    with pytest.raises(ColdstartError, match=r"unknown training setting\(s\) \['x', 'y'\] for task 'probe': "
                                             r"valid keys are a, b"):
        check_known_keys("training setting", ["y", "x", "a"], ["a", "b"], " for task 'probe'")
