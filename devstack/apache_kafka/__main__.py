"""``python -m devstack.apache_kafka``: see :mod:`devstack.apache_kafka.cli`."""

from devstack.apache_kafka.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
