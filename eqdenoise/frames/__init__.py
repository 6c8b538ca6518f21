"""Orientation: the groups as exact pixel permutations, canonical frames (the orientation every turned copy of an
image shares, found from exact integer scores) and the check of f(g·x) against g·f(x).
"""
