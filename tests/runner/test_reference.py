"""A suite ``reference:`` (a second baseline): real runs on scripted ``mock:`` models, numbers checked
against paired deltas computed by hand, the K-shot prompt built from the task's few-shot pool and
never from evaluated items, the reports, and the validation errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from tunegate.cli.main import app
from tunegate.report import print_comparison, render_html, render_markdown
from tunegate.runner import CompareConfig, ComparisonResult, compare_models
from tunegate.store import open_store
from tunegate.suite import ReferenceSpec, load_suite, parse_reference
from tunegate.tasks import TASKS, TaskOptions
from tunegate.tasks._data import package_data, read_jsonl

N = 6
# which TriviaQA items each model answers right (the rest get a wrong answer)
BASE_RIGHT = {0}
REF_RIGHT = {0, 1, 2}  # the base model with the 3-shot prompt
TUNED_RIGHT = {0, 1, 3, 4}


def _answers(prompts: list[str], answers: list[str], right: set[int]) -> list[str]:
    return [
        json.dumps({"prompt": p, "text": (" " + a if i in right else " wrong answer") + "\n"})
        for i, (p, a) in enumerate(zip(prompts, answers, strict=True))
    ]


def _scripts(tmp_path: Path) -> tuple[str, str, list[str]]:
    """Mock scripts: base answers the 0-shot and the 3-shot prompts, tuned the 0-shot ones."""
    zero = TASKS.get("triviaqa")(TaskOptions(limit=N))
    docs = zero.docs()
    held = frozenset(d.id for d in docs)
    three = TASKS.get("triviaqa")(TaskOptions(limit=N, shots=3, held_out=held))
    answers = [str(d.data["answer"]) for d in docs]
    p0 = [zero.requests(d)[0].prompt for d in docs]  # type: ignore[attr-defined]
    p3 = [three.requests(d)[0].prompt for d in docs]  # type: ignore[attr-defined]
    base, tuned = tmp_path / "base.jsonl", tmp_path / "tuned.jsonl"
    base.write_text("\n".join(_answers(p0, answers, BASE_RIGHT) + _answers(p3, answers, REF_RIGHT)) + "\n")
    tuned.write_text("\n".join(_answers(p0, answers, TUNED_RIGHT)) + "\n")
    return f"mock:{base}", f"mock:{tuned}", [str(p) for p in p3]


def _suite(tmp_path: Path, reference: str = "{shots: 3}") -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(
        f"name: ref\ntasks:\n  - task: triviaqa\n    limit: {N}\n    gates: [{{min_gain: 0.0}}]\n"
        f"reference: {reference}\n"
    )
    return path


def _hand(ref: list[float], tuned: list[float]) -> tuple[float, float]:
    """Mean paired difference and its plain standard error sd/sqrt(n), by hand."""
    d = [t - r for r, t in zip(ref, tuned, strict=True)]
    mean = sum(d) / len(d)
    sd = math.sqrt(sum((x - mean) ** 2 for x in d) / (len(d) - 1))
    return mean, sd / math.sqrt(len(d))


def test_three_shot_reference_numbers_are_the_hand_computed_paired_deltas(tmp_path: Path) -> None:
    base, tuned, _ = _scripts(tmp_path)
    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    result = compare_models(CompareConfig(suite=load_suite(_suite(tmp_path)), base=base, tuned=tuned), store)

    tc = result.tasks[0]
    # base vs tuned is what it was without a reference, and the gate is on it
    em = tc.metric("exact_match")
    assert (em.base, em.tuned) == (1 / 6, 4 / 6) and em.delta == pytest.approx(3 / 6)
    assert result.gates[0].task == "triviaqa" and result.gates[0].kind == "min_gain"
    # tuned vs the 3-shot base, paired item by item
    assert tc.reference is not None and tc.reference.skipped is None
    assert tc.reference.config["shots"] == 3
    rm = tc.reference.metric("exact_match")
    ref01 = [float(i in REF_RIGHT) for i in range(N)]
    tuned01 = [float(i in TUNED_RIGHT) for i in range(N)]
    delta, se = _hand(ref01, tuned01)
    assert rm.base == pytest.approx(3 / 6) and rm.tuned == pytest.approx(4 / 6)
    assert rm.delta == pytest.approx(delta) == pytest.approx(1 / 6)
    assert rm.n == N and rm.discordant == (1, 2)  # ref right & tuned wrong: item 2; the reverse: 3, 4
    assert rm.se_raw == pytest.approx(se)
    # McNemar exact, two-sided, 1 of 3 discordant pairs: 2 * P(X <= 1 | n=3, p=1/2) = 2 * 4/8, capped at 1
    assert rm.p_value == pytest.approx(1.0)
    from scipy import stats

    t = float(stats.t.ppf(0.975, N - 1))
    assert (rm.ci_low, rm.ci_high) == pytest.approx((rm.delta - t * rm.se, rm.delta + t * rm.se))
    # the scorecard's target row carries the reference column
    row = next(r for r in result.scorecard if r.dimension == "task")
    assert row.reference == pytest.approx(3 / 6) and row.vs_reference == pytest.approx(1 / 6)
    assert result.reference is not None and result.reference["label"] == "base, 3-shot"
    assert result.reference["fingerprint"] == result.base["fingerprint"]
    # stored: the reference role's per-item scores, and the run's roles
    run = store.get_run(result.run_id)
    assert run.roles["reference"] == base and run.config["reference"] == {"shots": 3, "model": None}
    items = store.items(result.run_id)
    assert [it.answers["reference"].scores["exact_match"] for it in items] == ref01
    # JSON round trip keeps every new field
    again = ComparisonResult.from_json(json.loads(json.dumps(result.to_json())))
    assert again == result


def test_three_shot_prompt_comes_from_the_train_pool_never_from_evaluated_items(tmp_path: Path) -> None:
    base, tuned, expected = _scripts(tmp_path)
    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    result = compare_models(CompareConfig(suite=load_suite(_suite(tmp_path)), base=base, tuned=tuned), store)
    items = store.items(result.run_id)
    keys = [k for it in items for k in it.answers["reference"].response_keys]
    asked = [r.request["prompt"] for r in store.get_response_records(keys).values()]
    assert sorted(asked) == sorted(expected)  # what the engine asked (and cached) for the reference
    train = {
        str(r["context"]) for r in read_jsonl(package_data("triviaqa", "train.jsonl"), required=("context",))
    }
    evaluated = {
        str(r["context"]) for r in read_jsonl(package_data("triviaqa", "eval.jsonl"), required=("context",))
    }
    assert len(asked) == len(items) == N
    for prompt in asked:
        *shots, question = prompt.split("\n\n")
        assert len(shots) == 3
        for shot in shots:  # "Question: ...\nAnswer: <the answer>"
            ctx = shot[: shot.index("\nAnswer:") + len("\nAnswer:")]
            assert ctx in train and ctx not in evaluated, shot
        assert question in evaluated
    # deterministic: the same shots for every item and every run
    assert len({p.rsplit("\n\n", 1)[0] for p in asked}) == 1
    again = TASKS.get("triviaqa")(TaskOptions(limit=N, shots=3)).fewshot_prefix()  # type: ignore[attr-defined]
    assert asked[0].startswith(again)


def test_few_shot_pool_drops_rows_that_are_evaluated(tmp_path: Path) -> None:
    """A user's pool that holds evaluated questions: those are never drawn."""
    evaluated = read_jsonl(package_data("triviaqa", "eval.jsonl"), required=("context",))
    pool = tmp_path / "pool.jsonl"
    pool.write_text(
        "".join(json.dumps(r) + "\n" for r in evaluated[:50])
        + json.dumps({"context": "Question: q?\nAnswer:", "answer": "a"})
        + "\n"
    )
    task = TASKS.get("triviaqa")(TaskOptions(shots=1, extra={"fewshot_data": str(pool)}))
    assert task.fewshot_prefix() == "Question: q?\nAnswer: a\n\n"  # type: ignore[attr-defined]
    from tunegate.errors import ConfigError

    with pytest.raises(ConfigError, match="only 1 rows that are not evaluated"):
        TASKS.get("triviaqa")(TaskOptions(shots=2, extra={"fewshot_data": str(pool)})).requests(
            task.docs()[0]
        )


