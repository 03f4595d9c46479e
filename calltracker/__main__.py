from calltracker.cli import main

main()
