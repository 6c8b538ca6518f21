"""Networks and their checkpoints: the U-Net, the weight-tied group U-Net, the opponent colour networks and their
parts, growing a trained network, precision and memory layout, safetensors checkpoints with their config, and
the shipped models.
"""
