"""What `make deploy` ships (`make package-deploy`): bytecode is required, so without python3.12 the
package fails at once and clearly; with it, functions run on arm64 and their requirements are the
aarch64 wheels (a pydantic-core built for x86_64 would fail to import on Graviton)."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import zipfile
from pathlib import Path

import pytest
import yaml

from local.config import ROOT
from local.deploy_check import problems

OSLS = ROOT / "node_modules" / "osls" / "bin" / "serverless.js"
NO_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": ""}
ELF_MACHINE = {"aarch64": 183, "x86_64": 62}


def make_package_deploy(
    env: dict[str, str], out: Path, target: str = "package-deploy"
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", target, f"PACKAGE_DIR={out}"],
        cwd=ROOT,
        env={**env, **NO_CREDENTIALS},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def elf_machine(data: bytes) -> int:
    assert data[:4] == b"\x7fELF"
    return struct.unpack("<H", data[18:20])[0]


def without_python312(tmp_path: Path) -> dict[str, str]:
    """This environment minus every python3.12: PATH keeps only folders without one, no pyenv."""
    folders = [
        folder
        for folder in os.environ["PATH"].split(os.pathsep)
        if folder and not (Path(folder) / "python3.12").exists() and "pyenv" not in folder
    ]
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYENV")}
    env.update(PATH=os.pathsep.join(folders), PYENV_ROOT=str(tmp_path / "no-pyenv"), PYTHON312="python3.12")
    assert shutil.which("python3.12", path=env["PATH"]) is None
    assert shutil.which("node", path=env["PATH"]), "node must stay reachable"
    return env


@pytest.mark.parametrize("target", ["package-deploy", "deploy"])
def test_deploy_package_fails_at_once_without_python312(tmp_path: Path, target: str) -> None:
    # (`make deploy` stops in its package-deploy step: no credentials are ever asked for.)
    result = make_package_deploy(without_python312(tmp_path), tmp_path / "package", target)

    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "no python3.12 found" in output and "Bytecode is required here" in output, output
    # Before serverless-python-requirements spent its minute: no wheel was fetched, no zip written.
    assert "Installing requirements" not in output and "Deploying" not in output
    assert not (tmp_path / "package" / "event-registrations.zip").exists()


def test_deploy_package_is_arm64_with_aarch64_wheels_and_bytecode(tmp_path: Path) -> None:
    out = tmp_path / "package"
    result = make_package_deploy(dict(os.environ), out)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (
        f"deploy check: {out} holds aws-lambda-powertools, pydantic, boto3, botocore, built for its architecture"
        in result.stdout
    )

    template = json.loads((out / "cloudformation-template-update-stack.json").read_text())
    functions = [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
    assert functions and all(f["Architectures"] == ["arm64"] for f in functions)

    with zipfile.ZipFile(out / "event-registrations.zip") as package:
        names = package.namelist()
        libraries = {name: elf_machine(package.read(name)) for name in names if name.endswith(".so")}
    assert any(name.startswith("pydantic_core/") and "aarch64" in name for name in libraries), sorted(libraries)
    assert set(libraries.values()) == {ELF_MACHINE["aarch64"]}, libraries
    assert "functions/docs/__pycache__/swagger.cpython-312.pyc" in names
    assert "shared/api/__pycache__/__init__.cpython-312.pyc" in names


@pytest.mark.parametrize(("architecture", "platform"), [(None, "aarch64"), ("x86_64", "x86_64")])
def test_the_architecture_param_moves_functions_and_wheels_together(architecture: str | None, platform: str) -> None:
    param = [f"--param=architecture={architecture}"] if architecture else []
    printed = subprocess.run(
        ["node", str(OSLS), "print", "--stage", "dev", *param],
        cwd=ROOT,
        env={**os.environ, **NO_CREDENTIALS},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    resolved = yaml.safe_load(printed.stdout)
    assert resolved["provider"]["architecture"] == (architecture or "arm64")
    assert f"--platform manylinux2014_{platform}" in resolved["custom"]["pythonRequirements"]["pipCmdExtraArgs"]


def fake_package(directory: Path, architecture: str, modules: list[str], library_machine: int) -> Path:
    directory.mkdir()
    function = {"Type": "AWS::Lambda::Function", "Properties": {"Architectures": [architecture]}}
    template = {"Resources": {"HealthLambdaFunction": function, "DocsLambdaFunction": function}}
    (directory / "cloudformation-template-update-stack.json").write_text(json.dumps(template))
    with zipfile.ZipFile(directory / "event-registrations.zip", "w") as package:
        for module in modules:
            package.writestr(f"{module}/__init__.py", "")
        elf = b"\x7fELF" + bytes(14) + struct.pack("<H", library_machine) + bytes(44)
        package.writestr("pydantic_core/_pydantic_core.so", elf)
    return directory


def test_deploy_check_passes_a_whole_package_for_its_architecture(tmp_path: Path) -> None:
    modules = ["aws_lambda_powertools", "pydantic", "boto3", "botocore"]
    package = fake_package(tmp_path / "p", "arm64", modules, ELF_MACHINE["aarch64"])
    assert problems(package) == []


def test_deploy_check_refuses_missing_requirements_and_wrong_architecture(tmp_path: Path) -> None:
    modules = ["aws_lambda_powertools", "boto3", "botocore"]
    package = fake_package(tmp_path / "p", "arm64", modules, ELF_MACHINE["x86_64"])

    assert problems(package) == [
        "requirement pydantic is not in the package (no pydantic/)",
        "pydantic_core/_pydantic_core.so is not built for arm64 (ELF machine 62)",
    ]
    assert problems(tmp_path / "nothing") == [f"no package in {tmp_path / 'nothing'}: run `make package-deploy`"]
