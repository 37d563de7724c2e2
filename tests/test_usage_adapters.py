"""Adapters and bad input: each documented log format maps onto the generic schema, and every
problem row is counted and placed, never dropped silently."""

from __future__ import annotations

import json
from datetime import date

import ibis
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tokenfab.catalog import default_catalog
from tokenfab.usage import adapters, analyses, engines
from tokenfab.usage.prices import name_key, provider_matters, resolve
from tokenfab.usage.schema import UsageLogError


@pytest.fixture(scope="module")
def con():
    return engines.connect()


def _jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return str(path)


def _generic(ld):
    return ld.table.order_by("_row").to_pyarrow().to_pylist()


def test_openai_usage_records(con, tmp_path):
    # field names from the OpenAI chat completion object (usage block with details)
    rec = {
        "id": "chatcmpl-1",
        "created": 1735725600,  # 2025-01-01T10:00:00Z
        "model": "gpt-4o-2024-08-06",
        "usage": {
            "prompt_tokens": 100,
            "completion_tokens": 50,
            "prompt_tokens_details": {"cached_tokens": 40},
            "completion_tokens_details": {"reasoning_tokens": 10},
        },
    }
    ld = analyses.load(con, [_jsonl(tmp_path / "o.jsonl", [rec])])
    assert ld.adapter.name == "openai"
    r = _generic(ld)[0]
    assert (r["input_tokens"], r["cached_input_tokens"]) == (100, 40)
    assert (r["output_tokens"], r["reasoning_tokens"]) == (50, 10)
    assert r["timestamp"].isoformat() == "2025-01-01T10:00:00+00:00"
    assert r["request_id"] == "chatcmpl-1" and r["_ok"]


def test_litellm_spend_logs(con, tmp_path):
    # LiteLLM_SpendLogs columns (BerriAI/litellm schema.prisma); latency = endTime - startTime
    p = tmp_path / "spend.csv"
    p.write_text(
        "request_id,call_type,spend,prompt_tokens,completion_tokens,startTime,endTime,"
        "completionStartTime,model,custom_llm_provider,team_id,end_user,session_id,status\n"
        "r1,acompletion,0.0012,300,40,2025-03-01T12:00:00Z,2025-03-01T12:00:02.5Z,"
        "2025-03-01T12:00:00.4Z,gpt-4o-mini,openai,team-a,u1,s1,success\n"
        "r2,acompletion,0.0001,10,5,2025-03-01T12:01:00Z,2025-03-01T12:01:01Z,,gpt-4o-mini,openai,team-a,u2,s1,failure\n",
        encoding="utf-8",
    )
    ld = analyses.load(con, [str(p)])
    assert ld.adapter.name == "litellm"
    r1, r2 = _generic(ld)
    assert r1["latency_s"] == pytest.approx(2.5)  # 12:00:02.5 - 12:00:00
    assert r1["ttft_s"] == pytest.approx(0.4)
    assert (r1["provider"], r1["app"], r1["user"], r1["task_id"]) == (
        "openai",
        "team-a",
        "u1",
        "s1",
    )
    assert r1["cost_usd"] == pytest.approx(0.0012)
    assert (r1["status"], r2["status"]) == ("success", "error")


def test_langfuse_observations(con, tmp_path):
    # Langfuse Observation fields (OpenAPI spec): latency in seconds, level ERROR = failed
    rec = {
        "id": "obs-1",
        "traceId": "trace-9",
        "type": "GENERATION",
        "name": "summarise",
        "startTime": "2025-05-02T08:00:00.000Z",
        "endTime": "2025-05-02T08:00:03.000Z",
        "model": "claude-3-5-sonnet-20241022",
        "usageDetails": {"input": 1200, "output": 300, "total": 1500},
        "calculatedTotalCost": 0.0081,
        "level": "ERROR",
    }
    ld = analyses.load(con, [_jsonl(tmp_path / "lf.jsonl", [rec])])
    assert ld.adapter.name == "langfuse"
    r = _generic(ld)[0]
    assert (r["input_tokens"], r["output_tokens"]) == (1200, 300)
    assert r["latency_s"] == pytest.approx(3.0)  # endTime - startTime
    assert (r["task_id"], r["app"], r["status"]) == ("trace-9", "summarise", "error")


