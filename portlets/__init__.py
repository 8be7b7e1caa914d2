"""Built-in portlets, one package each, registered through the ``portal`` entry point group."""
