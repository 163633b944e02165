"""Framework adapters for bipartite-expanders. ``bipartite_expanders.adapters.torch`` needs the ``torch`` extra."""
