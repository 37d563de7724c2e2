"""Known answers: the report of a six-row hand-built log, every figure summed by hand.

Prices are the catalog's list prices (src/tokenfab/data/api_prices.csv):
gpt-4o-2024-08-06 $2.50 in / $10 out per Mtok, cached $1.25 (OpenAI's prompt-caching row for
the same prices); o3-mini $1.10 / $4.40 (cached $0.55); deepseek-reasoner (DeepSeek-R1)
$0.55 / $2.19 (cached $0.14). Reasoning tokens are part of the output tokens.

row  model              in    cached  out   reason  task  status   logged cost   list cost
1    gpt-4o-2024-08-06  1000  400     500   0       a     success  0.007         (600*2.5+400*1.25+500*10)/1e6 = 0.007
2    gpt-4o-2024-08-06  2000  0       100   0       a     success  0.006         (2000*2.5+100*10)/1e6 = 0.006
3    o3-mini            1000  0       3000  2500    b     success  0.0143        (1000*1.1+3000*4.4)/1e6 = 0.0143
4    deepseek-reasoner  4000  1000    2000  1500    -     success  0.00617       (3000*0.55+1000*0.14+2000*2.19)/1e6 = 0.00617
5    my-finetune        500   0       100   0       -     success  -             unknown
6    gpt-4o-2024-08-06  100   0       10    0       b     error    0.02          (100*2.5+10*10)/1e6 = 0.00035
"""

from __future__ import annotations

import pytest

from tokenfab.usage import analyses, engines
from tokenfab.usage.schema import UsageLogError

ROWS = [
    # timestamp, model, in, cached, out, reasoning, cost, latency, task, status, app
    (
        "2025-06-02T10:00:00Z",
        "gpt-4o-2024-08-06",
        1000,
        400,
        500,
        0,
        0.007,
        1,
        "a",
        "success",
        "chat",
    ),
    (
        "2025-06-02T10:00:05Z",
        "gpt-4o-2024-08-06",
        2000,
        0,
        100,
        0,
        0.006,
        2,
        "a",
        "success",
        "chat",
    ),
    ("2025-06-02T11:00:00Z", "o3-mini", 1000, 0, 3000, 2500, 0.0143, 3, "b", "success", "agent"),
    (
        "2025-06-03T09:00:00Z",
        "deepseek-reasoner",
        4000,
        1000,
        2000,
        1500,
        0.00617,
        4,
        "",
        "success",
        "agent",
    ),
    ("2025-06-03T09:30:00Z", "my-finetune", 500, 0, 100, 0, "", 5, "", "success", "chat"),
    ("2025-06-03T12:00:00Z", "gpt-4o-2024-08-06", 100, 0, 10, 0, 0.02, 6, "b", "error", "agent"),
]
HEADER = "timestamp,model,input_tokens,cached_input_tokens,output_tokens,reasoning_tokens,cost_usd,latency_s,task_id,status,app"


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    p = tmp_path_factory.mktemp("usage") / "hand.csv"
    p.write_text(
        HEADER + "\n" + "\n".join(",".join(map(str, r)) for r in ROWS) + "\n", encoding="utf-8"
    )
    return analyses.report(engines.connect(), [str(p)])


def test_totals_and_shares(report):
    s = report["summary"]
    assert s["requests"] == 6
    assert s["input_tokens"] == 8600  # 1000+2000+1000+4000+500+100
    assert s["cached_input_tokens"] == 1400  # 400+1000
    assert s["output_tokens"] == 5710  # 500+100+3000+2000+100+10
    assert s["reasoning_tokens"] == 4000  # 2500+1500
    # spend = logged cost where there is one: 0.007+0.006+0.0143+0.00617+0.02 (row 5 unknown)
    assert s["spend_usd"] == pytest.approx(0.05347, rel=1e-9)
    # list cost of the priced rows: 0.007+0.006+0.0143+0.00617+0.00035
    assert s["list_cost_usd"] == pytest.approx(0.03382, rel=1e-9)
    # shares of 8600+5710 = 14310 tokens: reasoning 4000/14310, cached 1400/14310
    assert s["shares"]["output_reasoning"] == pytest.approx(4000 / 14310, rel=1e-12)
    assert s["shares"]["input_cached"] == pytest.approx(1400 / 14310, rel=1e-12)


