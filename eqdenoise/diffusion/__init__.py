"""Diffusion: the cosine and Brownian-bridge schedules and the samplers (DDIM, the bridge's) over one denoiser
contract; pure arithmetic on tensors, no network and no file.
"""