def test_openrouter_generation_records(con, tmp_path):
    # GET /api/v1/generation returns {"data": {...}}; latency in ms, native token counts billed
    rec = {
        "data": {
            "id": "gen-1",
            "created_at": "2024-07-15T23:33:19.433273+00:00",
            "model": "deepseek/deepseek-r1",
            "provider_name": "DeepSeek",
            "total_cost": 0.0015,
            "latency": 1250,
            "tokens_prompt": 10,
            "tokens_completion": 25,
            "native_tokens_prompt": 12,
            "native_tokens_completion": 30,
            "native_tokens_reasoning": 5,
            "native_tokens_cached": 3,
            "cancelled": False,
        }
    }
    ld = analyses.load(con, [_jsonl(tmp_path / "or.jsonl", [rec])])
    assert ld.adapter.name == "openrouter"
    r = _generic(ld)[0]
    assert (r["input_tokens"], r["output_tokens"]) == (12, 30)  # native counts win
    assert (r["cached_input_tokens"], r["reasoning_tokens"]) == (3, 5)
    assert r["latency_s"] == pytest.approx(1.25)  # 1250 ms
    assert r["status"] == "success"


def test_missing_columns_name_the_mapping_tried(con, tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("timestamp,model,prompt\n2025-01-01,gpt-4o,5\n", encoding="utf-8")
    with pytest.raises(
        UsageLogError, match=r"closest is generic, which misses input_tokens .*output_tokens"
    ):
        analyses.load(con, [str(p)])
    with pytest.raises(UsageLogError, match=r"tried litellm; closest is litellm"):
        analyses.load(con, [str(p)], "litellm")


def test_a_json_line_that_is_not_an_object_is_an_unreadable_line(con, tmp_path):
    # QA: one line `[1, 2]` (valid JSON, not an object) stopped the whole log with "JSON Lines
    # records must be objects" and no line named; like a line that is not JSON at all, it is
    # counted and placed, and the other lines are read
    good = '{"timestamp": "2025-01-01T10:00:00Z", "model": "gpt-4o", "input_tokens": 5, "output_tokens": 1}'
    p = tmp_path / "log.jsonl"
    p.write_text(f'{good}\n[1, 2]\n{{bad\n{good}\n"text"\n', encoding="utf-8")
    q = analyses.quality(analyses.load(con, [str(p)]))
    # lines 2 ([1, 2]), 3 ({bad) and 5 ("text") cannot be read; lines 1 and 4 are the rows
    assert q["unreadable_lines"] == 3
    assert [(e["line"], e["reason"]) for e in q["unreadable_examples"]] == [
        (2, "not a JSON object: '[1, 2]'"),
        (3, "not valid JSON: '{bad'"),
        (5, "not a JSON object: '\"text\"'"),
    ]
    assert (q["rows_read"], q["valid_rows"]) == (2, 2)
    only = tmp_path / "arrays.jsonl"
    only.write_text("[1]\n[2]\n", encoding="utf-8")
    with pytest.raises(UsageLogError, match=r"no line is a JSON object \(2 lines; e\.g\. .*:1 "):
        analyses.load(con, [str(only)])


def test_bad_rows_are_counted_with_lines_and_reasons(con, tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text(
        "timestamp,model,input_tokens,output_tokens\n"  # line 1
        "2025-01-01T10:00:00Z,gpt-4o,100,20\n"  # 2 good
        "2025-01-01T10:00:01Z,gpt-4o,abc,20\n"  # 3 not a number
        "2025-01-01T10:00:02Z,gpt-4o,100,20,extra\n"  # 4 too many fields
        "2025-01-01T10:00:03Z,gpt-4o,-5,20\n"  # 5 negative
        "not-a-time,gpt-4o,1,1\n"  # 6 bad timestamp
        "2025-01-01T10:00:05Z,,1,1\n",  # 7 empty model
        encoding="utf-8",
    )
    ld = analyses.load(con, [str(p)])
    q = analyses.quality(ld)
    assert q["unreadable_lines"] == 1 and q["unreadable_examples"][0]["line"] == 4
    # line 4 has 5 comma-separated fields under a 4-field header (once DuckDB's "TOO MANY
    # COLUMNS: Expected Number of Columns: 4 Found: 5")
    assert q["unreadable_examples"][0]["reason"] == "5 fields where the header has 4"
    assert (q["rows_read"], q["malformed_rows"], q["valid_rows"]) == (5, 4, 1)
    lines = {e["line"]: e["reason"] for e in q["malformed_examples"]}
    assert lines == {
        3: "input_tokens: not a number (abc)",
        5: "input_tokens: negative (-5)",
        6: "timestamp: not a date-time (not-a-time)",
        7: "model: empty",
    }


def test_a_non_finite_number_is_a_malformed_row_not_a_crash(con, tmp_path):
    # QA: a CSV whose cost_usd is "inf" ended `usage report` with "bug: ConversionException
    # ... -nan can't be cast ... sqrt(t5.cost_usd)", exit 3; inf, -inf and NaN are no count,
    # cost or duration. Input: line 2 good; line 3 cost_usd inf; line 4 latency_s -inf;
    # line 5 input_tokens inf; line 6 cost_usd nan. Expected: 5 rows read, 1 valid, 4
    # malformed, each with its line and "FIELD: not a finite number (VALUE)"; the report's
    # spend is line 2's $1 alone.
    p = tmp_path / "inf.csv"
    p.write_text(
        "timestamp,model,input_tokens,output_tokens,cost_usd,latency_s\n"
        "2025-10-01T00:00:00Z,gpt-4o,100,10,1,1\n"
        "2025-10-02T00:00:00Z,gpt-4o,100,10,inf,1\n"
        "2025-10-02T00:00:00Z,gpt-4o,100,10,1,-inf\n"
        "2025-10-02T00:00:00Z,gpt-4o,inf,10,1,1\n"
        "2025-10-02T00:00:00Z,gpt-4o,100,10,nan,1\n",
        encoding="utf-8",
    )
    rep = analyses.report(con, [str(p)])
    q = rep["quality"]
    assert (q["rows_read"], q["malformed_rows"], q["valid_rows"]) == (5, 4, 1)
    assert {e["line"]: e["reason"] for e in q["malformed_examples"]} == {
        3: "cost_usd: not a finite number (inf)",
        4: "latency_s: not a finite number (-inf)",
        5: "input_tokens: not a finite number (inf)",
        6: "cost_usd: not a finite number (nan)",
    }
    assert rep["summary"]["spend_usd"] == 1.0
    # the same values typed as Parquet doubles (rows 2 and 3), and a JSON Lines OpenAI record
    # whose Unix "created" is 1e999 (inf; was "bug: ConversionException ... can't be cast
    # ... INT64"): malformed rows too
    pq.write_table(
        pa.table(
            {
                "timestamp": ["2025-10-01T00:00:00Z"] * 3,
                "model": ["gpt-4o"] * 3,
                "input_tokens": [1, 2, 3],
                "output_tokens": [1, 1, 1],
                "cost_usd": [1.0, float("inf"), float("nan")],
            }
        ),
        tmp_path / "inf.parquet",
    )
    q = analyses.report(con, [str(tmp_path / "inf.parquet")])["quality"]
    assert {e["row"]: e["reason"] for e in q["malformed_examples"]} == {
        2: "cost_usd: not a finite number (inf)",
        3: "cost_usd: not a finite number (nan)",
    }
    rec = '{"id": "a", "created": CREATED, "model": "gpt-4o", "usage": {"prompt_tokens": 1, '
    rec += '"completion_tokens": 1}}\n'
    (tmp_path / "inf.jsonl").write_text(
        rec.replace("CREATED", "1e999") + rec.replace("CREATED", "1735725600"), encoding="utf-8"
    )
    q = analyses.quality(analyses.load(con, [str(tmp_path / "inf.jsonl")]))
    assert (q["malformed_rows"], q["valid_rows"]) == (1, 1)
    assert q["malformed_examples"][0]["line"] == 1


def test_checks_the_parquet_statistics_rule_out_are_left_out_and_the_rest_still_catch(
    con, tmp_path
):
    # The report leaves out a check no row can fail by the Parquet statistics (column_facts:
    # no null, no negative minimum, no maximum above 1e8, finite bounds, no blank model).
    # The statistics leave NaN out, so a NaN latency between finite bounds (row 2) is still
    # caught, and so are the checks between two columns (row 3: 9 cached of 5 input tokens)
    # and a blank model (row 4). Hand values: input_tokens 5, 5, 5, 7 -> min 5, max 7;
    # latency_s 0.5, NaN, 2.0, 1.0 -> min 0.5, max 2.0 (NaN left out).
    pq.write_table(
        pa.table(
            {
                "timestamp": pa.array([1_759_276_800_000_000] * 4, pa.timestamp("us", "UTC")),
                "model": ["gpt-4o", "gpt-4o", "gpt-4o", " "],
                "input_tokens": [5, 5, 5, 7],
                "cached_input_tokens": [0, 0, 9, 0],
                "output_tokens": [1, 1, 1, 1],
                "latency_s": [0.5, float("nan"), 2.0, 1.0],
            }
        ),
        tmp_path / "s.parquet",
    )
    ld = analyses.load(con, [str(tmp_path / "s.parquet")])
    facts = analyses.column_facts(ld, ["gpt-4o", " "])
    assert (facts["input_tokens"]["min"], facts["input_tokens"]["max"]) == (5, 7)
    assert facts["input_tokens"]["nulls"] == 0
    assert (facts["latency_s"]["min"], facts["latency_s"]["max"]) == (0.5, 2.0)
    q = analyses.report(con, [str(tmp_path / "s.parquet")])["quality"]
    assert {e["row"]: e["reason"] for e in q["malformed_examples"]} == {
        2: "latency_s: not a finite number (nan)",
        3: "cached_input_tokens: more than input_tokens",
        4: "model: empty",
    }
    # the same rows, every check kept (no facts) or some left out: the same validity
    full = adapters.to_generic(ld.raw.table, ld.sources)
    lean = adapters.to_generic(ld.raw.table, ld.sources, facts=facts)
    rows = [
        t.order_by("_row").select("_ok", "_problem").to_pyarrow().to_pylist() for t in (full, lean)
    ]
    assert rows[0] == rows[1]
    # a check the statistics do not rule out stays: a negative count is still refused
    kept = adapters.to_generic(
        ld.raw.table, ld.sources, facts={**facts, "input_tokens": {"nulls": 0, "min": -1, "max": 7}}
    )
    assert "negative" in str(ibis.to_sql(kept))
    assert "negative" not in str(ibis.to_sql(lean))


def test_line_numbers_hold_in_files_of_many_parallel_chunks(con, tmp_path):
    # QA (new-user pass): in a 30,000-row CSV whose only bad row is data row 25,000 (line
    # 25,001 after the header) the report named line 8,617, and in the same rows as JSON Lines
    # (no header: line 25,000) line 28,376: rows were numbered by a window with no order,
    # which DuckDB fills in whatever order its threads deliver. Input here: two CSV files read
    # by one glob; a.csv: header (line 1), 30,000 rows, plus a line with too many fields at
    # line 20,001 (unreadable; the rows after it move down a line), its bad row at line
    # 25,001 (the 24,999th row, + header + the unreadable line); b.csv: 50 rows, the 7th bad
    # (line 8). JSON Lines: 30,000 records, the 25,000th bad (line 25,000).
    head = "timestamp,model,input_tokens,output_tokens\n"
    good = "2025-01-01T00:00:00Z,gpt-4o,10,5\n"

    def rows(n, bad_row, extra_at=None):
        out = []
        for i in range(1, n + 1):
            out.append(good.replace(",10,", ",-7,") if i == bad_row else good)
            if extra_at is not None and i == extra_at - 2:  # line = data row + 1
                out.append("2025-01-01T00:00:00Z,gpt-4o,10,5,extra\n")
        return head + "".join(out)

    (tmp_path / "a.csv").write_text(rows(30_000, 25_000 - 1, extra_at=20_001), encoding="utf-8")
    (tmp_path / "b.csv").write_text(rows(50, 7), encoding="utf-8")
    q = analyses.quality(analyses.load(con, [str(tmp_path / "*.csv")]))
    assert q["unreadable_examples"] == [
        {
            "file": str(tmp_path / "a.csv"),
            "line": 20_001,
            "reason": q["unreadable_examples"][0]["reason"],
        }
    ]
    got = {(e["file"].rsplit("/", 1)[-1], e["line"]) for e in q["malformed_examples"]}
    assert got == {("a.csv", 25_001), ("b.csv", 8)}
    assert q["out_of_order_rows"] == 0  # every timestamp equal
    records = [
        {
            "timestamp": "2025-01-01T00:00:00Z",
            "model": "gpt-4o",
            "input_tokens": 10,
            "output_tokens": 5,
        }
    ] * 30_000
    records[24_999] = {**records[0], "input_tokens": -7}  # line 25,000
    q = analyses.quality(analyses.load(con, [_jsonl(tmp_path / "c.jsonl", records)]))
    assert [e["line"] for e in q["malformed_examples"]] == [25_000]


def test_a_second_csv_on_one_connection_reports_only_its_own_bad_lines(con, tmp_path):
    # QA (new-user pass): DuckDB appends every CSV scan's rejected lines to the same tables,
    # so a clean log read after one with a bad line (line 3: five fields under a four-field
    # header) reported that line as its own. Expected: 1 unreadable line, then 0.
    head = "timestamp,model,input_tokens,output_tokens\n"
    row = "2025-01-01T00:00:00Z,gpt-4o,10,5\n"
    bad = tmp_path / "bad.csv"
    bad.write_text(head + row + "2025-01-01T00:00:00Z,gpt-4o,10,5,extra\n" + row, encoding="utf-8")
    clean = tmp_path / "clean.csv"
    clean.write_text(head + row * 3, encoding="utf-8")
    first = analyses.quality(analyses.load(con, [str(bad)]))
    assert (first["unreadable_lines"], first["unreadable_examples"][0]["line"]) == (1, 3)
    second = analyses.quality(analyses.load(con, [str(clean)]))
    assert (second["unreadable_lines"], second["unreadable_examples"]) == (0, [])
    assert second["rows_read"] == 3


def test_bad_json_lines_are_counted(con, tmp_path):
    p = tmp_path / "b.jsonl"
    p.write_text(
        '{"timestamp": "2025-01-01T00:00:00Z", "model": "m", "input_tokens": 1, "output_tokens": 1}\n'
        "{oops\n\n"
        '{"timestamp": "2025-01-01T00:00:01Z", "model": "m", "input_tokens": 2, "output_tokens": 2}\n',
        encoding="utf-8",
    )
    ld = analyses.load(con, [str(p)])
    assert ld.raw.bad_lines == 1 and ld.raw.bad_examples[0]["line"] == 2
    assert [r["_row"] for r in _generic(ld)] == [1, 4]  # the blank line 3 is not a record


def test_mixed_zones_become_utc_and_are_reported(con, tmp_path):
    p = tmp_path / "z.csv"
    p.write_text(
        "timestamp,model,input_tokens,output_tokens\n"
        "2025-01-01T10:00:00+02:00,m,1,1\n"  # 08:00 UTC
        "2025-01-01T09:00:00Z,m,1,1\n"  # 09:00 UTC, but after a later local time: out of order? no
        "2025-01-01 07:00:00,m,1,1\n",  # naive: read as UTC, earlier than the row before
        encoding="utf-8",
    )
    ld = analyses.load(con, [str(p)])
    hours = [r["timestamp"].hour for r in _generic(ld)]
    assert hours == [8, 9, 7]
    q = analyses.quality(ld)
    tz = q["time_zones"]
    assert tz["mixed"] and tz["rows_without_offset_read_as_utc"] == 1
    assert {o["offset"] for o in tz["offsets"]} == {"+02:00", "Z"}
    assert q["out_of_order_rows"] == 1  # 07:00 after 09:00


def test_an_unreadable_timestamp_is_not_counted_as_read_without_an_offset(con, tmp_path):
    # QA (new-user pass): "not-a-time" was counted among the rows "without an offset read as
    # UTC" as well as malformed. Input: one time with Z, one malformed, one naive: zones
    # {Z: 1}, 1 row without an offset (was 2), 1 malformed row.
    p = tmp_path / "z.csv"
    p.write_text(
        "timestamp,model,input_tokens,output_tokens\n"
        "2025-01-01T10:00:00Z,m,1,1\n"
        "not-a-time,m,1,1\n"
        "2025-01-01 11:00:00,m,1,1\n",
        encoding="utf-8",
    )
    q = analyses.quality(analyses.load(con, [str(p)]))
    tz = q["time_zones"]
    assert tz["offsets"] == [{"offset": "Z", "rows": 1}]
    assert (tz["rows_without_offset_read_as_utc"], q["malformed_rows"]) == (1, 1)


def test_empty_and_missing_files(con, tmp_path):
    empty = tmp_path / "e.csv"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(UsageLogError, match="is empty"):
        analyses.load(con, [str(empty)])
    header_only = tmp_path / "h.csv"
    header_only.write_text("timestamp,model,input_tokens,output_tokens\n", encoding="utf-8")
    with pytest.raises(UsageLogError, match="holds no records"):
        analyses.report(con, [str(header_only)])
    with pytest.raises(UsageLogError, match="no file matches"):
        analyses.load(con, [str(tmp_path / "*.parquet")])


def test_a_file_named_twice_is_refused_not_counted_twice(con, tmp_path):
    # QA: `usage report 'logs/*.csv' logs/a.csv` read a.csv twice: its requests and spend
    # counted double, without a word
    a = tmp_path / "a.csv"
    a.write_text(
        "timestamp,model,input_tokens,output_tokens\n2025-01-01T10:00:00Z,gpt-4o,100,20\n",
        encoding="utf-8",
    )
    with pytest.raises(
        UsageLogError, match=r"a\.csv is named twice \(by '.*\*\.csv' and '.*a\.csv'\)"
    ):
        analyses.load(con, [str(tmp_path / "*.csv"), str(a)])
    # one request when the file is named once
    assert analyses.quality(analyses.load(con, [str(a)]))["valid_rows"] == 1


def test_a_csv_header_naming_a_column_twice_is_refused(con, tmp_path):
    # QA: "timestamp,model,input_tokens,output_tokens,input_tokens" read the first
    # input_tokens (5), renamed the second (6) and priced the row without a word
    p = tmp_path / "dup.csv"
    p.write_text(
        "timestamp,model,input_tokens,output_tokens,input_tokens\n"
        "2025-01-01T10:00:00Z,gpt-4o,5,1,6\n",
        encoding="utf-8",
    )
    with pytest.raises(
        UsageLogError, match=r"dup\.csv: the header names column 'input_tokens' twice"
    ):
        analyses.load(con, [str(p)])


def test_a_file_that_is_not_parquet_is_named_not_a_crash(con, tmp_path):
    # QA: `tokenfab usage report g.parquet` on 2,000 random bytes, or on the first 100 bytes
    # of a real log, ended "bug: InvalidInputException: ... No magic bytes found at end of
    # file", exit 3. A Parquet file starts and ends with b"PAR1" and the 4 bytes before the
    # last magic give the footer's length (parquet.apache.org/docs/file-format). Inputs and
    # expected one-line reasons:
    # - 2,000 bytes of garbage (first bytes b"junk"): does not start with PAR1;
    # - the first 100 bytes of a real log (starts with PAR1, ends in row data): does not end
    #   with PAR1;
    # - 8 bytes b"PAR1PAR1": shorter than the 12-byte frame;
    # - a sound frame whose footer length says 1,000,000 in a 16-byte file: cut short;
    # - a real log whose footer bytes are all overwritten with 0xff: DuckDB cannot parse the
    #   footer, still a one-line refusal naming the file.
    real = tmp_path / "real.parquet"
    pq.write_table(
        pa.table(
            {
                "timestamp": ["2025-01-01T00:00:00Z"] * 50,
                "model": ["gpt-4o"] * 50,
                "input_tokens": list(range(50)),
                "output_tokens": list(range(50)),
            }
        ),
        real,
    )
    data = real.read_bytes()
    footer = int.from_bytes(data[-8:-4], "little")
    cases = {
        "garbage.parquet": (b"junk" + bytes(range(256)) * 8)[:2000],
        "cut.parquet": data[:100],
        "short.parquet": b"PAR1PAR1",
        "claims.parquet": b"PAR1" + b"\0" * 4 + (1_000_000).to_bytes(4, "little") + b"PAR1",
        "footer.parquet": data[: -8 - footer] + b"\xff" * footer + data[-8:],
    }
    why = {
        "garbage.parquet": "does not start with Parquet's magic bytes",
        "cut.parquet": "does not end with Parquet's magic bytes",
        "short.parquet": "8 bytes, shorter than",
        "claims.parquet": "footer claims 1,000,000 bytes of a 16-byte file",
        "footer.parquet": "",
    }
    for name, content in cases.items():
        p = tmp_path / name
        p.write_bytes(content)
        with pytest.raises(UsageLogError) as err:
            analyses.report(con, [str(p)])
        msg = str(err.value)
        assert msg.startswith(f"LOGS: {p} is not a readable Parquet file ("), msg
        assert why[name] in msg and "\n" not in msg
    # the real file, intact, reads: 50 valid rows
    assert analyses.quality(analyses.load(con, [str(real)]))["valid_rows"] == 50


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("gpt-4o-2024-08-06", ("gpt-4o", "2024-08-06")),
        ("anthropic/claude-3.5-haiku", ("claude-3-5-haiku", None)),
        ("claude-sonnet-4-5-20250929", ("claude-sonnet-4-5", "2025-09-29")),
        ("gemini-2.5-flash-latest", ("gemini-2-5-flash", None)),
        # QA (new-user pass): these were priced "unknown". Bedrock: [region.]vendor. prefix
        # and -vN:M version dropped; Gemini's stable versions -001/-002 dropped
        ("us.anthropic.claude-3-7-sonnet-20250219-v1:0", ("claude-3-7-sonnet", "2025-02-19")),
        ("anthropic.claude-3-5-sonnet-20240620-v1:0", ("claude-3-5-sonnet", "2024-06-20")),
        ("models/gemini-2.0-flash-001", ("gemini-2-0-flash", None)),
        ("gemini-1.5-pro-002", ("gemini-1-5-pro", None)),
        # ... and nothing else: a "-v3" outside a Bedrock id is the model's name, an OpenAI
        # four-digit snapshot (gpt-3.5-turbo-0125: its own catalog row) stays
        ("deepseek/deepseek-v3", ("deepseek-v3", None)),
        ("gpt-3.5-turbo-0125", ("gpt-3-5-turbo-0125", None)),
    ],
)
def test_model_name_keys(name, key):
    assert name_key(name) == key