def test_spend_per_model(report):
    by = {r["model"]: r for r in report["by"]["model"]}
    assert by["gpt-4o-2024-08-06"]["spend_usd"] == pytest.approx(0.033, rel=1e-9)  # .007+.006+.02
    assert by["o3-mini"]["spend_usd"] == pytest.approx(0.0143, rel=1e-9)
    assert by["deepseek-reasoner"]["spend_usd"] == pytest.approx(0.00617, rel=1e-9)
    assert by["my-finetune"]["spend_usd"] is None  # unknown model, no logged cost
    assert next(r["model"] for r in report["by"]["model"]) == "gpt-4o-2024-08-06"  # largest first


def test_reconciliation_prices_cached_and_reasoning_tokens(report):
    rec = report["reconciliation"]
    # rows 1-4 match their list cost to the cent (cached at the cached price, reasoning as output);
    # row 6 logs 0.02 against 0.00035
    assert rec["rows_off"] == 1
    gpt = next(r for r in rec["by_model"] if r["model"] == "gpt-4o-2024-08-06")
    assert gpt["list_cost_usd"] == pytest.approx(0.01335, rel=1e-9)  # .007+.006+.00035
    assert gpt["difference_usd"] == pytest.approx(0.033 - 0.01335, rel=1e-9)
    assert [u["model"] for u in rec["unknown_models"]] == ["my-finetune"]
    assert rec["unknown_models"][0]["requests"] == 1


def test_cost_per_successful_outcome(report):
    o = report["outcomes"]
    # tasks: a (rows 1, 2; last succeeded), b (rows 3, 6; last failed), row 4, row 5 alone
    assert (o["tasks"], o["successful_tasks"]) == (4, 3)
    assert o["requests_per_task"] == pytest.approx(6 / 4)
    # all spend over successful tasks: 0.05347 / 3
    assert o["cost_per_successful_outcome_usd"] == pytest.approx(0.05347 / 3, rel=1e-9)


@pytest.mark.parametrize("task", ["", "t1"])
def test_a_log_without_any_spend_has_no_cost_per_outcome(tmp_path, task):
    # QA: a log whose only model is unknown to the catalog and logs no cost printed "spend $-"
    # beside "cost per successful outcome $0": nothing is known about its spend, so neither
    # figure is $0 (a request with and without a task id take different paths)
    p = tmp_path / "log.csv"
    p.write_text(
        "timestamp,model,input_tokens,output_tokens,task_id\n"
        f"2025-06-02T10:00:00Z,my-finetune,500,100,{task}\n",
        encoding="utf-8",
    )
    r = analyses.report(engines.connect(), [str(p)])
    assert r["summary"]["spend_usd"] is None
    o = r["outcomes"]
    assert (o["tasks"], o["successful_tasks"]) == (1, 1)
    assert o["spend_per_task_usd"] is None
    assert o["cost_per_successful_outcome_usd"] is None


def test_latency_percentiles_type7(report):
    lat = report["latency_s"]["all"]
    # latencies 1..6: h = 5p + 1; p50 -> 3.5, p90 -> h=5.5 -> 5.5, p95 -> 5.75, p99 -> 5.95
    assert lat["p50"] == pytest.approx(3.5)
    assert lat["p90"] == pytest.approx(5.5)
    assert lat["p95"] == pytest.approx(5.75)
    assert lat["p99"] == pytest.approx(5.95)


def test_by_day_and_prompt_histogram(report):
    days = [(str(d["period"])[:10], d["requests"]) for d in report["daily"]]
    assert days == [("2025-06-02", 3), ("2025-06-03", 3)]
    hist = {h["from_tokens"]: h["requests"] for h in report["prompt_length"]["histogram"]}
    # bins [2^k - 1, 2^(k+1) - 1): 100 -> [63,127), 500 -> [255,511), 1000 x2 -> [511,1023),
    # 2000 -> [1023,2047), 4000 -> [2047,4095)
    assert hist == {63: 1, 255: 1, 511: 2, 1023: 1, 2047: 1}
    assert report["prompt_length"]["percentiles"]["p50"] == pytest.approx(1000.0)


