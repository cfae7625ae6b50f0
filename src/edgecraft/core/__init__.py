"""Records, time helpers and errors shared by every layer; imports nothing else from edgecraft."""