def test_every_catalog_key_is_its_own_name_key():
    # invariant: a catalog row's key read back as a log's model name gives the same key, so
    # the rules that drop versions never cut a catalog name short
    from tokenfab.usage.prices import row_keys

    for row in default_catalog().table("api-prices").values():
        for k in row_keys(row)[0]:
            assert name_key(k)[0] == k or name_key(k)[1] is not None, k


def test_the_provider_is_read_only_where_it_can_change_the_price():
    # the report reads the logged provider only for names provider_matters lists: for every
    # other catalog name, any provider (its own, another's, an unknown one) picks the same row
    cat = default_catalog()
    rows = list(cat.table("api-prices").values())
    names = sorted({r.model_name.split(" (")[0] for r in rows})
    providers = [*sorted({r.provider for r in rows}), "nobody"]
    quiet = [n for n in names if n not in provider_matters(names, cat)]
    assert quiet
    alone, _ = resolve(quiet, cat)
    for prov in providers:
        assert resolve(quiet, cat, providers=dict.fromkeys(quiet, prov))[0] == alone, prov


def test_a_huge_token_count_is_a_malformed_row_not_a_query_error(con, tmp_path):
    # QA (new-user pass): input_tokens 1e300 in a JSON log stopped `usage report` with a
    # DuckDB conversion error (1e300 does not fit an int64, whose largest value is ~9.2e18);
    # a count above MAX_TOKENS_PER_REQUEST (1e8, ten times the longest context in the
    # catalog) is now that row's problem, and the other rows are read as before
    p = _jsonl(
        tmp_path / "huge.jsonl",
        [
            {
                "timestamp": "2025-01-01T00:00:00Z",
                "model": "gpt-4o",
                "input_tokens": 1e300,
                "output_tokens": 10,
            },
            {
                "timestamp": "2025-01-01T00:00:01Z",
                "model": "gpt-4o",
                "input_tokens": 100,
                "output_tokens": 10,
            },
            {
                "timestamp": "2025-01-01T00:00:02Z",
                "model": "gpt-4o",
                "input_tokens": 2.5,
                "output_tokens": 10,
            },
        ],
    )
    q = analyses.quality(analyses.load(con, [p]))
    assert (q["rows_read"], q["malformed_rows"], q["valid_rows"]) == (3, 2, 1)
    reasons = {e["line"]: e["reason"] for e in q["malformed_examples"]}
    assert reasons == {
        1: "input_tokens: above 1e+08 tokens (1e+300)",
        3: "input_tokens: not a whole number (2.5)",
    }


