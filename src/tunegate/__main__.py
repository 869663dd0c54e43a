from tunegate.cli.main import main

main()
