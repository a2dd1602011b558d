"""Scale-out, both halves in one run: Describe throughput of API replicas on PostgreSQL
(`scale_out_replicas`), then sagelite over a Ray cluster on this machine (`scale_out_ray`: placement →
VM running on a remote node, and a drain with no overcommit).

    .venv/bin/python bench/scale_out.py            # both, with each part's defaults
    .venv/bin/python bench/scale_out_replicas.py   # one part, with its own options
    .venv/bin/python bench/scale_out_ray.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import scale_out_ray
import scale_out_replicas

if __name__ == "__main__":
    sys.argv = sys.argv[:1]
    scale_out_replicas.main()
    scale_out_ray.main()
