"""Keep pandas out of the clean stage's start-up.

pyarrow imports pandas (about 0.5 s of CPU, a fifth of a 6,000-document clean)
the first time it converts Python values to Arrow, only to learn whether the
values are pandas objects; the shard writer never passes any. pyarrow asks once
per process and remembers a failed import as "not a pandas object", while every
API that really needs pandas (`to_pandas`, `from_pandas`) imports it again and
works as usual. So `skip_pandas_probe` makes that first question fail: it runs
one tiny conversion while `import pandas` is refused, and nothing else.
"""

from __future__ import annotations

import importlib.abc
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType

__all__ = ["skip_pandas_probe"]


class _RefusePandas(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname == "pandas" or fullname.startswith("pandas."):
            raise ImportError("pandas is not needed for this conversion")
        return None


def skip_pandas_probe() -> None:
    """Answer pyarrow's one-time "is pandas installed?" with no, unless pandas is loaded."""
    if "pandas" in sys.modules:
        return  # already paid for: let pyarrow use it
    import pyarrow as pa

    finder = _RefusePandas()
    sys.meta_path.insert(0, finder)
    try:
        pa.array([0])
    finally:
        sys.meta_path.remove(finder)
