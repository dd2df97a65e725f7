from contextlib import contextmanager
from libs.embedded import EmbeddedStack
@contextmanager
def provide_stack():
    with EmbeddedStack() as s:
        yield s.endpoints
