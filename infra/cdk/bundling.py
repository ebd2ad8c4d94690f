"""Lambda assets without Docker, the way Powertools builds its own layer.

Dependencies: one layer, installed by pip with `--platform` for the Lambda
architecture and Python version (never the build machine's wheels), boto3 and
botocore stripped because the runtime has them, cached under `.build/` by a hash
of its inputs so a synth with an unchanged recipe makes no network call.

Code: one staging folder per function with only `shared/` and that function's
package, so no function ships another's handler, the tests or the CDK app.

Bytecode: both ship `.pyc` files compiled for the runtime's Python. Lambda's file
system is read-only, so without them every cold start compiles every module it
imports from source (docs/benchmarks.md measures what that costs). The build
machine's Python may be another version, so the compiler is CPython of the
runtime's version running on Node.js (Pyodide, from npm, which the CDK CLI needs
anyway); `compile_bytecode.mjs` refuses to run if its version is not the runtime's.

Both are built into a temporary folder and renamed into place, so two synths in
parallel (pytest-xdist) never see a half-built folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
BUILD_DIR = PROJECT_ROOT / ".build"

# Wheels that run on Lambda's arm64 Amazon Linux 2023 (glibc 2.34), newest tag first.
ARM64_PLATFORMS = ("manylinux_2_28_aarch64", "manylinux_2_17_aarch64", "manylinux2014_aarch64")
# Part of every Python runtime (boto3 and what it depends on); a second copy would only
# add 20+ MB and shadow the runtime's own. aws-xray-sdk pulls botocore in.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "python-dateutil", "urllib3", "six")
# Bumped when the build steps below change, so old caches are not reused.
RECIPE_VERSION = 3
# CPython 3.14 on WebAssembly: its major version is the Python version (314 = 3.14).
BYTECODE_COMPILER = "pyodide@314.0.8"
BYTECODE_SCRIPT = Path(__file__).with_name("compile_bytecode.mjs")
# Where Lambda puts a layer's `python/` folder and the function code: the paths tracebacks name.
LAYER_PATH = "/opt/python"
CODE_PATH = "/var/task"


def runtime_dependencies(pyproject: Path = PROJECT_ROOT / "pyproject.toml") -> tuple[str, ...]:
    """`[project].dependencies`: exactly what every Lambda bundle needs."""
    with pyproject.open("rb") as file:
        return tuple(tomllib.load(file)["project"]["dependencies"])


@dataclass(frozen=True)
class LayerRecipe:
    requirements: tuple[str, ...]
    python_version: str  # "3.14"
    platforms: tuple[str, ...] = ARM64_PLATFORMS

    @property
    def digest(self) -> str:
        inputs = {
            "requirements": sorted(self.requirements),
            "python": self.python_version,
            "platforms": list(self.platforms),
            "stripped": list(RUNTIME_PROVIDED),
            "recipe": RECIPE_VERSION,
            "bytecode": BYTECODE_COMPILER,
        }
        return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:16]

    def pip_command(self, target: Path) -> list[str]:
        platforms = [argument for platform in self.platforms for argument in ("--platform", platform)]
        return [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-compile",  # bytecode of the build machine's Python is useless on the runtime's
            *platforms,
            "--implementation",
            "cp",
            "--python-version",
            self.python_version,
            "--only-binary=:all:",
            "--target",
            str(target),
            *self.requirements,
        ]


def build_dependency_layer(recipe: LayerRecipe, build_dir: Path = BUILD_DIR) -> Path:
    """The layer folder (holding `python/`) for `recipe`, built once and then reused."""
    layer = build_dir / f"layer-{recipe.digest}"
    if layer.is_dir():
        return layer
    with _build_then_rename(layer) as staging:
        site = staging / "python"
        subprocess.run(recipe.pip_command(site), check=True)  # noqa: S603 - our own interpreter, fixed arguments
        _strip_runtime_provided(site)
        compile_bytecode(site, LAYER_PATH, recipe.python_version, build_dir)
    _remove_older_stagings(layer)
    return layer


def placeholder_layer(build_dir: Path = BUILD_DIR) -> Path:
    """An empty layer for hermetic synths (`-c bundle=false`); not deployable."""
    layer = build_dir / "layer-placeholder"
    if not layer.is_dir():
        with _build_then_rename(layer) as staging:
            (staging / "python").mkdir()
            (staging / "python" / "PLACEHOLDER").write_text("synthesized with -c bundle=false\n")
    return layer


def function_sources(name: str, source_root: Path = PROJECT_ROOT) -> list[Path]:
    """The files one function ships, relative to the project root."""
    roots = [source_root / "shared", source_root / "functions" / name]
    if not (source_root / "functions" / name / "handler.py").is_file():
        raise FileNotFoundError(f"functions/{name}/handler.py")
    files = [source_root / "functions" / "__init__.py"]
    for root in roots:
        files.extend(path for path in root.rglob("*") if path.is_file() and _is_source(path.relative_to(root)))
    return sorted(path.relative_to(source_root) for path in files)


def stage_function_code(
    name: str, source_root: Path = PROJECT_ROOT, build_dir: Path = BUILD_DIR, *, bytecode_for: str | None = None
) -> Path:
    """A folder with only what function `name` imports, named by a hash of its contents; with
    `bytecode_for` ("3.14"), also its `.pyc` files for that Python."""
    sources = function_sources(name, source_root)
    digest = hashlib.sha256(f"{bytecode_for and BYTECODE_COMPILER}\0".encode())
    for relative in sources:
        digest.update(relative.as_posix().encode() + b"\0" + (source_root / relative).read_bytes() + b"\0")
    staged = build_dir / "functions" / f"{name}-{digest.hexdigest()[:16]}"
    if not staged.is_dir():
        with _build_then_rename(staged) as staging:
            for relative in sources:
                (staging / relative).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source_root / relative, staging / relative)
            if bytecode_for:
                compile_bytecode(staging, CODE_PATH, bytecode_for, build_dir)
        _remove_older_stagings(staged)
    return staged


def compile_bytecode(folder: Path, runtime_path: str, python_version: str, build_dir: Path = BUILD_DIR) -> None:
    """Write `__pycache__/*.cpython-XY.pyc` beside every module of `folder`, which Lambda mounts at `runtime_path`."""
    compiler = _bytecode_compiler(build_dir)
    command = ["node", str(BYTECODE_SCRIPT), str(compiler), str(folder), runtime_path, python_version]
    subprocess.run(command, check=True)  # noqa: S603 - Node from PATH, as the CDK CLI; fixed arguments


def _bytecode_compiler(build_dir: Path) -> Path:
    """The folder holding the compiler's npm package, installed once per version."""
    folder = build_dir / f"bytecode-{BYTECODE_COMPILER.replace('@', '-')}"
    if not folder.is_dir():
        with _build_then_rename(folder) as staging:
            npm = ["npm", "install", "--prefix", str(staging), "--no-audit", "--no-fund", "--silent", BYTECODE_COMPILER]
            subprocess.run(npm, check=True)  # noqa: S603 - npm from PATH, a pinned package
    return folder


