pytest_plugins = ["mlplatform.testing.fixtures"]
