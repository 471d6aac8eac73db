# The version lives in the repository's root VERSION file, shared with the Maven build. An sdist has no root
# folder: there the version is the one its PKG-INFO recorded when the sdist was built.
#
# mxport-hook.pth goes into the wheel's root, so that pip puts it into site-packages itself (data_files would put
# it under the prefix, where `site` never looks); spec/RUNTIME.md rule 3 says what its line does. build_py
# writes it for `pip install` of the wheel and the sdist; the editable wheel of `pip install -e` does not take
# build_py's extra files, so there build_py writes it where that wheel's own files are.
import pathlib
import re

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = pathlib.Path(__file__).resolve().parent
HOOK = "mxport-hook.pth"


def version():
    root = HERE.parent / "VERSION"
    if root.is_file():
        return root.read_text().strip()
    return re.search(r"^Version: *(\S+)", (HERE / "PKG-INFO").read_text(), re.M).group(1)


class BuildWithHook(build_py):
    def run(self):
        super().run()
        self.copy_file(str(HERE / "src" / HOOK), self._hook_target(), preserve_mode=0)

    def get_outputs(self, include_bytecode=True):
        return super().get_outputs(include_bytecode) + [self._hook_target()]

    def _hook_target(self):
        # an editable wheel ignores build_lib and packs the folder the install command writes to
        folder = self.get_finalized_command("install").install_lib if self.editable_mode else self.build_lib
        return str(pathlib.Path(folder, HOOK))


setup(version=version(), cmdclass={"build_py": BuildWithHook})
