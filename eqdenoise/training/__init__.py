"""Training: the run (group augmentation, EMA, distillation, resume), its options as the command and the API name
them, the bounds checked before any data are read, what a run may write, several processes under torchrun, and
the PET-like simulator behind the bridge's targets.
"""
