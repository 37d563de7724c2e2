"""The run path never imports the fit: estimates read factors from data, not from calibrate/."""

from __future__ import annotations

import subprocess
import sys

CODE = """
import sys
from tokenfab import cli  # the CLI registers `calibrate` without loading the fit
from tokenfab.perf.operating import estimate
from tokenfab.scenario import Scenario
estimate(Scenario(model="llama-3.1-8b", accelerator="h100-sxm", batch_size=8))
loaded = sorted(m for m in sys.modules if m.startswith(("tokenfab.calibrate.", "scipy")))
print(",".join(loaded))
"""


def test_estimate_and_cli_start_do_not_load_the_fit():
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, check=True)
    # only the thin command module may be loaded; the importers, the fit and SciPy are not
    assert out.stdout.strip() == "tokenfab.calibrate.cli"
