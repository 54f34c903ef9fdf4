"""Properties over generated input, on real doltlite files."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from doltplane import DataPlane, InvalidInput, connect
from doltplane.errors import InvalidBranchName, InvalidRevision
from doltplane.validation import check_branch_name

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
json_objects = st.dictionaries(st.text(max_size=8), json_values, max_size=5)

SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module")
def shared_dp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DataPlane]:
    folder = tmp_path_factory.mktemp("properties")
    with connect(folder / "dp", checkpoint_every_writes=0, checkpoint_every_seconds=0) as dp:
        yield dp


@SETTINGS
@given(state=json_objects)
def test_any_json_object_round_trips_exactly(
    shared_dp: DataPlane, state: dict[str, object]
) -> None:
    shared_dp.ops.set_state("p", rig="r", agent="a", status="s", state=state)
    assert shared_dp.ops.get("p").state == state


@SETTINGS
@example(name="gastown/polecats/toast")  # always exercise the create path, not only refusals
@example(name="release-1.2_rc")
@given(
    name=st.text(min_size=1, max_size=40)
    | st.text(alphabet="aZ09._/-@{}~^:lock", min_size=1, max_size=30)
)
def test_branch_names_we_accept_are_names_dolt_accepts(shared_dp: DataPlane, name: str) -> None:
    engine = shared_dp.engine("ledger")
    try:
        check_branch_name(name)
    except InvalidBranchName:
        return
    if engine.has_branch(name):
        engine.delete_branch(name, force=True)
    engine.create_branch(name)  # must not fail for a name we let through
    assert engine.has_branch(name)
    engine.delete_branch(name, force=True)


@SETTINGS
@given(text=st.text(max_size=60))
def test_any_revision_text_is_a_commit_or_a_typed_error(shared_dp: DataPlane, text: str) -> None:
    engine = shared_dp.engine("ops")
    before = engine.commit_count()
    try:
        view = shared_dp.ops.as_of(text)
    except (InvalidRevision, InvalidInput):
        pass
    else:
        assert view.revision is not None and len(view.revision) == 40
    assert engine.commit_count() == before
