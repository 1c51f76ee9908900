"""What a `clean` run pays before its first document: no pandas import, and a
worker pool that is forked, not started from a forkserver."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from .conftest import english

SCRIPT = """
import json, sys
from pathlib import Path
from sdf_corpus.clean.config import CleanConfig
from sdf_corpus.clean.pipeline import _Bar, clean
from sdf_corpus.clean.workers import _context
from sdf_corpus.document import Document

texts = json.loads(Path(sys.argv[1]).read_text())
docs = [Document(id=f"d{i}", text=t) for i, t in enumerate(texts)]
stats = clean(docs, Path(sys.argv[2]), CleanConfig(workers=2), progress=True)
bar = _Bar(total=1, disable=True)  # a bar, like the one clean shows, then a pool
method = _context().get_start_method()
bar.close()
pandas_loaded = "pandas" in sys.modules
import pyarrow as pa
frame = pa.table({"a": [1, 2]}).to_pandas()  # pandas still there when asked for
print(json.dumps({"kept": stats.kept_docs, "pandas": pandas_loaded, "method": method,
                  "rows": len(frame)}))
"""


def test_clean_imports_no_pandas_and_forks_its_workers(tmp_path: Path) -> None:
    texts = tmp_path / "texts.json"
    texts.write_text(json.dumps([english(i, 200) for i in range(600)]))
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(texts), str(tmp_path / "out")],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        check=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["kept"] > 500
    assert result["pandas"] is False
    assert result["rows"] == 2
    assert result["method"] == "fork"
