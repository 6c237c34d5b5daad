# lit configuration for kv-opt.
import os

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "kv-opt"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.excludes = ["Inputs", "CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.kvopt_obj_root, "test")

config.substitutions.append(("%PATH%", config.environment["PATH"]))
config.substitutions.append(("%kvopt_src", config.kvopt_src_root))
config.substitutions.append(("%kvopt_lib", config.kvopt_lib_dir))
# Real-world inputs shared by the team live outside the tree.
shared = os.path.abspath(os.path.join(config.kvopt_src_root, "..", "shared"))
config.substitutions.append(("%shared", shared))
if os.path.isdir(os.path.join(shared, "data")):
    config.available_features.add("shared-data")
if config.kvopt_have_cuda:
    config.available_features.add("nvcc")

# Emitted CUDA/C++ drivers (test/Target/Cuda): compilers and runtime libraries.
config.substitutions.append(("%host_cxx", config.host_cxx))
config.substitutions.append(("%kvrt_include", config.kvrt_include_dir))
config.substitutions.append(("%kvrt_host_lib", config.kvrt_host_lib))
if config.kvrt_host_lib:
    config.available_features.add("kvrt-host")
if config.kvopt_have_cuda and config.kvrt_cuda_lib:
    config.substitutions.append(("%nvcc", config.nvcc))
    config.substitutions.append(("%kvrt_cuda_lib", config.kvrt_cuda_lib))

# Lowered programs run with upstream mlir-runner on the kvrt C ABI library
# (test/Conversion).
config.substitutions.append(("%mlir_lib_dir", config.llvm_lib_dir))
config.substitutions.append(("%kvrt_mlir_lib", config.kvrt_mlir_lib))
config.substitutions.append(
    ("%kvrt_replay", os.path.join(config.kvopt_obj_root, "runtime", "tools", "kvrt-replay"))
)
if config.kvrt_mlir_lib and os.path.exists(
    os.path.join(config.llvm_tools_dir, "mlir-runner")
) and os.path.exists(
    os.path.join(config.llvm_lib_dir, "libmlir_c_runner_utils.so")
):
    config.available_features.add("mlir-runner")

# kvrt-bench (CUDA builds only): its --dry-run-host runs without a GPU.
kvrt_bench = os.path.join(config.kvopt_obj_root, "runtime", "tools", "kvrt-bench")
if os.path.exists(kvrt_bench):
    config.available_features.add("kvrt-bench")
    config.substitutions.append(("%kvrt_bench", kvrt_bench))

config.environment["FILECHECK_OPTS"] = "-enable-var-scope"

llvm_config.with_system_environment(["HOME", "INCLUDE", "LIB", "TMP", "TEMP"])
llvm_config.use_default_substitutions()
# FileCheck, not, count and split-file come from Debian's LLVM 22.
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
llvm_config.with_environment("PATH", config.kvopt_tools_dir, append_path=True)

tool_dirs = [config.kvopt_tools_dir, config.llvm_tools_dir]
tools = [
    "kv-opt",
    ToolSubst("kv-translate", unresolved="ignore"),
    ToolSubst("kv-trace", unresolved="ignore"),
    ToolSubst("kv-solve", unresolved="ignore"),
    ToolSubst("mlir-opt", unresolved="ignore"),
    ToolSubst("mlir-runner", unresolved="ignore"),
    ToolSubst("z3", unresolved="ignore"),
]
llvm_config.add_tool_substitutions(tools, tool_dirs)
if os.path.exists(os.path.join(config.kvopt_lib_dir, "libKvOptPlugin.so")):
    config.available_features.add("plugin")
if os.path.exists("/usr/bin/z3"):
    config.available_features.add("z3-cli")
