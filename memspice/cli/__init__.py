"""The ``memspice`` command line: thin wrappers that parse, call the library and summarise."""
