"""``python -m devstack.embedded``: see :mod:`devstack.embedded.cli`."""

from devstack.embedded.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
