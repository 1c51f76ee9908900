"""Supply-chain guard: the environment running sdf-corpus must not carry code that
runs at interpreter start. litellm 1.82.8 shipped a `litellm_init.pth` credential
stealer; any `.pth` line beginning with `import` executes on every Python start."""

from __future__ import annotations

import site
import sys
from importlib.metadata import version
from pathlib import Path

# The one executable .pth we accept: setuptools' shim that prefers its bundled
# distutils. It has shipped in a few one-line variants; we accept a file of that
# name only if every executable line is that documented hack and nothing else.
DISTUTILS_SHIM = "__import__('_distutils_hack').add_shim()"


def _site_dirs() -> list[Path]:
    dirs = {Path(p) for p in site.getsitepackages()}
    if site.ENABLE_USER_SITE:
        dirs.add(Path(site.getusersitepackages()))
    return sorted(d for d in dirs if d.is_dir())


def _executable_lines(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return [ln for ln in lines if ln.startswith(("import ", "import\t"))]


def _is_known_shim(path: Path, lines: list[str]) -> bool:
    if path.name != "distutils-precedence.pth" or len(lines) != 1:
        return False
    statements = [s.strip() for s in lines[0].split(";") if s.strip()]
    allowed_prefixes = (
        "import os",
        "var = 'SETUPTOOLS_USE_DISTUTILS'",
        "enabled = os.environ.get(var",
        "enabled and " + DISTUTILS_SHIM,
    )
    return all(s.startswith(allowed_prefixes) for s in statements)


def test_no_unexpected_executable_pth_files() -> None:
    offenders = []
    for directory in _site_dirs():
        for pth in sorted(directory.glob("*.pth")):
            lines = _executable_lines(pth)
            if lines and not _is_known_shim(pth, lines):
                offenders.append(f"{pth}: {lines[0][:120]}")
    assert not offenders, "executable .pth files run code at every Python start:\n" + "\n".join(
        offenders
    )


def test_no_litellm_init_pth_anywhere_on_path() -> None:
    hits = [
        Path(p) / "litellm_init.pth" for p in sys.path if (Path(p) / "litellm_init.pth").exists()
    ]
    assert not hits, f"compromised litellm artefact present: {hits}"


def test_litellm_release_is_after_the_compromised_ones() -> None:
    parts = tuple(int(x) for x in version("litellm").split(".")[:3] if x.isdigit())
    assert parts >= (1, 83, 0), (
        f"litellm {version('litellm')}: require >= 1.83 (1.82.7/1.82.8 were malicious)"
    )