def test_a_model_name_shows_its_standard_price_row_not_a_row_that_only_adds_a_price():
    # QA (new-user pass): the report priced gemini-2.5-flash under
    # google-gemini-2-5-flash-batch-2025-07 and gpt-4o-mini under
    # openai-gpt-4o-mini-cached-2024-10: right prices, misleading ids. Those rows repeat the
    # list prices of an earlier row (Gemini 2.5 Flash $0.30 in / $2.50 out from 2025-06-17;
    # GPT-4o mini $0.15 / $0.60 from 2024-07-18) and only add a batch or a cached price.
    cat = default_catalog()
    found, _ = resolve(
        ["gemini-2.5-flash", "gpt-4o-mini", "claude-sonnet-5.5"], cat, date(2026, 11, 30)
    )
    g, m, s = found["gemini-2.5-flash"], found["gpt-4o-mini"], found["claude-sonnet-5.5"]
    assert (g.price_id, g.input_usd_per_mtok, g.output_usd_per_mtok) == (
        "google-gemini-2-5-flash-2025-06",
        0.3,
        2.5,
    )
    # cached $0.075 (50% of $0.15) still comes from OpenAI's prompt-caching row
    assert (m.price_id, m.input_usd_per_mtok, m.output_usd_per_mtok) == (
        "openai-gpt-4o-mini-2024-07",
        0.15,
        0.6,
    )
    assert m.cached_input_usd_per_mtok == 0.075
    # a later row that changes a price is a price change, not an added price: Claude Sonnet
    # 5.5's cached price went from $0.20 (2026-09-28) to $0.10 (2026-10-07)
    assert (s.price_id, s.cached_input_usd_per_mtok) == ("anthropic-claude-sonnet-5-5-2026-10", 0.1)