def test_spend_by_model_over_time(report):
    # every row falls in the ISO week of Monday 2025-06-02 (rows on the 2nd and the 3rd)
    rows = {r["model"]: r for r in report["weekly_by"]["model"]}
    assert {str(r["period"])[:10] for r in rows.values()} == {"2025-06-02"}
    assert rows["gpt-4o-2024-08-06"]["requests"] == 3  # rows 1, 2, 6
    assert rows["gpt-4o-2024-08-06"]["spend_usd"] == pytest.approx(0.033, rel=1e-9)
    apps = {r["app"]: r["spend_usd"] for r in report["weekly_by"]["app"]}
    # chat: rows 1, 2, 5 (unknown, no cost) = 0.013; agent: rows 3, 4, 6 = 0.04047
    assert apps == {"chat": pytest.approx(0.013), "agent": pytest.approx(0.04047)}


def test_top_cost_driver(report):
    top = report["top_cost_drivers"][0]
    # agent x gpt-4o: row 6 at 0.02 of 0.05347
    assert (top["app"], top["model"]) == ("agent", "gpt-4o-2024-08-06")
    assert top["share"] == pytest.approx(0.02 / 0.05347, rel=1e-9)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"memory_limit": "abc"}, "--memory-limit: 'abc' is not a size"),
        ({"memory_limit": "1GB'; SET threads = 1; --"}, "--memory-limit: "),
        ({"threads": -1}, "--threads: must be at least 1 (got -1)"),
        ({"threads": 0}, "--threads: must be at least 1 (got 0)"),
    ],
)
def test_engine_limits_are_checked_before_duckdb_sees_them(kwargs, message):
    # DuckDB's own ParserException / SyntaxException once came back as "bug: ..."
    from tokenfab.usage import engines

    with pytest.raises(UsageLogError) as info:
        engines.connect(None, **kwargs)
    assert str(info.value).startswith(message)


def test_engine_limits_in_the_documented_form_are_accepted():
    from tokenfab.usage import engines

    con = engines.connect(None, memory_limit="4GB", threads=1)
    assert con.name == "duckdb"


def test_cost_per_request_percentiles_type7(report):
    # spend of rows 1-4 and 6 (row 5: unknown model, no logged cost): sorted 0.006, 0.00617,
    # 0.007, 0.0143, 0.02; n = 5, h = 4p: p50 -> x[2] = 0.007; p90 -> h = 3.6 ->
    # 0.0143 + 0.6 (0.02 - 0.0143) = 0.01772
    c = report["cost_per_request_usd"]
    assert c["n"] == 5
    assert c["p50"] == pytest.approx(0.007, rel=1e-12)
    assert c["p90"] == pytest.approx(0.01772, rel=1e-12)


def test_spend_without_logged_cost_is_the_list_cost(tmp_path):
    # row 2's logged cost left blank: its spend is its list cost, (2000*2.5+100*10)/1e6 =
    # 0.006, the cost it logged above, so every figure stays the same; the percentiles now
    # read the priced rows (a spend without a logged cost) instead of the cost column
    rows = [r if i != 1 else (*r[:6], "", *r[7:]) for i, r in enumerate(ROWS)]
    p = tmp_path / "hand.csv"
    p.write_text(
        HEADER + "\n" + "\n".join(",".join(map(str, r)) for r in rows) + "\n", encoding="utf-8"
    )
    r = analyses.report(engines.connect(), [str(p)])
    assert r["summary"]["spend_usd"] == pytest.approx(0.05347, rel=1e-9)
    c = r["cost_per_request_usd"]
    assert (c["n"], c["p50"]) == (5, pytest.approx(0.007, rel=1e-12))
    assert c["p90"] == pytest.approx(0.01772, rel=1e-12)


