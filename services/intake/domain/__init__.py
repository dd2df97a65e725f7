"""The intake domain: plain, synchronous rules over an in-memory view of the state. No I/O."""