def test_hellaswag_reference_shots_skip_evaluated_rows_and_say_when_none_are_left(tmp_path: Path) -> None:
    hs = TASKS.get("hellaswag")
    docs = hs(TaskOptions(limit=10)).docs()
    held = frozenset(d.id for d in docs)
    task = hs(TaskOptions(limit=10, shots=3, held_out=held))
    queries = {hs.query(d.data) for d in docs}
    for d in docs:
        prefix = task.requests(d)[0].context.rsplit("\n\n", 1)[0]  # type: ignore[attr-defined]
        shots = prefix.split("\n\n")
        assert len(shots) == 3 and not any(any(s.startswith(q) for q in queries) for s in shots)
    # every row evaluated: no row is left for shots; the compare run says so and has no column for it
    suite = tmp_path / "h.yaml"
    suite.write_text(
        "name: h\ntasks:\n  - task: hellaswag\n    limit: 4\n  - task: mmlu\n    limit: 4\n"
        "reference: {shots: 3}\n"
    )
    spec = tmp_path / "m.jsonl"
    spec.write_text('{"options": {"unscripted": "hash"}}\n')
    other = tmp_path / "m2.jsonl"
    other.write_text('{"options": {"unscripted": "hash"}}\n\n')
    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    result = compare_models(
        CompareConfig(suite=load_suite(suite), base=f"mock:{spec}", tuned=f"mock:{other}"), store
    )
    h, m = result.tasks
    assert h.reference is not None and h.reference.metrics and h.reference.config["shots"] == 3
    assert m.reference is not None and not m.reference.metrics
    assert m.reference.skipped == "mmlu: shots must be one of 0, 5, got 3"
    assert any("no column for mmlu" in w for w in result.warnings)
    full = hs(TaskOptions(shots=3, held_out=frozenset(d.id for d in hs().docs())))
    from tunegate.errors import ConfigError

    with pytest.raises(ConfigError, match="only 0 are left"):
        full.requests(full.docs()[0])


