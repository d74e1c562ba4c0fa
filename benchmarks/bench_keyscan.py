"""Key-scan benchmark: magent's `code.no-hardcoded-key` scanner against detect-secrets, MB/s on the same tree.

    python benchmarks/bench_keyscan.py [--files 200] [--runs 3]

Target: ratio >= 5. The tree (Python, YAML and JavaScript of a Mistral application, with hex digests,
UUIDs and base64 blobs to tempt the entropy rules, and a few planted keys made up at run time) is generated
in a temporary directory. Both scanners read the same files, in this process, page cache warm, imports done;
magent's time is the best of `--runs`, detect-secrets' is one run (it is two orders of magnitude slower, so
noise does not matter). magent walks the tree itself (`.gitignore` and all); detect-secrets is handed the
file list (`SecretsCollection.scan_file` on each, default plugins and filters), which only favours it.
No key is printed: only counts and speeds.
"""

from __future__ import annotations

import argparse
import random
import string
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

PY = '''"""Service {n}: talks to the Mistral API for the {name} feature."""
import os
import logging
from mistralai.client import Mistral

log = logging.getLogger(__name__)
CACHE_DIGEST = "{digest}"
REQUEST_ID = "{uuid}"


class {cls}Handler:
    """Handle {name} requests: build the prompt, call the model, keep the answer."""

    def __init__(self, model: str = "mistral-small-latest", max_tokens: int = {tokens}) -> None:
        self.client = Mistral(api_key=os.environ["MISTRAL_API_KEY"])
        self.model = model
        self.max_tokens = max_tokens
        self.temperature = 0.{temp}

    def handle(self, text: str) -> str:
        messages = [{{"role": "user", "content": text}}]
        response = self.client.chat.complete(model=self.model, messages=messages, max_tokens=self.max_tokens)
        log.info("request %s used %d tokens", REQUEST_ID, response.usage.total_tokens)
        return response.choices[0].message.content

    def token_budget(self, history: list[str]) -> int:
        used = sum(len(item.split()) for item in history)
        return max(0, self.max_tokens - used)
'''

YAML = '''# deployment values for {name}
image:
  repository: registry.example.com/{name}
  tag: "{digest}"
env:
  - name: MISTRAL_API_KEY
    valueFrom:
      secretKeyRef: {{name: mistral, key: api-key}}
  - name: LOG_LEVEL
    value: info
model:
  name: mistral-large-2411
  max_tokens: {tokens}
  temperature: 0.{temp}
checksum: {blob}
annotations:
  trace-id: "{uuid}"
'''

JS = '''// {name} widget: calls the backend, never Mistral directly
import {{ fetchJson }} from "./http.js";

const BUILD = "{digest}";
const integrity = "sha384-{blob}";

export async function ask{cls}(question) {{
  const started = performance.now();
  const answer = await fetchJson("/api/{name}", {{ method: "POST", body: JSON.stringify({{ question }}) }});
  console.debug(`{name} answered in ${{performance.now() - started}} ms`, BUILD);
  return answer.text;
}}

export function tokens(text) {{
  return text.split(/\\s+/).filter(Boolean).length;
}}
'''


def _fill(template: str, rng: random.Random, n: int) -> str:
    name = "".join(rng.choices(string.ascii_lowercase, k=8))
    return template.format(
        n=n, name=name, cls=name.capitalize(), tokens=rng.choice([256, 512, 1024]), temp=rng.randint(1, 9),
        digest="%032x" % rng.getrandbits(128), uuid=uuid.UUID(int=rng.getrandbits(128)),
        blob="".join(rng.choices(string.ascii_letters + string.digits + "+/", k=64)),
    )


def made_up_key(rng: random.Random) -> str:
    """A random string of the shape of a Mistral key (it opens nothing)."""
    alphabet = string.ascii_letters + string.digits
    while True:
        key = "".join(rng.choices(alphabet, k=32))
        if any(c.isupper() for c in key) and any(c.islower() for c in key) and any(c.isdigit() for c in key):
            return key


def generate_tree(root: Path, files: int, planted: int = 3, seed: int = 7) -> int:
    """Write `files` files (~9 KB each) under `root`, `planted` of them with a key; returns the bytes written."""
    rng = random.Random(seed)
    templates = [(PY, "py"), (YAML, "yaml"), (JS, "js")]
    total = 0
    for n in range(files):
        template, ext = templates[n % 3]
        text = "\n".join(_fill(template, rng, n) for _ in range(12))
        if n < planted:
            text += f'\nMISTRAL_API_KEY = "{made_up_key(rng)}"\n'
        path = root / f"pkg{n % 10}" / f"module_{n}.{ext}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        total += len(text.encode())
    (root / ".gitignore").write_text("*.pyc\n__pycache__/\n")
    return total


def best_of(runs: int, fn: Callable[[], int]) -> tuple[float, int]:
    """(best wall time, what the last run found)."""
    times, found = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        found = fn()
        times.append(time.perf_counter() - started)
    return min(times), found


def scan_magent(root: Path) -> int:
    from magent.services.repo import scan_repo

    return sum(1 for hit in scan_repo(root).hits if hit.finding.rule == "mistral-api-key")


def scan_detect_secrets(files: list[str]) -> int:
    """detect-secrets' own per-file scan, in this process (no pool start-up, imports already done)."""
    from detect_secrets import SecretsCollection
    from detect_secrets.settings import default_settings

    with default_settings():
        secrets = SecretsCollection()
        for name in files:
            secrets.scan_file(name)
    return sum(len(found) for _, found in secrets.data.items())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200, help="files in the tree (~9 KB each)")
    parser.add_argument("--runs", type=int, default=3, help="magent runs (best is kept)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="magent-keyscan-") as tmp:
        root = Path(tmp)
        size = generate_tree(root, args.files)
        files = sorted(str(p) for p in root.rglob("*") if p.is_file() and p.name != ".gitignore")
        for name in files:  # warm the page cache for both
            Path(name).read_bytes()
        scan_magent(root), scan_detect_secrets(files[:1])  # imports and lazy set-up out of the timings
        m_time, m_found = best_of(args.runs, lambda: scan_magent(root))
        d_time, d_found = best_of(1, lambda: scan_detect_secrets(files))
    mb = size / 1e6
    print(f"tree                    {len(files)} files, {mb:.2f} MB, {min(3, len(files))} planted keys")
    print(f"magent                  {mb / m_time:8.2f} MB/s  ({m_time * 1000:7.1f} ms, {m_found} Mistral keys)")
    print(f"detect-secrets          {mb / d_time:8.2f} MB/s  ({d_time * 1000:7.1f} ms, {d_found} findings)")
    print(f"ratio                   {d_time / m_time:8.2f}  (target >= 5.00)")


if __name__ == "__main__":
    sys.exit(main())
