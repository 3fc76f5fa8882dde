"""What the operator's keys do: the bindings, the actions, the multi-selection, the palette."""
