"""The hot operations, twice: `reference` (plain NumPy, to read) and `fast` (Numba, to run).

Both modules define the same functions with the same signatures; `tinycnn.backend`
chooses which one the layers call.
"""
