"""Built-in algorithms in numpy and the entry point of the training child process.

The child process (`python -m app.training <root>`) imports only this package and the contract
modules `app.runtime.contract` and `app.runtime.sm_env`, so it starts fast and stays small.
"""
