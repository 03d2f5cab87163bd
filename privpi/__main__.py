from privpi.cli import main

main()
