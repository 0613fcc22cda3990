"""A third-party plugin, loaded through a real `testkube.plugins` entry point.

It adds commands shaped like Testkube's CLI (create/run/init) and commands that
end in every possible way, and it logs each hook call as a JSON line to the file
named by SAMPLE_HOOK_LOG, so subprocess tests can read what fired.
"""

from __future__ import annotations

import json
import os
import sys

import click

from testkube_telemetry_plugin import current_invocation, hookimpl

CALLS: list[tuple[str, dict]] = []


def _log(hook: str, **data: object) -> None:
    CALLS.append((hook, data))
    path = os.environ.get("SAMPLE_HOOK_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"hook": hook, **data}, default=repr) + "\n")


@hookimpl
def testkube_register_commands(cli: click.Group) -> None:
    cli.add_command(create)
    cli.add_command(run)
    cli.add_command(init)
    cli.add_command(ends)


@hookimpl
def testkube_pre_command(invocation) -> None:
    _log(
        "pre",
        path=list(invocation.command_path),
        params=invocation.params,
        sources=invocation.param_sources,
    )
    if os.environ.get("SAMPLE_RAISE_IN") == "pre":
        raise RuntimeError("sample plugin broke in pre")


@hookimpl
def testkube_post_command(invocation, outcome) -> None:
    _log(
        "post",
        path=list(invocation.command_path),
        params=invocation.params,
        exit_code=outcome.exit_code,
        exception=type(outcome.exception).__name__ if outcome.exception else None,
        facts=invocation.facts,
        status=outcome.status,
    )
    if os.environ.get("SAMPLE_RAISE_IN") == "post":
        raise RuntimeError("sample plugin broke in post")


@click.group()
def create() -> None:
    """Create resources."""


@create.command("test")
@click.argument("name")
@click.option("--type", "type", default=None)
@click.option("--git-uri", default=None)
@click.option("--file", default=None)
@click.option("--uri", default=None)
def create_test(name: str, type: str, git_uri: str, file: str, uri: str) -> None:
    click.echo(f"Test created {name}")


@create.command("testsuite")
@click.argument("name")
@click.option("--steps", type=int, default=0)
def create_testsuite(name: str, steps: int) -> None:
    current_invocation().facts["steps"] = steps
    click.echo(f"Test suite created {name}")


@create.command("testworkflow")
@click.argument("name")
@click.option("--steps", type=int, default=0)
@click.option("--templates", type=int, default=0)
def create_testworkflow(name: str, steps: int, templates: int) -> None:
    facts = current_invocation().facts
    facts["steps"], facts["templates"] = steps, templates
    click.echo(f"Test workflow created {name}")


@create.command("testworkflowtemplate")
@click.argument("name")
def create_testworkflowtemplate(name: str) -> None:
    click.echo(f"Template created {name}")


@click.group()
def run() -> None:
    """Run resources."""


@run.command("test")
@click.argument("name")
@click.option("--fail", is_flag=True)
def run_test(name: str, fail: bool) -> None:
    if fail:
        raise click.ClickException(f"execution of {name} failed")
    click.echo(f"Test {name} passed")


@run.command("testsuite")
@click.argument("name")
def run_testsuite(name: str) -> None:
    click.echo(f"Suite {name} passed")


@run.command("testworkflow")
@click.argument("name")
def run_testworkflow(name: str) -> None:
    current_invocation().facts["templates"] = 2
    click.echo(f"Workflow {name} passed")


@click.command("init")
@click.option("--cluster-type", default="kind")
def init(cluster_type: str) -> None:
    facts = current_invocation().facts
    facts["cluster_type"] = cluster_type
    if os.environ.get("SAMPLE_CLUSTER_ID"):  # what a real host reads from the cluster (kube-system's UID)
        facts["cluster_id"] = os.environ["SAMPLE_CLUSTER_ID"]
    click.echo("Installed")


@click.group()
def ends() -> None:
    """Commands that end in every way a command can."""


@ends.command("ok")
@click.option("--count", type=int, default=1, envvar="SAMPLE_COUNT")
def ok(count: int) -> None:
    click.echo(f"ok {count}")


@ends.command("click-error")
def click_error() -> None:
    raise click.ClickException("it did not work")


@ends.command("ctx-exit")
@click.pass_context
def ctx_exit(ctx: click.Context) -> None:
    click.echo("leaving with 3")
    ctx.exit(3)


@ends.command("sys-exit")
def sys_exit() -> None:
    sys.exit(4)


@ends.command("boom")
def boom() -> None:
    raise ValueError("boom at /home/alice/secret.yaml")


@ends.command("interrupt")
def interrupt() -> None:
    raise KeyboardInterrupt


@ends.command("message")
@click.argument("text")
def message(text: str) -> None:
    raise click.ClickException(text)


@ends.command("corpus")
def corpus() -> None:
    """Fail with a message the user did not type (from SAMPLE_ERROR), as a real tool would."""
    text = os.environ["SAMPLE_ERROR"]
    kind = os.environ.get("SAMPLE_ERROR_KIND", "click")
    if kind == "click":
        raise click.ClickException(text)
    if kind == "os":
        raise OSError(text)
    raise ValueError(text)


@ends.command("relay")
@click.pass_context
def relay(ctx: click.Context) -> None:
    """Run another command from inside this one, as sqlite-utils' `rows` runs `query`."""
    ctx.invoke(deep, level=2)
    ctx.forward(deep)


@ends.group("nested")
def nested() -> None:
    """A nested group."""


@nested.command("deep")
@click.option("--level", type=int, default=1)
def deep(level: int) -> None:
    current_invocation().facts["level"] = level
    click.echo(f"deep {level}")
