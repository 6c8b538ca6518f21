"""The tasks: denoising (SDEdit restoration with the σ estimate), translation with a bridge and unconditional
sampling, each run in the input's canonical frame by a method (canon, fa, wt, none: one definition each in
``methods.py``), the network made the sampler's predictor (tiled, group-averaged), and what the tasks share
(options, group, memory, tiles).
"""
