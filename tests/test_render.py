"""Tests of the renderers: terminal, Markdown, Slack blocks and memory charts."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from slack_sdk.models.blocks import Block

from analyzers.diagnosis import Component, Diagnosis, Finding, Remediation
from analyzers.evidence import Evidence, Fact, FactKind, FactValue, Series, Source, SourceReport, Subject
from analyzers.remediation_params import MemoryLimitRaise
from bot.render import slack
from bot.render.charts import collect_memory_charts, write_memory_charts
from bot.render.markdown import code_span, render_markdown
from bot.render.slack import render_slack_blocks, render_slack_text, render_slack_thread_blocks
from bot.render.terminal import render_terminal

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MIB = 1024 * 1024
OOM_EXCERPT = "Last State: Terminated  Reason: OOMKilled  Exit Code: 137"


# -- building diagnoses --------------------------------------------------------------------------


def oom_finding(finding_id: str = "oom-killed", excerpt: str = OOM_EXCERPT, title: str = "") -> Finding:
    return Finding(
        id=finding_id,
        severity="critical",
        title=title or "Container app was OOMKilled 4 times",
        detail="The working set reached the 512Mi limit before each restart.",
        confidence=0.85,
        evidence=(Source("kubectl-describe", "describe-web.txt", excerpt, line=42),),
    )


def raise_memory(automated: bool = True, remediation_id: str = "raise-memory-limit") -> Remediation:
    return Remediation(
        id=remediation_id,
        title="Raise the memory limit of app to 1Gi",
        risk="low",
        automated=automated,
        params=MemoryLimitRaise("app", from_bytes=512 * MIB, to_bytes=1024 * MIB),
        detail="Patch the Deployment's container resources.",
    )


def make_diagnosis(**overrides: Any) -> Diagnosis:
    fields: dict[str, Any] = {
        "service": "web",
        "summary": "web restarts because its container runs out of memory.",
        "purpose": "Serves the storefront.",
        "components": [
            Component("web", "Deployment", "3 replicas"),
            Component("redis", "StatefulSet", "cache"),
        ],
        "root_causes": ["oom-killed"],
        "findings": [
            oom_finding(),
            Finding(
                id="probe-slow",
                severity="warning",
                title="Readiness probe times out",
                detail="",
                confidence=0.4,
                evidence=(),
            ),
        ],
        "remediations": [
            raise_memory(automated=True),
            Remediation("profile-heap", "Profile the heap", "medium", automated=False),
        ],
        "checks": ["kubectl -n shop describe pod web-7d9f-abcde", "kubectl -n shop top pod"],
        "sources": [SourceReport("describe-web.txt", "kubectl-describe", "ok", "12 facts")],
    }
    fields.update(overrides)
    return Diagnosis(**fields)


def empty_diagnosis() -> Diagnosis:
    return Diagnosis(
        service=None,
        summary="",
        purpose="",
        components=[],
        root_causes=[],
        findings=[],
        remediations=[],
        checks=[],
        sources=[],
    )


def huge_diagnosis() -> Diagnosis:
    long_excerpt = "x" * 5000 + " <b>&`tick`"
    findings = [
        oom_finding(f"finding-{n}", excerpt=long_excerpt, title=f"Finding {n} " + "t" * 400)
        for n in range(80)
    ]
    remediations = [raise_memory(True, f"fix-{n}") for n in range(40)]
    return make_diagnosis(
        service="s" * 300,
        summary="summary & more " * 400,
        root_causes=[f.id for f in findings[:30]],
        findings=findings,
        remediations=remediations,
        checks=[f"kubectl get pod {'p' * 200}-{n}" for n in range(100)],
    )


# -- Markdown ------------------------------------------------------------------------------------


def test_markdown_has_every_section_in_order() -> None:
    markdown = render_markdown(make_diagnosis())

    headings = ["# Triage: web", "## System", "## Root causes", "## Findings", "## What to do"]
    headings += ["## Check first", "## Sources"]
    positions = [markdown.index(heading) for heading in headings]
    assert positions == sorted(positions)
    assert "| web | Deployment | 3 replicas |" in markdown
    assert "1. **oom-killed** — Container app was OOMKilled 4 times" in markdown
    assert f"- kubectl-describe · `describe-web.txt:42`: `{OOM_EXCERPT}`" in markdown
    assert "Confidence: 85%" in markdown
    assert "risk: low, automated" in markdown and "risk: medium, manual" in markdown
    assert "1. `kubectl -n shop describe pod web-7d9f-abcde`\n2. `kubectl -n shop top pod`" in markdown
    assert "| describe-web.txt | kubectl-describe | ok | 12 facts |" in markdown


def test_markdown_code_spans_survive_backticks_and_newlines() -> None:
    assert code_span("plain") == "`plain`"
    assert code_span("run `make` now") == "``run `make` now``"
    assert code_span("``x``") == "``` ``x`` ```"
    assert code_span("line one\nline two") == "`line one ⏎ line two`"


def test_markdown_escapes_pipes_in_tables() -> None:
    diagnosis = make_diagnosis(components=[Component("a|b", "kind", "x")])

    assert "| a\\|b | kind | x |" in render_markdown(diagnosis)


def test_markdown_of_an_empty_diagnosis_still_has_every_section() -> None:
    markdown = render_markdown(empty_diagnosis())

    assert "# Triage: unknown service" in markdown
    assert "_No findings in what could be read._" in markdown  # no source: nothing was read
    assert "_No root cause identified._" in markdown
    assert "## Check first" in markdown and "## Sources" in markdown


# -- terminal ------------------------------------------------------------------------------------


TERMINAL_SECTIONS = ("System", "Root causes", "Findings", "What to do", "Check first", "Sources")


def render_to_text(diagnosis: Diagnosis) -> str:
    console = Console(record=True, width=120, file=io.StringIO())
    render_terminal(diagnosis, console)
    return console.export_text()


def test_terminal_report_shows_each_section_and_the_root_cause() -> None:
    text = render_to_text(make_diagnosis())

    for section in ("Triage: web", *TERMINAL_SECTIONS):
        assert section in text
    assert "1. oom-killed — Container app was OOMKilled 4 times" in text
    assert "[CRITICAL] Container app was OOMKilled 4 times" in text
    assert "85% confidence" in text
    flat_excerpt = " ".join(OOM_EXCERPT.split())  # runs of spaces are collapsed for display
    assert f"kubectl-describe · describe-web.txt:42: {flat_excerpt}" in text
    assert "to=1Gi" in text
    assert "2. kubectl -n shop top pod" in text


def test_terminal_truncates_long_excerpts_and_keeps_markup_literal() -> None:
    excerpt = "[bold]not markup[/bold] " + "y" * 500
    text = render_to_text(make_diagnosis(findings=[oom_finding(excerpt=excerpt)]))

    assert "[bold]not markup[/bold]" in text
    assert "y" * 500 not in text
    assert "y…" in text


def test_terminal_renders_an_empty_diagnosis() -> None:
    text = render_to_text(empty_diagnosis())

    assert "No findings in what could be read." in text
    assert "unknown service" in text


# -- Slack ---------------------------------------------------------------------------------------


def block_text(block: dict[str, Any]) -> str:
    text = block.get("text")
    return str(text["text"]) if isinstance(text, dict) else ""


def test_slack_message_holds_summary_top_root_cause_and_buttons_and_the_thread_the_rest() -> None:
    blocks = render_slack_blocks(make_diagnosis())
    thread = render_slack_thread_blocks(make_diagnosis())

    assert [b["type"] for b in blocks] == ["header", "section", "section", "actions", "context"]
    assert block_text(blocks[0]) == "🔴 web: critical"
    assert "runs out of memory" in block_text(blocks[1])
    assert "*Root cause:*" in block_text(blocks[2])
    assert "Container app was OOMKilled 4 times" in block_text(blocks[2])
    assert "describe-web.txt:42" in block_text(blocks[2])
    assert [b["text"]["text"] for b in blocks[3]["elements"]] == ["Preview: raise memory limit to 1Gi"]
    assert (
        "1 more finding, what to check first, manual steps in the thread" in blocks[4]["elements"][0]["text"]
    )
    texts = [block_text(block) for block in thread]
    assert any("Readiness probe times out" in text for text in texts)
    assert not any("Container app was OOMKilled" in text for text in texts)  # told once, in the message
    checks = next(text for text in texts if "*What to check first*" in text)
    assert "1. `kubectl -n shop describe pod web-7d9f-abcde`" in checks
    assert any("*Manual steps*" in text and "Profile the heap" in text for text in texts)
    assert any("*Sources*" in text and "describe-web.txt: ok" in text for text in texts)


def test_slack_buttons_carry_only_ids_for_automated_remediations() -> None:
    diagnosis = make_diagnosis(
        remediations=[raise_memory(False, "manual-one"), raise_memory(True, "auto-one"), raise_memory(True)]
    )

    def buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [e for block in blocks if block["type"] == "actions" for e in block["elements"]]

    default_buttons = buttons(render_slack_blocks(diagnosis))
    chosen_buttons = buttons(render_slack_blocks(diagnosis, proposal_ids={1: "proposal-7f3a"}))

    assert [b["action_id"] for b in default_buttons] == ["remediation:1", "remediation:2"]
    assert [b["value"] for b in default_buttons] == ["auto-one:1", "raise-memory-limit:2"]
    # With stored proposals, only a fix that has one gets a button: any other would lead nowhere.
    assert [b["value"] for b in chosen_buttons] == ["proposal-7f3a"]
    assert all("1Gi" not in b["value"] for b in default_buttons + chosen_buttons)
    assert all(b["text"]["text"].startswith("Preview: ") for b in default_buttons)


def test_slack_message_never_lists_an_automated_fix_without_its_button() -> None:
    diagnosis = make_diagnosis(remediations=[raise_memory(True, "auto-one"), raise_memory(True)])

    blocks = render_slack_blocks(diagnosis, proposal_ids={0: "proposal-1"})
    thread = render_slack_thread_blocks(diagnosis)

    everything = " ".join(block_text(b) for b in [*blocks, *thread])
    assert "1Gi" not in everything.replace("Preview: raise memory limit to 1Gi", "")
    assert sum(len(b["elements"]) for b in blocks if b["type"] == "actions") == 1


def test_slack_escapes_mrkdwn_control_characters() -> None:
    diagnosis = make_diagnosis(findings=[oom_finding(excerpt="<!here> a & b `x`")], root_causes=[])

    texts = " ".join(block_text(block) for block in render_slack_thread_blocks(diagnosis))

    assert "<!here>" not in texts
    assert "`&lt;!here&gt; a &amp; b 'x'`" in texts


def test_slack_blocks_respect_limits_for_a_huge_diagnosis() -> None:
    blocks = render_slack_blocks(huge_diagnosis())
    thread = render_slack_thread_blocks(huge_diagnosis())

    assert len(blocks) <= 50 and len(thread) <= 50
    for block in [*blocks, *thread]:
        parsed = Block.parse(block)
        assert parsed is not None
        parsed.validate_json()
        if block["type"] == "section":
            assert len(block_text(block)) <= 3000
        if block["type"] == "header":
            assert len(block_text(block)) <= 150
            assert block_text(block).endswith("…")
        if block["type"] == "actions":
            assert len(block["elements"]) == 25
            assert all(len(button["text"]["text"]) <= 75 for button in block["elements"])
    assert any(block_text(block).endswith("…") for block in blocks if block["type"] == "section")
    contexts = [block["elements"][0]["text"] for block in blocks if block["type"] == "context"]
    assert any("79 more findings" in text and "in the thread" in text for text in contexts)
    assert any("15 more automated fixes" in text for text in contexts)


def test_slack_thread_budget_holds_when_every_finding_is_wanted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(slack, "KEY_FINDINGS_MAX", 1000)

    thread = render_slack_thread_blocks(huge_diagnosis())

    assert len(thread) == 50
    notes = [block["elements"][0]["text"] for block in thread if block["type"] == "context"]
    assert any("more findings: `triage check" in note for note in notes)


def test_slack_no_findings_only_when_every_source_answered() -> None:
    read = [SourceReport("redis", "redis", "ok", "40 facts")]
    failed = [SourceReport("redis", "redis", "error", "redis://127.0.0.1:6399: connection refused")]
    mixed = [*read, SourceReport("prometheus", "prometheus", "error", "timed out")]

    def head(sources: list[SourceReport]) -> list[str]:
        blocks = render_slack_blocks(make_diagnosis(root_causes=[], findings=[], sources=sources))
        return [block_text(block) for block in blocks]

    assert head(read)[0] == "web: no findings"
    assert not any("Coverage" in text for text in head(read))
    assert head(failed)[0] == "web: nothing could be read"
    assert "redis (redis://127.0.0.1:6399: connection refused)" in head(failed)[2]
    assert head(mixed)[0] == "web: nothing found in what could be read"
    assert "not read: prometheus (timed out)" in head(mixed)[2]
    assert block_text(render_slack_blocks(empty_diagnosis())[0]) == "unknown service: nothing could be read"


def test_slack_header_of_an_alert_shows_the_alert_severity() -> None:
    diagnosis = make_diagnosis(findings=[replace(oom_finding(), severity="warning")])

    assert block_text(render_slack_blocks(diagnosis)[0]) == "🟠 web: warning"
    assert block_text(render_slack_blocks(diagnosis, alert_severity="critical")[0]) == "🔴 web: critical"


def test_slack_text_fallback_has_the_essentials() -> None:
    text = render_slack_text(make_diagnosis())

    assert text.startswith("🔴 web: critical — web restarts")
    assert "Root cause: Container app was OOMKilled 4 times (85%)" in text
    assert "  2. kubectl -n shop top pod" in text
    assert "Raise the memory limit of app to 1Gi (risk low, automated)" in text
    assert len(render_slack_text(huge_diagnosis())) <= 3000


# -- charts --------------------------------------------------------------------------------------

T0 = 1_700_000_000.0
POD, CONTAINER = "web-7d9f-abcde", "app"


def fact(kind: FactKind, value: FactValue, key: str | None = None, at: datetime | None = None) -> Fact:
    return Fact(kind, Subject(pod=POD, container=CONTAINER), value, Source("test", "ref", "excerpt"), key, at)


def memory_series(
    values_mib: list[float],
    pod: str = POD,
    name: str = "container_memory_working_set_bytes",
    start: float = T0,
    extra_labels: tuple[tuple[str, str], ...] = (),
) -> Fact:
    points = tuple((start + 60 * i, v * MIB) for i, v in enumerate(values_mib))
    labels = (("pod", pod), ("container", CONTAINER), *extra_labels)
    return fact("metric", Series(name, labels, points), key=name)


def test_a_series_with_a_limit_writes_one_png(tmp_path: Path) -> None:
    evidence = Evidence(
        [memory_series([200 + 15 * i for i in range(20)]), fact("container.memory_limit", 512.0 * MIB)]
    )

    paths = write_memory_charts(evidence, tmp_path / "charts")

    assert paths == [tmp_path / "charts" / f"memory-{POD}-{CONTAINER}.png"]
    assert paths[0].read_bytes().startswith(PNG_SIGNATURE)


def test_no_qualifying_series_writes_nothing(tmp_path: Path) -> None:
    out_dir = tmp_path / "charts"
    evidence = Evidence(
        [
            memory_series([100.0]),  # a single point
            memory_series([100.0, 200.0], name="container_cpu_usage_seconds_total"),
            fact("metric", Series("container_memory_rss", (("pod", POD),), ((None, 1.0), (None, 2.0)))),
        ]
    )

    assert write_memory_charts(evidence, out_dir) == []
    assert not out_dir.exists()


def test_restarted_containers_share_one_chart_and_other_services_are_left_out(tmp_path: Path) -> None:
    evidence = Evidence(
        [
            memory_series([400.0, 505.0], extra_labels=(("id", "/kubepods/aaaaaaaaaaaa"),)),
            memory_series([100.0, 150.0], start=T0 + 180, extra_labels=(("id", "/kubepods/bbbbbbbbbbbb"),)),
            memory_series([10.0, 20.0], pod="billing-5c4-xyz"),
        ]
    )

    paths = write_memory_charts(evidence, tmp_path, service="web")
    charts = collect_memory_charts(evidence, service="web")

    assert [path.name for path in paths] == [f"memory-{POD}-{CONTAINER}.png"]
    assert [line.label for line in charts[0].lines] == [
        "container_memory_working_set_bytes",
        "container_memory_working_set_bytes (bbbbbbbbbbbb)",
    ]


def test_charts_find_limits_requests_and_oom_kills() -> None:
    finished = datetime.fromtimestamp(T0 + 150, tz=UTC)
    limit_series = Series(
        "kube_pod_container_resource_limits",
        (("pod", POD), ("container", CONTAINER), ("resource", "memory")),
        ((T0, 512.0 * MIB),),
    )
    evidence = Evidence(
        [
            memory_series([300.0, 480.0, 500.0, 120.0, 200.0]),
            fact("metric", limit_series, key=limit_series.name),
            fact("container.memory_request", 256.0 * MIB),
            fact("container.last_reason", "OOMKilled"),
            fact("container.last_finished", None, at=finished),
        ]
    )

    [chart] = collect_memory_charts(evidence)

    assert chart.limit == 512.0 * MIB
    assert chart.request == 256.0 * MIB
    assert chart.oom_kills == [T0 + 150]
    assert chart.oom_drops == [T0 + 180]


def test_no_oom_marks_without_an_oom_reason_or_near_the_limit() -> None:
    evidence = Evidence(
        [
            memory_series([100.0, 200.0, 50.0]),
            fact("container.memory_limit", 512.0 * MIB),
            fact("container.last_reason", "Error"),
            fact("container.last_finished", None, at=datetime.fromtimestamp(T0 + 60, tz=UTC)),
        ]
    )

    [chart] = collect_memory_charts(evidence)

    assert chart.oom_kills == []
    assert chart.oom_drops == []


@pytest.mark.parametrize("pod", ["web/../../etc", "web pod:1"])
def test_chart_file_names_are_safe_slugs(tmp_path: Path, pod: str) -> None:
    evidence = Evidence([memory_series([1.0, 2.0], pod=pod)])

    [path] = write_memory_charts(evidence, tmp_path)

    assert path.parent == tmp_path
    assert path.name.startswith("memory-web-")
    assert all(ch.isalnum() or ch in "-_." for ch in path.name)


# -- issue 11: charts worth opening ----------------------------------------------------------------


def pod_level_series(values_mib: list[float], pod: str = POD) -> Fact:
    points = tuple((T0 + 60 * i, v * MIB) for i, v in enumerate(values_mib))
    series = Series("container_memory_working_set_bytes", (("pod", pod), ("container", "")), points)
    return Fact("metric", Subject(pod=pod), series, Source("test", "ref", "excerpt"), series.name)


def container_fact(container: str, kind: FactKind, value: FactValue) -> Fact:
    return Fact(kind, Subject(pod=POD, container=container), value, Source("test", "ref", "excerpt"))


def test_a_pod_level_series_of_a_one_container_pod_joins_its_container_chart() -> None:
    evidence = Evidence(
        [
            memory_series([200.0, 300.0]),
            pod_level_series([210.0, 310.0]),
            fact("container.memory_limit", 512.0 * MIB),
        ]
    )

    charts = collect_memory_charts(evidence)

    assert len(charts) == 1
    assert charts[0].key.container == CONTAINER and len(charts[0].lines) == 2
    assert charts[0].limit == 512.0 * MIB


def test_a_pod_level_chart_gets_the_sum_of_its_containers_limits() -> None:
    evidence = Evidence(
        [
            pod_level_series([210.0, 310.0]),
            container_fact("app", "container.memory_limit", 512.0 * MIB),
            container_fact("statsd", "container.memory_limit", 64.0 * MIB),
        ]
    )

    (chart,) = collect_memory_charts(evidence)

    assert chart.key.container is None
    assert chart.limit == 576.0 * MIB


def test_no_pod_limit_when_one_container_has_none() -> None:
    evidence = Evidence(
        [
            pod_level_series([210.0, 310.0]),
            container_fact("app", "container.memory_limit", 512.0 * MIB),
            container_fact("statsd", "container.image", "statsd/statsd:v0.10"),
        ]
    )

    (chart,) = collect_memory_charts(evidence)

    assert chart.limit is None


def _legend_labels(chart: Any) -> list[str]:
    import matplotlib.pyplot as plt

    from bot.render.charts import _plot

    figure, axes = plt.subplots()
    try:
        _plot(chart, axes)
        return [text.get_text() for text in axes.get_legend().get_texts()]
    finally:
        plt.close(figure)


def test_a_request_equal_to_the_limit_is_named_with_it_and_a_lower_one_drawn_apart() -> None:
    equal = Evidence(
        [
            memory_series([200.0, 300.0]),
            fact("container.memory_limit", 512.0 * MIB),
            fact("container.memory_request", 512.0 * MIB),
        ]
    )
    lower = Evidence(
        [
            memory_series([200.0, 300.0]),
            fact("container.memory_limit", 512.0 * MIB),
            fact("container.memory_request", 256.0 * MIB),
        ]
    )

    assert "limit = request 512 MiB" in _legend_labels(collect_memory_charts(equal)[0])
    labels = _legend_labels(collect_memory_charts(lower)[0])
    assert "limit 512 MiB" in labels and "request 256 MiB" in labels


def test_charts_say_when_there_is_nothing_to_plot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.cli import main

    monkeypatch.setattr("sys.stdin", io.StringIO("Reason: OOMKilled\n"))
    main(["diagnose", "-", "--json", "--charts", str(tmp_path / "charts")])

    assert "nothing to plot" in capsys.readouterr().err
    assert not (tmp_path / "charts").exists()


def test_refusals_keep_real_mentions_and_nothing_else() -> None:
    from bot.remediation.flow import Outcome
    from bot.slack.remediation_actions import _outcome_text

    text = "<@U0RANDOM> is not an approver for session-cache (approvers: <@U0ALICE1>, <!subteam^S0SRE01>)"
    shown = slack.mrkdwn_escape_keeping_mentions(text + " <!channel> <https://evil.example|x> <@U0X>")

    assert shown.startswith("<@U0RANDOM> is not an approver")
    assert "<@U0ALICE1>" in shown and "<!subteam^S0SRE01>" in shown
    assert "&lt;!channel&gt;" in shown and "&lt;https://evil.example|x&gt;" in shown
    assert "&lt;@U0X&gt;" in shown  # not an id Slack hands out: shown as text
    assert _outcome_text(Outcome("refused", text, None, "not_allowed")).count("<@U0RANDOM>") == 1


def test_a_diagnosis_that_is_itself_a_thread_reply_holds_everything_in_one_message() -> None:
    blocks = render_slack_blocks(make_diagnosis(), whole=True)
    texts = " ".join(block_text(block) for block in blocks)

    assert "*Root cause:*" in texts and "Readiness probe times out" in texts
    assert "*What to check first*" in texts and "*Manual steps*" in texts and "*Sources*" in texts
    assert "in the thread below" not in json.dumps(blocks)
    assert len(render_slack_blocks(huge_diagnosis(), whole=True)) <= 49  # room for the footer
