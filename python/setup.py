# The version lives in the repository's root VERSION file, shared with the Maven build. An sdist has no root
# folder: there the version is the one its PKG-INFO recorded when the sdist was built.
import pathlib
import re

from setuptools import setup

HERE = pathlib.Path(__file__).resolve().parent


def version():
    root = HERE.parent / "VERSION"
    if root.is_file():
        return root.read_text().strip()
    return re.search(r"^Version: *(\S+)", (HERE / "PKG-INFO").read_text(), re.M).group(1)


setup(version=version())
