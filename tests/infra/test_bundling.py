"""Docker-free bundling: per-function code folders and one pip-built arm64 dependency layer."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from infra.cdk.bundling import (
    ARM64_PLATFORMS,
    RUNTIME_PROVIDED,
    LayerRecipe,
    build_dependency_layer,
    compile_bytecode,
    function_sources,
    runtime_dependencies,
    stage_function_code,
)
from infra.cdk.function import RUNTIME

pytestmark = pytest.mark.infra

PYTHON_VERSION = RUNTIME.name.removeprefix("python")


def project(root: Path) -> Path:
    """A small project tree with two functions, tests, infra and bytecode caches."""
    for relative, text in {
        "shared/__init__.py": "",
        "shared/model/contact.py": "SCHEMA = 1\n",
        "shared/adapters/dynamo/table.py": "TABLE = 1\n",
        "shared/__pycache__/schema.cpython-311.pyc": "bytecode",
        "functions/__init__.py": "",
        "functions/sms/__init__.py": "",
        "functions/sms/handler.py": "def lambda_handler(event, context): ...\n",
        "functions/sms/__pycache__/handler.cpython-311.pyc": "bytecode",
        "functions/api/handler.py": "def lambda_handler(event, context): ...\n",
        "infra/app.py": "",
        "tests/test_sms.py": "",
    }.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_a_function_ships_shared_and_its_own_package_only(tmp_path: Path) -> None:
    root = project(tmp_path / "src")
    staged = stage_function_code("sms", source_root=root, build_dir=tmp_path / "build")
    shipped = sorted(path.relative_to(staged).as_posix() for path in staged.rglob("*") if path.is_file())
    assert shipped == [
        "functions/__init__.py",
        "functions/sms/__init__.py",
        "functions/sms/handler.py",
        "shared/__init__.py",
        "shared/adapters/dynamo/table.py",
        "shared/model/contact.py",
    ]


def assert_bytecode_for_the_runtime(folder: Path) -> None:
    """Every module has a `.pyc` of the runtime's Python beside it, hash-based and unchecked."""
    tag = f"cpython-{PYTHON_VERSION.replace('.', '')}"
    modules = list(folder.rglob("*.py"))
    assert modules
    for module in modules:
        compiled = module.parent / "__pycache__" / f"{module.stem}.{tag}.pyc"
        assert compiled.is_file(), module
        # PEP 552 flags: 0b01 hash-based, 0b10 would make the importer read and hash the source.
        assert int.from_bytes(compiled.read_bytes()[4:8], "little") == 0b01, module
    assert {path.name.split(".")[1] for path in folder.rglob("*.pyc")} == {tag}


@pytest.mark.network
def test_staged_code_ships_bytecode_of_the_runtimes_python_when_asked(tmp_path: Path) -> None:
    # Given a project, When its code is staged for the runtime's Python (the compiler comes from npm)
    root = project(tmp_path / "src")
    plain = stage_function_code("sms", source_root=root, build_dir=tmp_path / "build")
    compiled = stage_function_code("sms", source_root=root, build_dir=tmp_path / "build", bytecode_for=PYTHON_VERSION)
    # Then only the compiled staging holds bytecode, and it is the runtime's
    assert compiled != plain
    assert not list(plain.rglob("*.pyc"))
    assert_bytecode_for_the_runtime(compiled)
    # And a compiler of another Python refuses to write bytecode the runtime would ignore
    with pytest.raises(subprocess.CalledProcessError):
        compile_bytecode(compiled, "/var/task", "3.13", build_dir=tmp_path / "build")


def test_code_staging_is_reused_until_a_source_changes(tmp_path: Path) -> None:
    root = project(tmp_path / "src")
    build = tmp_path / "build"
    first = stage_function_code("sms", source_root=root, build_dir=build)
    assert stage_function_code("sms", source_root=root, build_dir=build) == first
    (root / "shared" / "schema.py").write_text("SCHEMA = 2\n")
    second = stage_function_code("sms", source_root=root, build_dir=build)
    assert second != first
    assert (second / "shared" / "schema.py").read_text() == "SCHEMA = 2\n"
    assert not first.exists()  # the stale copy is cleaned up


def test_a_spec_without_a_handler_module_fails_the_synth(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=re.escape("functions/missing/handler.py")):
        function_sources("missing", source_root=project(tmp_path))


def test_the_layer_is_rebuilt_only_when_its_inputs_change() -> None:
    recipe = LayerRecipe(("pydantic>=2", "phonenumberslite"), "3.14")
    assert LayerRecipe(("phonenumberslite", "pydantic>=2"), "3.14").digest == recipe.digest
    assert LayerRecipe(("pydantic>=2", "phonenumberslite", "email-validator"), "3.14").digest != recipe.digest
    assert LayerRecipe(("pydantic>=2", "phonenumberslite"), "3.13").digest != recipe.digest
    assert LayerRecipe(recipe.requirements, "3.14", platforms=("manylinux2014_x86_64",)).digest != recipe.digest


def test_pip_installs_arm64_wheels_for_the_runtimes_python_without_building_anything(tmp_path: Path) -> None:
    command = LayerRecipe(runtime_dependencies(), PYTHON_VERSION).pip_command(tmp_path / "python")
    assert command[:4] == [sys.executable, "-m", "pip", "install"]
    platforms = [command[index + 1] for index, argument in enumerate(command) if argument == "--platform"]
    assert platforms == list(ARM64_PLATFORMS)
    assert command[command.index("--python-version") + 1] == PYTHON_VERSION
    assert command[command.index("--implementation") + 1] == "cp"
    assert "--only-binary=:all:" in command
    assert command[-len(runtime_dependencies()) :] == list(runtime_dependencies())


def test_the_layer_installs_the_projects_runtime_dependencies_and_no_aws_sdk() -> None:
    names = [re.match(r"[A-Za-z0-9._-]+", requirement).group() for requirement in runtime_dependencies()]  # type: ignore[union-attr]
    assert "aws-lambda-powertools" in names
    assert not set(names) & set(RUNTIME_PROVIDED)


@pytest.mark.network
def test_a_real_layer_build_holds_arm64_wheels_for_the_runtime_and_no_boto(tmp_path: Path) -> None:
    # Given the project's runtime dependencies, When pip builds the layer from PyPI (no Docker)
    layer = build_dependency_layer(LayerRecipe(runtime_dependencies(), PYTHON_VERSION), build_dir=tmp_path)
    site = layer / "python"
    # Then the compiled extension matches Lambda's arm64 CPython, the SDK is left to the runtime
    (extension,) = (site / "pydantic_core").glob("_pydantic_core*.so")
    assert f"cpython-{PYTHON_VERSION.replace('.', '')}-aarch64-linux-gnu" in extension.name
    assert (site / "aws_lambda_powertools").is_dir()
    assert (site / "phonenumbers").is_dir()
    for name in ("boto3", "botocore", "s3transfer", "urllib3", "dateutil", "bin"):
        assert not (site / name).exists(), name
    assert_bytecode_for_the_runtime(site)
    size = sum(path.stat().st_size for path in site.rglob("*") if path.is_file())
    # About 30 MB of wheels and 10 MB of their bytecode in 2026.
    assert size < 60_000_000, f"layer grew to {size / 1e6:.1f} MB unzipped (Lambda allows 250 MB in all)"
    # And a second build with the same inputs reuses the folder
    assert build_dependency_layer(LayerRecipe(runtime_dependencies(), PYTHON_VERSION), build_dir=tmp_path) == layer
