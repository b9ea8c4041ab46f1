"""One inference layer shared by every model family: turning points and their intervals, density scaling."""
