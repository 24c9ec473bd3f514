"""Checks the package `make deploy` is about to ship (`make package-deploy` runs it last): every
runtime requirement is inside the zip, and every compiled module in it is built for the
architecture the template runs the functions on. A package missing its requirements still
"packages" fine (serverless-python-requirements injects nothing when its work folder was cleaned
under it, e.g. by a second `osls package` running at the same time): this makes that a failure.

    python -m local.deploy_check .serverless
"""

from __future__ import annotations

import json
import re
import struct
import sys
import zipfile
from importlib.metadata import packages_distributions
from pathlib import Path

from local import config

# ELF e_machine of each Lambda architecture.
ELF_MACHINES = {"arm64": 183, "x86_64": 62}
_REQUIREMENT = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)")


def runtime_requirements() -> list[str]:
    """requirements.txt minus what pythonRequirements.noDeploy leaves to the Lambda runtime (nothing
    today: boto3 and botocore ship too, serverless.yml says why)."""
    skipped = {name.lower() for name in config.load()["custom"]["pythonRequirements"].get("noDeploy", [])}
    names = []
    for line in (config.ROOT / "requirements.txt").read_text().splitlines():
        found = _REQUIREMENT.match(line.strip())
        if found and found.group(1).lower() not in skipped:
            names.append(found.group(1))
    return names


def top_level_modules(distribution: str) -> set[str]:
    normalized = re.sub(r"[-_.]+", "-", distribution).lower()
    modules = {
        module
        for module, distributions in packages_distributions().items()
        if any(re.sub(r"[-_.]+", "-", d).lower() == normalized for d in distributions)
    }
    return modules or {normalized.replace("-", "_")}


def problems(package_dir: Path) -> list[str]:
    template_file = package_dir / "cloudformation-template-update-stack.json"
    archive = package_dir / f"{config.load()['service']}.zip"
    if not template_file.exists() or not archive.exists():
        return [f"no package in {package_dir}: run `make package-deploy`"]
    template = json.loads(template_file.read_text())
    architectures = {
        tuple(resource["Properties"].get("Architectures", ["x86_64"]))
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Lambda::Function"
    }
    found: list[str] = []
    if len(architectures) != 1:
        return [f"functions on more than one architecture: {sorted(architectures)}"]
    [(architecture,)] = architectures
    with zipfile.ZipFile(archive) as package:
        names = set(package.namelist())
        for requirement in runtime_requirements():
            for module in sorted(top_level_modules(requirement)):
                if f"{module}/__init__.py" not in names and f"{module}.py" not in names:
                    found.append(f"requirement {requirement} is not in the package (no {module}/)")
        for name in sorted(n for n in names if n.endswith(".so")):
            header = package.read(name)[:20]
            machine = struct.unpack("<H", header[18:20])[0] if header[:4] == b"\x7fELF" else None
            if machine != ELF_MACHINES[architecture]:
                found.append(f"{name} is not built for {architecture} (ELF machine {machine})")
    return found


def main() -> None:
    package_dir = Path(sys.argv[1] if len(sys.argv) > 1 else ".serverless")
    found = problems(package_dir)
    if found:
        print(f"deploy check: {package_dir} must not be deployed:", *found, sep="\n  ", file=sys.stderr)
        sys.exit(1)
    print(f"deploy check: {package_dir} holds {', '.join(runtime_requirements())}, built for its architecture")


if __name__ == "__main__":
    main()
