"""Generated inputs: ordinary, edge and hostile values for every kind of argument."""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

from hypothesis import strategies as st

# --- text ------------------------------------------------------------------------------
# no lone surrogates here: text that cannot be UTF-8 is its own strategy (`unencodable`)
printable = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
awkward = st.sampled_from(
    [
        "",
        " ",
        "\t",
        "\n",
        "x\x00y",
        "\x7f",
        "a" * 255,
        "a" * 256,
        "é" * 200,
        "../etc/passwd",
        "/abs/path",
        "a/../../b",
        "NULL",
        "null",
        "'; DROP TABLE issues; --",
        '"quoted"',
        "%s",
        "{}",
        "[]",
        "0",
        "-1",
        "🦀",
        "\u202e",
        "\ufeff",
    ]
)
texts = printable | awkward
unencodable = st.builds(lambda a, b: a + "\udcff" + b, printable, printable)

simple_ids = st.from_regex(r"[a-z]{1,4}-[0-9a-z]{1,6}", fullmatch=True)
ids = simple_ids | texts

# --- JSON documents ----------------------------------------------------------------------
json_values: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)
json_objects = st.dictionaries(texts, json_values, max_size=5)


def _nest(depth: int, leaf: Any, as_list: bool) -> Any:
    value = leaf
    for _ in range(depth):
        value = [value] if as_list else {"k": value}
    return value


deep_json = st.builds(
    lambda depth, as_list: {"deep": _nest(depth, 1, as_list)},
    st.integers(min_value=100, max_value=3000),
    st.booleans(),
)
non_finite_json = st.builds(
    lambda value, key: {key: value},
    st.sampled_from([math.nan, math.inf, -math.inf, 1e308 * 10]),
    texts,
)
huge_int_json = st.builds(lambda n: {"n": n}, st.integers(min_value=2**63, max_value=2**200))

# --- times -----------------------------------------------------------------------------
# years 1000-9998: the ends of the range are their own strategy (`extreme_times`)
any_datetimes = st.datetimes(min_value=dt.datetime(1000, 1, 1), max_value=dt.datetime(9998, 12, 31))
aware_datetimes = st.datetimes(
    min_value=dt.datetime(1000, 1, 2),
    max_value=dt.datetime(9998, 12, 30),
    timezones=st.sampled_from(
        [dt.UTC, dt.timezone(dt.timedelta(hours=-14)), dt.timezone(dt.timedelta(hours=14))]
    ),
)
recent_datetimes = st.datetimes(
    min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2035, 1, 1)
)
time_texts = st.builds(
    lambda d: d.isoformat(), any_datetimes | aware_datetimes | recent_datetimes
) | st.sampled_from(
    [
        "2026-13-01",
        "2026-02-30",
        "2026-11-26T25:00:00",
        "2026-11-26T09:00:00Z",
        "2026-11-26 09:00:00+05:30",
        "now",
        "yesterday",
        "1e9",
        "-1",
    ]
)
times = any_datetimes | aware_datetimes | recent_datetimes | time_texts

_far_zones = st.sampled_from(
    [None, dt.UTC, dt.timezone(dt.timedelta(hours=-14)), dt.timezone(dt.timedelta(hours=14))]
)
_edge_datetimes = st.builds(
    lambda moment, zone: moment.replace(tzinfo=zone),
    st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(999, 12, 31))
    | st.datetimes(min_value=dt.datetime(9999, 1, 1), max_value=dt.datetime.max),
    _far_zones,
)
extreme_times = (
    _edge_datetimes
    | st.builds(lambda d: d.isoformat(), _edge_datetimes)
    | st.sampled_from(["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "0999-12-31"])
)
"""Times at the ends of the supported range (issue 7 item 3)."""

# --- revisions and branch names -----------------------------------------------------------
hex_text = st.text("0123456789abcdef", min_size=1, max_size=41)
revision_words = st.sampled_from(
    [
        "HEAD",
        "HEAD~1",
        "HEAD~2",
        "HEAD~999999",
        "HEAD^",
        "HEAD^^",
        "HEAD~",
        "main",
        "main~1",
        "main^2",
        "WORKING",
        "STAGED",
        "@",
        "-",
        "--all",
        "HEAD~-1",
        "main..HEAD",
        "refs/heads/main",
        "v1",
    ]
)
branch_like = st.from_regex(r"[a-z]{1,6}(/[a-z0-9._-]{1,8}){0,3}", fullmatch=True)
branch_names = (
    branch_like
    | st.sampled_from(
        [
            "main",
            "HEAD",
            "a..b",
            "a/",
            "/a",
            "a.lock",
            "-x",
            "a//b",
            "a@{1}",
            "a b",
            "a~1",
            "a^",
            "a:b",
            "a?",
            "a*",
            "a[",
            "a\\b",
            ".a",
            "a/.b",
            "a" * 300,
            "doltplane-tmp/x",
            "doltplane-squash-1",
        ]
    )
    | texts
)
revisions = revision_words | hex_text | branch_like | time_texts | texts

# --- JSONL lines -------------------------------------------------------------------------
issue_fields = st.fixed_dictionaries(
    {"kind": st.just("issue"), "id": simple_ids, "title": texts},
    optional={
        "type": texts,
        "status": st.sampled_from(["open", "closed", "in_progress"]) | texts,
        "owner": st.none() | texts,
        "created_by": st.none() | texts,
        "created_at": time_texts | st.none() | st.integers(),
        "completed_at": time_texts | st.none(),
        "metadata": json_objects | json_values,
        "labels": st.lists(texts, max_size=3),
        "dependencies": st.lists(st.fixed_dictionaries({"depends_on_id": simple_ids})),
        "extra": json_values,
    },
)
cv_fields = st.fixed_dictionaries(
    {"kind": st.just("cv_entry"), "id": simple_ids},
    optional={
        "owner_email": texts,
        "activity_type": texts,
        "bead_id": st.none() | simple_ids,
        "timestamp": time_texts | st.none(),
        "metadata": json_objects | json_values,
    },
)
record_lines = st.builds(json.dumps, issue_fields | cv_fields)
garbage_lines = (
    texts
    | st.builds(json.dumps, json_values)
    | st.builds(lambda d: json.dumps(d)[:-1], issue_fields)  # truncated
    | st.sampled_from(["", "   ", "{", "}", "[]", "null", '{"kind": "issue"}', "\x00"])
)
jsonl_lines = st.lists(record_lines | garbage_lines, min_size=0, max_size=6)
kind_list_lines = st.builds(
    lambda d, kind: json.dumps({**d, "kind": kind}),
    issue_fields,
    st.lists(st.sampled_from(["issue", "cv_entry"]), max_size=2) | st.dictionaries(texts, texts),
)
beads_lines = st.builds(
    json.dumps,
    st.fixed_dictionaries(
        {"id": simple_ids, "title": texts},
        optional={
            "_type": st.sampled_from(["issue", "memory"]) | texts,
            "status": st.sampled_from(["open", "closed", "tombstone"]),
            "issue_type": texts,
            "priority": st.integers(-5, 5),
            "assignee": texts,
            "wisp": st.booleans(),
        },
    ),
)