def test_optimistic_cube_equals_the_cube_keyed_by_validity(tmp_path):
    # on a log with no malformed row, the cube that counts malformed rows (one pass, no
    # validity key) and joins the price id after the pass has the same cells as the cube
    # keyed by validity and price id
    from tokenfab.usage.synth import synth

    path = synth(20_000, tmp_path / "log.parquet", days=7, seed=5)
    con = engines.connect()
    ld = analyses.load(con, [str(path)])
    _, found, _ = analyses.priced(ld)
    g = analyses.with_prices(ld.table, found)
    keys = ["day", "model", "provider", "app", "category", "status", "prompt_bin"]
    fast = analyses.cube(g, prices=found, optimistic=True).to_pyarrow()
    slow = analyses.cube(g).to_pyarrow()
    assert sum(fast["malformed"].to_pylist()) == 0
    assert set(slow["_ok"].to_pylist()) == {True}
    a = sorted(fast.to_pylist(), key=lambda r: [str(r[k]) for k in keys])
    b = sorted(slow.to_pylist(), key=lambda r: [str(r[k]) for k in keys])
    assert len(a) == len(b) > 100
    for ra, rb in zip(a, b, strict=True):
        for k, v in rb.items():
            if k in ("_ok", "with_zone", "without_zone", "first", "last") or k in (
                "q_input_tokens_max",
                "q_ttft_s_max",
                "q_latency_s_max",
                "q_latency_s_sum",
                "q_ttft_s_sum",
            ):
                # the optimistic cube leaves the time span and maxima to the report (Parquet
                # statistics) and the latency and TTFT sums to their first percentile counts
                continue
            if isinstance(v, float):
                assert ra[k] == pytest.approx(v, rel=1e-12), k
            else:
                assert ra[k] == v, k


def test_cube_without_status_is_the_status_cells_summed(tmp_path):
    # the report's cube leaves the status out of its keys: each of its cells is the cells
    # of the keyed cube with the same other keys together (counts and sums added, maxima
    # the largest), so every breakdown, which reads no cell by status, is unchanged
    from tokenfab.usage.synth import synth

    path = synth(20_000, tmp_path / "log.parquet", days=7, seed=5)
    con = engines.connect()
    ld = analyses.load(con, [str(path)])
    _, found, _ = analyses.priced(ld)
    g = analyses.with_prices(ld.table, found)
    keys = ("day", "model", "provider", "app", "category", "prompt_bin")
    keyed = analyses.cube(g, prices=found, optimistic=True).to_pyarrow().to_pylist()
    assert len({r["status"] for r in keyed}) == 2  # success and error: the key splits cells
    merged: dict[tuple, dict] = {}
    for r in keyed:
        m = merged.setdefault(tuple(r[k] for k in keys), {})
        for k, v in r.items():
            if k in keys or k in ("status", "price_id") or v is None:  # None: no value
                continue
            m[k] = max(m.get(k, v), v) if k.endswith("_max") else m.get(k, 0) + v
    alone = analyses.cube(g, prices=found, optimistic=True, status=False).to_pyarrow().to_pylist()
    assert "status" not in alone[0]
    assert len(alone) == len(merged) < len(keyed)
    for r in alone:
        m = merged[tuple(r[k] for k in keys)]
        for k in r:
            if k not in keys and k != "price_id":
                assert (r[k] or 0) == pytest.approx(m.get(k, 0), rel=1e-12), k


