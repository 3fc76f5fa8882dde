"""The time mode (`t`) and the charts (`m`): the queue's past, rebuilt from its event log."""
