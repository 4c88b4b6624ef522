import os

# The compiled lookup kernel (memspice.nn.fused) takes seconds to compile idle and minutes on a loaded
# machine: the default suite runs the eager operations (bit-identical), and tests/unit/test_nn_fused.py
# switches the kernel on to check it. MEMSPICE_COMPILE=1 in the environment runs everything compiled.
os.environ.setdefault("MEMSPICE_COMPILE", "0")

pytest_plugins = ["memspice.testing"]
