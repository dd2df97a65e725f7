"""The shared language of the ASI chain-of-custody platform: every message on every topic.

Import topic modules (`contracts.plant`, `contracts.ledger`, ...) for message classes and
`contracts.topics` for topic names, keys and parsers.
"""
