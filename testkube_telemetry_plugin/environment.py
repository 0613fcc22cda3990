"""Coarse, non-identifying facts about where the CLI runs."""

from __future__ import annotations

import os
import sys
from typing import Mapping, Optional

# (environment variable, provider name), most specific first.
CI_PROVIDERS = (
    ("GITHUB_ACTIONS", "github-actions"),
    ("GITLAB_CI", "gitlab"),
    ("CIRCLECI", "circleci"),
    ("TRAVIS", "travis"),
    ("JENKINS_URL", "jenkins"),
    ("BUILDKITE", "buildkite"),
    ("TF_BUILD", "azure-pipelines"),
    ("TEAMCITY_VERSION", "teamcity"),
    ("BITBUCKET_BUILD_NUMBER", "bitbucket"),
    ("CODEBUILD_BUILD_ID", "aws-codebuild"),
    ("DRONE", "drone"),
    ("APPVEYOR", "appveyor"),
    ("SEMAPHORE", "semaphore"),
    ("TEKTON_PIPELINE_RUN", "tekton"),
    ("HARNESS_BUILD_ID", "harness"),
    ("BUILD_ID", "generic"),
    ("CI", "generic"),
)


def ci_provider(env: Optional[Mapping[str, str]] = None) -> Optional[str]:
    """The CI system's name, or None on a developer's machine."""
    env = os.environ if env is None else env
    for variable, name in CI_PROVIDERS:
        value = env.get(variable, "").strip().lower()
        if value and value not in ("0", "false", "no", "off"):
            return name
    return None


def is_interactive() -> bool:
    """A person at a terminal who can answer a question, outside CI."""
    try:
        return sys.stdin.isatty() and sys.stderr.isatty() and ci_provider() is None
    except (AttributeError, ValueError):
        return False


def platform_facts() -> dict[str, str]:
    """os, arch and Python version: nothing that tells one machine from another."""
    if hasattr(os, "uname"):
        machine = os.uname().machine
    else:  # Windows: `platform` is slower to import, but there is no uname
        import platform

        machine = platform.machine()
    return {
        "os": {"win32": "windows", "darwin": "darwin"}.get(sys.platform, sys.platform),
        "arch": machine.lower() or "unknown",
        "python": ".".join(map(str, sys.version_info[:3])),
    }
