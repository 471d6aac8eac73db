try:
    from importlib.metadata import version as _version

    __version__ = _version("mxport")
except Exception:  # running from a source tree that was not installed
    __version__ = "0+unknown"
