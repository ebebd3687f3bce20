from .cli.program import main

main()
