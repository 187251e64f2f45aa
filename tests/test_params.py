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


def _bad_value(p):
    if p.type is bool:
        return "yes"
    if p.type is str:
        return "nope" if p.choices else 3
    return (p.low if p.low_open else p.low - 1) if p.low is not None else float("nan")


def _ssl_params():
    from coldstart.embed.ssl_train import SSL_PARAMS

    return sorted(SSL_PARAMS)


@pytest.mark.parametrize("name", _ssl_params())
def test_a_bad_pretrain_setting_names_it(name, blob_dataset):
    """embed/ssl_train.py declares its settings as Param rows too (no check of its own)."""
    pytest.importorskip("lightly")
    from coldstart.embed.ssl_train import SSL_PARAMS, pretrain_ssl

    p = SSL_PARAMS[name]
    if name == "features":  # any string is a candidate; parse_features refuses the unknown ones
        bad = 3
    else:
        bad = _bad_value(p)
    with pytest.raises(ColdstartError, match=rf"^{name}=.*ssl preset 'cpu'"):
        pretrain_ssl(blob_dataset, "cpu", **{name: bad})
