from fieldwise.cli import main

main()
