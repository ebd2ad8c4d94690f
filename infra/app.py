"""CDK entry point (`cdk.json` runs `python -m infra.app`): one stack, checked by cdk-nag on every synth."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import App, Aspects
from cdk_nag import AwsSolutionsChecks

from infra.cdk.settings import DeploySettings
from infra.cdk.stack import ThreadlineStack


def build_app(context: Mapping[str, object] | None = None, outdir: str | None = None) -> tuple[App, ThreadlineStack]:
    """The app and its stack; the CLI's `-c` values and cdk.json take precedence over `context`."""
    app = App(context=dict(context or {}), outdir=outdir)
    settings = DeploySettings.from_context(app.node.try_get_context)
    stack = ThreadlineStack(app, f"Threadline-{settings.stage}", settings=settings)
    Aspects.of(app).add(AwsSolutionsChecks(verbose=True))
    return app, stack


def main() -> None:
    app, _ = build_app()
    app.synth()


if __name__ == "__main__":
    main()
