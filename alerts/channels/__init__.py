"""Ways to reach a person, behind one small interface (``base.Channel``)."""
