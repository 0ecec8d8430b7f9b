"""Shared test setup of case-svc: makes the test helpers importable under a service-unique name."""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))
