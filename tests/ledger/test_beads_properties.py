"""Any Beads-shaped record survives import -> export -> verify unchanged (hypothesis)."""

from __future__ import annotations

import datetime as dt
import io
import itertools
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from doltplane import connect
from doltplane.planes.beads_format import same

_json_leaf = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=12)
_json = st.recursive(
    _json_leaf | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=8,
)
_time = st.builds(
    lambda d, frac, zone: d.strftime("%Y-%m-%dT%H:%M:%S") + frac + zone,
    st.datetimes(min_value=dt.datetime(1971, 1, 1)),
    st.sampled_from(["", ".5", ".123456", ".123456789"]),
    st.sampled_from(["Z", "+05:30", "-07:00", ""]),
)
_word = st.text(st.characters(min_codepoint=97, max_codepoint=122), min_size=1, max_size=10)
_mapped = {
    "title": st.none() | st.text(max_size=20),
    "issue_type": st.none() | _word,
    "status": st.none() | _word,
    "created_by": st.none() | _word,
    "owner": st.none() | _word,
    "created_at": st.none() | _time,
    "closed_at": st.none() | _time,
    "labels": st.lists(st.text(max_size=8), max_size=3) | _json,
    "dependencies": st.lists(
        st.fixed_dictionaries(
            {"depends_on_id": _word},
            optional={
                "type": _json,
                "created_at": _time | _json,
                "metadata": _json,
                "issue_id": _json,
            },
        ),
        max_size=2,
    ),
    "comments": st.lists(
        st.fixed_dictionaries(
            {}, optional={"id": st.integers(0, 10**6) | _word, "text": _json, "created_at": _time}
        ),
        max_size=2,
    ),
}
_extra_key = st.text(min_size=1, max_size=8).filter(lambda k: k not in _mapped and k != "id")
_extra = st.dictionaries(_extra_key, _json, max_size=4)
_record = st.tuples(st.fixed_dictionaries({}, optional=_mapped), _extra)
_ids = itertools.count()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.lists(_record, min_size=1, max_size=4))
def test_any_beads_record_round_trips(tmp_path: Path, records: list[Any]) -> None:
    lines = []
    for mapped, extra in records:
        line = {**extra, **mapped, "id": f"pr-{next(_ids)}"}
        lines.append(line)
    source = tmp_path / f"{lines[0]['id']}.jsonl"
    source.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    with connect(tmp_path / "dp", checkpoint_every_writes=0, checkpoint_every_seconds=0) as dp:
        dp.ledger.import_jsonl(source, format="beads")
        out = io.StringIO()
        dp.ledger.export_jsonl(out, format="beads")
        exported = {r["id"]: r for r in map(json.loads, out.getvalue().splitlines(keepends=False))}
        for line in lines:
            assert same(exported[line["id"]], line), (exported[line["id"]], line)
        again = dp.ledger.import_jsonl(source, format="beads")
        assert again.unchanged == len(lines) and again.commit is None
