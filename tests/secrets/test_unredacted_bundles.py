"""A bundle `collect` did not write (a `kubectl cluster-info dump`, a folder assembled by hand) was never
redacted: its reports must still show no secret. Every line a finding quotes gets secrets appended, the
CoreDNS Corefile gets a credential, and every report format is searched for them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PEM_BODY = "MIIEowIBAAKCAQEAs3cr3tPemBodyZZ0123456789abcdefghijklmnop"
SECRETS = {
    "password": "hunter2hunter2",
    "bearer": "sekr3tBearerToken0123456789",
    "pem": PEM_BODY,
    "url": "Sup3rUrlPw",
}
SEED = (
    f" password: {SECRETS['password']} Authorization: Bearer {SECRETS['bearer']}"
    f" -----BEGIN RSA PRIVATE KEY-----{PEM_BODY}-----END RSA PRIVATE KEY-----"
    f" upstream=https://admin:{SECRETS['url']}@db.example:5432/x"
)


def analyze(bundle: Path, fmt: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cnidoctor", "analyze", str(bundle), "-f", fmt, "--fail-on", "never"],
        capture_output=True,
        text=True,
        timeout=120,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )


def seed(bundle: Path) -> int:
    """Append SEED to every text line the findings quote, and to the Corefile; return lines seeded."""
    report = json.loads(analyze(bundle, "json").stdout)
    lines: dict[str, set[int]] = {}
    for f in report["findings"]:
        for e in f["evidence"]:
            if e["line"] and not e["path"].endswith(".json"):
                lines.setdefault(e["path"], set()).add(e["line"])
    for rel, numbers in lines.items():
        path = bundle / rel
        if not path.is_file():  # a plain `kubectl cluster-info dump` tree: no `cluster/` folder
            path = bundle / rel.removeprefix("cluster/")
        text = path.read_text(encoding="utf-8", errors="surrogateescape").split("\n")
        for n in numbers:
            text[n - 1] += SEED
        path.write_text("\n".join(text), encoding="utf-8", errors="surrogateescape")
    for cms in bundle.rglob("kube-system/configmaps.json"):
        doc = json.loads(cms.read_text())
        for cm in doc.get("items", []):
            corefile = (cm.get("data") or {}).get("Corefile")
            if corefile:
                extra = f"# password {SECRETS['password']}\n    forward ."
                cm["data"]["Corefile"] = corefile.replace("forward .", extra)
        cms.write_text(json.dumps(doc))
    return sum(len(n) for n in lines.values())


@pytest.mark.parametrize("case", ["case-GE-07", "case-CI-03", "case-FL-01"])
def test_reports_of_an_unredacted_bundle_hold_no_secret(case: str, tmp_path: Path) -> None:
    bundle = tmp_path / case
    shutil.copytree(ROOT / "fixtures" / case / "bundle", bundle)
    before = {f["id"] for f in json.loads(analyze(bundle, "json").stdout)["findings"]}
    assert seed(bundle) >= 1, "no quoted line to seed: the test would prove nothing"
    for fmt in ("json", "markdown", "terminal"):
        r = analyze(bundle, fmt)
        assert r.returncode == 0, r.stderr
        leaked = [name for name, value in SECRETS.items() if value in r.stdout or value in r.stderr]
        assert not leaked, f"{case} {fmt}: {leaked}"
        assert "<redacted:" in r.stdout, f"{case} {fmt}: the seeded lines are not quoted any more"
    after = {f["id"] for f in json.loads(analyze(bundle, "json").stdout)["findings"]}
    assert after == before  # masking changed what is shown, not what is found