def test_one_maximum_a_task_gives_the_same_outcomes_as_two():
    # tasks: a = success 10:00, error 10:05 -> failed (latest failed); b = error 10:00,
    # success 10:05 -> succeeded; c = success and error both at 10:05 -> failed (tie: both
    # latest must succeed); d = success 09:00, error without a timestamp -> succeeded (the
    # request without a time is never the latest); e = only a request without a timestamp
    # -> not succeeded; 5 tasks, 2 succeeded
    from datetime import UTC, datetime

    import ibis

    ts = [
        "2025-06-02 10:00:00",
        "2025-06-02 10:05:00",
        "2025-06-02 10:00:00",
        "2025-06-02 10:05:00",
        "2025-06-02 10:05:00",
        "2025-06-02 10:05:00",
        "2025-06-02 09:00:00",
        None,
        None,
    ]
    t = ibis.memtable(
        {
            "task_id": ["a", "a", "b", "b", "c", "c", "d", "d", "e"],
            "timestamp": [
                None if x is None else datetime.fromisoformat(x).replace(tzinfo=UTC) for x in ts
            ],
            "status": [
                *("success", "error", "error", "success", "success", "error"),
                *("success", "error", "success"),
            ],
            "spend_usd": [1.0] * 9,
        }
    )
    alone = {"alone_tasks": 0, "alone_ok": 0, "alone_spend": 0.0}
    two = analyses.outcomes(t, True, alone)
    one = analyses.outcomes(t, True, alone, one_max=True)
    assert one == two
    assert (one["tasks"], one["successful_tasks"]) == (5, 2)


def test_statuses_compared_as_logged_read_as_lowered_and_trimmed(tmp_path, monkeypatch):
    # statuses " OK ", "Completed", "200", "" and an empty cell read as success; "error",
    # "FAILED" and "500" as errors: 5 successes, 3 errors, whether each row's status is
    # lowered and trimmed or compared with the logged values found to read as success
    statuses = [" OK ", "Completed", "200", "", "error", "FAILED", "500", "success"]
    rows = [
        (f"2025-06-02T10:0{i}:00Z", "gpt-4o-2024-08-06", 100, 0, 10, 0, 0.00035, 1, "", st, "chat")
        for i, st in enumerate(statuses)
    ]
    p = tmp_path / "statuses.csv"
    p.write_text(
        HEADER + "\n" + "\n".join(",".join(map(str, r)) for r in rows) + "\n", encoding="utf-8"
    )
    fast = analyses.report(engines.connect(), [str(p)])
    monkeypatch.setattr(analyses, "STATUS_VALUES_MAX", 0)
    slow = analyses.report(engines.connect(), [str(p)])
    for r in (fast, slow):
        o = r["outcomes"]
        assert (o["tasks"], o["successful_tasks"]) == (8, 5)
    assert fast["outcomes"] == slow["outcomes"]
    assert fast["summary"]["requests"] == slow["summary"]["requests"] == 8


def test_task_outcomes_in_a_perfect_hash_table_are_the_same(tmp_path):
    # the tasks of the test above with integer ids 10..14 (a..e) in a Parquet file: 5 tasks,
    # 2 succeeded (b and d), whether DuckDB groups them in a perfect hash table on one
    # thread (ids span 5 values: 5 x 40 B fits the 1 GB limit) or in its hash table; the
    # settings are put back after
    from datetime import UTC, datetime

    import pyarrow as pa
    import pyarrow.parquet as pq

    ts = [
        *("2025-06-02 10:00:00", "2025-06-02 10:05:00", "2025-06-02 10:00:00"),
        *("2025-06-02 10:05:00", "2025-06-02 10:05:00", "2025-06-02 10:05:00"),
        *("2025-06-02 09:00:00", None, None),
    ]
    path = tmp_path / "tasks.parquet"
    pq.write_table(
        pa.table(
            {
                "task_id": pa.array([10, 10, 11, 11, 12, 12, 13, 13, 14], pa.int64()),
                "timestamp": pa.array(
                    [
                        None if x is None else datetime.fromisoformat(x).replace(tzinfo=UTC)
                        for x in ts
                    ],
                    pa.timestamp("us", tz="UTC"),
                ),
                "status": [
                    *("success", "error", "error", "success", "success", "error"),
                    *("success", "error", "success"),
                ],
                "spend_usd": [1.0] * 9,
            }
        ),
        path,
    )
    con = engines.connect(memory_limit="1GB", threads=2)
    t = con.read_parquet(str(path))
    alone = {"alone_tasks": 0, "alone_ok": 0, "alone_spend": 0.0}
    settings = "SELECT current_setting('perfect_ht_threshold'), current_setting('threads')"
    before = con.raw_sql(settings).fetchone()
    sent = []
    raw_sql = con.raw_sql
    con.raw_sql = lambda q: sent.append(q) or raw_sql(q)
    direct = analyses.outcomes(t, True, alone, one_max=True, dense_ids=True)
    assert "SET threads = 1" in sent and "SET perfect_ht_threshold = 12" in sent  # 5: 3 bits
    assert con.raw_sql(settings).fetchone() == before == (12, 2)
    hashed = analyses.outcomes(t, True, alone, one_max=True, dense_ids=False)
    assert direct == hashed
    assert (direct["tasks"], direct["successful_tasks"]) == (5, 2)


