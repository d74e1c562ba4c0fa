"""config.model-settings: the parser (YAML, JSON, .env, Python) and the check over --model-config globs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fixtures.preflight import PreflightOptions, run_check
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from magent.core.model_config import analyse, kind_of

DATA = Path(__file__).parent.parent / "data" / "preflight" / "model_config"


def rules(text: str, kind: str, **kwargs) -> list[tuple[str, int | None]]:
    return [(issue.rule, issue.line) for issue in analyse(text, kind, **kwargs).issues]


@pytest.mark.parametrize(("name", "kind"), [
    ("a.yaml", "yaml"), ("b.YML", "yaml"), ("c.json", "json"), (".env", "env"), ("prod.env", "env"),
    (".env.production", "env"), ("settings.py", "py"), ("x.toml", None), ("dir/README", None),
])
def test_kind_of(name, kind):
    assert kind_of(name) == kind


def test_yaml_inherits_settings_from_ancestors_and_defaults_siblings():
    text = "defaults:\n  temperature: 0.1\nagents:\n  - model: mistral-small-2506\n    max_tokens: 9\n"
    report = analyse(text, "yaml")
    assert report.blocks == 1 and report.issues == []


def test_yaml_missing_settings_named_with_line_and_column():
    issues = analyse("chat:\n  name: x\n  model: mistral-small-2506\n", "yaml").issues
    assert len(issues) == 1
    assert issues[0].rule == "missing-setting" and (issues[0].line, issues[0].column) == (3, 10)
    assert "max_tokens, temperature" in issues[0].message


def test_yaml_null_setting_is_not_set_and_sibling_model_blocks_do_not_lend():
    text = ("a:\n  model: m-2501\n  max_tokens: 5\n  temperature: 0\n"
            "b:\n  model: m-2502\n  max_tokens: ~\n")
    assert rules(text, "yaml") == [("missing-setting", 6)]


def test_yaml_completion_args_nested_count():
    text = "agent:\n  model: m-2501\n  completion_args:\n    max_tokens: 1\n    temperature: 0\n"
    assert rules(text, "yaml") == []


def test_latest_alias_needs_a_marker_or_the_setting():
    text = "model: mistral-large-latest\nmax_tokens: 1\ntemperature: 0\n"
    assert rules(text, "yaml") == [("latest-alias", 1)]
    assert rules(text, "yaml", intentional=["mistral-large-latest"]) == []
    marked = text.replace("latest\n", "latest  # magent:intentional-alias\n", 1)
    assert rules(marked, "yaml") == []
    above = "# magent:intentional-alias\n" + text
    assert rules(above, "yaml") == []


def test_marker_in_a_string_is_not_a_comment():
    text = 'model: "mistral-large-latest"\nmax_tokens: 1\ntemperature: 0\nnote: "magent:intentional-alias"\n'
    assert rules(text, "yaml") == [("latest-alias", 1)]


def test_embedding_models_need_no_sampling_settings_but_are_pinned():
    assert rules("model: mistral-embed\n", "yaml") == []
    assert rules("model: mistral-embed-latest\n", "yaml") == [("latest-alias", 1)]


def test_yaml_parse_error_is_an_issue_with_its_line():
    issues = analyse("a: 1\nb: [unclosed\n", "yaml").issues
    assert [issue.rule for issue in issues] == ["parse-error"]
    assert issues[0].line is not None and "cannot parse YAML" in issues[0].message


def test_json_positions_and_parse_error():
    text = '{\n  "chat": {"model": "open-mistral-nemo", "temperature": 0.7}\n}'
    issues = analyse(text, "json").issues
    assert [(i.rule, i.line) for i in issues] == [("missing-setting", 2)] and "max_tokens" in issues[0].message
    assert rules('{"model": "x",\n ', "json") == [("parse-error", 2)]


def test_json_with_tabs_still_judged():
    text = '{\t"model":\t"m-latest", "max_tokens": 1, "temperature": 0}'
    assert [rule for rule, _ in rules(text, "json")] == ["latest-alias"]


def test_env_prefixed_unprefixed_and_quoted():
    text = ('export CHAT_MODEL="mistral-small-2506"  # chat\nCHAT_MAX_TOKENS=100\nTEMPERATURE=0.2\n'
            "EMBED_MODEL=mistral-embed\nSUMMARY_MODEL=codestral-latest # magent:intentional-alias\n")
    assert rules(text, "env") == [("missing-setting", 5)]
    assert rules("MISTRAL_MODEL=m-2501\nMISTRAL_MAX_TOKENS=\nMISTRAL_TEMPERATURE=1\n", "env") == [
        ("missing-setting", 1)]


def test_env_single_model_takes_any_scoped_setting():
    assert rules("LLM_MODEL=m-2501\nAPP_MAX_TOKENS=5\nAPP_TEMPERATURE=0\n", "env") == []


def test_python_calls_dicts_and_constants():
    text = (
        'MODEL = "mistral-large-latest"\n'                                                          # 1 alias
        "client.chat.complete(model=MODEL, messages=m, max_tokens=5)\n"                            # 2 missing temp
        'client.beta.agents.create(model="m-2505", completion_args={"temperature": 0, "max_tokens": 1})\n'
        'client.beta.agents.create(model="m-2505", completion_args=CompletionArgs(temperature=0))\n'  # 4
        "client.embeddings.create(model=EMBED, inputs=[])\n"
        'cfg = {"model": "m-2506", "max_tokens": 1}\n'                                              # 6
        "Form(model=User)\n"
        "client.chat.stream(model=m, **params)\n"
        'client.chat.complete(model="x-latest", max_tokens=1, temperature=0)  # magent:intentional-alias\n'
    )
    assert rules(text, "py") == [("latest-alias", 1), ("missing-setting", 2), ("missing-setting", 4),
                                 ("missing-setting", 6)]
    message = analyse(text, "py").issues[1].message
    assert "`model=MODEL`" in message and "temperature" in message


def test_python_syntax_error():
    assert rules("def broken(:\n", "py") == [("parse-error", 1)]


def test_custom_required_settings():
    text = "model: m-2501\nmax_tokens: 1\ntemperature: 0\n"
    issues = analyse(text, "yaml", require=["max_tokens", "top_p"]).issues
    assert len(issues) == 1 and "top_p" in issues[0].message and "temperature" not in issues[0].message


@pytest.mark.parametrize("kind", ["yaml", "json", "env", "py"])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=300)
       | st.from_regex(r"(model|max_tokens|[A-Z_]+MODEL)[:=] ?[\[{\"'\w\-#: ]*\n?", fullmatch=True))
def test_parser_never_raises(kind, text):
    report = analyse(text, kind)
    assert report.blocks >= 0
    for issue in report.issues:
        assert issue.line is None or issue.line >= 1


KEYS = st.sampled_from(["model", "max_tokens", "temperature", "x"]) | st.text(max_size=5)


@settings(max_examples=100, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(KEYS, inner, max_size=4), max_leaves=20))
def test_json_structures_never_raise(data):
    import json

    report = analyse(json.dumps(data), "json")
    assert all(issue.rule != "parse-error" for issue in report.issues)


# --- the check -----------------------------------------------------------------------------------------------

def test_check_skips_without_globs():
    result = run_check("config.model-settings")
    assert result.status == "skip" and "--model-config" in result.message


def test_check_errors_when_a_glob_matches_nothing(tmp_path):
    result = run_check("config.model-settings", options=PreflightOptions(repo=tmp_path, model_config=["cfg/*.yaml"]))
    assert result.status == "error" and "no file matches --model-config 'cfg/*.yaml'" in result.message


def test_check_on_example_files():
    options = PreflightOptions(repo=DATA, model_config=["*.yaml", "*.json", "*.env", "*.py"])
    result = run_check("config.model-settings", options=options)
    assert result.status == "fail"
    found = sorted((f.file, f.line, f.rule) for f in result.findings)
    assert found == [("agent_setup.py", 9, "latest-alias"), ("agent_setup.py", 9, "missing-setting"),
                     ("bad.json", 2, "latest-alias"), ("bad.json", 2, "missing-setting")]


def test_check_passes_and_settings_aliases_count(tmp_path):
    shutil.copy(DATA / "bad.json", tmp_path / "bad.json")
    (tmp_path / "bad.json").write_text('{"chat": {"model": "mistral-medium-latest", "temperature": 0.7, '
                                       '"max_tokens": 5}}')
    options = PreflightOptions(repo=tmp_path, model_config=["**/*.json"])
    assert run_check("config.model-settings", options=options).status == "fail"
    result = run_check("config.model-settings", options=options,
                       settings={"mistral": {"intentional_aliases": ["mistral-medium-latest"]}})
    assert result.status == "pass" and "1 model setting in 1 file" in result.message


def test_check_reports_unparsable_and_non_utf8_files(tmp_path):
    (tmp_path / "a.yaml").write_text("model: [\n")
    (tmp_path / "b.yaml").write_bytes(b"model: \xff\xfe\n")
    result = run_check("config.model-settings", options=PreflightOptions(repo=tmp_path, model_config=["*.yaml"]))
    assert result.status == "fail"
    assert {(f.file, f.rule) for f in result.findings} == {("a.yaml", "parse-error"), ("b.yaml", "parse-error")}


def test_check_warns_when_no_model_is_configured(tmp_path):
    (tmp_path / "app.yaml").write_text("replicas: 2\n")
    (tmp_path / "notes.txt").write_text("model: x\n")
    result = run_check("config.model-settings", options=PreflightOptions(repo=tmp_path, model_config=["*"]))
    assert result.status == "warn" and "no model settings found in 1 file" in result.message


def test_check_rejects_unknown_params():
    with pytest.raises(ValueError, match="unknown parameter"):
        run_check("config.model-settings", params={"requires": ["x"]})


@pytest.mark.parametrize("kind", ["yaml", "json", "env", "py"])
@pytest.mark.parametrize("text", ["[" * 100_000, "{" * 5_000, "c.chat.complete(model=" + "-" * 600 + "1)",
                                  "(" * 300_000, "\x00model: x", "\ufeffmodel: m-latest"])
def test_pathological_inputs_never_raise(kind, text):
    analyse(text, kind)


def test_relative_globs_stay_inside_the_repo(tmp_path):
    repo, outside = tmp_path / "repo", tmp_path / "outside.yaml"
    repo.mkdir()
    outside.write_text("model: m-latest\n")
    (repo / "link.yaml").symlink_to(outside)
    for pattern in ["../*.yaml", "*.yaml"]:
        result = run_check("config.model-settings", options=PreflightOptions(repo=repo, model_config=[pattern]))
        assert result.status == "error" and "no file matches" in result.message
