"""The learner benchmark's option helpers: a variant's inductor options never leak."""

import pytest

import compiled_update
from benchmarks.learner_speed import inductor_options, option


def test_inductor_option_values_are_python_literals_or_strings():
    assert option("cpp_wrapper=False") == ("cpp_wrapper", False)
    assert option("cpp.simdlen=256") == ("cpp.simdlen", 256)
    assert option("cpp.march=native") == ("cpp.march", "native")


def test_the_agent_options_come_back_after_a_variant_even_on_error():
    before = dict(compiled_update.INDUCTOR_OPTIONS)
    with pytest.raises(RuntimeError), inductor_options({"cpp_wrapper": False, "extra": 1}):
        assert compiled_update.INDUCTOR_OPTIONS["cpp_wrapper"] is False
        raise RuntimeError("compiling failed")
    assert before == compiled_update.INDUCTOR_OPTIONS