def test_task_outcomes_counted_alongside_are_those_counted_in_turn(tmp_path, monkeypatch):
    # With two threads the report counts a Parquet log's tasks on a second DuckDB database
    # in a thread of its own (analyses._Alongside), beside the percentile counts; with one
    # thread, in turn on its own connection. Hand log: task 1 = success then error (its
    # last failed), task 2 = error then success, task 3 = one success, and one request
    # without a task id (success, a task of its own): 4 tasks, 3 successful.
    import threading

    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "tasks.parquet"
    pq.write_table(
        pa.table(
            {
                "timestamp": pa.array(
                    [1_759_276_800_000_000 + i * 1_000_000 for i in range(6)],
                    pa.timestamp("us", tz="UTC"),
                ),
                "model": ["gpt-4o"] * 6,
                "input_tokens": [10] * 6,
                "output_tokens": [5] * 6,
                "status": ["success", "error", "error", "success", "success", "success"],
                "task_id": [1, 1, 2, 2, 3, None],
            }
        ),
        path,
    )
    where: list[str] = []
    counts = analyses.task_counts

    def spy(*a, **k):
        where.append(threading.current_thread().name)
        return counts(*a, **k)

    monkeypatch.setattr(analyses, "task_counts", spy)
    got = {}
    for threads in (1, 2):
        con = engines.connect(memory_limit="1GB", threads=threads)
        got[threads] = analyses.report(con, [str(path)])["outcomes"]
        assert con.raw_sql("SELECT current_setting('threads')").fetchone()[0] == threads
    assert got[1] == got[2]
    assert (got[2]["tasks"], got[2]["successful_tasks"]) == (4, 3)
    assert where[0] == "MainThread" and where[1].startswith("tokenfab-tasks")


def test_memory_limit_reads_back_in_bytes():
    # DuckDB reads '4GB' back as '3.7 GiB' (4e9 / 2^30 = 3.725, rounded to one decimal)
    con = engines.connect(memory_limit="4GB")
    assert analyses._memory_limit_bytes(con) == pytest.approx(3.7 * 2**30)
    con = engines.connect(memory_limit="300MB")  # 300e6 / 2^20 = 286.1 MiB
    assert analyses._memory_limit_bytes(con) == pytest.approx(286.1 * 2**20)


def test_text_says_why_no_growth_is_shown(report):
    # the hand log runs 2025-06-02 to 06-03 (Monday and Tuesday of one calendar week): one
    # week, so no growth; the text said "weekly mean growth x-", now it says why
    from rich.console import Console

    from tokenfab.usage import render

    assert report["prompt_length"]["growth_last_over_first_week"] is None
    con = Console(record=True, width=200)
    render.text(report, con)
    out = con.export_text()
    assert "growth: none measured (the log covers one calendar week)" in out
    assert "x-" not in out


def test_a_memory_limit_of_the_wrong_form_is_refused_in_words_not_a_pattern():
    # QA (new-user pass): --memory-limit 5XB said "String should match pattern ..." (the
    # regular expression); the line now gives the form in words, from the field's description
    from tokenfab.errors import ScenarioError
    from tokenfab.schema import UsageReportRequest

    with pytest.raises(ScenarioError) as info:
        UsageReportRequest.parse({"logs": ["x.parquet"], "memory_limit": "5XB"})
    msg = str(info.value)
    assert msg.startswith("memory_limit: '5XB' is not allowed; allowed: DuckDB memory limit")
    assert "a number and a unit (KB, MB, GB, TB, KiB ... TiB), e.g. 4GB" in msg
    assert "pattern" not in msg
