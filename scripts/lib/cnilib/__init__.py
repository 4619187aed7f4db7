"""Support code for scripts/cnitool (Python 3 standard library only).

Modules:
  errors   - the error type every module raises, with the exit status to use
  libcni   - what libcni v1.1.x does with a conflist: load, build each plugin's
             stdin, run ADD/CHECK/DEL/GC/STATUS/VERSION, the result cache
  netns    - named persistent network namespaces (root: /run/netns, rootless:
             $XDG_RUNTIME_DIR/netns)
  session  - the rootless session: a pause process holding a user namespace
             (the user mapped to root) and a mount namespace
"""

__version__ = "0.1.0"