def _is_source(relative: Path) -> bool:
    return "__pycache__" not in relative.parts and relative.suffix not in {".pyc", ".pyo"}


def _strip_runtime_provided(site: Path) -> None:
    """Delete every file the runtime-provided distributions installed, as their RECORD lists them."""
    for dist_info in site.glob("*.dist-info"):
        distribution = dist_info.name.split("-")[0].lower().replace("_", "-")
        if distribution not in RUNTIME_PROVIDED:
            continue
        for line in (dist_info / "RECORD").read_text().splitlines():
            installed = site / line.split(",")[0]
            if installed.is_file() or installed.is_symlink():
                installed.unlink()
        shutil.rmtree(dist_info, ignore_errors=True)
    for folder in sorted(site.rglob("*"), key=lambda path: len(path.parts), reverse=True):
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()  # what the deleted files leave behind
    shutil.rmtree(site / "bin", ignore_errors=True)  # console scripts have no use in a layer


@contextmanager
def _build_then_rename(target: Path) -> Iterator[Path]:
    """Build into a fresh temporary folder, then rename it to `target` in one step."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        yield staging
        try:
            os.rename(staging, target)
        except OSError:  # a parallel build finished first; its folder is as good as ours
            if not target.is_dir():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # already gone after a successful rename


def _remove_older_stagings(current: Path) -> None:
    """Folders of the same kind named by an older hash (`layer-placeholder` is no hash)."""
    name = current.name.rsplit("-", 1)[0]
    for older in current.parent.glob(f"{name}-*"):
        digest = older.name.rsplit("-", 1)[1]
        if older != current and len(digest) == len(current.name.rsplit("-", 1)[1]) and digest.isalnum():
            shutil.rmtree(older, ignore_errors=True)
