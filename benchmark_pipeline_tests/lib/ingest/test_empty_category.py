"""Validation of empty categories: the shortcut one-record submissions take."""

import pytest


@pytest.mark.parametrize("category", ["performance", "compatibility", "integration"])
def test_an_empty_category_is_typed_like_a_validated_one_and_never_shared(category):
    """Empty categories skip validation (one-record submissions): same columns and dtypes as validating."""
    import pandas as pd

    from benchmark_pipeline.lib.ingest import validate as v

    files = pd.DataFrame({"file_name_time": pd.Series(dtype="datetime64[ns, UTC]"),
                          "seen_at": pd.Series(dtype="datetime64[ns, UTC]")}, index=pd.Index([], name="file_id"))
    fast = v.validate_category(category, v.CategoryRecords(), files)
    full = v._validate_category(category, v.CategoryRecords(), files)
    pd.testing.assert_frame_equal(fast.frame, full.frame)
    pd.testing.assert_frame_equal(fast.quarantine, full.quarantine)
    assert fast.children.keys() == full.children.keys()
    for name in fast.children:
        pd.testing.assert_frame_equal(fast.children[name], full.children[name])
    fast.frame["model_name"] = pd.Series(dtype="string")  # a caller's change never reaches the next caller
    again = v.validate_category(category, v.CategoryRecords(), files)
    pd.testing.assert_frame_equal(again.frame, full.frame)
