"""A stand-in for get-pip.py, for ansible-test.

ansible-test bootstraps pip in each sanity virtual environment with a
get-pip.py script that it downloads from ci-files.testing.ansible.com, which
cannot be reached here. It looks for the script in ~/.ansible/test/cache/
first; the rig puts this file there. It does the same job: installs pip from
the interpreter's own bundled wheel (ensurepip), then has that pip install what
ansible-test asked for (for example pip==24.2) from the package index.
"""

import subprocess
import sys

GET_PIP_ONLY = {"--no-setuptools", "--no-wheel"}

# In a child process: ensurepip points PIP_CONFIG_FILE at /dev/null in its own
# environment, and the pip run below must read the machine's pip configuration.
subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade"])
args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", "--upgrade"] + args))