def test_model_reference_uses_the_suite_prompts_and_shows_in_every_report(tmp_path: Path) -> None:
    base, tuned, _ = _scripts(tmp_path)
    # the other model answers the 0-shot prompts like the scripted 3-shot base
    zero = TASKS.get("triviaqa")(TaskOptions(limit=N))
    docs = zero.docs()
    other = tmp_path / "other.jsonl"
    other.write_text(
        "\n".join(
            _answers(
                [zero.requests(d)[0].prompt for d in docs],  # type: ignore[attr-defined]
                [str(d.data["answer"]) for d in docs],
                REF_RIGHT,
            )
        )
        + "\n"
    )
    db = f"sqlite:///{tmp_path / 's.db'}"
    out = tmp_path / "r"
    args = ["compare", "--base", base, "--tuned", tuned, "--suite", str(_suite(tmp_path)), "-q", "--db", db]
    args += ["--reference", f"model=mock:{other}", "--json", f"{out}.json", "--html", f"{out}.html"]
    args += ["--markdown", f"{out}.md", "--allow-vacuous"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code in (0, 3), res.output
    assert "against the reference" in res.output
    data = json.loads(Path(f"{out}.json").read_text())
    assert data["reference"]["label"] == f"mock:{other}" and data["reference"]["shots"] is None
    ref = data["tasks"][0]["reference"]
    em = next(m for m in ref["metrics"] if m["metric"] == "exact_match")
    assert (em["base"], em["tuned"], em["discordant"]) == (0.5, pytest.approx(4 / 6), [1, 2])
    html = Path(f"{out}.html").read_text()
    assert 'id="reference-table"' in html and "Δ vs reference" in html
    assert "+16.7" in html  # tuned − reference on exact_match, in points
    md = Path(f"{out}.md").read_text()
    assert (
        "**Against the reference**" in md
        and "| triviaqa | **exact\\_match** | 6 | 50.0 | 66.7 | +16.7 |" in md
    )
    result = ComparisonResult.from_json(data)
    console = Console(record=True, width=200)
    print_comparison(result, console)
    text = console.export_text()
    assert "against the reference" in text and "+16.7" in text
    assert "Δ vs reference" in render_html(result) and "Against the reference" in render_markdown(result)


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("{shots: 0}", "reference.shots: shots must be a positive integer, got 0"),
        ("{shots: 2.5}", "reference.shots: shots must be a positive integer, got 2.5"),
        ("{shots: '3'}", "reference.shots: shots must be a positive integer, got '3'"),
        ("{shots: true}", "reference.shots: shots must be a positive integer, got True"),
        (
            "{shotz: 3}",
            "unknown key 'shotz' at reference.shotz. Did you mean \"shots\"? Allowed keys: model, shots",
        ),
        ("{}", "reference: a reference needs shots (a positive integer), model (a model spec), or both"),
        ("3", "reference: expected a mapping with the keys model, shots, got 3"),
    ],
)
def test_suite_reference_validation(tmp_path: Path, reference: str, message: str) -> None:
    from tunegate.errors import SuiteError

    with pytest.raises(SuiteError) as e:
        load_suite(_suite(tmp_path, reference))
    assert message in str(e.value)


