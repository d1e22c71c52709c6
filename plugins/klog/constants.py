"""What the kernel-log plugin's registration and its code both need: the reader's name.

The registration (``__init__``) and every code module import it from here, so that
imports run one way: the code modules never import the registration.
"""
from __future__ import annotations

KERNLOG = "kernlog"
