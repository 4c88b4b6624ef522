pytest_plugins = ["memspice.testing"]