def test_the_row_shown_has_the_prices_used():
    # invariant over the whole catalog: the row whose id a price shows lists the same input
    # and output prices the report bills, from the same provider, and is no batch/cache add-on
    cat = default_catalog()
    table = cat.table("api-prices")
    names = sorted({r.model_name.split(" (")[0] for r in table.values()})
    found, _ = resolve(names, cat, date(2026, 11, 30))
    assert len(found) == len(names)
    for p in found.values():
        row = table[p.price_id]
        assert (row.input_usd_per_mtok, row.output_usd_per_mtok, row.provider) == (
            p.input_usd_per_mtok,
            p.output_usd_per_mtok,
            p.provider,
        )
        assert "-batch-" not in p.price_id and "-cached-" not in p.price_id, p.price_id


def test_an_open_model_named_by_its_hub_id_takes_the_catalog_rows_of_that_model():
    # QA (usage audit): OpenRouter's and Hugging Face's names of open-weights models
    # ("meta-llama/llama-3.3-70b-instruct") matched no row's name and were priced "unknown".
    # With "-instruct" dropped they name the catalog's model_id llama-3.3-70b, whose one row
    # is Groq's Llama 3.3 70B Versatile at $0.59 in / $0.79 out (api_prices.csv); Llama 3.1
    # 70B's is Together AI's Instruct Turbo at $0.88 / $0.88.
    cat = default_catalog()
    found, unknown = resolve(
        [
            "meta-llama/llama-3.3-70b-instruct",
            "meta-llama/Llama-3.1-70B-Instruct",
            "acme/x-instruct",
        ],
        cat,
        date(2026, 11, 30),
    )
    assert unknown == ["acme/x-instruct"]
    a, b = found["meta-llama/llama-3.3-70b-instruct"], found["meta-llama/Llama-3.1-70B-Instruct"]
    assert (a.provider, a.input_usd_per_mtok, a.output_usd_per_mtok) == ("Groq", 0.59, 0.79)
    assert (b.provider, b.input_usd_per_mtok, b.output_usd_per_mtok) == ("Together AI", 0.88, 0.88)
    assert (a.tokenfab_model, b.tokenfab_model) == ("llama-3.3-70b", "llama-3.1-70b")
    # a name that has rows of its own keeps them: Fireworks lists "Mixtral 8x7B Instruct"
    m = resolve(["mistralai/mixtral-8x7b-instruct"], cat, date(2026, 11, 30))[0]
    assert m["mistralai/mixtral-8x7b-instruct"].provider == "Fireworks AI"
