from gittracker.cli import main

raise SystemExit(main())
