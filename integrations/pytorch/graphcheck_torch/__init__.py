"""Export PyTorch models to graphcheck's trace format, and check them from pytest."""
from .construction import recording as recording_construction
from .exporter import export, trace
from .testing import assert_independent, graphcheck_report

__all__ = ["export", "trace", "assert_independent", "graphcheck_report", "recording_construction"]
__version__ = "0.1.0"
