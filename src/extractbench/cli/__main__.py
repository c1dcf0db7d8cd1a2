from extractbench.cli import main

main()
