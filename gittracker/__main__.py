from gittracker.entry import main

raise SystemExit(main())
