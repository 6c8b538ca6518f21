"""Files in and out: image and DICOM reading and writing with their metadata, physical units and windows, the checks
on an input before it is opened, atomic writes that never replace what they must not, and which files a batch
processes and where each result goes.
"""
