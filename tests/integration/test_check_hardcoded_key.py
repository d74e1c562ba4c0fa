"""code.no-hardcoded-key over real directory trees: .gitignore, skips, params, baselines, and --verify
against the Mistral API simulator. Every test greps the result for the planted key."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from magent.checks import CheckContext
from magent.checks.code_no_hardcoded_key import scan_findings
from magent.core.config import Settings
from magent.core.errors import ConfigError, UsageError
from magent.core.preflight import CheckResult
from magent.services.repo import iter_files, load_baseline, scan_repo, write_baseline
from tests.fixtures.mistral import SIM_API_KEY
from tests.fixtures.preflight import PreflightOptions, run_check
from tests.unit.test_secretscan import made_up_key

KEY = made_up_key(11)
OTHER_KEY = made_up_key(12)


def write(root: Path, rel: str, text: str | bytes) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def planted(key: str = KEY) -> str:
    return f'import os\nMISTRAL_API_KEY = "{key}"\n'


def scan(repo: Path, params: dict | None = None, **options) -> CheckResult:
    result = run_check("code.no-hardcoded-key", params=params, options=PreflightOptions(repo=repo, **options))
    dump = json.dumps([result.message, [f.to_dict() | {"severity": f.severity} for f in result.findings]])
    for key in (KEY, OTHER_KEY, SIM_API_KEY):
        assert key not in dump, "a key leaked into the check's result"
    return result


def files_of(result: CheckResult) -> list[str]:
    return sorted(f.file for f in result.findings)


def test_skips_without_repo():
    result = run_check("code.no-hardcoded-key")
    assert result.status == "skip" and "--repo DIR" in result.message


def test_clean_repo_passes_with_counts(tmp_path):
    write(tmp_path, "app.py", "import os\nkey = os.environ['MISTRAL_API_KEY']\n")
    result = scan(tmp_path)
    assert result.status == "pass"
    assert result.message.startswith("scanned 1 file (0.0 MB) in ") and result.message.endswith(" s: 0 Mistral keys")


def test_planted_key_fails_with_position_and_fingerprint(tmp_path):
    write(tmp_path, "src/app/config.py", planted())
    result = scan(tmp_path)
    assert result.status == "fail"
    [finding] = result.findings
    assert (finding.file, finding.line, finding.column, finding.rule) == ("src/app/config.py", 2, 20, "mistral-api-key")
    assert finding.fingerprint and finding.fingerprint.startswith("sha256:")
    assert "1 Mistral key in 1 file" in result.message


def test_gitignore_root_nested_and_negated(tmp_path):
    write(tmp_path, ".gitignore", "*.env\nbuild/\n!keep.env\n")
    write(tmp_path, "local.env", planted())
    write(tmp_path, "keep.env", planted())
    write(tmp_path, "build/out.py", planted())
    write(tmp_path, "sub/.gitignore", "secrets.py\n")
    write(tmp_path, "sub/secrets.py", planted())
    write(tmp_path, "secrets.py", planted())  # the nested .gitignore does not reach up
    write(tmp_path, ".git/info/exclude", "private/\n")
    write(tmp_path, "private/x.py", planted())
    assert files_of(scan(tmp_path)) == ["keep.env", "secrets.py"]


def test_always_skipped_dirs_binary_large_and_symlinks(tmp_path):
    outside = tmp_path / "outside"
    write(outside, "leak.py", planted())
    repo = tmp_path / "repo"
    for rel in (".git/config", ".venv/lib/x.py", "node_modules/pkg/index.js"):
        write(repo, rel, planted())
    write(repo, "image.bin", b"\x89PNG\x00\x00" + planted().encode())
    write(repo, "big.py", planted() + "#" * 5000)
    (repo / "linked").symlink_to(outside, target_is_directory=True)
    (repo / "link.py").symlink_to(outside / "leak.py")
    write(repo, "real.py", planted())
    assert [rel for rel, _ in iter_files(repo)] == ["big.py", "image.bin", "real.py"]
    result = scan(repo, {"max_file_bytes": 1000})
    assert files_of(result) == ["real.py"]
    assert "scanned 1 file (0.0 MB), skipped 1 binary and 1 too large in " in result.message
    stats = scan_repo(repo, max_file_bytes=1000)
    assert (stats.files, stats.skipped_binary, stats.skipped_large) == (1, 1, 1)


def test_exclude_param(tmp_path):
    write(tmp_path, "docs/example.md", planted())
    write(tmp_path, "app.py", planted(OTHER_KEY))
    assert files_of(scan(tmp_path, {"exclude": ["docs/"]})) == ["app.py"]


def test_unknown_param_is_rejected():
    with pytest.raises(ValueError, match="params.paths: unknown parameter"):
        run_check("code.no-hardcoded-key", params={"paths": ["x"]})


def test_generic_only_warns_and_can_be_turned_off(tmp_path):
    write(tmp_path, "settings.py", 'OPENAI_API_KEY = "sk-9fK2mQ7xL4pR8tZ1vB6n"\n')
    result = scan(tmp_path)
    assert result.status == "warn" and "1 possible secret" in result.message
    assert [(f.rule, f.severity) for f in result.findings] == [("generic-api-key", "warning")]
    assert scan(tmp_path, {"generic": False}).status == "pass"


def test_generic_findings_ride_along_with_a_mistral_key(tmp_path):
    write(tmp_path, "settings.py", 'OPENAI_API_KEY = "sk-9fK2mQ7xL4pR8tZ1vB6n"\n' + planted())
    result = scan(tmp_path)
    assert result.status == "fail"
    assert [f.rule for f in result.findings] == ["generic-api-key", "mistral-api-key"]


def test_allow_comment(tmp_path):
    write(tmp_path, "docs.py", f'MISTRAL_API_KEY = "{KEY}"  # magent:allow revoked, kept for the tutorial\n')
    assert scan(tmp_path).status == "pass"


def test_baseline_round_trip(tmp_path):
    repo = tmp_path / "repo"
    write(repo, "old.py", planted())
    ctx = CheckContext(Settings(), PreflightOptions(repo=repo))
    baseline = tmp_path / "baseline.json"
    write_baseline(baseline, scan_findings(ctx))
    text = baseline.read_text()
    assert KEY not in text and KEY[-4:] not in text
    assert json.loads(text)["version"] == 1
    assert scan(repo, baseline=baseline).status == "pass"
    assert "1 in the baseline" in scan(repo, baseline=baseline).message
    write(repo, "new.py", planted(OTHER_KEY))  # a new key is not covered
    assert files_of(scan(repo, baseline=baseline)) == ["new.py"]


def test_bad_or_missing_baseline_is_a_config_error(tmp_path):
    write(tmp_path, "a.py", "x = 1\n")
    bad = write(tmp_path, "baseline.json", "{oops")
    with pytest.raises(ConfigError, match="baseline.json is not JSON"):
        load_baseline(bad)
    with pytest.raises(ConfigError, match="missing.json"):
        load_baseline(tmp_path / "missing.json")
    result = scan(tmp_path, baseline=bad)
    assert result.status == "error" and "baseline.json" in result.message


def test_repo_that_is_not_a_directory(tmp_path):
    with pytest.raises(UsageError, match="not a directory"):
        list(iter_files(tmp_path / "nope"))
    assert scan(tmp_path / "nope").status == "error"


def test_verify_live_and_rejected_keys(mistral_sim, tmp_path):
    write(tmp_path, "live.py", planted(SIM_API_KEY))
    write(tmp_path, "also_live.yaml", f"mistral:\n  api_key: {SIM_API_KEY}\n")
    write(tmp_path, "dead.py", planted(KEY))
    result = run_check("code.no-hardcoded-key", options=PreflightOptions(repo=tmp_path, verify_keys=True),
                       settings={"mistral": {"base_url": mistral_sim.url}})
    assert result.status == "fail"
    by_file = {f.file: f for f in result.findings}
    assert "LIVE key" in by_file["live.py"].message and by_file["live.py"].severity == "critical"
    assert by_file["also_live.yaml"].severity == "critical"
    assert "rejected by Mistral (not live)" in by_file["dead.py"].message and by_file["dead.py"].severity is None
    assert "(2 LIVE)" in result.message
    dump = json.dumps([result.message, [f.to_dict() for f in result.findings]])
    assert SIM_API_KEY not in dump and KEY not in dump


def test_without_verify_mistral_is_not_asked(tmp_path):
    write(tmp_path, "live.py", planted(SIM_API_KEY))
    result = run_check("code.no-hardcoded-key", options=PreflightOptions(repo=tmp_path),
                       settings={"mistral": {"base_url": "http://127.0.0.1:9"}})  # nothing listens there
    assert result.status == "fail" and "LIVE" not in result.message
    assert "verified" not in result.findings[0].message


def test_verify_with_mistral_unreachable_keeps_the_findings(tmp_path):
    write(tmp_path, "a.py", planted(KEY))
    write(tmp_path, "b.py", planted(OTHER_KEY))
    result = run_check("code.no-hardcoded-key", options=PreflightOptions(repo=tmp_path, verify_keys=True),
                       settings={"mistral": {"base_url": "http://127.0.0.1:9"}})
    assert result.status == "fail"
    assert [f.file for f in result.findings if "not verified: refused" in f.message] == ["a.py", "b.py"]
    dump = json.dumps([f.to_dict() for f in result.findings])
    assert KEY not in dump and OTHER_KEY not in dump


def test_walk_of_this_repository_honours_its_gitignore():
    # .venv is skipped always, __pycache__ because .gitignore says so; paths are relative POSIX
    root = Path(__file__).resolve().parents[2]
    rels = [rel for rel, _ in iter_files(root)]
    assert rels and not any(rel.startswith((".venv/", ".git/")) or "__pycache__" in rel for rel in rels)
    assert all(not os.path.isabs(rel) and "\\" not in rel for rel in rels)


def test_scan_findings_needs_a_repo():
    with pytest.raises(UsageError, match="no repository to scan"):
        scan_findings(CheckContext(Settings(), PreflightOptions()))
