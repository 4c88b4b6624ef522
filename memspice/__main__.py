from memspice.cli.main import run

run()
