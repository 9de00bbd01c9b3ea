from maas.cli.main import run

run()
