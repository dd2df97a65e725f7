"""A live supply chain on the platform, for `make run` and `make demo`.

It plays every user through the contract topics only: the secretariat registers members and sites
and assigns rule sets; a certification body audits and certifies a bauxite mine, an alumina refinery,
a smelter, a remelter buying post-consumer scrap, a rolling mill (provisional: two Major NCs), a can
maker and a brand owner; plants stream what they receive, transform and ship; CoC Documents flow
from supplier to buyer; the brand owner asks for an on-pack logo claim that is approved (its mass is
spent) and others that are refused; then the secretariat suspends the can maker and the effects
propagate (the brand's approved claim stands: it rests on mass received before the suspension), and
reinstates it; the brand's second claim for the same tonnes is refused, naming the first.

The parts: cast.py (the members, their sites and the certification body), platform.py (sending to and
recording every topic, and narrating what comes back), story.py (the steps, in supply-chain order) and
main_story.py (the main story, its outcome, and how `make run` and `make demo` play it).
"""

from __future__ import annotations

from devstack.scenario.cast import BODY, SECRETARIAT, Participant, participants
from devstack.scenario.main_story import Outcome, main_story, run_scenario, story
from devstack.scenario.platform import Platform, Say
from devstack.scenario.story import Story

__all__ = [
    "BODY",
    "SECRETARIAT",
    "Outcome",
    "Participant",
    "Platform",
    "Say",
    "Story",
    "main_story",
    "participants",
    "run_scenario",
    "story",
]
