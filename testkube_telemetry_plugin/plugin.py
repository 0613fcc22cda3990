"""The telemetry plugin's entry point, as the contract names it (`telemetry = testkube_telemetry_plugin.plugin`).

The hooks live in `telemetry/plugin.py`; this module only gives them the name
installed CLIs and plugin lists already use.
"""

from .telemetry.plugin import testkube_post_command, testkube_pre_command, testkube_register_commands

__all__ = ["testkube_post_command", "testkube_pre_command", "testkube_register_commands"]
