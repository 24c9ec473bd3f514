'use strict';

// Ships bytecode in the deployment package. Lambda's code directory is read-only, so a package
// without .pyc recompiles every module of our code and of the requirements on every cold start
// (~2x the boto3 floor, bench/RESULTS.md). After the package is zipped (and
// serverless-python-requirements has injected the requirements), this compiles every .py in the
// zip with the Lambda runtime's Python (3.12) and adds the __pycache__/*.cpython-312.pyc files.
// `--invalidation-mode unchecked-hash`: the runtime loads them without comparing source mtimes,
// which a zip does not keep exactly. Nothing is written into the working tree.
//   custom.bytecode: { python: python3.12, required: false }
// `required: true` (BYTECODE_REQUIRED=true, set by `make package-deploy` and `make deploy`) turns a
// missing python3.12 from a warning into an error, raised before any packaging work.
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const COMPILE = String.raw`
import compileall, os, sys, tempfile, zipfile, py_compile
archive = sys.argv[1]
with tempfile.TemporaryDirectory() as tmp:
    with zipfile.ZipFile(archive) as zf:
        sources = [n for n in zf.namelist() if n.endswith(".py")]
        existing = set(zf.namelist())
        for name in sources:
            zf.extract(name, tmp)
    ok = compileall.compile_dir(tmp, quiet=2, force=True, workers=0,
                                invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    added = 0
    with zipfile.ZipFile(archive, "a", compression=zipfile.ZIP_DEFLATED) as zf:
        for root, _, files in os.walk(tmp):
            for file in sorted(files):
                if not file.endswith(".pyc"):
                    continue
                full = os.path.join(root, file)
                name = os.path.relpath(full, tmp).replace(os.sep, "/")
                if name in existing:
                    continue
                info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                info.external_attr = 0o644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                with open(full, "rb") as handle:
                    zf.writestr(info, handle.read())
                added += 1
print(f"{added} {len(sources)} {'ok' if ok else 'errors'}")
`;

function candidates(configured) {
  const found = [configured];
  const root = process.env.PYENV_ROOT || path.join(os.homedir(), '.pyenv');
  const versions = path.join(root, 'versions');
  if (fs.existsSync(versions)) {
    for (const version of fs.readdirSync(versions).filter((v) => /^3\.12(\.|$)/.test(v)).sort().reverse()) {
      found.push(path.join(versions, version, 'bin', 'python3.12'));
    }
  }
  return found;
}

function python312(configured) {
  for (const candidate of candidates(configured)) {
    const probe = spawnSync(candidate, ['-c', 'import sys; sys.exit(sys.version_info[:2] != (3, 12))'], {
      encoding: 'utf8',
    });
    if (probe.status === 0) return candidate;
  }
  return null;
}

class Bytecode {
  constructor(serverless, options) {
    this.serverless = serverless;
    this.options = options || {};
    this.hooks = {
      // Before serverless-python-requirements spends a minute on wheels: a deploy package
      // without its python3.12 fails at once.
      'before:package:createDeploymentArtifacts': () => this.python(),
      'after:package:createDeploymentArtifacts': () => this.compile(),
    };
  }

  settings() {
    return (this.serverless.service.custom || {}).bytecode || {};
  }

  // The python3.12 to compile with, or null (a warning) when bytecode is not required.
  python() {
    const settings = this.settings();
    const python = python312(settings.python || 'python3.12');
    if (python) return python;
    const message =
      'no python3.12 found (custom.bytecode.python, PYTHON312, or pyenv): the package would ship without bytecode';
    if (String(settings.required) === 'true') {
      // A ServerlessError: osls prints the message alone, without a stack trace.
      throw new this.serverless.classes.Error(
        `${message}. Bytecode is required here (BYTECODE_REQUIRED=true, make deploy): install Python 3.12`,
        'BYTECODE_PYTHON312_MISSING',
      );
    }
    this.log(`WARNING ${message}`);
    return null;
  }

  log(message) {
    this.serverless.cli.log(`bytecode: ${message}`);
  }

  artifacts() {
    const service = this.serverless.service;
    const servicePath = this.serverless.serviceDir || this.serverless.config.servicePath || '.';
    const directory = path.resolve(servicePath, this.options.package || service.package.path || '.serverless');
    const zips = [service.package.artifact, path.join(directory, `${service.service}.zip`)]
      .filter(Boolean)
      .map((zip) => path.resolve(servicePath, zip));
    for (const name of service.getAllFunctions()) {
      const artifact = (service.getFunction(name).package || {}).artifact;
      if (artifact) zips.push(path.resolve(servicePath, artifact));
    }
    return [...new Set(zips)].filter((zip) => fs.existsSync(zip));
  }

  compile() {
    const runtime = this.serverless.service.provider.runtime;
    if (runtime !== 'python3.12') throw new Error(`plugins/bytecode compiles for python3.12, not ${runtime}`);
    const python = this.python();
    if (!python) return;
    const zips = this.artifacts();
    if (zips.length === 0) throw new Error('plugins/bytecode: no package artifact found');
    for (const zip of zips) {
      const result = spawnSync(python, ['-c', COMPILE, zip], { encoding: 'utf8' });
      if (result.status !== 0) throw new Error(`compiling ${zip} failed:\n${result.stderr}`);
      const [added, sources, state] = result.stdout.trim().split(/\s+/);
      if (state !== 'ok') throw new Error(`some modules in ${zip} do not compile with ${python}`);
      this.log(`${added} .pyc (cpython-312, unchecked-hash) for ${sources} modules in ${path.basename(zip)}`);
    }
  }
}

module.exports = Bytecode;
module.exports.python312 = python312;
