"""The local backend's guard against AMX kernels that a sandbox advertises but forbids."""

from __future__ import annotations

from pathlib import Path

import pytest

from sdf_corpus.generate.backends import local


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ("fpu sse2 avx2 avx512f amx_bf16 amx_tile amx_int8", True),
        ("fpu sse2 avx2 avx512f avx512_vnni", False),
    ],
)
def test_amx_is_read_from_the_cpu_flags(tmp_path: Path, flags: str, expected: bool) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nflags\t\t: {flags}\n")
    assert local._cpu_advertises_amx(cpuinfo) is expected


def test_missing_cpuinfo_means_no_amx(tmp_path: Path) -> None:
    assert local._cpu_advertises_amx(tmp_path / "absent") is False


def test_the_default_params_factory_is_restored_after_a_load() -> None:
    low = pytest.importorskip("llama_cpp.llama_cpp")
    original = low.llama_model_default_params
    with local._without_extra_buffers():
        assert low.llama_model_default_params().use_extra_bufts is False
    assert low.llama_model_default_params is original
    assert original().use_extra_bufts is True
