"""The log scanner for unmasked phone and ID numbers now lives in `adapters.log.pii_scan`
(the simulator `sim.vopr` checks every record with it too); the tests import it from here."""

from adapters.log.pii_scan import SEGMENT_GLOB, scan_log_dir, scan_payload, scan_tree

__all__ = ["SEGMENT_GLOB", "scan_log_dir", "scan_payload", "scan_tree"]
