// Compiles every .py file of a bundle folder to bytecode with CPython on WebAssembly (Pyodide),
// so the bundle ships .pyc files for the Lambda runtime's Python whatever Python the build
// machine has. Called by infra/cdk/bundling.py:
//   node compile_bytecode.mjs <compiler folder> <bundle folder> <path on Lambda> <python version>
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [compilerFolder, bundleFolder, runtimePath, pythonVersion] = process.argv.slice(2);
const pyodideModule = join(compilerFolder, "node_modules", "pyodide", "pyodide.mjs");
const { loadPyodide } = await import(pathToFileURL(pyodideModule).href);
const pyodide = await loadPyodide();
pyodide.FS.mkdirTree("/bundle");
pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root: bundleFolder }, "/bundle");
pyodide.globals.set("runtime_path", runtimePath);
pyodide.globals.set("python_version", pythonVersion);
const compiled = pyodide.runPython(`
import compileall, py_compile, sys

found = "%d.%d" % sys.version_info[:2]
if found != python_version:
    raise SystemExit(f"the compiler is Python {found}, the runtime Python {python_version}")
# Unchecked hashes: Lambda's file system is read-only and the zip keeps no modification times
# worth checking, so the importer takes the .pyc as it is, without reading the source.
compileall.compile_dir(
    "/bundle",
    ddir=runtime_path,
    quiet=1,
    workers=1,
    invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
)
`);
process.exit(compiled ? 0 : 1);