def test_cli_reference_forms_and_errors(tmp_path: Path) -> None:
    from tunegate.errors import SuiteError

    assert parse_reference("shots=3") == ReferenceSpec(shots=3)
    assert parse_reference("model=hf:a?x=1,y") == ReferenceSpec(model="hf:a?x=1,y")
    assert parse_reference("shots=2,model=mock:m.jsonl") == ReferenceSpec(shots=2, model="mock:m.jsonl")
    assert parse_reference("builtin:gemma-3-270m") == ReferenceSpec(model="builtin:gemma-3-270m")
    for bad, why in [
        ("shots=0", "positive integer"),
        ("shots=x", "positive integer"),
        ("shots=3,foo", "only model=SPEC"),
    ]:
        with pytest.raises(SuiteError, match=why):
            parse_reference(bad)
    spec = tmp_path / "m.jsonl"
    spec.write_text('{"options": {"unscripted": "hash"}}\n')
    res = CliRunner().invoke(
        app,
        [
            "compare",
            "--base",
            f"mock:{spec}",
            "--tuned",
            f"mock:{spec}",
            "--suite",
            str(_suite(tmp_path)),
            "--reference",
            "shots=-1",
            "-q",
            "--db",
            f"sqlite:///{tmp_path / 's.db'}",
        ],
    )
    assert res.exit_code == 2 and "shots must be a positive integer, got '-1'" in res.output


def test_reference_label_is_shown_as_typed_in_the_terminal(tmp_path: Path) -> None:
    base, tuned, _ = _scripts(tmp_path)
    weird = tmp_path / "[red]x[bold].jsonl"
    weird.write_text(Path(base.removeprefix("mock:")).read_text())
    cfg = CompareConfig(
        suite=load_suite(_suite(tmp_path)),
        base=base,
        tuned=tuned,
        reference=ReferenceSpec(model=f"mock:{weird}"),
    )
    result = compare_models(cfg, open_store(f"sqlite:///{tmp_path / 's.db'}"))
    console = Console(record=True, width=400)
    print_comparison(result, console)
    assert "[red]x[bold].jsonl" in console.export_text()
