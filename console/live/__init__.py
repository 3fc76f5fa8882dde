"""Live data: reading the queue, following its events, and the state the screens draw."""
