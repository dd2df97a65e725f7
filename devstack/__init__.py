"""Development tooling that is not deployed: brokers and databases started by the project for
`make run`, the tests and the benchmark (see README.md beside this file)."""
