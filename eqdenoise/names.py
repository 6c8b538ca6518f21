"""Choices and defaults shared by the library and the CLI, in a module light enough to import at start-up."""

NOISE_FRAMES = ("canonical", "input")
GROUP_NAMES = ("trivial", "flip", "c4", "d4")
PRECISIONS = ("fp32", "bf16")
DEVICES = ("auto", "cpu", "cuda", "mps")
DEFAULT_TRANSFER_STEPS = 1
MAX_SEED = 2**63 - 1
