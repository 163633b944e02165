"""Framework adapters for bipartite-expanders. ``adapters.torch`` needs the ``torch`` extra."""
