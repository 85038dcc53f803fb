"""The synthetic second-hand marketplace that stands in for a real platform dump."""
