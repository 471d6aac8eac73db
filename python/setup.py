# The version lives in the repository's root VERSION file, shared with the Maven build.
import pathlib

from setuptools import setup

setup(version=(pathlib.Path(__file__).resolve().parent.parent / "VERSION").read_text().strip())
